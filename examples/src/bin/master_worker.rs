//! The main demo: the ZooKeeper book's master–worker system on docent.
//!
//! ```text
//! cargo run --release -p docent-examples --bin master_worker [-- --zk HOST:PORT]
//!     [--masters 3] [--workers 4] [--tasks 100] [--work-ms 40] [--for SECS] [--no-kill]
//! ```
//!
//! Three masters compete through a LeaderSelector, four workers register, a client submits
//! 100 tasks (the first ones before any worker exists, so the master holds them). Once a
//! third of the tasks are done the active master and the busiest worker are killed (their
//! sessions closed): a standby master takes over, recovers the assignments, and the dead
//! worker's tasks are reassigned. It ends with `tasks done N/100, reassigned R, duplicates D`.

use std::time::Duration;

use clap::Parser;
use docent_examples::master_worker::{run, DemoConfig};
use docent_examples::{init_logging, secs, Backend, ZkArg};

/// The ZooKeeper book's master–worker system: masters elect a leader, workers register, a
/// client submits tasks; halfway the active master and the busiest worker are killed.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    zk: ZkArg,
    /// Masters competing for leadership
    #[arg(long, value_name = "N", default_value_t = DemoConfig::default().masters)]
    masters: usize,
    /// Workers
    #[arg(long, value_name = "N", default_value_t = DemoConfig::default().workers)]
    workers: usize,
    /// Tasks submitted
    #[arg(long, value_name = "N", default_value_t = DemoConfig::default().tasks)]
    tasks: usize,
    /// Milliseconds a worker takes for one task
    #[arg(long, value_name = "MS", default_value_t = 40)]
    work_ms: u64,
    /// Give up waiting for the tasks after SECS [default: 60]
    #[arg(long = "for", value_name = "SECS", value_parser = secs)]
    run_for: Option<Duration>,
    /// Kill no master and no worker
    #[arg(long)]
    no_kill: bool,
}

impl Cli {
    fn config(&self) -> DemoConfig {
        let default = DemoConfig::default();
        DemoConfig {
            masters: self.masters,
            workers: self.workers,
            tasks: self.tasks,
            kill: !self.no_kill,
            work: Duration::from_millis(self.work_ms),
            timeout: self.run_for.unwrap_or(default.timeout),
        }
    }
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    let config = cli.config();
    let backend = Backend::new(&cli.zk);
    println!(
        "master-worker on {}: {} masters, {} workers, {} tasks",
        backend.describe(),
        config.masters,
        config.workers,
        config.tasks
    );
    match run(&backend, &config, |event| println!("{event}")).await {
        Ok(summary) => {
            println!(
                "elections {}, discarded executions {}",
                summary.elections, summary.discarded
            );
            println!("{summary}");
            if summary.done < summary.submitted || summary.duplicates > 0 {
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
