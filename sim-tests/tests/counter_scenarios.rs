//! The named counter scenarios (`AtomicLong`, `SharedCount`), each a scripted fault schedule
//! (or a fault injected at the step it aims at) swept over a few seeds.
#![cfg(madsim)]

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use futures::future::{self, Either};
use futures::StreamExt;

use docent::recipes::atomic::{AtomicLong, AtomicOptions, AtomicStatus};
use docent::recipes::shared::{SharedCount, SharedOptions, SharedState, Versioned};
use docent::{Error, RetryPolicy};
use docent_sim::{harness, Fault, FaultSchedule, Sim};
use docent_sim_tests::atomic::{
    count_of, long_of, spawn_count_worker, CounterRecord, Outcome, COUNT, COUNTER,
};

const SEEDS: u64 = 16;

fn s(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn patient() -> AtomicOptions {
    AtomicOptions::default().retry(RetryPolicy::n_times(100, Duration::from_millis(20)))
}

/// Ground truth: the counter's value and data version on the leader (absent: 0).
fn node(sim: &Sim, path: &str, decode: fn(&[u8]) -> i64) -> (i64, i32) {
    sim.inspect(|m| m.node(None, path))
        .map_or((0, 0), |(data, stat, _)| (decode(&data), stat.version))
}

/// Netflix curator #187 sibling, the issue's own row: the reply of an increment's write is
/// lost (the write went through the log, applied or refused). The increment reports the outcome
/// unknown, is not retried, and the counter ends at the applied increments plus at most that one.
#[test]
fn atomic_increment_lost_reply() {
    harness!("atomic_increment_lost_reply")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let a = AtomicLong::start(&sim.client("a"), COUNTER, patient()).await?;
            let b = AtomicLong::start(&sim.client("b"), COUNTER, patient()).await?;
            let record = CounterRecord::default();
            let rival = {
                let record = record.clone();
                let sim = sim.clone();
                async move {
                    for _ in 0..10 {
                        record.begin("b", 1);
                        let result = b.increment().await;
                        record.end("b", Outcome::of_atomic(&result), sim.now());
                    }
                    b.close().await
                }
            };
            let ours = async {
                let mut statuses = Vec::new();
                for i in 0..20 {
                    if i == 10 {
                        sim.inject(Fault::LoseReply { client: 0 });
                    }
                    record.begin("a", 1);
                    let result = a.increment().await;
                    record.end("a", Outcome::of_atomic(&result), sim.now());
                    statuses.push(result.map(|r| r.status));
                }
                statuses
            };
            let (statuses, closed) = future::join(ours, rival).await;
            closed?;
            let unknown: Vec<usize> = (0..20)
                .filter(|i| statuses[*i] == Ok(AtomicStatus::Unknown))
                .collect();
            if unknown != [10] || statuses.iter().any(|s| s.is_err()) {
                return Err(format!("a's increments ended {statuses:?}").into());
            }
            // 29 acknowledged; the lost write was applied once (30) or, when it met a
            // conflict, not at all (29): never twice.
            let (value, _) = node(&sim, COUNTER, long_of);
            if !(29..=30).contains(&value) {
                return Err(format!("the counter is {value}: 29 acknowledged, 1 unknown").into());
            }
            record.check(&sim, COUNTER, long_of)?;
            a.close().await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// Netflix curator #187: an increment blocked forever when another process deleted the
/// counter node. The node (and, once reaped, its container parent) is deleted over and over
/// while two processes increment: every increment ends within a bound, and afterwards the
/// counter counts again from its new start.
#[test]
fn atomic_node_deleted() {
    harness!("atomic_node_deleted")
        .clients(["a", "b", "c"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let until = s(30.0);
            let mut workers = Vec::new();
            for who in ["a", "b"] {
                let counter = AtomicLong::start(&sim.client(who), COUNTER, patient()).await?;
                let sim = sim.clone();
                workers.push(async move {
                    while sim.now() < until {
                        let bound = sim.sleep(s(30.0));
                        match future::select(Box::pin(counter.increment()), bound).await {
                            Either::Left((Ok(r), _)) if r.status != AtomicStatus::Unknown => {}
                            Either::Left((other, _)) => {
                                return Err(format!("{who}: increment ended {other:?}"))
                            }
                            Either::Right(_) => {
                                return Err(format!("{who}: an increment hung past 30 s"))
                            }
                        }
                        sim.sleep(s(0.1)).await;
                    }
                    Ok(counter)
                });
            }
            let deleter = {
                let (sim, c) = (sim.clone(), sim.client("c"));
                async move {
                    for _ in 0..8 {
                        sim.sleep(s(3.0)).await;
                        let _ = c.delete().at(COUNTER).await;
                    }
                }
            };
            let (counters, ()) = future::join(future::join_all(workers), deleter).await;
            let counter = counters.into_iter().next().expect("a's counter")?;
            let (before, _) = node(&sim, COUNTER, long_of);
            for _ in 0..5 {
                let r = counter.increment().await?;
                if !r.succeeded() {
                    return Err(format!("after the deletes an increment ended {r:?}").into());
                }
            }
            let (after, _) = node(&sim, COUNTER, long_of);
            if after != before + 5 {
                return Err(
                    format!("5 increments took the counter from {before} to {after}").into(),
                );
            }
            counter.close().await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// CURATOR-688: after 2^31 updates the node's version wrapped negative and `trySetCount`
/// never succeeded again. The model starts the count node's version 3 short of `i32::MAX`:
/// compare-and-sets keep succeeding across the wrap, and both handles follow the value.
#[test]
fn shared_count_version_overflow() {
    harness!("shared_count_version_overflow")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let a = count_on(&sim, "a").await?;
            sim.inject(Fault::AgeVersion {
                path: COUNT.into(),
                version: i32::MAX - 3,
            });
            sim.sleep(s(1.0)).await;
            let b = count_on(&sim, "b").await?;
            let record = CounterRecord::default();
            let (a, b) = (Arc::new(a), Arc::new(b));
            let (ra, rb) = future::join(
                bump(&sim, "a", a.clone(), &record, 5),
                bump(&sim, "b", b.clone(), &record, 5),
            )
            .await;
            ra?;
            rb?;
            let (value, version) = node(&sim, COUNT, count_of);
            if value != 10 || version != (i32::MAX - 3).wrapping_add(10) {
                return Err(format!("count {value} at version {version}").into());
            }
            sim.sleep(s(1.0)).await;
            let want = SharedState::Value(Versioned { value: 10, version });
            for (who, count) in [("a", &a), ("b", &b)] {
                if count.state() != want {
                    return Err(format!("{who} shows {:?}, want {want:?}", count.state()).into());
                }
            }
            record.check(&sim, COUNT, count_of)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// `who`'s handle on the shared count (seeded with 0).
async fn count_on(sim: &Sim, who: &str) -> Result<SharedCount, Error> {
    SharedCount::start(&sim.client(who), COUNT, SharedOptions::seed(0)).await
}

/// `who` compare-and-sets `count` one higher until `times` of its writes succeeded (at most
/// 200 tries), recording each.
async fn bump(
    sim: &Sim,
    who: &str,
    count: Arc<SharedCount>,
    record: &CounterRecord,
    times: usize,
) -> Result<(), Error> {
    let mut done = 0;
    for _ in 0..200 {
        if done == times {
            return Ok(());
        }
        let seen = count.get()?;
        record.begin(who, 1);
        let result = count.try_set(&seen, seen.value + 1).await;
        if result == Ok(true) {
            record.cas_succeeded(who, seen.version, seen.value as i64 + 1);
            done += 1;
        }
        record.end(who, Outcome::of_try_set(&result), sim.now());
        result?;
        sim.sleep(s(0.05)).await;
    }
    Err(Error::InvalidArgument(format!("{who} stuck at {done}")))
}

/// The other side of the wrap: version -1 is ZooKeeper's "any version", so a compare-and-set
/// there would write blindly. `try_set` refuses it (a clear error, not a success on a stale
/// version); an unconditional `set` moves past it and compare-and-sets work again.
#[test]
fn shared_count_version_overflow_minus_one() {
    harness!("shared_count_version_overflow (version -1)")
        .clients(["a"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let count = count_on(&sim, "a").await?;
            sim.inject(Fault::AgeVersion {
                path: COUNT.into(),
                version: -3,
            });
            sim.sleep(s(1.0)).await;
            count.set(0).await?; // version -2: seen
            let mut refused = 0;
            for _ in 0..5 {
                let seen = count.get()?;
                match count.try_set(&seen, seen.value + 1).await {
                    Ok(true) => {}
                    Err(Error::InvalidArgument(_)) if seen.version == -1 => {
                        refused += 1;
                        count.set(seen.value + 1).await?;
                    }
                    other => return Err(format!("try_set at {seen:?} ended {other:?}").into()),
                }
            }
            let (value, version) = node(&sim, COUNT, count_of);
            if refused != 1 || value != 5 || version != 3 {
                return Err(
                    format!("{refused} refusals, count {value} at version {version}").into(),
                );
            }
            count.close().await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// A `SharedCount` updated while both followers lag 3 s behind the leader: handles on a
/// follower read old values and their `try_set`s on them fail (never succeed on a stale
/// version); every value shown was written, and once the lag ends every handle shows the
/// node as it is.
#[test]
fn shared_count_updated_on_a_lagging_follower() {
    let lag = |server| Fault::FollowerLag {
        server,
        lag: s(3.0),
        duration: s(30.0),
    };
    harness!("shared_count_updated_on_a_lagging_follower")
        .clients(["a", "b", "c"])
        .schedule(FaultSchedule::new().at(s(1.0), lag(1)).at(s(1.0), lag(2)))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let record = CounterRecord::default();
            let stop = s(40.0);
            let mut observers = Vec::new();
            let shown = Arc::new(StdMutex::new(Vec::new()));
            for who in sim.names() {
                spawn_count_worker(&sim, who, COUNT, &record, stop);
                // A second handle only watches: every state it shows must be one the node had.
                let observer = count_on(&sim, who).await?;
                let (mut states, shown, name) =
                    (observer.watch_state(), shown.clone(), who.clone());
                sim.spawn(async move {
                    while let Some(state) = states.next().await {
                        if let SharedState::Value(v) = state {
                            shown.lock().expect("poisoned").push((name.clone(), v));
                        }
                    }
                });
                observers.push((who.clone(), observer));
            }
            sim.sleep_until(s(39.0)).await;
            record.check_progress_after(&sim, sim.healed_at())?;
            // Writers still run: let one more change settle, then compare at a quiet moment.
            sim.sleep_until(stop + s(2.0)).await;
            let history = sim.inspect(|m| m.history(COUNT));
            let states = history.get(COUNT).cloned().unwrap_or_default();
            for (who, v) in shown.lock().expect("poisoned").iter() {
                let had = states
                    .iter()
                    .any(|(d, st)| st.version == v.version && count_of(d) == v.value as i64);
                if !had {
                    return Err(format!("{who} showed {v:?}, a state {COUNT} never had").into());
                }
            }
            record.check(&sim, COUNT, count_of)?;
            // Quiet now, the lag long over: every handle shows the node as it is.
            let (value, version) = node(&sim, COUNT, count_of);
            let want = SharedState::Value(Versioned {
                value: value as i32,
                version,
            });
            for (who, observer) in &observers {
                if observer.state() != want {
                    return Err(format!(
                        "{who} shows {:?}, the node is {want:?}",
                        observer.state()
                    )
                    .into());
                }
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
