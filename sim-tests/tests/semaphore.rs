//! Semaphores under the swarm fault mix: never more holders than leases (unpaused processes),
//! tokens increase in grant order, no permit leaks; after healing every live worker acquires.
//! Fencing per lease slot (each grant takes a free slot or one whose holder's lease node is
//! gone): tokens strictly increase per slot, and a stale holder's guarded write never lands
//! after its successor's in that slot. The one-lease variant (a semaphore mutex) also checks
//! every guarded write in token order.
#![cfg(madsim)]

use std::time::Duration;

use docent::recipes::semaphore::{Semaphore, SemaphoreOptions};
use docent_sim::{harness, Sim};
use docent_sim_tests::semaphores::{
    check_no_leaked_leases, spawn_semaphore_worker, SemaphoreRecord, SEMAPHORE,
};
use docent_sim_tests::workload::{create_data_node, SETTLE};

/// Workers on every client of `sim` sharing a semaphore of `max` leases; the checks after.
async fn run_workers(sim: Sim, max: usize) -> Result<(), Box<dyn std::error::Error>> {
    let record = SemaphoreRecord::with_slots(max);
    create_data_node(&sim).await;
    let stop = sim.healed_at() + SETTLE;
    for who in sim.names() {
        let options = SemaphoreOptions::max_leases(max);
        let semaphore = Semaphore::start(&sim.client(who), SEMAPHORE, options).await?;
        spawn_semaphore_worker(&sim, who, semaphore, &record, stop);
    }
    sim.sleep_until(stop).await;
    record.holds.timeline.check_at_most(&sim, max)?;
    record.granted.check_tokens(&sim)?;
    if max == 1 {
        record.holds.fence.check()?;
    }
    if let Some(slots) = &record.slots {
        slots.check()?;
    }
    record
        .holds
        .check_everyone_acquired_after(&sim, sim.healed_at())?;
    check_no_leaked_leases(&sim, SEMAPHORE, false)?;
    // Every worker closes within an acquire timeout; crashed ones' sessions expire.
    sim.sleep_until(stop + Duration::from_secs(35) + sim.session_timeout() * 2)
        .await;
    check_no_leaked_leases(&sim, SEMAPHORE, true)?;
    Ok(())
}

#[test]
fn semaphore_safety_and_liveness_under_swarm() {
    harness!("semaphore_safety_and_liveness_under_swarm")
        .clients(["a", "b", "c", "d"])
        .swarm(Duration::from_secs(60))
        .run(|sim| run_workers(sim, 2));
}

#[test]
fn semaphore_mutex_safety_and_liveness_under_swarm() {
    harness!("semaphore_mutex_safety_and_liveness_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .run(|sim| run_workers(sim, 1));
}
