//! Multi-lock workers and the all-or-nothing checks.
//!
//! Each worker takes an ordered subset of [`LOCKS`] (the same global order for everyone, so
//! nobody deadlocks) with a short random timeout, so that attempts often time out part-way.
//! Every attempt is checked as it returns:
//!
//! - success: every lock of the set is held by this process with the reported token (a
//!   *strict subset* is a violation), unless a connection change since the attempt began can
//!   explain a loss;
//! - failure or timeout: no lock of the set is held any more (what was taken was released).
//!
//! Holds go to one [`Holds`] per lock, so the exclusivity and token checks apply per lock,
//! and the grants to a [`MutexRecord`](crate::workload::MutexRecord)-style list for liveness.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use futures::future::{self, BoxFuture};
use futures::{FutureExt, StreamExt};

use docent::recipes::lock::MutexOptions;
use docent::recipes::multi::{Lockable, MultiLock};
use docent::rng::Rng;
use docent::{Client, Error};
use docent_sim::check::Holds;
use docent_sim::Sim;

use crate::workload::trace;

/// The locks every multi-lock suite draws from, in their global order.
pub const LOCKS: [&str; 3] = ["/multi/a", "/multi/b", "/multi/c"];

/// The subset of [`LOCKS`] worker `index` takes: all three, the last two, the first and last.
pub fn subset(index: usize) -> Vec<&'static str> {
    match index % 3 {
        0 => LOCKS.to_vec(),
        1 => vec![LOCKS[1], LOCKS[2]],
        _ => vec![LOCKS[0], LOCKS[2]],
    }
}

/// A successful attempt: the tokens, one per lock, and the release (in reverse order).
pub struct Taken {
    /// The fencing tokens in acquisition order.
    pub tokens: Vec<i64>,
    /// Resolves once any lock of the set is gone or must be presumed gone.
    pub lost: BoxFuture<'static, ()>,
    /// Releases every lock.
    pub release: BoxFuture<'static, Result<(), Error>>,
}

/// What takes a set of locks as one: docent's [`MultiLock`], or a planted naive variant.
pub trait TakeAll: Send + Sync + 'static {
    /// The locks, in acquisition order.
    fn locks(&self) -> &[Box<dyn Lockable>];
    /// One attempt within `timeout`.
    fn take(&self, timeout: Duration) -> BoxFuture<'_, Result<Option<Taken>, Error>>;
}

impl TakeAll for MultiLock<'static> {
    fn locks(&self) -> &[Box<dyn Lockable>] {
        MultiLock::locks(self)
    }

    fn take(&self, timeout: Duration) -> BoxFuture<'_, Result<Option<Taken>, Error>> {
        async move {
            let guard = self.try_acquire(timeout).await?;
            Ok(guard.map(|g| Taken {
                tokens: g.tokens(),
                lost: g.lost().boxed(),
                release: g.release().boxed(),
            }))
        }
        .boxed()
    }
}

/// docent's multi-lock over `who`'s subset of [`LOCKS`].
pub async fn multi_lock(client: &Client, index: usize) -> Result<MultiLock<'static>, Error> {
    MultiLock::start(client, &subset(index), MutexOptions::default()).await
}

/// What the multi-lock workers recorded.
#[derive(Debug, Clone, Default)]
pub struct MultiRecord {
    /// One timeline per lock path.
    pub timelines: BTreeMap<&'static str, Holds>,
    /// Each worker's grant times.
    pub grants: Arc<StdMutex<BTreeMap<String, Vec<Duration>>>>,
    /// All-or-nothing violations, as they were seen.
    pub violations: Arc<StdMutex<Vec<String>>>,
}

impl MultiRecord {
    /// A record with a timeline for each of [`LOCKS`].
    pub fn new() -> MultiRecord {
        MultiRecord {
            timelines: LOCKS.iter().map(|p| (*p, Holds::new())).collect(),
            ..MultiRecord::default()
        }
    }

    fn set(&self, locks: &[Box<dyn Lockable>], who: &str, tokens: Option<&[i64]>, at: Duration) {
        for (i, lock) in locks.iter().enumerate() {
            let timeline = &self.timelines[lock.path()];
            timeline.set(who, tokens.map(|t| t[i]), at);
        }
    }

