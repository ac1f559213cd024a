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
use std::time::Duration;

use docent_examples::leader::{run_latch, ElectionConfig};
use docent_examples::{run_for, usage_exit, Args, ArgsError, Backend};

const USAGE: &str = "leader_latch [--zk HOST:PORT] [--path P] [--id ID] [--participants N] \
                     [--hold SECS] [--for SECS]";

fn config(args: &Args, embedded: bool) -> Result<ElectionConfig, ArgsError> {
    args.only(&["zk", "path", "id", "participants", "hold", "for"])?;
    let count = args.parse_or("participants", if embedded { 3 } else { 1 })?;
    let default_hold = (count > 1).then_some(2.0);
    let id = args
        .get("id")
        .map(str::to_owned)
        .unwrap_or_else(|| match embedded {
            true => "node".to_owned(),
            false => format!("node-{}", std::process::id()),
        });
    Ok(ElectionConfig {
        path: args.get("path").unwrap_or("/examples/latch").to_owned(),
        ids: ElectionConfig::ids(&id, count),
        hold: args
            .parse::<f64>("hold")?
            .or(default_hold)
            .map(Duration::from_secs_f64),
        run_for: run_for(args, Duration::from_secs(10))?,
    })
}

#[tokio::main]
async fn main() {
    let args = Args::from_env().unwrap_or_else(|e| usage_exit(e, USAGE));
    let backend = Backend::from_args(&args);
    let config = config(&args, backend.is_embedded()).unwrap_or_else(|e| usage_exit(e, USAGE));
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
