//! Counter workloads and their history checks: workers that add to a distributed
//! `AtomicLong` or compare-and-set a `SharedCount` by one, each change recorded as applied,
//! not applied or unknown (a lost reply), and the checks over what the ensemble really holds:
//!
//! - **totals**: the final value minus the initial one lies between the applied changes and
//!   the applied plus the unknown ones (a change in flight when its process crashed or the
//!   run ended counts as unknown): nothing applied twice, nothing acknowledged lost;
//! - **values**: every value a worker read is one some write produced (or the absent node's 0);
//! - **compare-and-set**: a `try_set` that succeeded wrote exactly on the version it had read
//!   (the node's history goes from that version to the next with its value);
//! - **progress**: after healing, every live worker gets a change applied.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::recipes::atomic::{AtomicLong, AtomicResult, AtomicStatus};
use docent::recipes::shared::{SharedCount, SharedOptions};
use docent::rng::Rng;
use docent::Error;
use docent_sim::Sim;

use crate::workload::trace;

/// The `AtomicLong` every counter suite uses.
pub const COUNTER: &str = "/counters/hits";

/// The `SharedCount` every counter suite uses.
pub const COUNT: &str = "/counters/shared";

/// What became of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Acknowledged.
    Applied,
    /// Refused or given up: certainly not applied.
    NotApplied,
    /// Its reply was lost: maybe applied.
    Unknown,
}

impl Outcome {
    /// The outcome of an atomic operation (`Err(Closed)`: the client went under it, unknown).
    pub fn of_atomic<T>(result: &Result<AtomicResult<T>, Error>) -> Outcome {
        match result {
            Ok(r) => match r.status {
                AtomicStatus::Succeeded => Outcome::Applied,
                AtomicStatus::Failed => Outcome::NotApplied,
                AtomicStatus::Unknown => Outcome::Unknown,
            },
            Err(Error::Closed) => Outcome::Unknown,
            Err(_) => Outcome::NotApplied,
        }
    }

    /// The outcome of a `try_set` (or any write): unknown when its reply was lost, its session
    /// ended under it, or the client closed under it.
    pub fn of_try_set(result: &Result<bool, Error>) -> Outcome {
        match result {
            Ok(true) => Outcome::Applied,
            Ok(false) => Outcome::NotApplied,
            Err(e) if e.is_unknown_outcome() || e.is_session_lost() || *e == Error::Closed => {
                Outcome::Unknown
            }
            Err(_) => Outcome::NotApplied,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    applied: i64,
    unknown: i64,
    /// Changes in flight, by worker (unknown if they never end).
    pending: BTreeMap<String, i64>,
    /// Values workers read.
    seen: Vec<(String, i64)>,
    /// Successful compare-and-sets: (worker, version read, value written).
    cas: Vec<(String, i32, i64)>,
    /// When each worker last had a change applied.
    progress: BTreeMap<String, Duration>,
}

/// What counter workers record (cheap to clone, shared by the workers of a run).
#[derive(Debug, Clone, Default)]
pub struct CounterRecord(Arc<Mutex<Inner>>);

impl CounterRecord {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.0.lock().expect("poisoned"))
    }

    /// `who` starts a change of `delta`.
    pub fn begin(&self, who: &str, delta: i64) {
        self.with(|r| r.pending.insert(who.to_owned(), delta));
    }

    /// `who`'s change ended with `outcome` at `now`.
    pub fn end(&self, who: &str, outcome: Outcome, now: Duration) {
        self.with(|r| {
            let delta = r.pending.remove(who).expect("a change in flight");
            match outcome {
                Outcome::Applied => {
                    r.applied += delta;
                    r.progress.insert(who.to_owned(), now);
                }
                Outcome::Unknown => r.unknown += delta,
                Outcome::NotApplied => {}
            }
        });
    }

    /// `who` read `value`.
    pub fn saw(&self, who: &str, value: i64) {
        self.with(|r| r.seen.push((who.to_owned(), value)));
    }

    /// `who`'s compare-and-set at `version` wrote `value`.
    pub fn cas_succeeded(&self, who: &str, version: i32, value: i64) {
        self.with(|r| r.cas.push((who.to_owned(), version, value)));
    }

