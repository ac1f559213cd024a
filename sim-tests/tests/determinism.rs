//! The determinism gate: sampled seeds of the latch and mutex swarms run twice, and the model's
//! event logs (every reply, watch, session change and fault, with its simulated time) must be
//! identical. A difference is reported at its first event.
#![cfg(madsim)]

use std::time::Duration;

use docent::recipes::lock::{Mutex, MutexOptions};
use docent_sim::check::Holds;
use docent_sim::harness;
use docent_sim_tests::workload::{
    check_election, create_data_node, spawn_mutex_worker, start_latches, MutexRecord, LOCK, SETTLE,
};

/// Seeds sampled from the range: every 8th.
const SAMPLE: usize = 8;

#[test]
fn latch_swarm_is_deterministic() {
    let h = harness!("latch_swarm_is_deterministic").swarm(Duration::from_secs(60));
    let range = h.seed_range();
    for seed in range.step_by(SAMPLE) {
        h.clone()
            .seeds(seed..seed + 1)
            .determinism(true)
            .quiet()
            .run(|sim| async move {
                let timeline = Holds::new();
                let latches = start_latches(&sim, &timeline).await?;
                let leading = || {
                    latches
                        .iter()
                        .filter(|(_, l)| l.has_leadership())
                        .map(|(w, _)| w.clone())
                        .collect()
                };
                check_election(&sim, &timeline, leading).await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}

#[test]
fn mutex_swarm_is_deterministic() {
    let h = harness!("mutex_swarm_is_deterministic").swarm(Duration::from_secs(60));
    let range = h.seed_range();
    for seed in range.step_by(SAMPLE) {
        h.clone()
            .seeds(seed..seed + 1)
            .determinism(true)
            .quiet()
            .run(|sim| async move {
                let record = MutexRecord::default();
                create_data_node(&sim).await;
                let stop = sim.healed_at() + SETTLE;
                for who in sim.names() {
                    let mutex =
                        Mutex::start(&sim.client(who), LOCK, MutexOptions::default()).await?;
                    spawn_mutex_worker(&sim, who, mutex, &record, stop);
                }
                sim.sleep_until(stop).await;
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}
