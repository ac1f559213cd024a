//! Ensemble: a client following servers that come and go (the Clojure guide's Exhibitor
//! walk-through).
//!
//! ```text
//! cargo run -p docent-examples --bin ensemble -- --exhibitors H1,H2 --exhibitor-port P \
//!     --backup CONNECT [--poll-ms MS] [--id ID] [--for SECS]
//! cargo run -p docent-examples --bin ensemble -- --zk CONNECT --track [--id ID] [--for SECS]
//! ```
//!
//! It prints `ensemble CONNECTSTRING` each time the provider's servers change (the first value
//! too), `connected session=0xHEX` each time a session is (re)connected and `expired` when one
//! is lost, and keeps an ephemeral node `/ensemble-demo/ID` present throughout. Without flags:
//! the same on the embedded ensemble, whose servers are all replaced while a simulated
//! Exhibitor tells the client.

use std::time::Duration;

use clap::Parser;
use std::sync::Arc;

use docent_examples::ensemble::{run, walkthrough, Source};
use docent_examples::locks::print_line;
use docent_examples::{init_logging, secs};

/// Ensemble: a client following servers that come and go.
#[derive(Parser)]
struct Cli {
    /// Exhibitor hosts, comma-separated
    #[arg(long, value_name = "H1,H2", value_delimiter = ',', requires_all = ["exhibitor_port", "backup"], conflicts_with = "zk")]
    exhibitors: Vec<String>,
    /// Exhibitor's REST port
    #[arg(long, value_name = "P")]
    exhibitor_port: Option<u16>,
    /// The connection string used when no Exhibitor answers (its chroot is the client's)
    #[arg(long, value_name = "CONNECT")]
    backup: Option<String>,
    /// Milliseconds between Exhibitor polls
    #[arg(long, value_name = "MS", default_value = "10000")]
    poll_ms: u64,
    /// A real ensemble's connect string (with --track)
    #[arg(long, value_name = "CONNECT", requires = "track")]
    zk: Option<String>,
    /// Follow the ensemble's configuration (/zookeeper/config)
    #[arg(long, requires = "zk")]
    track: bool,
    /// The process's id (the node /ensemble-demo/ID) [default: e-PID]
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Seconds the example runs
    #[arg(long = "for", value_name = "SECS", value_parser = secs, default_value = "30")]
    run_for: Duration,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    let id = cli
        .id
        .clone()
        .unwrap_or_else(|| format!("e-{}", std::process::id()));
    let source = match (&cli.zk, cli.exhibitors.is_empty()) {
        (Some(zk), _) => Some(Source::Tracked { zk: zk.clone() }),
        (None, false) => Some(Source::Exhibitor {
            hosts: cli.exhibitors.clone(),
            port: cli.exhibitor_port.unwrap_or_default(),
            backup: cli.backup.clone().unwrap_or_default(),
            poll: Duration::from_millis(cli.poll_ms),
        }),
        (None, true) => None,
    };
    let result = match source {
        Some(source) => run(source, &id, cli.run_for).await,
        None => walkthrough(&id, Arc::new(print_line)).await,
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
