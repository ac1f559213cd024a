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

// ---- read–write lock (issue 15: ReadWriteLock) ----

/// The read lock's node name in a read–write lock.
pub const READ_MARKER: &str = "__READ__";
/// The write lock's node name in a read–write lock.
pub const WRITE_MARKER: &str = "__WRIT__";

/// The text a read–write lock's child sorts by: either marker stripped (Curator's
/// `SortingLockInternalsDriver`, which strips `__READ__`, then `__WRIT__`).
pub fn read_write_key(name: &str) -> &str {
    sort_key(sort_key(name, READ_MARKER), WRITE_MARKER)
}

/// Curator's `InterProcessReadWriteLock` rule. Readers and writers share one directory and
/// sort together by [`read_write_key`]; on equal keys (only a downgrade's read node shares its
/// writer's sequence) a reader sorts first, so that it never waits for its own write node.
/// A writer holds when first (Curator's max leases 1) and watches the node right before it;
/// a reader holds when no writer is before it, else watches the **last** writer before it
/// (Curator watches the first: the grant is the same, and fewer wake-ups are wasted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReadWrite {
    /// True for the write side.
    pub(crate) writer: bool,
}

impl ReadWrite {
    /// The sort order: key, then readers before writers, then the name (stable and total).
    pub(crate) fn sorted(mut children: Vec<String>) -> Vec<String> {
        children.sort_by(|a, b| {
            let order = |c: &String| (read_write_key(c).to_owned(), c.contains(WRITE_MARKER));
            order(a).cmp(&order(b))
        });
        children
    }
}

impl GrantRule for ReadWrite {
    fn position(&self, children: Vec<String>, ours: &str) -> Position {
        let sorted = ReadWrite::sorted(children);
        if self.writer {
            return position(&sorted, ours, 1);
        }
        let Some(index) = sorted.iter().position(|c| c == ours) else {
            return Position::Missing;
        };
        match sorted[..index].iter().rfind(|c| c.contains(WRITE_MARKER)) {
            None => Position::Holds,
            Some(writer) => Position::Waits {
                predecessor: writer.clone(),
            },
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
    #[test]
    fn read_write_sorts_both_markers_together() {
        let children = names(&[
            "_c_aa-__WRIT__0000000003",
            "_c_bb-__READ__0000000001",
            "_c_cc-__READ__0000000004",
            "_c_dd-__WRIT__0000000002",
        ]);
        let writer = ReadWrite { writer: true };
        let reader = ReadWrite { writer: false };
        assert_eq!(
            writer.position(children.clone(), "_c_dd-__WRIT__0000000002"),
            Position::Waits {
                predecessor: "_c_bb-__READ__0000000001".into()
            }
        );
        assert_eq!(
            reader.position(children.clone(), "_c_bb-__READ__0000000001"),
            Position::Holds
        );
        // The reader watches the last writer before it, not its predecessor.
        assert_eq!(
            reader.position(children.clone(), "_c_cc-__READ__0000000004"),
            Position::Waits {
                predecessor: "_c_aa-__WRIT__0000000003".into()
            }
        );
        assert_eq!(
            reader.position(children, "_c_ee-__READ__9"),
            Position::Missing
        );
    }

    #[test]
    fn a_downgrade_read_node_sorts_with_its_writer_ahead_of_a_waiting_writer() {
        // Write held (seq 1), a writer queued (seq 2), the holder's read node named with the
        // writer's sequence (Curator 5.5): the reader holds, the queued writer waits for it.
        let children = names(&[
            "_c_w2-__WRIT__0000000002",
            "_c_w1-__WRIT__0000000001",
            "_c_r1-__READ__0000000001",
        ]);
        let reader = ReadWrite { writer: false };
        let writer = ReadWrite { writer: true };
        assert_eq!(
            reader.position(children.clone(), "_c_r1-__READ__0000000001"),
            Position::Holds
        );
        assert_eq!(
            writer.position(children.clone(), "_c_w2-__WRIT__0000000002"),
            Position::Waits {
                predecessor: "_c_w1-__WRIT__0000000001".into()
            }
        );
        // The write lock released: the queued writer now waits for the read node.
        let rest = names(&["_c_w2-__WRIT__0000000002", "_c_r1-__READ__0000000001"]);
        assert_eq!(
            writer.position(rest, "_c_w2-__WRIT__0000000002"),
            Position::Waits {
                predecessor: "_c_r1-__READ__0000000001".into()
            }
        );
    }
}
