//! LeaderSelector, the seed's walk-through step by step.
//!
//! ```text
//! cargo run -p docent-examples --bin leader_selector [-- --path /examples/selector --id node
//!     --participants 3 --hold 2 --for 10] [--zk HOST:PORT]
//! ```
//!
//! Each participant's leadership function (the seed's `became-leader`) prints
//! `leader ID token=T` and the participants, holds leadership for `--hold` seconds and
//! returns (`not-leader ID`); auto-requeue puts it back in line. The losing callback (the
//! seed's `losingfn`) prints `losing ID reason=…` when the connection or an interrupt takes
//! leadership away. Halfway through, the current leader's leadership is interrupted
//! (`interrupt_leadership`); at the end one selector is closed, the participants printed
//! again, and the rest closed.

use std::sync::Arc;

use clap::Parser;
use docent_examples::leader::{run_selector, ElectionArgs, ElectionConfig};
use docent_examples::{init_logging, Backend};

/// LeaderSelector, the seed's walk-through: leaders hold leadership, give it up, get interrupted.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    election: ElectionArgs,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    let backend = Backend::new(&cli.election.zk);
    let config =
        ElectionConfig::from_args(&cli.election, backend.is_embedded(), "/examples/selector");
    println!(
        "leader selector at {} on {}: {}",
        config.path,
        backend.describe(),
        config.ids.join(",")
    );
    if let Err(e) = run_selector(&backend, &config, Arc::new(|line| println!("{line}"))).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
