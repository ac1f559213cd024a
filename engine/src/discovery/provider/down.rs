//! Down instances (Curator's `DownInstancePolicy`): instances that failed for their users
//! too often are left out for a while. Time is the client's clock, handed in.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::time::Instant;

/// When an instance counts as down: `error_threshold` errors noted within `timeout` mark it
/// down for `timeout` from the error that reached the threshold. Default: 2 errors within
/// 30 s → down for 30 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownInstancePolicy {
    /// The window errors are counted in, and how long an instance stays down.
    pub timeout: Duration,
    /// Errors within the window that mark an instance down (at least 1).
    pub error_threshold: u32,
}

impl Default for DownInstancePolicy {
    fn default() -> Self {
        DownInstancePolicy {
            timeout: Duration::from_secs(30),
            error_threshold: 2,
        }
    }
}

impl DownInstancePolicy {
    /// A policy; a threshold of 0 is taken as 1.
    pub fn new(timeout: Duration, error_threshold: u32) -> DownInstancePolicy {
        DownInstancePolicy {
            timeout,
            error_threshold: error_threshold.max(1),
        }
    }
}

#[derive(Debug, Default)]
struct Status {
    errors: Vec<Instant>,
    down_until: Option<Instant>,
}

/// Noted errors per instance id.
#[derive(Debug, Default)]
pub(crate) struct DownInstances {
    policy: DownInstancePolicy,
    by_id: BTreeMap<String, Status>,
    /// Bumped whenever the set of down instances may have changed by a note.
    generation: u64,
}

impl DownInstances {
    pub(crate) fn new(policy: DownInstancePolicy) -> DownInstances {
        DownInstances {
            policy,
            by_id: BTreeMap::new(),
            generation: 0,
        }
    }

    /// Counts an error against `id` at `now`.
    pub(crate) fn note_error(&mut self, id: &str, now: Instant) {
        self.purge(now);
        let timeout = self.policy.timeout;
        let status = self.by_id.entry(id.to_owned()).or_default();
        status.errors.retain(|t| now.saturating_since(*t) < timeout);
        status.errors.push(now);
        if status.errors.len() >= self.policy.error_threshold.max(1) as usize {
            status.down_until = Some(now + timeout);
            status.errors.clear();
        }
        self.generation += 1;
    }

    /// True while `id` is down.
    pub(crate) fn is_down(&self, id: &str, now: Instant) -> bool {
        self.by_id
            .get(id)
            .and_then(|s| s.down_until)
            .is_some_and(|until| now < until)
    }

    /// When the next down instance comes back, if any is down.
    pub(crate) fn next_change(&self, now: Instant) -> Option<Instant> {
        self.by_id
            .values()
            .filter_map(|s| s.down_until)
            .filter(|until| *until > now)
            .min()
    }

    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    fn purge(&mut self, now: Instant) {
        let timeout = self.policy.timeout;
        self.by_id.retain(|_, s| {
            s.down_until.is_some_and(|until| now < until)
                || s.errors.iter().any(|t| now.saturating_since(*t) < timeout)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Instant {
        Instant::from_epoch(Duration::from_secs(secs))
    }

    #[test]
    fn two_errors_within_thirty_seconds_mark_down_for_thirty_seconds() {
        let mut d = DownInstances::new(DownInstancePolicy::default());
        d.note_error("a", at(100));
        assert!(!d.is_down("a", at(100)), "one error is not enough");
        d.note_error("a", at(110));
        assert!(d.is_down("a", at(110)));
        assert!(d.is_down("a", at(139)));
        assert_eq!(d.next_change(at(120)), Some(at(140)));
        assert!(!d.is_down("a", at(140)), "back after 30 s");
        assert!(!d.is_down("b", at(110)));
        assert_eq!(d.next_change(at(140)), None);
    }

    #[test]
    fn errors_further_apart_than_the_window_do_not_add_up() {
        let mut d = DownInstances::new(DownInstancePolicy::default());
        d.note_error("a", at(0));
        d.note_error("a", at(30));
        assert!(!d.is_down("a", at(30)));
        d.note_error("a", at(59));
        assert!(d.is_down("a", at(59)));
    }

    #[test]
    fn the_policy_is_configurable() {
        let mut d = DownInstances::new(DownInstancePolicy::new(Duration::from_secs(5), 3));
        d.note_error("a", at(0));
        d.note_error("a", at(1));
        assert!(!d.is_down("a", at(1)));
        d.note_error("a", at(2));
        assert!(d.is_down("a", at(6)));
        assert!(!d.is_down("a", at(7)));
        let mut once = DownInstances::new(DownInstancePolicy::new(Duration::from_secs(5), 0));
        once.note_error("b", at(0));
        assert!(once.is_down("b", at(0)), "threshold 0 acts as 1");
        let g = once.generation();
        once.note_error("b", at(1));
        assert!(once.generation() > g);
    }
}
