//! Coverage points: named counters of the notable paths a run took, for the simulation
//! harness to sum over a sweep of seeds (`DOCENT_COVERAGE=1` prints the table; a suite can
//! require a minimum so that a change which stops exercising a path fails loudly).
//!
//! Code marks a point with [`hit`]. Counting is **off** unless the current thread turned it
//! on with [`start`]; only the simulation harness does that, around one seed's run (each
//! madsim seed runs on one thread, so a thread-local sees exactly that run). On real
//! transports it is never on, and a `hit` costs one thread-local read.
//!
//! The names are stable and listed, with what each means, in [`POINTS`]: a suite's
//! requirement names one of them. `fault.*` points are counted by the simulated ensemble when
//! a fault of that kind strikes (one that finds nothing to act on, e.g. a leader change
//! without a leader, does not count); `model.*` points by the simulated ensemble too; the
//! others by the engine.
//!
//! ```
//! use docent::coverage;
//!
//! coverage::hit("protected.found_by_lookup"); // off: nothing is counted
//! coverage::start();
//! coverage::hit("protected.found_by_lookup");
//! coverage::hit("protected.found_by_lookup");
//! let counts = coverage::take();
//! assert_eq!(counts.get("protected.found_by_lookup"), Some(&2));
//! assert!(coverage::take().is_empty()); // off again
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

/// Every coverage point, with what it counts.
pub const POINTS: &[(&str, &str)] = &[
    // Faults that struck (the simulated ensemble's fault kinds).
    ("fault.partition", "a client was cut from one server or all"),
    ("fault.delay", "a client's packets were delayed"),
    (
        "fault.crash_server",
        "a server crashed (and restarts later)",
    ),
    (
        "fault.leader_change",
        "the leader stepped down; an election ran",
    ),
    ("fault.quorum_loss", "a majority of servers crashed"),
    (
        "fault.follower_lag",
        "a server started applying the log late",
    ),
    (
        "fault.lose_reply",
        "a client's next write reply was marked to be lost",
    ),
    ("fault.pause_client", "a client process froze (a GC pause)"),
    ("fault.crash_client", "a client process died"),
    (
        "fault.expire_session",
        "the leader expired a client's session on demand",
    ),
    ("fault.clock_drift", "a client's wall clock shifted"),
    (
        "fault.age_version",
        "a node's data version was aged (test hook)",
    ),
    ("fault.reconfig", "a reconfiguration was queued"),
    (
        "fault.exhibitor",
        "the Exhibitors answered wrongly for a while",
    ),
    // Paths in the simulated ensemble.
    (
        "model.create_reply_lost",
        "a create was applied and its reply lost with the connection",
    ),
    (
        "model.write_reply_lost",
        "another write (delete, setData, multi, ...) was applied and its reply lost",
    ),
    (
        "model.stale_read",
        "a read was served by a server that had not applied every committed txn",
    ),
    (
        "model.sync_before_own_create",
        "a sync reached a server that had not yet applied a committed create of the same \
         session (the protected lookup after a lost reply, on a lagging follower: without \
         the sync its listing would miss the node)",
    ),
    (
        "model.session_moved",
        "a session reconnected to a different server than the one it was on",
    ),
    (
        "model.session_expired",
        "the leader expired a session it had not heard from within its timeout",
    ),
    // Paths in the engine.
    (
        "client.lost_injected",
        "LOST declared after a session timeout spent suspended (Curator's injected expiry)",
    ),
    (
        "client.lost_expired",
        "LOST because the ensemble reported the session expired",
    ),
    (
        "protected.unknown_outcome",
        "a protected create ended with an unknown outcome (lost reply, connection loss)",
    ),
    (
        "protected.found_by_lookup",
        "after an unknown outcome, the lookup found the create applied and ours",
    ),
    (
        "protected.recreated",
        "after an unknown outcome, the lookup found nothing and created again",
    ),
    (
        "protected.foreign_session",
        "the lookup found our node made by an earlier session: deleted, fresh UUID",
    ),
    (
        "protected.cleanup",
        "a failed protected create listed its parent to delete whatever it may have made",
    ),
    (
        "guaranteed.retried",
        "a guaranteed delete was sent again after a connection loss, timeout or expiry",
    ),
];

thread_local! {
    /// This thread's counters; `None` while counting is off.
    static COUNTS: RefCell<Option<BTreeMap<&'static str, u64>>> = const { RefCell::new(None) };
}

