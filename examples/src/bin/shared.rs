//! Shared values: counters shared by processes, and a walk-through of the recipes.
//!
//! ```text
//! cargo run -p docent-examples --bin shared [-- counter --path P --increments K --id ID]
//!     [-- read --path P] [-- put --path P --items N --prefix S]
//!     [-- take --path P --lock-path L --for SECS] [--zk HOST:PORT]
//! ```
//!
//! `counter` adds one to a distributed `AtomicLong` K times and prints
//! `counted ID ok=A unknown=U` (lost replies are counted as unknown, never retried); `read`
//! prints `value V`; `put` puts `S-0 … S-(N-1)` as UTF-8 items of a `DistributedQueue`
//! (Curator's item format); `take` consumes items for SECS seconds, printing `took ITEM` for
//! each (with `--lock-path`: at least once, each item locked until acknowledged; without:
//! deleted before it is handed over, at most once). Without a subcommand, on the embedded
//! ensemble unless `--zk` is given: a walk-through of each recipe. Each line is flushed as it
//! is printed.

use std::sync::Arc;

use std::time::Duration;

use clap::{Parser, Subcommand};
use docent_examples::locks::print_line;
use docent_examples::shared::{counter, read, walkthrough, CounterConfig};
use docent_examples::shared_queue::{put, take};
use docent_examples::{init_logging, secs, Backend, ZkArg};

/// Shared values: counters shared by processes, and a walk-through of the recipes.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    zk: ZkArg,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Increment an AtomicLong K times, then print `counted ID ok=A unknown=U`
    Counter {
        /// The counter's path
        #[arg(long, value_name = "P", default_value = "/examples/shared/counter")]
        path: String,
        /// How many increments
        #[arg(long, value_name = "K", default_value = "10")]
        increments: u64,
        /// The process's id [default: p-PID]
        #[arg(long, value_name = "ID")]
        id: Option<String>,
    },
    /// Print the AtomicLong's value as `value V`
    Read {
        /// The counter's path
        #[arg(long, value_name = "P", default_value = "/examples/shared/counter")]
        path: String,
    },
    /// Put N items `S-0 … S-(N-1)` on a DistributedQueue
    Put {
        /// The queue's path
        #[arg(long, value_name = "P", default_value = "/examples/shared/queue")]
        path: String,
        /// How many items
        #[arg(long, value_name = "N", default_value = "10")]
        items: usize,
        /// The items' prefix
        #[arg(long, value_name = "S", default_value = "item")]
        prefix: String,
    },
    /// Consume a DistributedQueue for SECS seconds, printing `took ITEM` for each item
    Take {
        /// The queue's path
        #[arg(long, value_name = "P", default_value = "/examples/shared/queue")]
        path: String,
        /// Lock each item until it is acknowledged (at least once) [default: none, at most once]
        #[arg(long, value_name = "L")]
        lock_path: Option<String>,
        /// Seconds to consume
        #[arg(long = "for", value_name = "SECS", value_parser = secs, default_value = "10")]
        run_for: Duration,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    let backend = Backend::new(&cli.zk);
    let out: docent_examples::leader::Out = Arc::new(print_line);
    let result = match cli.command {
        None => walkthrough(&backend, "/examples/shared", out).await,
        Some(Command::Counter {
            path,
            increments,
            id,
        }) => {
            let id = id.unwrap_or_else(|| format!("p-{}", std::process::id()));
            let config = CounterConfig {
                path,
                increments,
                id,
            };
            counter(&backend, &config, &out).await.map(|_| ())
        }
        Some(Command::Read { path }) => read(&backend, &path, &out).await.map(|_| ()),
        Some(Command::Put {
            path,
            items,
            prefix,
        }) => match backend.client().await {
            Ok(client) => match put(&client, &path, items, &prefix).await {
                Ok(()) => client.close().await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
        Some(Command::Take {
            path,
            lock_path,
            run_for,
        }) => match backend.client().await {
            Ok(client) => match take(&client, &path, lock_path.as_deref(), run_for).await {
                Ok(()) => client.close().await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
