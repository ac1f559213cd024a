//! LeaderLatch under the swarm fault mix: safety over every seed, liveness after healing.
#![cfg(madsim)]

use std::time::Duration;

use docent_sim::harness;
use docent_sim_tests::timeline::Timeline;
use docent_sim_tests::workload::{await_one_leader, start_latches, ELECTION};

/// How long after the faults healed a leader must exist.
const SETTLE: Duration = Duration::from_secs(40);

#[test]
fn latch_safety_and_liveness_under_swarm() {
    harness!("latch_safety_and_liveness_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .run(|sim| async move {
            let timeline = Timeline::new();
            let latches = start_latches(&sim, &timeline)?;
            sim.sleep_until(sim.healed_at()).await;
            await_one_leader(&sim, ELECTION, sim.healed_at() + SETTLE, || {
                latches
                    .iter()
                    .filter(|(_, l)| l.has_leadership())
                    .map(|(w, _)| w.clone())
                    .collect()
            })
            .await?;
            timeline.check_exclusive(&sim)?;
            timeline.check_tokens(&sim)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
