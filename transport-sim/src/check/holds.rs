//! Leases over simulated time and their checks (see [`Holds`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Sim;

/// One continuous hold of a lease by one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The process (a client name of the [`Sim`]).
    pub who: String,
    /// Its fencing token.
    pub token: i64,
    /// When it began acting as holder (simulated time since the start of the run).
    pub from: Duration,
    /// When it stopped (`None`: still holding).
    pub to: Option<Duration>,
}

impl Hold {
    fn end(&self) -> Duration {
        self.to.unwrap_or(Duration::MAX)
    }
}

/// A shared record of the holds of one lease (or one kind of lease), written by the test as
/// its processes learn they hold the lease and lose it. Cheap to clone; every clone records
/// into the same record.
///
/// Its checks read the run's faults from the [`Sim`]: ZooKeeper cannot keep a process from
/// acting on a lease it lost while it could not hear. A process frozen past its session
/// timeout, or whose session the ensemble expired while it was connected and healthy, still
/// believes it holds; holds around such faults are left out of the checks (that is what
/// fencing is for: see [`FenceLog`](super::FenceLog)). A crashed process holds nothing from
/// its crash on.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use docent_sim::check::Holds;
/// use docent_sim::{harness, Fault, FaultSchedule};
///
/// harness!("two_leaders_are_caught").no_faults().seeds(0..1).run(|sim| async move {
///     let holds = Holds::new();
///     holds.set("a", Some(7), sim.now()); // a leads with token 7
///     sim.sleep(Duration::from_secs(1)).await;
///     holds.set("b", Some(9), sim.now()); // b leads too: a never stepped down
///     let err = holds.check_exclusive(&sim).unwrap_err();
///     assert!(err.starts_with("two holders at 1") && err.contains("b (token 9"), "{err}");
///     holds.check_tokens(&sim)?; // 7 then 9: in order
///     Ok::<_, String>(())
/// });
///
/// // The same overlap while `a` (client 0) was frozen: `a` could not know.
/// let s = Duration::from_secs;
/// let frozen = Fault::PauseClient { client: 0, duration: s(20) };
/// let schedule = FaultSchedule::new().at(Duration::from_millis(500), frozen);
/// harness!("a_frozen_leader_is_excused").schedule(schedule).seeds(0..1).run(|sim| async move {
///     let holds = Holds::new();
///     holds.set("a", Some(7), sim.now());
///     sim.sleep(s(15)).await;
///     holds.set("b", Some(9), sim.now());
///     holds.check_exclusive(&sim)
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct Holds {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    holds: Vec<Hold>,
    open: BTreeMap<String, usize>,
    /// Where holds are also marked: the run's own timeline, under this lease name.
    mark: Option<(Sim, String)>,
}

/// A violation: when, and what.
type Violation = (Duration, String);

/// The error of a check, its violation marked on `sim`'s timeline.
fn marked(sim: &Sim, result: Result<(), Violation>) -> Result<(), String> {
    result.map_err(|(at, message)| {
        sim.mark_violation(at, message.split(": ").next().unwrap_or(&message));
        message
    })
}

impl Holds {
    /// An empty record.
    pub fn new() -> Holds {
        Holds::default()
    }

