//! Exact-op tests of the protected create, and a property test over a tiny fake tree.

use super::*;
use crate::ConnectionState::*;

const NAME: &str = "_c_53345f98-9423-4e0c-a7b5-9f819e3ec2e1-lock-0000000007";

fn now() -> Instant {
    Instant::ZERO
}

struct Rig {
    tokens: Tokens,
    m: ProtectedCreate,
}

impl Rig {
    fn new(mode: CreateMode, parents: bool) -> Rig {
        let mut rng = Rng::new(5, 0);
        let mut tokens = Tokens::default();
        let mut m = ProtectedCreate::new(
            "/latch/latch-",
            b"me".to_vec(),
            Acl::open(),
            mode,
            parents,
            &mut rng,
        );
        m.handle_connection(Connected, 7, &mut tokens);
        m.start(&mut tokens);
        Rig { tokens, m }
    }

    /// The ops sent, without the sync that must come right before every listing.
    fn ops(&mut self) -> Vec<(Token, Op)> {
        let all: Vec<(Token, Op)> = std::iter::from_fn(|| self.m.poll_op()).collect();
        for (i, (_, op)) in all.iter().enumerate() {
            if let Op::GetChildren { path, .. } = op {
                let sync = Op::Sync { path: path.clone() };
                assert_eq!(i.checked_sub(1).map(|p| &all[p].1), Some(&sync), "{all:?}");
            }
        }
        all.into_iter()
            .filter(|(_, op)| !matches!(op, Op::Sync { .. }))
            .collect()
    }

    fn one(&mut self) -> (Token, Op) {
        let mut ops = self.ops();
        assert_eq!(ops.len(), 1, "{ops:?}");
        ops.remove(0)
    }

    fn done(&mut self, token: Token, result: Result<OpResult, Error>) {
        assert!(self
            .m
            .handle_op_done(now(), token, &result, &mut self.tokens));
    }

    fn conn(&mut self, state: ConnectionState, session: i64) {
        self.m.handle_connection(state, session, &mut self.tokens);
    }
}

fn create_op(path: &str) -> Op {
    Op::Create {
        path: path.into(),
        data: b"me".to_vec(),
        acl: Acl::open(),
        mode: CreateMode::EphemeralSequential,
    }
}

fn children(names: &[&str]) -> Result<OpResult, Error> {
    Ok(OpResult::Children {
        children: names.iter().map(|s| s.to_string()).collect(),
        stat: Stat::default(),
    })
}

fn owned_by(session: i64) -> Stat {
    Stat {
        czxid: 99,
        ephemeral_owner: session,
        ..Stat::default()
    }
}

#[test]
fn names() {
    assert!(is_protected(NAME));
    assert_eq!(strip(NAME), "lock-0000000007");
    assert_eq!(uuid_of(NAME), Some("53345f98-9423-4e0c-a7b5-9f819e3ec2e1"));
    assert!(!is_protected("lock-0000000007"));
    assert_eq!(strip("lock-0000000007"), "lock-0000000007");
    assert!(!is_protected(&NAME[..40]), "nothing after the prefix");
    assert!(!is_protected(
        "_c_53345f98-9423-4e0c-a7b5-9f819e3ec2e1_lock"
    ));
    assert!(!is_protected(
        "_c_zz345f98-9423-4e0c-a7b5-9f819e3ec2e1-lock"
    ));
    assert!(!is_protected("_c_é"));
}

#[test]
fn first_attempt_is_a_plain_create() {
    let mut r = Rig::new(CreateMode::EphemeralSequential, false);
    let uuid = r.m.uuid().to_owned();
    let (t, op) = r.one();
    let path = format!("/latch/_c_{uuid}-latch-");
    assert_eq!(op, create_op(&path));
    let created = format!("{path}0000000003");
    r.done(
        t,
        Ok(OpResult::Created {
            path: created.clone(),
            stat: owned_by(7),
        }),
    );
    assert!(r.ops().is_empty());
    assert_eq!(
        r.m.poll_outcome(),
        Some(Ok(Created {
            path: created,
            stat: owned_by(7)
        }))
    );
    assert!(r.m.is_done());
}

#[test]
fn unknown_outcome_then_found() {
    let mut r = Rig::new(CreateMode::EphemeralSequential, false);
    let uuid = r.m.uuid().to_owned();
    let (t, _) = r.one();
    r.conn(Suspended, 7);
    r.done(t, Err(Error::ConnectionLoss));
    assert!(r.ops().is_empty(), "nothing until reconnected");
    r.conn(Reconnected, 7);
    let (t, op) = r.one();
    assert_eq!(
        op,
        Op::GetChildren {
            path: "/latch".into(),
            watch: false
        }
    );
    let mine = format!("_c_{uuid}-latch-0000000004");
    r.done(t, children(&["latch-0000000001", NAME, &mine]));
    let (t, op) = r.one();
    let path = format!("/latch/{mine}");
    assert_eq!(
        op,
        Op::Exists {
            path: path.clone(),
            watch: false
        }
    );
    r.done(t, Ok(OpResult::Exists(Some(owned_by(7)))));
    assert_eq!(
        r.m.poll_outcome(),
        Some(Ok(Created {
            path,
            stat: owned_by(7)
        }))
    );
    assert_eq!(r.m.unknown_outcomes(), 1);
}

