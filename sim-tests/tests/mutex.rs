//! Mutex under the swarm fault mix: holds never overlap, tokens increase in grant order,
//! guarded writes land in token order; after healing every live worker acquires.
#![cfg(madsim)]

use std::time::Duration;

use docent::recipes::lock::{Mutex, MutexOptions};
use docent_sim::harness;
use docent_sim_tests::workload::{create_data_node, spawn_mutex_worker, MutexRecord, LOCK};

/// How long after the faults healed every live worker must have acquired.
const SETTLE: Duration = Duration::from_secs(40);

#[test]
fn mutex_safety_and_liveness_under_swarm() {
    harness!("mutex_safety_and_liveness_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .require_coverage("protected.unknown_outcome", 65)
        .require_coverage("protected.found_by_lookup", 15)
        .require_coverage("model.create_reply_lost", 5)
        .require_coverage("guaranteed.retried", 120)
        .run(|sim| async move {
            let record = MutexRecord::default();
            create_data_node(&sim).await;
            let stop = sim.healed_at() + SETTLE;
            for who in sim.names() {
                let mutex = Mutex::start(&sim.client(who), LOCK, MutexOptions::default()).await?;
                spawn_mutex_worker(&sim, who, mutex, &record, stop);
            }
            sim.sleep_until(stop).await;
            record.timeline.check_exclusive(&sim)?;
            record.timeline.check_tokens(&sim)?;
            record.fence.check()?;
            record.check_everyone_acquired_after(&sim, sim.healed_at())?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
