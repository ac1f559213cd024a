//! The master–worker system on the embedded ensemble, briefly.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent_examples::master_worker::{run, DemoConfig, Event};
use docent_examples::Backend;
use docent_sim::EmbeddedEnsemble;

fn config(tasks: usize, kill: bool) -> DemoConfig {
    DemoConfig {
        masters: 2,
        workers: 3,
        tasks,
        kill,
        work: Duration::from_millis(5),
        timeout: Duration::from_secs(20),
    }
}

async fn run_collecting(
    config: &DemoConfig,
) -> (docent_examples::master_worker::Summary, Vec<Event>) {
    let backend = Backend::Embedded(EmbeddedEnsemble::start(3));
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let summary = run(&backend, config, move |e| {
        sink.lock().unwrap().push(e.clone())
    })
    .await
    .unwrap();
    let events = events.lock().unwrap().clone();
    (summary, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_tasks_survive_a_master_and_a_worker_failure() {
    let (summary, events) = run_collecting(&config(20, true)).await;
    assert_eq!((summary.done, summary.submitted), (20, 20), "{summary}");
    assert_eq!(summary.duplicates, 0);
    // Each task's completion was recorded by exactly one worker.
    let mut completions: BTreeMap<String, usize> = BTreeMap::new();
    for event in &events {
        if let Event::Completed { task, .. } = event {
            *completions.entry(task.clone()).or_default() += 1;
        }
    }
    assert_eq!(completions.len(), 20);
    assert!(completions.values().all(|&n| n == 1));
    // The active master was killed: a second election happened, and the new master recovered
    // the assignments before assigning anything.
    let killed: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Killed { .. }))
        .collect();
    assert_eq!(killed.len(), 2, "{killed:?}");
    assert!(summary.elections >= 2, "{summary:?}");
    let second = events
        .iter()
        .position(|e| matches!(e, Event::Elected { .. }))
        .and_then(|first| {
            events[first + 1..]
                .iter()
                .position(|e| matches!(e, Event::Elected { .. }))
                .map(|i| first + 1 + i)
        })
        .expect("a second election");
    let after: Vec<&Event> = events[second + 1..]
        .iter()
        .filter(|e| matches!(e, Event::Recovered { .. } | Event::Assigned { .. }))
        .collect();
    assert!(
        matches!(after.first(), Some(Event::Recovered { .. })),
        "{after:?}"
    );
    // Reassignments counted in the summary are the reported ones.
    let reassigned = events
        .iter()
        .filter(|e| matches!(e, Event::Reassigned { .. }))
        .count();
    assert_eq!(summary.reassigned, reassigned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_submitted_before_any_worker_are_held_then_assigned() {
    let (summary, events) = run_collecting(&config(10, false)).await;
    assert_eq!((summary.done, summary.duplicates), (10, 0), "{summary}");
    // The first task arrives before any worker: held, then assigned once a worker registers.
    let held = events
        .iter()
        .position(|e| matches!(e, Event::Held { task } if task == "task-0001"))
        .expect("task-0001 held");
    let up = events
        .iter()
        .position(|e| matches!(e, Event::WorkerUp { .. }))
        .expect("a worker registered");
    let assigned = events
        .iter()
        .position(|e| matches!(e, Event::Assigned { task, .. } if task == "task-0001"))
        .expect("task-0001 assigned");
    assert!(
        held < up && up < assigned,
        "held {held}, up {up}, assigned {assigned}"
    );
    assert_eq!(summary.reassigned, 0);
}
