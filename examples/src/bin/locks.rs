//! Locks: processes take a lock in turn and print every grant and release.
//!
//! ```text
//! cargo run -p docent-examples --bin locks [-- --kind mutex --path /examples/locks --id p
//!     --hold 200 --count 5 --for 10] [--zk HOST:PORT]
//! ```
//!
//! With `--zk` one process runs (start several): it loops acquire, `acquired ID token=T`, hold
//! `--hold` ms, `releasing ID`, release, until `--count` grants or `--for` seconds. On the
//! embedded ensemble, `--count` runs three such processes `ID-1 … ID-3` in-process, each on its
//! own session; without `--count` it runs a walk-through (a 2-lease semaphore shared by three
//! processes, a reader–writer exchange, a revocation). Nothing is printed before an acquire
//! attempt; each line is flushed as it is printed.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use docent_examples::locks::{print_line, run, walkthrough, Kind, LocksConfig};
use docent_examples::{init_logging, secs, Backend, ZkArg};

/// Locks: processes take a lock in turn and print every grant and release.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    zk: ZkArg,
    /// The lock's path
    #[arg(long, value_name = "P", default_value = "/examples/locks")]
    path: String,
    /// The kind of lock
    #[arg(long, value_enum, default_value = "mutex")]
    kind: Kind,
    /// The semaphore's maximum number of leases
    #[arg(long, value_name = "N", default_value = "2")]
    leases: usize,
    /// The process's id (in-process processes are ID-1 … ID-3) [default: p, or p-PID with --zk]
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Milliseconds each grant is held
    #[arg(long, value_name = "MS", default_value = "200")]
    hold: u64,
    /// Grants per process, then exit
    #[arg(long, value_name = "K")]
    count: Option<u32>,
    /// Seconds the example runs at most
    #[arg(long = "for", value_name = "SECS", value_parser = secs, default_value = "10")]
    run_for: Duration,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    let backend = Backend::new(&cli.zk);
    let out = Arc::new(print_line);
    let result = match (backend.is_embedded(), cli.count) {
        (true, None) => walkthrough(&backend, &cli.path, out).await,
        (embedded, count) => {
            let id = cli.id.clone().unwrap_or_else(|| match embedded {
                true => "p".to_owned(),
                false => format!("p-{}", std::process::id()),
            });
            let ids = match embedded {
                true => (1..=3).map(|i| format!("{id}-{i}")).collect(),
                false => vec![id],
            };
            let config = LocksConfig {
                path: cli.path.clone(),
                kind: cli.kind,
                leases: cli.leases,
                ids,
                hold: Duration::from_millis(cli.hold),
                count,
                run_for: cli.run_for,
            };
            run(&backend, &config, out).await
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
