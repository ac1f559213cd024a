//! The main demo: the ZooKeeper book's master–worker system on docent.
//!
//! ```text
//! cargo run --release -p docent-examples --bin master_worker [-- --zk HOST:PORT]
//!     [--masters 3] [--workers 4] [--tasks 100] [--work-ms 40] [--for SECS] [--no-kill true]
//! ```
//!
//! Three masters compete through a LeaderSelector, four workers register, a client submits
//! 100 tasks (the first ones before any worker exists, so the master holds them). Once a
//! third of the tasks are done the active master and the busiest worker are killed (their
//! sessions closed): a standby master takes over, recovers the assignments, and the dead
//! worker's tasks are reassigned. It ends with `tasks done N/100, reassigned R, duplicates D`.

use std::time::Duration;

use docent_examples::master_worker::{run, DemoConfig};
use docent_examples::{run_for, usage_exit, Args, ArgsError, Backend};

const USAGE: &str = "master_worker [--zk HOST:PORT] [--masters N] [--workers N] [--tasks N] \
                     [--work-ms MS] [--for SECS] [--no-kill true]";

fn config(args: &Args) -> Result<DemoConfig, ArgsError> {
    args.only(&[
        "zk", "masters", "workers", "tasks", "work-ms", "for", "no-kill",
    ])?;
    let default = DemoConfig::default();
    Ok(DemoConfig {
        masters: args.parse_or("masters", default.masters)?,
        workers: args.parse_or("workers", default.workers)?,
        tasks: args.parse_or("tasks", default.tasks)?,
        kill: !args.parse_or("no-kill", false)?,
        work: Duration::from_millis(args.parse_or("work-ms", 40)?),
        timeout: run_for(args, default.timeout)?,
    })
}

#[tokio::main]
async fn main() {
    let args = Args::from_env().unwrap_or_else(|e| usage_exit(e, USAGE));
    let config = config(&args).unwrap_or_else(|e| usage_exit(e, USAGE));
    let backend = Backend::from_args(&args);
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
