//! Semaphore workloads: workers that take one lease at a time and feed a [`SemaphoreRecord`]
//! (holds, grants, guarded writes, lease slots), and the permit-leak check.

use std::time::Duration;

use futures::StreamExt;

use docent::recipes::semaphore::{Semaphore, SemaphoreState};
use docent::rng::Rng;
use docent_sim::check::{Holds, SlotFence};
use docent_sim::Sim;

use crate::fence::write_ops;
use crate::workload::{trace, MutexRecord};

/// What semaphore workers record.
#[derive(Debug, Clone, Default)]
pub struct SemaphoreRecord {
    /// Holds (while the handle shows the lease usable), guarded writes, grant times.
    pub holds: MutexRecord,
    /// Each lease from its grant to its release, whatever the connection did meanwhile: the
    /// order tokens were granted in (a hold resumed after a suspension is not a grant, and a
    /// lease granted and suspended at once shows first as it resumes).
    pub granted: Holds,
    /// With [`SemaphoreRecord::with_slots`]: each grant's lease slot, tokens and guarded
    /// writes per slot.
    pub slots: Option<SlotFence>,
}

impl SemaphoreRecord {
    /// A record that also checks fencing per lease slot, for a semaphore of `max` leases.
    pub fn with_slots(max: usize) -> SemaphoreRecord {
        SemaphoreRecord {
            slots: Some(SlotFence::new(max)),
            ..SemaphoreRecord::default()
        }
    }
}

/// The semaphore path every semaphore suite uses.
pub const SEMAPHORE: &str = "/semaphores/main";

/// Runs a semaphore worker for `who` until `stop_at`, then closes its semaphore: acquire one
/// lease (30 s at most), hold 50–1500 ms, one guarded write, release, rest 0–500 ms, again.
/// Holds go to the record's timeline, ending as soon as the handle's state stops showing the
/// lease as usable (SUSPENDED, LOST), resuming when it shows it again.
pub fn spawn_semaphore_worker(
    sim: &Sim,
    who: &str,
    semaphore: Semaphore,
    record: &SemaphoreRecord,
    stop_at: Duration,
) {
    let (granted, slots, record) = (record.granted.clone(), record.slots.clone(), &record.holds);
    record.timeline.mark_on(sim, "lease");
    let mut states = semaphore.watch_state();
    let (s, w, r) = (sim.clone(), who.to_owned(), record.clone());
    sim.spawn(async move {
        // One lease per worker: the state's newest usable lease is the one it holds.
        while let Some(state) = states.next().await {
            let state: SemaphoreState = state;
            let usable = (!state.suspended)
                .then(|| state.held.last().copied())
                .flatten();
            r.timeline.set(&w, usable, s.now());
        }
    });
    let (sim, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0x5e00 + sim.index(&who) as u64);
    sim.clone().spawn(async move {
        let doing = |what: &'static str| {
            let mut d = record.doing.lock().expect("poisoned");
            d.insert(who.clone(), (sim.now(), what));
        };
        while sim.now() < stop_at {
            doing("acquiring");
            let attempt = semaphore.try_acquire(Duration::from_secs(30)).await;
            trace(&sim, &who, &attempt);
            match attempt {
                Ok(Some(guard)) => {
                    let token = guard.token();
                    granted.set(&who, Some(token), sim.now());
                    // The slot it takes, judged by the ground truth: lease nodes on the leader.
                    let exists = |node: &str| sim.inspect(|m| m.node(None, node).is_some());
                    let slot = slots
                        .as_ref()
                        .and_then(|s| s.take(&who, token, guard.node(), exists));
                    record
                        .grants
                        .lock()
                        .expect("poisoned")
                        .entry(who.clone())
                        .or_default()
                        .push(sim.now());
                    doing("holding");
                    sim.sleep(Duration::from_millis(50 + rng.below(1450))).await;
                    doing("guarded write");
                    let result = guard.guarded(write_ops(&who, token)).await;
                    trace(&sim, &who, &result);
                    record.fence.record(&who, token, &result);
                    if let Some(slots) = &slots {
                        slots.record(slot, &who, token, &result);
                    }
                    doing("releasing");
                    granted.set(&who, None, sim.now());
                    if let (Some(slots), Some(slot)) = (&slots, slot) {
                        slots.leave(slot, &who, token);
                    }
                    let released = guard.release().await;
                    trace(&sim, &who, &released);
                }
                Ok(None) => {}
                Err(_) => sim.sleep(Duration::from_millis(200)).await,
            }
            doing("resting");
            sim.sleep(Duration::from_millis(rng.below(500))).await;
        }
        doing("closing");
        let closed = semaphore.close().await;
        trace(&sim, &who, &closed);
        doing("done");
    });
}

/// No permit leaks: every node under `<dir>/leases` and `<dir>/locks` belongs to a live
/// session (ground truth, on the leader); with `empty`, none is left at all (every handle
/// closed or crashed long enough ago for its session to expire).
pub fn check_no_leaked_leases(sim: &Sim, dir: &str, empty: bool) -> Result<(), String> {
    sim.inspect(|model| {
        for sub in ["leases", "locks"] {
            let parent = format!("{dir}/{sub}");
            let Some((_, _, children)) = model.node(None, &parent) else {
                continue;
            };
            for child in children {
                let path = format!("{parent}/{child}");
                let Some((_, stat, _)) = model.node(None, &path) else {
                    continue;
                };
                if empty || !model.session_alive(stat.ephemeral_owner) {
                    return Err(format!(
                        "leaked: {path} (session {:#x}, alive: {}) at {:?}",
                        stat.ephemeral_owner,
                        model.session_alive(stat.ephemeral_owner),
                        sim.now()
                    ));
                }
            }
        }
        Ok(())
    })
}