    /// The totals, the values read and the compare-and-sets against the node at `path`
    /// (ground truth on the leader), `decode` reading its data (absent: 0).
    pub fn check(&self, sim: &Sim, path: &str, decode: fn(&[u8]) -> i64) -> Result<(), String> {
        let (data, history) = sim.inspect(|m| (m.node(None, path), m.history(path)));
        let states = history.get(path).cloned().unwrap_or_default();
        let value = data.map_or(0, |(d, _, _)| decode(&d));
        self.with(|r| {
            let unknown = r.unknown + r.pending.values().sum::<i64>();
            if value < r.applied || value > r.applied + unknown {
                return Err(format!(
                    "{path} is {value}: {} applied, {unknown} unknown (in flight: {:?})",
                    r.applied, r.pending
                ));
            }
            let written: Vec<i64> = states.iter().map(|(d, _)| decode(d)).collect();
            if let Some((who, v)) = r.seen.iter().find(|(_, v)| *v != 0 && !written.contains(v)) {
                return Err(format!("{who} read {v} at {path}, which no write produced"));
            }
            for (who, version, value) in &r.cas {
                let made = states.windows(2).any(|w| {
                    w[0].1.version == *version
                        && w[1].1.version == version.wrapping_add(1)
                        && w[1].1.czxid == w[0].1.czxid
                        && decode(&w[1].0) == *value
                });
                if !made {
                    return Err(format!(
                        "{who}'s try_set of {value} at version {version} succeeded, but no \
                         write at that version made it"
                    ));
                }
            }
            Ok(())
        })
    }

    /// Every worker of `sim` that did not crash had a change applied after `since`.
    pub fn check_progress_after(&self, sim: &Sim, since: Duration) -> Result<(), String> {
        self.with(|r| {
            for who in sim.names() {
                if sim.crashed_at(who).is_some() {
                    continue;
                }
                match r.progress.get(who) {
                    Some(at) if *at >= since => {}
                    last => {
                        return Err(format!(
                            "{who} made no progress after {since:?} (last {last:?})"
                        ))
                    }
                }
            }
            Ok(())
        })
    }
}

/// An 8-byte big-endian long (empty or absent: 0), as the checks read the counter.
pub fn long_of(data: &[u8]) -> i64 {
    <[u8; 8]>::try_from(data).map_or(0, i64::from_be_bytes)
}

/// A 4-byte big-endian count, as the checks read the shared count.
pub fn count_of(data: &[u8]) -> i64 {
    <[u8; 4]>::try_from(data).map_or(0, |b| i32::from_be_bytes(b) as i64)
}

/// Runs a counter worker for `who` until `stop_at`: add 1–3, read now and then, rest 0–300 ms.
pub fn spawn_counter_worker(
    sim: &Sim,
    who: &str,
    counter: AtomicLong,
    record: &CounterRecord,
    stop_at: Duration,
) {
    let (sim, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0xc0 + sim.index(&who) as u64);
    sim.clone().spawn(async move {
        while sim.now() < stop_at {
            let delta = 1 + rng.below(3) as i64;
            record.begin(&who, delta);
            let result = counter.add(delta).await;
            trace(&sim, &who, &result);
            record.end(&who, Outcome::of_atomic(&result), sim.now());
            if let Ok(r) = &result {
                record.saw(&who, r.pre);
            }
            if rng.below(4) == 0 {
                if let Ok(r) = counter.get().await {
                    record.saw(&who, r.post);
                }
            }
            sim.sleep(Duration::from_millis(rng.below(300))).await;
        }
        let closed = counter.close().await;
        trace(&sim, &who, &closed);
    });
}

/// Runs a shared-count worker for `who` until `stop_at`: start a `SharedCount` at `path`
/// (seeded with 0; again every 500 ms while the ensemble cannot be reached), then read the
/// count, `try_set` it one higher on the version read, rest 0–300 ms.
pub fn spawn_count_worker(
    sim: &Sim,
    who: &str,
    path: &'static str,
    record: &CounterRecord,
    stop_at: Duration,
) {
    let (sim, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0xc1 + sim.index(&who) as u64);
    sim.clone().spawn(async move {
        let client = sim.client(&who);
        let count = loop {
            match SharedCount::start(&client, path, SharedOptions::seed(0)).await {
                Ok(count) => {
                    trace(&sim, &who, &count.state());
                    break count;
                }
                Err(e) => trace(&sim, &who, &e),
            }
            sim.sleep(Duration::from_millis(500)).await;
        };
        while sim.now() < stop_at {
            let Ok(seen) = count.get() else {
                sim.sleep(Duration::from_millis(200)).await;
                continue;
            };
            record.saw(&who, seen.value as i64);
            record.begin(&who, 1);
            let result = count.try_set(&seen, seen.value.wrapping_add(1)).await;
            trace(&sim, &who, &result);
            if result == Ok(true) {
                record.cas_succeeded(&who, seen.version, seen.value as i64 + 1);
            }
            record.end(&who, Outcome::of_try_set(&result), sim.now());
            sim.sleep(Duration::from_millis(rng.below(300))).await;
        }
        let closed = count.close().await;
        trace(&sim, &who, &closed);
    });
}
