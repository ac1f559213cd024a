//! ReadWriteLock under the swarm fault mix: writers never overlap, no reader overlaps a
//! writer (counting only unpaused processes), write tokens increase in grant order, guarded
//! writes land in token order; after healing every live worker gets a lease, and once the
//! workers stop no lease node outlives its session.
#![cfg(madsim)]

use docent::recipes::rwlock::{ReadWriteLock, ReadWriteLockOptions};
use docent_sim::harness;
use docent_sim_tests::rwlock::{await_no_lease_nodes, spawn_rw_worker, RwRecord, RWLOCK};
use docent_sim_tests::workload::{create_data_node, SETTLE};

#[test]
fn rwlock_safety_and_liveness_under_swarm() {
    harness!("rwlock_safety_and_liveness_under_swarm")
        .clients(["a", "b", "c", "d"])
        .swarm(std::time::Duration::from_secs(60))
        .run(|sim| async move {
            let record = RwRecord::default();
            create_data_node(&sim).await;
            let stop = sim.healed_at() + SETTLE;
            for who in sim.names() {
                let options = ReadWriteLockOptions::default();
                let lock = ReadWriteLock::start(&sim.client(who), RWLOCK, options).await?;
                spawn_rw_worker(&sim, who, lock, &record, stop);
            }
            sim.sleep_until(stop).await;
            record.check_safety(&sim)?;
            record
                .writes
                .check_everyone_acquired_after(&sim, sim.healed_at())?;
            await_no_lease_nodes(&sim, stop + SETTLE).await?;
            record.check_safety(&sim)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