#[test]
fn unknown_outcome_then_not_found_creates_again_with_the_same_uuid() {
    let mut r = Rig::new(CreateMode::EphemeralSequential, false);
    let (t, first) = r.one();
    r.done(t, Err(Error::OperationTimeout));
    let (t, op) = r.one();
    assert!(
        matches!(op, Op::GetChildren { .. }),
        "still connected: look at once"
    );
    r.done(t, children(&[NAME]));
    let (_, again) = r.one();
    assert_eq!(again, first);
}

#[test]
fn a_foreign_sessions_node_is_deleted_and_a_fresh_uuid_used() {
    let mut r = Rig::new(CreateMode::EphemeralSequential, false);
    let old = r.m.uuid().to_owned();
    let (t, _) = r.one();
    r.conn(Suspended, 7);
    r.done(t, Err(Error::ConnectionLoss));
    r.conn(Reconnected, 8);
    let (t, _) = r.one();
    let theirs = format!("_c_{old}-latch-0000000004");
    r.done(t, children(&[&theirs]));
    let (t, _) = r.one();
    r.done(t, Ok(OpResult::Exists(Some(owned_by(7)))));
    let ops = r.ops();
    let fresh = r.m.uuid().to_owned();
    assert_ne!(fresh, old);
    assert_eq!(
        ops.iter().map(|(_, op)| op.clone()).collect::<Vec<_>>(),
        vec![
            Op::Delete {
                path: format!("/latch/{theirs}"),
                version: None
            },
            create_op(&format!("/latch/_c_{fresh}-latch-")),
        ]
    );
    let created = format!("/latch/_c_{fresh}-latch-0000000005");
    r.done(
        ops[1].0,
        Ok(OpResult::Created {
            path: created.clone(),
            stat: owned_by(8),
        }),
    );
    assert_eq!(r.m.poll_outcome(), None, "waits for the delete");
    r.done(ops[0].0, Err(Error::NoNode));
    assert_eq!(
        r.m.poll_outcome(),
        Some(Ok(Created {
            path: created,
            stat: owned_by(8)
        }))
    );
}

#[test]
fn session_loss_after_an_unknown_outcome_deletes_by_uuid_and_fails() {
    let mut r = Rig::new(CreateMode::EphemeralSequential, false);
    let uuid = r.m.uuid().to_owned();
    let (t, _) = r.one();
    r.conn(Suspended, 7);
    r.done(t, Err(Error::ConnectionLoss));
    r.conn(Lost, 7);
    assert!(r.ops().is_empty());
    assert_eq!(r.m.poll_outcome(), None);
    r.conn(Reconnected, 8);
    let (t, op) = r.one();
    assert_eq!(
        op,
        Op::GetChildren {
            path: "/latch".into(),
            watch: false
        }
    );
    let mine = format!("_c_{uuid}-latch-0000000004");
    r.done(t, children(&[NAME, &mine]));
    let (t, op) = r.one();
    assert_eq!(
        op,
        Op::Delete {
            path: format!("/latch/{mine}"),
            version: None
        }
    );
    r.done(t, Ok(OpResult::Deleted));
    assert_eq!(r.m.poll_outcome(), Some(Err(Error::SessionExpired)));
}

#[test]
fn missing_parents_are_created_as_containers() {
    let mut r = Rig::new(CreateMode::EphemeralSequential, true);
    let (t, first) = r.one();
    r.done(t, Err(Error::NoNode));
    let ops: Vec<Op> = r.ops().into_iter().map(|(_, op)| op).collect();
    let container = Op::Create {
        path: "/latch".into(),
        data: vec![],
        acl: Acl::open(),
        mode: CreateMode::Container,
    };
    assert_eq!(
        ops,
        vec![container, first],
        "pipelined: parent, then the create"
    );
}

#[test]
fn a_failure_without_unknown_outcome_needs_no_cleanup() {
    let mut r = Rig::new(CreateMode::EphemeralSequential, false);
    let (t, _) = r.one();
    r.done(t, Err(Error::NoNode));
    assert!(r.ops().is_empty());
    assert_eq!(r.m.poll_outcome(), Some(Err(Error::NoNode)));
}

#[test]
fn abandon_after_unknown_outcome_cleans_up() {
    let mut r = Rig::new(CreateMode::PersistentSequential, false);
    let (t, _) = r.one();
    r.done(t, Err(Error::RequestTimeout));
    let (t, _) = r.one();
    r.m.abandon(Error::Timeout, &mut r.tokens);
    let (t2, op) = r.one();
    assert_eq!(
        op,
        Op::GetChildren {
            path: "/latch".into(),
            watch: false
        }
    );
    assert!(
        r.m.handle_op_done(now(), t, &children(&[]), &mut r.tokens),
        "stale lookup"
    );
    assert!(r.ops().is_empty());
    r.done(t2, children(&[]));
    assert_eq!(r.m.poll_outcome(), Some(Err(Error::Timeout)));
}

mod property;