/// Counts one pass through `point` (a name from [`POINTS`]) if this thread is counting;
/// otherwise does nothing (one thread-local read).
#[inline]
pub fn hit(point: &'static str) {
    COUNTS.with(|counts| {
        if let Some(counts) = counts.borrow_mut().as_mut() {
            debug_assert!(is_point(point), "unknown coverage point {point:?}");
            *counts.entry(point).or_default() += 1;
        }
    });
}

/// Starts counting on this thread, from zero.
pub fn start() {
    COUNTS.with(|counts| *counts.borrow_mut() = Some(BTreeMap::new()));
}

/// Stops counting on this thread and returns the counts since [`start`] (empty if it was
/// off). Points never hit are absent.
pub fn take() -> BTreeMap<&'static str, u64> {
    COUNTS.with(|counts| counts.borrow_mut().take().unwrap_or_default())
}

/// True when `name` is one of the [`POINTS`].
pub fn is_point(name: &str) -> bool {
    POINTS.iter().any(|(p, _)| *p == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_between_start_and_take() {
        hit("guaranteed.retried");
        start();
        hit("guaranteed.retried");
        hit("protected.recreated");
        hit("guaranteed.retried");
        let counts = take();
        assert_eq!(
            counts.into_iter().collect::<Vec<_>>(),
            vec![("guaranteed.retried", 2), ("protected.recreated", 1)]
        );
        hit("guaranteed.retried");
        assert!(take().is_empty());
    }

    /// A protected create whose reply is lost finds its node by lookup; a guaranteed delete
    /// whose reply is lost is sent again.
    #[test]
    fn protected_create_and_guaranteed_delete_count_their_paths() {
        use crate::framework::{GuaranteedDelete, ProtectedCreate};
        use crate::rng::Rng;
        use crate::{Acl, ConnectionState, CreateMode, Error, Instant, Op, OpResult, Stat};
        use crate::{Token, Tokens};

        fn next(create: &mut ProtectedCreate) -> (Token, Op) {
            std::iter::from_fn(|| create.poll_op())
                .find(|(_, op)| !matches!(op, Op::Sync { .. }))
                .expect("an op")
        }
        let (mut tokens, now) = (Tokens::default(), Instant::ZERO);
        let mode = CreateMode::EphemeralSequential;
        let mut rng = Rng::new(1, 0);
        let mut create =
            ProtectedCreate::new("/l/lock-", vec![], Acl::open(), mode, false, &mut rng);
        create.handle_connection(ConnectionState::Connected, 7, &mut tokens);
        start();
        create.start(&mut tokens);
        let (token, op) = next(&mut create);
        let Op::Create { path, .. } = op else {
            panic!("{op:?}")
        };
        create.handle_op_done(now, token, &Err(Error::ConnectionLoss), &mut tokens);
        create.handle_connection(ConnectionState::Reconnected, 7, &mut tokens);
        let (token, _) = next(&mut create); // getChildren, behind a sync
        let name = format!("{}0000000003", crate::path::name(&path));
        let children = Ok(OpResult::Children {
            children: vec![name],
            stat: Stat::default(),
        });
        create.handle_op_done(now, token, &children, &mut tokens);
        let (token, _) = next(&mut create); // exists
        let stat = Stat {
            ephemeral_owner: 7,
            ..Stat::default()
        };
        let ours = Ok(OpResult::Exists(Some(stat)));
        create.handle_op_done(now, token, &ours, &mut tokens);
        assert!(create.poll_outcome().is_some_and(|r| r.is_ok()));

        let mut delete = GuaranteedDelete::new("/l/x", None);
        delete.handle_connection(ConnectionState::Connected, 7, &mut tokens);
        delete.start(&mut tokens);
        let (token, _) = delete.poll_op().expect("a delete");
        delete.handle_op_done(now, token, &Err(Error::OperationTimeout), &mut tokens);
        let counts: Vec<_> = take().into_iter().collect();
        assert_eq!(
            counts,
            vec![
                ("guaranteed.retried", 1),
                ("protected.found_by_lookup", 1),
                ("protected.unknown_outcome", 1),
            ]
        );
    }

    #[test]
    fn names_are_unique_and_dotted() {
        for (i, (name, doc)) in POINTS.iter().enumerate() {
            assert!(name.contains('.') && !doc.is_empty(), "{name}");
            assert!(!POINTS[..i].iter().any(|(p, _)| p == name), "{name} twice");
        }
    }

    #[test]
    #[should_panic(expected = "unknown coverage point")]
    #[cfg(debug_assertions)]
    fn an_unknown_name_is_a_bug() {
        start();
        hit("protected.typo");
    }
}
