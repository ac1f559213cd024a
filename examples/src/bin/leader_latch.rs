//! LeaderLatch: participants in one election print every change of leadership.
//!
//! ```text
//! cargo run -p docent-examples --bin leader_latch [-- --path /examples/latch --id node
//!     --participants 3 --hold 2 --for 10] [--zk HOST:PORT]
//! ```
//!
//! On the embedded ensemble, `--participants` (default 3) participants run in-process, each
//! on its own session; the leader leaves after `--hold` seconds and joins again, so
//! leadership goes round. With `--zk` one participant runs (start several processes) and it
//! keeps leadership until `--for` ends unless `--hold` is given. Output: `leader ID token=T`
//! and `not-leader ID`.

use std::sync::Arc;

use clap::Parser;
use docent_examples::leader::{run_latch, ElectionArgs, ElectionConfig};
use docent_examples::{init_logging, Backend};

/// LeaderLatch: participants in one election print every change of leadership.
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
    let config = ElectionConfig::from_args(&cli.election, backend.is_embedded(), "/examples/latch");
    println!(
        "leader latch at {} on {}: {}",
        config.path,
        backend.describe(),
        config.ids.join(",")
    );
    if let Err(e) = run_latch(&backend, &config, Arc::new(|line| println!("{line}"))).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
