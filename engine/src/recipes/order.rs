//! Curator's ordering of lock-style children (LeaderLatch, LeaderSelector, Mutex, semaphores).
//!
//! Each child is sorted by the text after the **last** occurrence of its lock name (`latch-`,
//! `lock-`, …), or by its whole name when the lock name is absent; plain string comparison,
//! stable. Protected prefixes (`_c_<uuid>-`) therefore do not affect the order: the sequence
//! suffix does.

/// The text a child sorts by (Curator's `StandardLockInternalsDriver.fixForSorting`).
pub fn sort_key<'a>(name: &'a str, lock_name: &str) -> &'a str {
    match name.rfind(lock_name) {
        Some(i) => &name[i + lock_name.len()..],
        None => name,
    }
}

/// `children` sorted the way Curator sorts them.
pub fn sorted(mut children: Vec<String>, lock_name: &str) -> Vec<String> {
    children.sort_by(|a, b| sort_key(a, lock_name).cmp(sort_key(b, lock_name)));
    children
}

/// Where a participant stands among sorted children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Within the first `max_leases`: holds the lock / leads.
    Holds,
    /// Must wait; watch this child (the one `max_leases` places ahead).
    Waits {
        /// Name of the child to watch.
        predecessor: String,
    },
    /// Our node is not among the children (it was deleted, or our session is gone).
    Missing,
    /// More nodes than leases (Curator's `InterProcessSemaphoreV2`): wait for any change of
    /// the listing (a getChildren watch), then count again.
    Full,
}

/// Curator's `getsTheLock`: our index < `max_leases` holds; otherwise watch
/// `children[index - max_leases]`.
pub fn position(sorted: &[String], ours: &str, max_leases: usize) -> Position {
    match sorted.iter().position(|c| c == ours) {
        None => Position::Missing,
        Some(i) if i < max_leases => Position::Holds,
        Some(i) => Position::Waits {
            predecessor: sorted[i - max_leases].clone(),
        },
    }
}

/// Who holds among a lock directory's children: the one place a lease queue's grant is
/// decided (Curator's `LockInternalsDriver.getsTheLock` with its `fixForSorting`). A rule sees
/// the whole listing, so that a read–write rule can look for the last writer ahead of a reader.
pub(crate) trait GrantRule: std::fmt::Debug + Send + 'static {
    /// Where `ours` (a child's name) stands among `children`, the directory's listing.
    fn position(&self, children: Vec<String>, ours: &str) -> Position;
}

/// Curator's standard rule (mutex, leader latch and selector, semaphore): children sorted by
/// the text after `name`; the first `max` hold, any other watches the child `max` places ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MaxLeases {
    /// The node name the children sort by (`lock-`, `latch-`, …).
    pub(crate) name: String,
    /// How many hold at once.
    pub(crate) max: usize,
}

impl GrantRule for MaxLeases {
    fn position(&self, children: Vec<String>, ours: &str) -> Position {
        position(&sorted(children, &self.name), ours, self.max)
    }
}

/// Curator's semaphore rule (`InterProcessSemaphoreV2`): our node holds while the directory
/// has at most `max` children, whatever their order; otherwise the directory is full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CountLeases {
    /// How many hold at once.
    pub(crate) max: usize,
}

impl GrantRule for CountLeases {
    fn position(&self, children: Vec<String>, ours: &str) -> Position {
        if !children.iter().any(|c| c == ours) {
            Position::Missing
        } else if children.len() <= self.max {
            Position::Holds
        } else {
            Position::Full
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn protected_prefix_does_not_change_order() {
        let children = names(&[
            "_c_ffffffff-9423-4e0c-a7b5-9f819e3ec2e1-lock-0000000003",
            "lock-0000000001",
            "_c_00000000-9423-4e0c-a7b5-9f819e3ec2e1-lock-0000000002",
        ]);
        let s = sorted(children, "lock-");
        assert_eq!(s[0], "lock-0000000001");
        assert!(s[1].ends_with("0000000002"));
        assert!(s[2].ends_with("0000000003"));
    }

    #[test]
    fn last_occurrence_of_the_lock_name() {
        assert_eq!(sort_key("_c_x-lock-lock-0000000001", "lock-"), "0000000001");
        assert_eq!(sort_key("foreign", "lock-"), "foreign");
    }

    #[test]
    fn predicate() {
        let s = names(&["a-1", "a-2", "a-3"]);
        assert_eq!(position(&s, "a-1", 1), Position::Holds);
        assert_eq!(
            position(&s, "a-3", 1),
            Position::Waits {
                predecessor: "a-2".into()
            }
        );
        assert_eq!(position(&s, "a-2", 2), Position::Holds);
        assert_eq!(
            position(&s, "a-3", 2),
            Position::Waits {
                predecessor: "a-1".into()
            }
        );
        assert_eq!(position(&s, "zz", 1), Position::Missing);
    }

    #[test]
    fn max_leases_sorts_by_the_text_after_its_name() {
        let rule = MaxLeases {
            name: "lock-".into(),
            max: 1,
        };
        let children = names(&["_c_ff-lock-0000000002", "lock-0000000001"]);
        assert_eq!(
            rule.position(children, "_c_ff-lock-0000000002"),
            Position::Waits {
                predecessor: "lock-0000000001".into()
            }
        );
    }

    #[test]
    fn count_leases_counts_the_whole_listing() {
        let rule = CountLeases { max: 2 };
        let two = names(&["_c_a-lease-0000000002", "_c_b-lease-0000000001"]);
        assert_eq!(
            rule.position(two.clone(), "_c_a-lease-0000000002"),
            Position::Holds
        );
        let mut three = two;
        three.push("_c_c-lease-0000000003".into());
        assert_eq!(
            rule.position(three.clone(), "_c_b-lease-0000000001"),
            Position::Full
        );
        assert_eq!(
            rule.position(three, "_c_d-lease-0000000004"),
            Position::Missing
        );
    }
}
