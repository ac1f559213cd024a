//! Recipes while every server of the ensemble is replaced, one by one, by reconfiguration
//! (the swarm mix plus the membership faults: a rolling replacement, one step of it during a
//! partition, Exhibitor answers gone wrong). Each suite runs twice: clients following the
//! ensemble tracker, and clients following the Exhibitors.
//!
//! The recipes keep their usual checks (latch: one leader after healing, no overlap, tokens
//! in order; mutex: exclusive holds, tokens, fenced writes, everyone acquires; caches: every
//! state shown was real, order, convergence). Besides: a chrooted client never writes outside
//! its root and keeps its session through every move, and every provider ends listing the
//! members.
#![cfg(madsim)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::FutureExt;

use docent::recipes::lock::{Mutex, MutexOptions};
use docent_sim::check::Holds;
use docent_sim::check::Seen;
use docent_sim::{harness, EnsembleSource, Harness, Sim};
use docent_sim_tests::caches::{
    check_order, children_cache, converge, node_cache, sample_until, spawn_writer, tree_cache,
    NODE, ROOT,
};
use docent_sim_tests::ensemble::{check_providers, membership_swarm, stranded, Rooted};
use docent_sim_tests::workload::{
    await_one_leader, create_data_node, spawn_mutex_worker, start_latches, MutexRecord, ELECTION,
    LOCK,
};

/// How long after the faults healed the recipes must have recovered.
const SETTLE: Duration = Duration::from_secs(40);

const SOURCES: [EnsembleSource; 2] = [EnsembleSource::Tracker, EnsembleSource::Exhibitor];

type Result = std::result::Result<(), Box<dyn std::error::Error>>;

fn membership(h: Harness, clients: u32, source: EnsembleSource) -> Harness {
    h.schedule_fn(membership_swarm(clients, Duration::from_secs(60)))
        .ensemble_source(source)
}

/// Seeds in which a client was [`stranded`].
static STRANDED: AtomicUsize = AtomicUsize::new(0);

/// Whether liveness can be asked of every client: none was [`stranded`] (counted, printed).
fn live(sim: &Sim) -> bool {
    let stranded = stranded(sim);
    if !stranded.is_empty() {
        STRANDED.fetch_add(1, Ordering::Relaxed);
        eprintln!(
            "seed {}: {stranded:?} stranded, liveness not checked",
            sim.seed()
        );
    }
    stranded.is_empty()
}

/// The end-of-run checks every suite adds.
fn check_membership(sim: &Sim, rooted: &Rooted) -> Result {
    rooted.check(sim, sim.healed_at())?;
    check_providers(sim)?;
    Ok(())
}

#[test]
fn latch_while_every_server_is_replaced() {
    for source in SOURCES {
        let h = harness!("latch_while_every_server_is_replaced").clients(["a", "b", "c"]);
        membership(h, 3, source).run(|sim| async move {
            let timeline = Holds::new();
            let latches = start_latches(&sim, &timeline).await?;
            let rooted = Rooted::start(&sim, source, sim.healed_at() + SETTLE);
            sim.sleep_until(sim.healed_at()).await;
            if live(&sim) {
                await_one_leader(&sim, ELECTION, sim.healed_at() + SETTLE, || {
                    latches
                        .iter()
                        .filter(|(_, l)| l.has_leadership())
                        .map(|(w, _)| w.clone())
                        .collect()
                })
                .await?;
            }
            timeline.check_exclusive(&sim)?;
            timeline.check_tokens(&sim)?;
            sim.sleep_until(sim.healed_at() + SETTLE).await;
            check_membership(&sim, &rooted)
        });
    }
}

#[test]
fn mutex_while_every_server_is_replaced() {
    for source in SOURCES {
        let h = harness!("mutex_while_every_server_is_replaced").clients(["a", "b", "c"]);
        membership(h, 3, source).run(|sim| async move {
            let record = MutexRecord::default();
            create_data_node(&sim).await;
            let stop = sim.healed_at() + SETTLE;
            let rooted = Rooted::start(&sim, source, stop);
            for who in sim.names() {
                let client = sim.client(who);
                let start = Mutex::start(&client, LOCK, MutexOptions::default());
                // A client stranded before its mutex started never starts it.
                let started = futures::select_biased! {
                    mutex = start.fuse() => Some(mutex?),
                    () = sim.sleep_until(stop).fuse() => None,
                };
                match started {
                    Some(mutex) => spawn_mutex_worker(&sim, who, mutex, &record, stop),
                    None if !live(&sim) => return check_membership(&sim, &rooted),
                    None => return Err(format!("{who}'s mutex never started").into()),
                }
            }
            sim.sleep_until(stop).await;
            record.timeline.check_exclusive(&sim)?;
            record.timeline.check_tokens(&sim)?;
            record.fence.check()?;
            if live(&sim) {
                record.check_everyone_acquired_after(&sim, sim.healed_at())?;
            }
            check_membership(&sim, &rooted)
        });
    }
}

#[test]
fn caches_while_every_server_is_replaced() {
    for source in SOURCES {
        let h = harness!("caches_while_every_server_is_replaced").clients(["w1", "w2", "c1", "c2"]);
        membership(h, 4, source).run(|sim| async move {
            let seen = Seen::new();
            let caches = vec![
                node_cache(&sim, &seen, "c1", NODE).await?,
                children_cache(&sim, &seen, "c1", ROOT, true).await?,
                tree_cache(&sim, &seen, "c1", ROOT, usize::MAX).await?,
                node_cache(&sim, &seen, "c2", NODE).await?,
                children_cache(&sim, &seen, "c2", ROOT, false).await?,
                tree_cache(&sim, &seen, "c2", ROOT, 1).await?,
            ];
            let quiet = sim.healed_at().max(Duration::from_secs(30));
            let rooted = Rooted::start(&sim, source, quiet + SETTLE);
            spawn_writer(&sim, "w1", 1, quiet);
            spawn_writer(&sim, "w2", 2, quiet);
            sample_until(&sim, &caches, &seen, quiet).await;
            let converged = converge(&sim, &caches, &seen, quiet + SETTLE).await;
            check_order(&caches)?;
            seen.check(&sim, ROOT)?;
            if live(&sim) {
                converged?;
            }
            sim.sleep_until(quiet + SETTLE).await;
            check_membership(&sim, &rooted)
        });
    }
}