    fn violation(&self, message: String) {
        self.violations.lock().expect("poisoned").push(message);
    }

    /// Safety: no all-or-nothing violation; per lock, no overlap and tokens in grant order.
    pub fn check(&self, sim: &Sim) -> Result<(), String> {
        if let Some(first) = self.violations.lock().expect("poisoned").first() {
            return Err(first.clone());
        }
        for (path, timeline) in &self.timelines {
            timeline
                .check_exclusive(sim)
                .map_err(|e| format!("{path}: {e}"))?;
            timeline
                .check_tokens(sim)
                .map_err(|e| format!("{path}: {e}"))?;
        }
        Ok(())
    }

    /// Liveness: every worker that has not crashed took its whole set after `since`.
    pub fn check_everyone_acquired_after(&self, sim: &Sim, since: Duration) -> Result<(), String> {
        let grants = self.grants.lock().expect("poisoned");
        for who in sim.names() {
            let last = grants.get(who).and_then(|g| g.last()).copied();
            if !sim.crashed(who) && last.is_none_or(|t| t < since) {
                return Err(format!(
                    "liveness: {who} never took its locks after {since:?} (last grant {last:?})"
                ));
            }
        }
        Ok(())
    }
}

/// Counts `client`'s connection-state changes (an excuse for a lease lost mid-attempt).
fn count_connection_changes(sim: &Sim, client: &Client) -> Arc<AtomicU64> {
    let changes = Arc::new(AtomicU64::new(0));
    let mut states = client.connection_states();
    let counted = changes.clone();
    sim.spawn(async move {
        while states.next().await.is_some() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    changes
}

/// Runs a multi-lock worker for `who` until `stop_at`: take the set within 0.2–6 s, hold it
/// 50–1500 ms (or until a lock is lost), release, rest 0–500 ms, again; each attempt checked
/// as the module docs say.
pub fn spawn_multi_worker(
    sim: &Sim,
    who: &str,
    multi: impl TakeAll,
    record: &MultiRecord,
    stop_at: Duration,
) {
    let changes = count_connection_changes(sim, &sim.client(who));
    let (sim, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0x4000 + sim.index(&who) as u64);
    sim.clone().spawn(async move {
        while sim.now() < stop_at {
            let before = changes.load(Ordering::SeqCst);
            let timeout = Duration::from_millis(200 + rng.below(5800));
            let attempt = multi.take(timeout).await;
            if sim.crashed(&who) {
                // A crashed process's handles stopped where they were: it holds nothing.
                break;
            }
            let held: Vec<Option<i64>> = multi.locks().iter().map(|l| l.held()).collect();
            trace(
                &sim,
                &who,
                &(
                    attempt.as_ref().map(|t| t.as_ref().map(|t| &t.tokens)),
                    &held,
                ),
            );
            let taken = match attempt {
                Ok(Some(taken)) => taken,
                failed => {
                    let failed = failed.map(|_| "timed out");
                    if let Some(i) = held.iter().position(Option::is_some) {
                        let path = multi.locks()[i].path();
                        record.violation(format!(
                            "{who} still holds {path} after a failed attempt ({failed:?}) at {:?}",
                            sim.now()
                        ));
                    }
                    if failed.is_err() {
                        sim.sleep(Duration::from_millis(200)).await;
                    }
                    continue;
                }
            };
            let whole = held.iter().zip(&taken.tokens).all(|(h, t)| *h == Some(*t));
            let excused = changes.load(Ordering::SeqCst) != before;
            if !whole && !excused {
                record.violation(format!(
                    "{who} reported success with tokens {:?} holding only {held:?} at {:?}",
                    taken.tokens,
                    sim.now()
                ));
            }
            if whole {
                let locks = multi.locks();
                record.set(locks, &who, Some(&taken.tokens), sim.now());
                let mut grants = record.grants.lock().expect("poisoned");
                grants.entry(who.clone()).or_default().push(sim.now());
            }
            let hold = sim.sleep(Duration::from_millis(50 + rng.below(1450)));
            future::select(hold.boxed(), taken.lost).await;
            record.set(multi.locks(), &who, None, sim.now());
            let released = taken.release.await;
            trace(&sim, &who, &released);
            sim.sleep(Duration::from_millis(rng.below(500))).await;
        }
    });
}
