//! LeaderLatch under the swarm fault mix: safety over every seed, liveness after healing.
#![cfg(madsim)]

use std::time::Duration;

use docent_sim::check::Holds;
use docent_sim::harness;
use docent_sim_tests::workload::{await_one_leader, start_latches, ELECTION};

/// How long after the faults healed a leader must exist.
const SETTLE: Duration = Duration::from_secs(40);

#[test]
fn latch_safety_and_liveness_under_swarm() {
    harness!("latch_safety_and_liveness_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .require_coverage("client.lost_injected", 60)
        .require_coverage("client.lost_expired", 30)
        .require_coverage("protected.found_by_lookup", 11)
        .run(|sim| async move {
            let timeline = Holds::new();
            let latches = start_latches(&sim, &timeline).await?;
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

/// Participants leave (closing their latch) and rejoin every few seconds while the swarm
/// strikes, so leadership changes hands under faults; the same checks apply.
#[test]
fn latch_churn_under_swarm() {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use docent::recipes::latch::{LatchOptions, LeaderLatch};
    use docent::rng::Rng;
    use docent_sim_tests::workload::{check_election, observe_latch};

    harness!("latch_churn_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .require_coverage("client.lost_injected", 60)
        .require_coverage("protected.cleanup", 55)
        .run(|sim| async move {
            let timeline = Holds::new();
            let latches: Arc<Mutex<BTreeMap<String, Arc<LeaderLatch>>>> = Arc::default();
            let churn_until = sim.healed_at();
            for (i, who) in sim.names().iter().enumerate() {
                let (sim, timeline, latches, who) =
                    (sim.clone(), timeline.clone(), latches.clone(), who.clone());
                let mut rng = Rng::new(sim.seed(), 0x4000 + i as u64);
                sim.clone().spawn(async move {
                    loop {
                        let options = LatchOptions::default().id(&who);
                        let Ok(latch) =
                            LeaderLatch::start(&sim.client(&who), ELECTION, options).await
                        else {
                            return;
                        };
                        observe_latch(&sim, &timeline, &who, latch.events());
                        let latch = Arc::new(latch);
                        latches.lock().unwrap().insert(who.clone(), latch.clone());
                        sim.sleep(Duration::from_millis(2_000 + rng.below(8_000)))
                            .await;
                        if sim.now() >= churn_until {
                            return;
                        }
                        latches.lock().unwrap().remove(&who);
                        // The process stops acting as leader before it leaves.
                        timeline.set(&who, None, sim.now());
                        let latch = Arc::try_unwrap(latch).expect("the registry let go of it");
                        let _ = latch.close().await;
                        sim.sleep(Duration::from_millis(rng.below(1_000))).await;
                    }
                });
            }
            let leading = || {
                latches
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(_, l)| l.has_leadership())
                    .map(|(w, _)| w.clone())
                    .collect()
            };
            check_election(&sim, &timeline, leading)
                .await
                .map_err(|e| format!("{e}\n{}", election_truth(&sim)))?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// Ground truth for a failure message: the election's nodes with their owners, and each
/// client's current session.
fn election_truth(sim: &docent_sim::Sim) -> String {
    use docent::Coordinator;
    let sessions: Vec<String> = sim
        .names()
        .iter()
        .map(|n| format!("{n}={:#x}", sim.session(n).session_id()))
        .collect();
    let nodes = sim.inspect(|m| {
        let children = m.node(None, ELECTION).map(|n| n.2).unwrap_or_default();
        children
            .iter()
            .map(|c| {
                let owner = m
                    .node(None, &format!("{ELECTION}/{c}"))
                    .map(|(_, stat, _)| stat.ephemeral_owner)
                    .unwrap_or_default();
                format!("{c} owner={owner:#x}")
            })
            .collect::<Vec<_>>()
    });
    format!("sessions {sessions:?}\nnodes {nodes:#?}")
}
