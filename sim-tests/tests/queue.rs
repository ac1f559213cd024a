//! Distributed queues under the swarm fault mix. With a lock path: every acknowledged put is
//! delivered at least once, and again only after its consumer dropped it, crashed or lost its
//! session mid-item. Without one: never twice. Always: the bytes delivered are bytes put.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use docent_sim::{harness, Sim};
use docent_sim_tests::queues::{spawn_consumer, spawn_producer, try_start_queue, QueueRecord};
use docent_sim_tests::workload::SETTLE;

/// Producers and consumers on every client; the checks once everything had time to drain.
async fn run(sim: Sim, lock: bool) -> Result<(), String> {
    let record = QueueRecord::default();
    let produce_until = sim.healed_at().max(Duration::from_secs(20));
    for who in sim.names() {
        record.observe_losses(&sim, who, &sim.client(who));
        let Some(queue) = try_start_queue(&sim, who, lock).await else {
            continue;
        };
        let queue = Arc::new(queue);
        spawn_producer(&sim, who, queue.clone(), &record, produce_until);
        spawn_consumer(&sim, who, queue, &record);
    }
    // Items a crashed consumer had locked come back once its session expires.
    sim.sleep_until(produce_until + SETTLE + sim.session_timeout() * 2)
        .await;
    record.check_content()?;
    if lock {
        record.check_redeliveries_excused(&sim)?;
        record.check_acked_delivered(&sim)?;
    } else {
        record.check_never_twice()?;
    }
    Ok(())
}

#[test]
fn queue_with_lock_path_at_least_once_under_swarm() {
    harness!("queue_with_lock_path_at_least_once_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .run(|sim| run(sim, true));
}

#[test]
fn queue_without_lock_path_at_most_once_under_swarm() {
    harness!("queue_without_lock_path_at_most_once_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .run(|sim| run(sim, false));
}
