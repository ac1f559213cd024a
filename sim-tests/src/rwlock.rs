//! Read–write lock workers: each process alternates reads and writes on one
//! [`ReadWriteLock`], sometimes downgrading a write to a read, and records its holds in a
//! [`RwRecord`]: writers and readers in two timelines, guarded writes (writers only) in a
//! fence log, grants for liveness.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use docent::recipes::lock::{LockEvent, LockGuard, LockState, Mutex};
use docent::recipes::rwlock::ReadWriteLock;
use docent::rng::Rng;
use docent_sim::check::Holds;
use docent_sim::Sim;

use crate::fence::write_ops;
use crate::workload::{trace, MutexRecord};

/// The lock path every read–write lock suite uses.
pub const RWLOCK: &str = "/locks/rw";

/// What the read–write workers recorded.
#[derive(Debug, Clone, Default)]
pub struct RwRecord {
    /// Write holds, guarded writes (writers only) and every grant (reads and writes).
    pub writes: MutexRecord,
    /// Read holds.
    pub reads: Holds,
}

impl RwRecord {
    /// Safety: writers never overlap, and no reader overlaps a writer of another process;
    /// write tokens increase in grant order; guarded writes land in token order.
    pub fn check_safety(&self, sim: &Sim) -> Result<(), String> {
        self.writes.timeline.check_exclusive(sim)?;
        self.writes.timeline.check_exclusive_of(&self.reads, sim)?;
        self.writes.timeline.check_tokens(sim)?;
        self.writes.fence.check()
    }
}

/// Liveness: within `deadline`, the lock directory is empty (every worker released, every
/// crashed or expired session's node gone: no lease node outlives its session).
pub async fn await_no_lease_nodes(sim: &Sim, deadline: Duration) -> Result<(), String> {
    loop {
        let left = sim.inspect(|m| m.node(None, RWLOCK).map(|n| n.2).unwrap_or_default());
        if left.is_empty() {
            return Ok(());
        }
        if sim.now() >= deadline {
            return Err(format!("lease nodes left at {:?}: {left:?}", sim.now()));
        }
        sim.sleep(Duration::from_millis(100)).await;
    }
}

/// Records `side`'s suspensions and losses in `timeline` (and a resumed hold on RECONNECTED).
fn observe(sim: &Sim, who: &str, side: &Mutex, timeline: &Holds, holding: Arc<AtomicBool>) {
    let (s, w, t) = (sim.clone(), who.to_owned(), timeline.clone());
    let mut events = side.events();
    let state = side.watch_state();
    sim.spawn(async move {
        while let Some(event) = events.next().await {
            trace(&s, &w, &event);
            match event {
                LockEvent::Suspended | LockEvent::Lost => t.set(&w, None, s.now()),
                LockEvent::Reconnected if holding.load(Ordering::SeqCst) => {
                    if let LockState::Held { token } = state.get() {
                        t.set(&w, Some(token), s.now());
                    }
                }
                _ => {}
            }
        }
    });
}

/// One side's acquire within 30 s, recorded in `timeline` when granted.
async fn take(
    sim: &Sim,
    who: &str,
    side: &Mutex,
    timeline: &Holds,
    holding: &AtomicBool,
) -> Option<LockGuard> {
    let attempt = side.try_acquire(Duration::from_secs(30)).await;
    trace(sim, who, &attempt);
    match attempt {
        Ok(Some(guard)) => {
            holding.store(true, Ordering::SeqCst);
            if side.is_held() {
                timeline.set(who, Some(guard.token()), sim.now());
            }
            Some(guard)
        }
        Ok(None) => None,
        Err(_) => {
            sim.sleep(Duration::from_millis(200)).await;
            None
        }
    }
}

/// Ends a hold: recorded first, then released.
async fn give_back(sim: &Sim, who: &str, guard: LockGuard, timeline: &Holds, h: &AtomicBool) {
    timeline.set(who, None, sim.now());
    h.store(false, Ordering::SeqCst);
    let released = guard.release().await;
    trace(sim, who, &released);
}

/// How long to hold a lease: 50–1000 ms.
fn hold(rng: &mut Rng) -> Duration {
    Duration::from_millis(50 + rng.below(950))
}

/// Runs a read–write worker for `who` until `stop_at`: a write one time in three (hold
/// 50–1000 ms, one guarded write, and one time in two a downgrade: read, release the write,
/// hold the read 50–1000 ms), else a read (hold 50–1000 ms); rest 0–500 ms; again.
pub fn spawn_rw_worker(
    sim: &Sim,
    who: &str,
    lock: ReadWriteLock,
    record: &RwRecord,
    stop: Duration,
) {
    let (read_h, write_h) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    observe(sim, who, lock.read(), &record.reads, read_h.clone());
    observe(
        sim,
        who,
        lock.write(),
        &record.writes.timeline,
        write_h.clone(),
    );
    let (sim, who, r) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0x5000 + sim.index(&who) as u64);
    sim.clone().spawn(async move {
        let doing = |what: &'static str| {
            let mut d = r.writes.doing.lock().expect("poisoned");
            d.insert(who.clone(), (sim.now(), what));
        };
        let granted = || {
            let mut g = r.writes.grants.lock().expect("poisoned");
            g.entry(who.clone()).or_default().push(sim.now());
        };
        let (writes, reads) = (&r.writes.timeline, &r.reads);
        while sim.now() < stop {
            if rng.below(3) == 0 {
                doing("writing");
                if let Some(write) = take(&sim, &who, lock.write(), writes, &write_h).await {
                    granted();
                    sim.sleep(hold(&mut rng)).await;
                    let result = write.guarded(write_ops(&who, write.token())).await;
                    trace(&sim, &who, &result);
                    r.writes.fence.record(&who, write.token(), &result);
                    let downgrade = rng.below(2) == 0;
                    let read = match downgrade {
                        true => take(&sim, &who, lock.read(), reads, &read_h).await,
                        false => None,
                    };
                    give_back(&sim, &who, write, writes, &write_h).await;
                    if let Some(read) = read {
                        sim.sleep(hold(&mut rng)).await;
                        give_back(&sim, &who, read, reads, &read_h).await;
                    }
                }
            } else {
                doing("reading");
                if let Some(read) = take(&sim, &who, lock.read(), reads, &read_h).await {
                    granted();
                    sim.sleep(hold(&mut rng)).await;
                    give_back(&sim, &who, read, reads, &read_h).await;
                }
            }
            doing("resting");
            sim.sleep(Duration::from_millis(rng.below(500))).await;
        }
        doing("done");
        let _ = lock.close().await;
    });
}
