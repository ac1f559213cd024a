//! The main demo: masters, workers and a client, with a master and a worker killed midway.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::{Client, Error};

use super::events::{Event, Reporter};
use super::{child, done, setup, submit, Master, Worker, ASSIGN};
use crate::{sleep, Backend};

/// How the demo runs.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    /// Masters competing for leadership.
    pub masters: usize,
    /// Workers.
    pub workers: usize,
    /// Tasks submitted.
    pub tasks: usize,
    /// Kill the active master and the busiest worker once a third of the tasks are done.
    pub kill: bool,
    /// How long a worker takes for one task.
    pub work: Duration,
    /// Give up waiting for the tasks after this long.
    pub timeout: Duration,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            masters: 3,
            workers: 4,
            tasks: 100,
            kill: true,
            work: Duration::from_millis(40),
            timeout: Duration::from_secs(60),
        }
    }
}

/// How the demo ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Tasks submitted.
    pub submitted: usize,
    /// Tasks with a `/status` node at the end.
    pub done: usize,
    /// Tasks sent back from a vanished worker.
    pub reassigned: usize,
    /// Tasks whose completion was recorded more than once (0 by construction).
    pub duplicates: usize,
    /// Elections won.
    pub elections: usize,
    /// Executions whose result was not recorded because the task was done or taken away.
    pub discarded: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "tasks done {}/{}, reassigned {}, duplicates {}",
            self.done, self.submitted, self.reassigned, self.duplicates
        )
    }
}

/// What the reported events add up to.
#[derive(Debug, Default)]
struct Tally {
    completions: BTreeMap<String, usize>,
    reassigned: usize,
    elections: usize,
    discarded: usize,
    held: usize,
}

impl Tally {
    fn add(&mut self, event: &Event) {
        match event {
            Event::Completed { task, .. } => {
                *self.completions.entry(task.clone()).or_default() += 1
            }
            Event::Reassigned { .. } => self.reassigned += 1,
            Event::Elected { .. } => self.elections += 1,
            Event::Held { .. } => self.held += 1,
            Event::AlreadyDone { .. } | Event::TakenAway { .. } => self.discarded += 1,
            _ => {}
        }
    }
}

/// Runs the demo on `backend`, calling `on_event` for everything that happens, and returns
/// the summary once every task is done (or `config.timeout` passed).
pub async fn run(
    backend: &Backend,
    config: &DemoConfig,
    on_event: impl Fn(&Event) + Send + Sync + 'static,
) -> Result<Summary, Error> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let reporter = {
        let tally = tally.clone();
        Reporter::new(move |event| {
            tally.lock().expect("tally poisoned").add(&event);
            on_event(&event);
        })
    };
    let admin = backend.client().await?;
    setup(&admin).await?;

    let mut masters = Vec::new();
    for i in 1..=config.masters {
        let client = backend.client().await?;
        masters.push(Master::start(&client, &format!("master-{i}"), reporter.clone()).await?);
    }
    // Tasks that arrive before any worker: the master holds them.
    let early = (config.tasks / 10).max(1).min(config.tasks);
    let mut submitted = 0;
    while submitted < early {
        submitted += 1;
        submit(&admin, &task_name(submitted), b"work").await?;
    }
    // Let the active master see them (and hold them) before the workers come.
    let patience = admin.now() + Duration::from_secs(5);
    while tally.lock().expect("tally poisoned").held < early && admin.now() < patience {
        sleep(&admin, Duration::from_millis(10)).await;
    }
    let mut workers = Vec::new();
    for i in 1..=config.workers {
        let client = backend.client().await?;
        workers.push(
            Worker::start(
                &client,
                &format!("worker-{i}"),
                reporter.clone(),
                config.work,
            )
            .await?,
        );
    }
    let deadline = admin.now() + config.timeout;
    let mut killed = !config.kill;
    loop {
        if submitted < config.tasks {
            submitted += 1;
            submit(&admin, &task_name(submitted), b"work").await?;
        }
        let finished = done(&admin).await?.len();
        if !killed && finished >= config.tasks / 3 {
            if let Some(i) = masters.iter().position(Master::is_active) {
                killed = true;
                let master = masters.remove(i);
                reporter.report(Event::Killed {
                    role: "master",
                    id: master.id().to_owned(),
                });
                master.kill().await?;
                if let Some(i) = busiest(&admin, &workers).await? {
                    let worker = workers.remove(i);
                    reporter.report(Event::Killed {
                        role: "worker",
                        id: worker.id().to_owned(),
                    });
                    worker.kill().await?;
                }
            }
        }
        if finished >= config.tasks || admin.now() >= deadline {
            break;
        }
        if submitted >= config.tasks {
            sleep(&admin, Duration::from_millis(50)).await;
        }
    }
    let done_count = done(&admin).await?.len();
    for master in masters {
        master.kill().await?;
    }
    for worker in workers {
        worker.kill().await?;
    }
    admin.close().await?;
    let tally = tally.lock().expect("tally poisoned");
    Ok(Summary {
        submitted,
        done: done_count,
        reassigned: tally.reassigned,
        duplicates: tally.completions.values().filter(|&&n| n > 1).count(),
        elections: tally.elections,
        discarded: tally.discarded,
    })
}

/// `task-0007`.
pub fn task_name(i: usize) -> String {
    format!("task-{i:04}")
}

/// The worker with the most assignments right now (the first one on a tie).
async fn busiest(client: &Client, workers: &[Worker]) -> Result<Option<usize>, Error> {
    let mut best: Option<(usize, usize)> = None;
    for (i, worker) in workers.iter().enumerate() {
        let load = match client.get_children().at(&child(ASSIGN, worker.id())).await {
            Ok((tasks, _, _)) => tasks.len(),
            Err(Error::NoNode) => 0,
            Err(e) => return Err(e),
        };
        match best {
            Some((_, most)) if load <= most => {}
            _ => best = Some((i, load)),
        }
    }
    Ok(best.map(|(i, _)| i))
}
