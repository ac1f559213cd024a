//! Counters under the swarm fault mix, with history checks: an `AtomicLong` added to by every
//! client (half of them promoted to a lock once their optimistic tries fail) and a
//! `SharedCount` compare-and-set one higher by every client. Totals account for every applied
//! change and at most every unknown one, every value read was written, every successful
//! `try_set` wrote on the version it read; after healing every live worker gets changes in.
#![cfg(madsim)]

use std::time::Duration;

use docent::recipes::atomic::{AtomicLong, AtomicOptions, PromotedToLock};
use docent_sim::harness;
use docent_sim_tests::atomic::{
    count_of, long_of, spawn_count_worker, spawn_counter_worker, CounterRecord, COUNT, COUNTER,
};
use docent_sim_tests::workload::SETTLE;

#[test]
fn atomic_long_totals_under_swarm() {
    harness!("atomic_long_totals_under_swarm")
        .clients(["a", "b", "c", "d"])
        .swarm(Duration::from_secs(60))
        .run(|sim| async move {
            let record = CounterRecord::default();
            let stop = sim.healed_at() + SETTLE;
            for (i, who) in sim.names().iter().enumerate() {
                let mut options = AtomicOptions::default();
                if i % 2 == 1 {
                    let lock =
                        PromotedToLock::new("/counters/lock").timeout(Duration::from_secs(5));
                    options = options.promote_to_lock(lock);
                }
                let counter = AtomicLong::start(&sim.client(who), COUNTER, options).await?;
                spawn_counter_worker(&sim, who, counter, &record, stop);
            }
            sim.sleep_until(stop).await;
            record.check_progress_after(&sim, sim.healed_at())?;
            // Let the last changes end (or their processes stay crashed) before the totals.
            sim.sleep(Duration::from_secs(35)).await;
            record.check(&sim, COUNTER, long_of)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

#[test]
fn shared_count_try_set_under_swarm() {
    harness!("shared_count_try_set_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .run(|sim| async move {
            let record = CounterRecord::default();
            let stop = sim.healed_at() + SETTLE;
            for who in sim.names() {
                spawn_count_worker(&sim, who, COUNT, &record, stop);
            }
            sim.sleep_until(stop).await;
            record.check_progress_after(&sim, sim.healed_at())?;
            sim.sleep(Duration::from_secs(35)).await;
            record.check(&sim, COUNT, count_of)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
