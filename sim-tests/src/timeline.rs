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
}

impl Timeline {
    /// A fresh timeline.
    pub fn new() -> Timeline {
        Timeline::default()
    }

    /// `who` acts as holder with `token` from `at` on (`None`: stops acting). Repeating the
    /// current state is a no-op; a new token ends the old hold and starts another.
    pub fn set(&self, who: &str, token: Option<i64>, at: Duration) {
        let mut s = self.inner.lock().expect("timeline poisoned");
        let current = s.open.get(who).map(|&i| s.holds[i].token);
        if current == token {
            return;
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

    /// Safety: no two processes hold at the same instant, unless one of them was paused
    /// during its hold (a frozen process cannot know it lost the lease: that is what fencing
    /// is for).
    pub fn check_exclusive(&self, sim: &Sim) -> Result<(), String> {
        let holds = self.holds();
        let tainted = |h: &Hold| {
            sim.pauses(&h.who)
                .iter()
                .any(|&(p0, p1)| p0 < h.end() && h.from < p1)
        };
        for (i, a) in holds.iter().enumerate() {
            for b in &holds[i + 1..] {
                if a.who == b.who || !(a.from < b.end() && b.from < a.end()) {
                    continue;
                }
                if tainted(a) || tainted(b) {
                    continue;
                }
                return Err(format!(
                    "two holders at {:?}: {} (token {}, {:?}..{:?}) and {} (token {}, {:?}..{:?})",
                    a.from.max(b.from),
                    a.who,
                    a.token,
                    a.from,
                    a.to,
                    b.who,
                    b.token,
                    b.from,
                    b.to
                ));
            }
        }
        Ok(())
    }

    /// Safety: fencing tokens strictly increase in grant order (a holder that keeps its node
    /// across a suspension may be granted the same token again).
    pub fn check_tokens(&self) -> Result<(), String> {
        let holds = self.holds();
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
        assert!(t.check_tokens().is_ok());
    }

    #[test]
    fn token_order_violations_are_found() {
        let t = Timeline::new();
        t.set("a", Some(9), s(1));
        t.set("a", None, s(2));
        t.set("b", Some(4), s(3));
        assert!(t.check_tokens().unwrap_err().contains("b got 4"));
        let t = Timeline::new();
        t.set("a", Some(4), s(1));
        t.set("a", None, s(2));
        t.set("b", Some(9), s(3));
        t.set("b", None, s(4));
        t.set("b", Some(9), s(5));
        assert!(t.check_tokens().is_ok());
    }
}
