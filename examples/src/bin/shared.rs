//! Shared values: counters shared by processes, and a walk-through of the recipes.
//!
//! ```text
//! cargo run -p docent-examples --bin shared [-- counter --path P --increments K --id ID]
//!     [-- read --path P] [--zk HOST:PORT]
//! ```
//!
//! `counter` adds one to a distributed `AtomicLong` K times and prints
//! `counted ID ok=A unknown=U` (lost replies are counted as unknown, never retried); `read`
//! prints `value V`. Without a subcommand, on the embedded ensemble unless `--zk` is given: a
//! walk-through of each recipe. Each line is flushed as it is printed.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use docent_examples::locks::print_line;
use docent_examples::shared::{counter, read, walkthrough, CounterConfig};
use docent_examples::{init_logging, Backend, ZkArg};

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
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