    /// Also marks every hold on `sim`'s own timeline as the lease `lease` (for its failure
    /// report and HTML page: [`Sim::hold`], [`Sim::release`]); the first call wins.
    pub fn mark_on(&self, sim: &Sim, lease: &str) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.mark
            .get_or_insert_with(|| (sim.clone(), lease.to_owned()));
    }

    /// `who` acts as holder with `token` from `at` on (`None`: stops acting). Repeating the
    /// current state is a no-op; a new token ends the old hold and starts another.
    pub fn set(&self, who: &str, token: Option<i64>, at: Duration) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let current = s.open.get(who).map(|&i| s.holds[i].token);
        if current == token {
            return;
        }
        match (&s.mark, token) {
            (Some((sim, lease)), Some(token)) => sim.hold(who, lease, token),
            (Some((sim, lease)), None) => sim.release(who, lease),
            (None, _) => {}
        }
        if let Some(i) = s.open.remove(who) {
            s.holds[i].to = Some(at);
        }
        if let Some(token) = token {
            let i = s.holds.len();
            s.holds.push(Hold {
                who: who.to_owned(),
                token,
                from: at,
                to: None,
            });
            s.open.insert(who.to_owned(), i);
        }
    }

    /// Every hold so far, in the order they began.
    pub fn holds(&self) -> Vec<Hold> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .holds
            .clone()
    }

    /// The processes holding at `at`.
    pub fn holders_at(&self, at: Duration) -> Vec<String> {
        self.holds()
            .into_iter()
            .filter(|h| h.from <= at && at < h.end())
            .map(|h| h.who)
            .collect()
    }

    /// The last time `who` began a hold.
    pub fn last_grant(&self, who: &str) -> Option<Duration> {
        self.holds()
            .iter()
            .rev()
            .find(|h| h.who == who)
            .map(|h| h.from)
    }

    /// Safety: no two processes hold at the same instant, except where a fault broke the
    /// timing assumption every ZooKeeper lease rests on (a session expires only after its
    /// client has been silent for the session timeout, so the client suspends first):
    ///
    /// - the holder was paused during its hold, or the hold began as a pause ended (within
    ///   50 ms: replies queued during the pause are acted on when it ends, however stale);
    /// - the ensemble forcibly expired the holder's session (`ExpireSession`, which strikes a
    ///   live, connected session) during the hold or within one session timeout before it
    ///   began (a reply already in flight is not stale to its receiver).
    ///
    /// A frozen or forcibly expired process cannot know it lost the lease: that is what fencing
    /// is for ([`FenceLog`](super::FenceLog) checks it). A crashed process holds nothing from
    /// its crash on.
    ///
    /// # Panics
    /// If a hold's process is not a client of `sim`.
    pub fn check_exclusive(&self, sim: &Sim) -> Result<(), String> {
        marked(sim, self.exclusive(&Excuses::of(sim, &self.holds())))
    }

    /// Safety across two kinds of lease (a read–write lock's writers and readers): no hold of
    /// `self` overlaps a hold of `other` by another process, with the exceptions of
    /// [`Holds::check_exclusive`] (one process may hold both: a downgrade).
    ///
    /// # Panics
    /// If a hold's process is not a client of `sim`.
    pub fn check_exclusive_of(&self, other: &Holds, sim: &Sim) -> Result<(), String> {
        let mut all = self.holds();
        all.extend(other.holds());
        let excuses = Excuses::of(sim, &all);
        let others = excuses.live(other.holds());
        let first = excuses
            .live(self.holds())
            .iter()
            .try_for_each(|a| excuses.first_overlap(a, &others));
        marked(sim, first)
    }

    /// Safety for a semaphore: at no instant more than `max` holds, counting only holds no
    /// fault made stale (the exceptions of [`Holds::check_exclusive`]).
    ///
    /// # Panics
    /// If a hold's process is not a client of `sim`.
    pub fn check_at_most(&self, sim: &Sim, max: usize) -> Result<(), String> {
        marked(sim, self.at_most(&Excuses::of(sim, &self.holds()), max))
    }

    /// Safety: fencing tokens strictly increase in grant order (a holder that keeps its node
    /// across a suspension may be granted the same token again). Grants made on stale
    /// information (see [`Holds::check_exclusive`]) are left out.
    ///
    /// # Panics
    /// If a hold's process is not a client of `sim`.
    pub fn check_tokens(&self, sim: &Sim) -> Result<(), String> {
        let holds = self.holds();
        let excuses = Excuses::of(sim, &holds);
        let fresh: Vec<Hold> = holds.into_iter().filter(|h| !excuses.stale(h)).collect();
        marked(sim, token_order(&fresh))
    }

    fn exclusive(&self, excuses: &Excuses) -> Result<(), Violation> {
        let holds = excuses.live(self.holds());
        for (i, a) in holds.iter().enumerate() {
            excuses.first_overlap(a, &holds[i + 1..])?;
        }
        Ok(())
    }

    fn at_most(&self, excuses: &Excuses, max: usize) -> Result<(), Violation> {
        let holds: Vec<Hold> = excuses
            .live(self.holds())
            .into_iter()
            .filter(|h| !excuses.stale(h))
            .collect();
        for b in &holds {
            let at = b.from;
            let now: Vec<&Hold> = holds
                .iter()
                .filter(|a| a.from <= at && at < a.end())
                .collect();
            if now.len() > max {
                let who: Vec<String> = now
                    .iter()
                    .map(|h| format!("{} (token {}, {:?}..{:?})", h.who, h.token, h.from, h.to))
                    .collect();
                let message = format!(
                    "{} holders at {at:?}, max {max}: {}",
                    now.len(),
                    who.join(", ")
                );
                return Err((at, message));
            }
        }
        Ok(())
    }
}

