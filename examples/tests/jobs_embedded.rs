//! The job scheduler on the embedded ensemble, briefly: the leader's process goes away midway
//! and another scheduler carries on, every job running once. (The fault-injection suite is
//! `tests/jobs.rs`, under madsim.)
#![cfg(not(madsim))]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::Client;
use docent_examples::jobs::{self, job_of, read_next, JobEvent, JobsOptions, Scheduler, RUNS};
use docent_sim::EmbeddedEnsemble;

const JOBS: u64 = 30;

async fn wait_for_cursor(client: &Client, at_least: u64) {
    for _ in 0..1000 {
        if read_next(client)
            .await
            .is_ok_and(|(next, _)| next >= at_least)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the cursor never reached {at_least}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_carries_on_and_every_job_runs_once() {
    let ensemble = EmbeddedEnsemble::start(3);
    let clients: Vec<Client> = (0..3)
        .map(|_| Client::builder(ensemble.connect()).build().unwrap())
        .collect();
    jobs::setup(&clients[0]).await.unwrap();
    let options = JobsOptions {
        origin: clients[0].now().since_epoch(),
        every: Duration::from_millis(20),
        jobs: JOBS,
        ..JobsOptions::default()
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink: jobs::Sink = {
        let events = events.clone();
        Arc::new(move |e| events.lock().unwrap().push(e))
    };
    let mut schedulers = Vec::new();
    for (i, client) in clients.iter().enumerate() {
        let id = format!("s{i}");
        schedulers.push(Scheduler::start(client, &id, options.clone(), sink.clone()).await);
    }
    let schedulers: Vec<Scheduler> = schedulers.into_iter().map(Result::unwrap).collect();
    let observer = Client::builder(ensemble.connect()).build().unwrap();
    wait_for_cursor(&observer, JOBS / 3).await;

    // The leader's process goes away: its session closes, another scheduler leads.
    let leader = schedulers.iter().position(Scheduler::is_leader).unwrap();
    clients[leader].close().await.unwrap();
    wait_for_cursor(&observer, JOBS).await;

    let (runs, _, _) = observer.get_children().at(RUNS).await.unwrap();
    let mut per_job: BTreeMap<u64, usize> = BTreeMap::new();
    for name in &runs {
        *per_job.entry(job_of(name).unwrap()).or_default() += 1;
    }
    assert_eq!(per_job.len() as u64, JOBS, "{runs:?}");
    assert!(per_job.values().all(|&n| n == 1), "{runs:?}");
    let events = events.lock().unwrap().clone();
    let ran: Vec<(u64, String)> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Ran { job, scheduler, .. } => Some((*job, scheduler.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        ran.iter().map(|(job, _)| *job).collect::<Vec<_>>(),
        (0..JOBS).collect::<Vec<_>>(),
        "each job reported once, in order: {events:?}"
    );
    let leaders: Vec<&String> = ran.iter().map(|(_, s)| s).collect();
    let first = leaders[0];
    assert_eq!(first, &format!("s{leader}"));
    assert!(
        leaders.iter().any(|s| *s != first),
        "a second scheduler took over: {events:?}"
    );
}
