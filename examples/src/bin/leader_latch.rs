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

use docent_examples::leader::{run_latch, ElectionConfig, ELECTION_OPTIONS};
use docent_examples::{usage_exit, Args, Backend};

#[tokio::main]
async fn main() {
    let usage = format!("leader_latch {ELECTION_OPTIONS}");
    let args = Args::from_env().unwrap_or_else(|e| usage_exit(e, &usage));
    let backend = Backend::from_args(&args);
    let config = ElectionConfig::from_args(&args, backend.is_embedded(), "/examples/latch")
        .unwrap_or_else(|e| usage_exit(e, &usage));
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
