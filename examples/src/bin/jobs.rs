//! The job scheduler: schedulers in one election run each due job exactly once.
//!
//! ```text
//! cargo run -p docent-examples --bin jobs [-- --schedulers 3 --jobs 20 --every 0.2
//!     --close-leader-after 8 --plain-check] [--zk HOST:PORT]
//! ```
//!
//! On the embedded ensemble `--schedulers` (default 3) schedulers run in-process, each on its
//! own session; after `--close-leader-after` jobs the leader's session is closed and another
//! takes over. With `--zk` one scheduler runs (start several processes). Output:
//! `elected ID token=T`, `ran job N by ID token=T`, `deposed ID: REASON`. See
//! `docent_examples::jobs` for the design and `--plain-check` for the bug it avoids.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use docent_examples::jobs::{self, read_next, JobEvent, JobsOptions, Scheduler};
use docent_examples::{init_logging, secs, Backend, ZkArg};

/// The job scheduler: schedulers in one election run each due job exactly once.
#[derive(Parser)]
struct Cli {
    /// Schedulers to run in this process (embedded ensemble only; 1 with --zk).
    #[arg(long, default_value_t = 3)]
    schedulers: usize,
    /// Jobs in the schedule.
    #[arg(long, default_value_t = 20)]
    jobs: u64,
    /// Seconds between two jobs.
    #[arg(long, default_value = "0.2", value_parser = secs)]
    every: Duration,
    /// Close the leader's session once this many jobs ran (embedded ensemble only).
    #[arg(long)]
    close_leader_after: Option<u64>,
    /// Plant the bug: check leadership with a plain read, then write unguarded.
    #[arg(long)]
    plain_check: bool,
    #[command(flatten)]
    zk: ZkArg,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    init_logging();
    if let Err(e) = run(&cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: &Cli) -> Result<(), docent::Error> {
    let backend = Backend::new(&cli.zk);
    let count = if backend.is_embedded() {
        cli.schedulers.max(1)
    } else {
        1
    };
    println!("{count} job schedulers on {}", backend.describe());
    let observer = backend.client().await?;
    jobs::setup(&observer).await?;
    let (first, _) = read_next(&observer).await?;
    let options = JobsOptions {
        // Job `first` is due now: a restarted example carries on where the last one stopped.
        origin: observer
            .now()
            .since_epoch()
            .saturating_sub(cli.every * first as u32),
        every: cli.every,
        jobs: cli.jobs,
        plain_check: cli.plain_check,
        ..JobsOptions::default()
    };
    let sink: jobs::Sink = Arc::new(|event| match event {
        JobEvent::Elected { scheduler, token } => println!("elected {scheduler} token={token}"),
        JobEvent::Ran {
            scheduler,
            job,
            token,
        } => println!("ran job {job} by {scheduler} token={token}"),
        JobEvent::Deposed { scheduler, reason } => println!("deposed {scheduler}: {reason}"),
        _ => {}
    });
    let mut running = Vec::new();
    for i in 0..count {
        let client = backend.client().await?;
        let id = format!("s{i}");
        let scheduler = Scheduler::start(&client, &id, options.clone(), sink.clone()).await?;
        running.push((client, scheduler));
    }
    let mut closed = false;
    loop {
        let (next, _) = read_next(&observer).await?;
        if next >= cli.jobs {
            break;
        }
        if !closed && cli.close_leader_after.is_some_and(|n| next >= n) && backend.is_embedded() {
            if let Some((client, _)) = running.iter().find(|(_, s)| s.is_leader()) {
                println!("closing the leader's session");
                client.close().await?;
                closed = true;
            }
        }
        docent_examples::sleep(&observer, cli.every / 2).await;
    }
    println!("all {} jobs ran", cli.jobs);
    Ok(())
}
