//! Leases over simulated time: who held what, from when to when, with which token.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent_sim::Sim;

/// One continuous hold of a lease by one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    /// The process.
    pub who: String,
    /// Its fencing token.
    pub token: i64,
    /// When it began acting as holder.
    pub from: Duration,
    /// When it stopped (`None`: still holding).
    pub to: Option<Duration>,
}

impl Hold {
    fn end(&self) -> Duration {
        self.to.unwrap_or(Duration::MAX)
    }
}

/// A shared record of holds. Cheap to clone; every clone records into the same timeline.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    holds: Vec<Hold>,
    open: BTreeMap<String, usize>,
    /// Where holds are also marked: the run's own timeline, under this lease name.
    mark: Option<(Sim, String)>,
}

impl Timeline {
    /// A fresh timeline.
    pub fn new() -> Timeline {
        Timeline::default()
    }

    /// Also marks every hold on `sim`'s own timeline as the lease `lease` (for its failure
    /// report and HTML page); the first call wins.
    pub fn mark_on(&self, sim: &Sim, lease: &str) {
        let mut s = self.inner.lock().expect("timeline poisoned");
        s.mark
            .get_or_insert_with(|| (sim.clone(), lease.to_owned()));
    }

    /// `who` acts as holder with `token` from `at` on (`None`: stops acting). Repeating the
    /// current state is a no-op; a new token ends the old hold and starts another.
    pub fn set(&self, who: &str, token: Option<i64>, at: Duration) {
        let mut s = self.inner.lock().expect("timeline poisoned");
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
        self.inner.lock().expect("timeline poisoned").holds.clone()
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
    /// is for, and [`crate::fence`] checks it. A crashed process holds nothing from its crash
    /// on.
    pub fn check_exclusive(&self, sim: &Sim) -> Result<(), String> {
        let holds = self.live_holds(sim);
        for (i, a) in holds.iter().enumerate() {
            first_overlap(sim, a, &holds[i + 1..])?;
        }
        Ok(())
    }

    /// Safety across two kinds of lease (a read–write lock's writers and readers): no hold
    /// of `self` overlaps a hold of `other` by another process, with the exceptions of
    /// [`Timeline::check_exclusive`] (one process may hold both: a downgrade).
    pub fn check_exclusive_of(&self, other: &Timeline, sim: &Sim) -> Result<(), String> {
        let others = other.live_holds(sim);
        for a in &self.live_holds(sim) {
            first_overlap(sim, a, &others)?;
        }
        Ok(())
    }

    /// The holds, each cut short at its process's crash (a crashed process holds nothing).
    fn live_holds(&self, sim: &Sim) -> Vec<Hold> {
        self.holds()
            .into_iter()
            .filter_map(|mut h| match sim.crashed_at(&h.who) {
                Some(crash) if crash <= h.from => None,
                Some(crash) => {
                    h.to = Some(h.to.map_or(crash, |t| t.min(crash)));
                    Some(h)
                }
                None => Some(h),
            })
            .collect()
    }

    /// Safety for a semaphore: at no instant more than `max` holds, counting only holds no
    /// fault made stale (the exceptions of [`Timeline::check_exclusive`]).
    pub fn check_at_most(&self, sim: &Sim, max: usize) -> Result<(), String> {
        let holds: Vec<Hold> = self
            .live_holds(sim)
            .into_iter()
            .filter(|h| !tainted(sim, h))
            .collect();
        for b in &holds {
            let at = b.from;
            let now: Vec<&Hold> = holds
                .iter()
                .filter(|a| a.from <= at && at < a.end())
                .collect();
            if now.len() > max {
                sim.mark_violation(at, &format!("{} holders, max {max}", now.len()));
                let who: Vec<String> = now
                    .iter()
                    .map(|h| format!("{} (token {}, {:?}..{:?})", h.who, h.token, h.from, h.to))
                    .collect();
                return Err(format!(
                    "{} holders at {at:?}, max {max}: {}",
                    now.len(),
                    who.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Safety: fencing tokens strictly increase in grant order (a holder that keeps its node
    /// across a suspension may be granted the same token again). Grants made on stale
    /// information (see [`Timeline::check_exclusive`]) are left out.
    pub fn check_tokens(&self, sim: &Sim) -> Result<(), String> {
        let holds: Vec<Hold> = self
            .holds()
            .into_iter()
            .filter(|h| !tainted(sim, h))
            .collect();
        token_order(&holds)
    }
}

/// Tokens strictly increase along `holds`, except that a process may resume a token it held.
fn token_order(holds: &[Hold]) -> Result<(), String> {
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
                return Err(format!(
                    "token order: {} got {} at {:?} after {} got {} at {:?}",
                    b.who, b.token, b.from, a.who, a.token, a.from
                ));
            }
        }
    }
    Ok(())
}

/// The first hold among `others` of another process that overlaps `a`, neither tainted.
fn first_overlap(sim: &Sim, a: &Hold, others: &[Hold]) -> Result<(), String> {
    for b in others {
        if a.who == b.who || !(a.from < b.end() && b.from < a.end()) {
            continue;
        }
        if tainted(sim, a) || tainted(sim, b) {
            continue;
        }
        let at = a.from.max(b.from);
        sim.mark_violation(at, &format!("two holders: {} and {}", a.who, b.who));
        return Err(format!(
            "two holders at {:?}: {} (token {}, {:?}..{:?}) and {} (token {}, {:?}..{:?})",
            at, a.who, a.token, a.from, a.to, b.who, b.token, b.from, b.to
        ));
    }
    Ok(())
}

/// How soon after a pause ends a grant still counts as made on what was queued during it.
const PAUSE_GRACE: Duration = Duration::from_millis(50);

/// True when a fault broke the holder's timing assumption around `h` (see
/// [`Timeline::check_exclusive`]).
fn tainted(sim: &Sim, h: &Hold) -> bool {
    let paused = sim
        .pauses(&h.who)
        .iter()
        .any(|&(p0, p1)| p0 < h.end() && h.from <= p1 + PAUSE_GRACE);
    let expired = sim
        .forced_expiries(&h.who)
        .iter()
        .any(|&t| h.from.saturating_sub(sim.session_timeout()) <= t && t < h.end());
    paused || expired
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> Duration {
        Duration::from_secs(x)
    }

    #[test]
    fn set_opens_and_closes_holds() {
        let t = Timeline::new();
        t.set("a", Some(5), s(1));
        t.set("a", Some(5), s(2));
        t.set("b", None, s(2));
        t.set("a", None, s(3));
        t.set("b", Some(7), s(3));
        let holds = t.holds();
        assert_eq!(holds.len(), 2);
        assert_eq!((holds[0].from, holds[0].to), (s(1), Some(s(3))));
        assert_eq!(t.holders_at(s(3)), vec!["b".to_string()]);
        assert_eq!(t.last_grant("b"), Some(s(3)));
        assert!(token_order(&t.holds()).is_ok());
    }

    #[test]
    fn token_order_violations_are_found() {
        let t = Timeline::new();
        t.set("a", Some(9), s(1));
        t.set("a", None, s(2));
        t.set("b", Some(4), s(3));
        assert!(token_order(&t.holds()).unwrap_err().contains("b got 4"));
        let t = Timeline::new();
        t.set("a", Some(4), s(1));
        t.set("a", None, s(2));
        t.set("b", Some(9), s(3));
        t.set("b", None, s(4));
        t.set("b", Some(9), s(5));
        assert!(token_order(&t.holds()).is_ok());
    }
}
