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
use std::time::Duration;

use docent_examples::leader::{run_selector, ElectionConfig};
use docent_examples::{run_for, usage_exit, Args, ArgsError, Backend};

const USAGE: &str = "leader_selector [--zk HOST:PORT] [--path P] [--id ID] [--participants N] \
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
        path: args.get("path").unwrap_or("/examples/selector").to_owned(),
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