/// Tokens strictly increase along `holds`, except that a process may resume a token it held.
fn token_order(holds: &[Hold]) -> Result<(), Violation> {
    for pair in holds.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let same = a.who == b.who && a.token == b.token;
        if b.token <= a.token && !same {
            // An older token granted again is only a violation if the older hold's
            // process is not the one resuming it.
            let resumed = holds
                .iter()
                .any(|h| h.who == b.who && h.token == b.token && h.from < b.from);
            if !resumed {
                let message = format!(
                    "token order: {} got {} at {:?} after {} got {} at {:?}",
                    b.who, b.token, b.from, a.who, a.token, a.from
                );
                return Err((b.from, message));
            }
        }
    }
    Ok(())
}

/// How soon after a pause ends a grant still counts as made on what was queued during it.
const PAUSE_GRACE: Duration = Duration::from_millis(50);

/// The faults that excuse a process's stale belief, per process: its pauses, the forced
/// expiries of its session, its crash.
#[derive(Debug, Default)]
struct Excuses {
    session_timeout: Duration,
    of: BTreeMap<String, Faults>,
}

/// One process's excusing faults.
#[derive(Debug, Default, Clone)]
struct Faults {
    /// Windows `[from, to)` it was frozen.
    pauses: Vec<(Duration, Duration)>,
    /// When the ensemble expired its session under it.
    expiries: Vec<Duration>,
    /// When it crashed.
    crash: Option<Duration>,
}

impl Excuses {
    /// The faults of `sim` that concern the processes of `holds`.
    fn of(sim: &Sim, holds: &[Hold]) -> Excuses {
        let mut of = BTreeMap::new();
        for h in holds {
            if !of.contains_key(&h.who) {
                let faults = Faults {
                    pauses: sim.pauses(&h.who),
                    expiries: sim.forced_expiries(&h.who),
                    crash: sim.crashed_at(&h.who),
                };
                of.insert(h.who.clone(), faults);
            }
        }
        Excuses {
            session_timeout: sim.session_timeout(),
            of,
        }
    }

    fn faults(&self, who: &str) -> Faults {
        self.of.get(who).cloned().unwrap_or_default()
    }

    /// The holds, each cut short at its process's crash (a crashed process holds nothing).
    fn live(&self, holds: Vec<Hold>) -> Vec<Hold> {
        holds
            .into_iter()
            .filter_map(|mut h| match self.faults(&h.who).crash {
                Some(crash) if crash <= h.from => None,
                Some(crash) => {
                    h.to = Some(h.to.map_or(crash, |t| t.min(crash)));
                    Some(h)
                }
                None => Some(h),
            })
            .collect()
    }

    /// True when a fault broke the holder's timing assumption around `h` (see
    /// [`Holds::check_exclusive`]).
    fn stale(&self, h: &Hold) -> bool {
        let faults = self.faults(&h.who);
        let paused = faults
            .pauses
            .iter()
            .any(|&(p0, p1)| p0 < h.end() && h.from <= p1 + PAUSE_GRACE);
        let expired = faults
            .expiries
            .iter()
            .any(|&t| h.from.saturating_sub(self.session_timeout) <= t && t < h.end());
        paused || expired
    }

    /// The first hold among `others` of another process that overlaps `a`, neither stale.
    fn first_overlap(&self, a: &Hold, others: &[Hold]) -> Result<(), Violation> {
        for b in others {
            if a.who == b.who || !(a.from < b.end() && b.from < a.end()) {
                continue;
            }
            if self.stale(a) || self.stale(b) {
                continue;
            }
            let at = a.from.max(b.from);
            let message = format!(
                "two holders at {at:?}: {} (token {}, {:?}..{:?}) and {} (token {}, {:?}..{:?})",
                a.who, a.token, a.from, a.to, b.who, b.token, b.from, b.to
            );
            return Err((at, message));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
