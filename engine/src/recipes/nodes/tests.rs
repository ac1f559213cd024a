use std::time::Duration;

use super::machine::*;
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::recipes::testing::*;
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{Acl, CreateMode, EventType, Stat, WatchedEvent};
use crate::{ConnectionState, Error};

const SESSION: i64 = 7;
const PATH: &str = "/group/me";

fn node(mode: CreateMode) -> (NodeMachine, Vec<(Token, Op)>) {
    let mut m = NodeMachine::new(PATH.into(), mode, b"d1".to_vec(), true, Rng::new(5, 0));
    let out = feed(&mut m, connected(SESSION));
    (m, out.ops)
}

fn create(path: &str, data: &[u8], mode: CreateMode) -> Op {
    Op::Create {
        path: path.into(),
        data: data.to_vec(),
        acl: Acl::open(),
        mode,
    }
}

fn exists(path: &str) -> Op {
    Op::Exists {
        path: path.into(),
        watch: true,
    }
}

fn set(path: &str, data: &[u8]) -> Op {
    Op::SetData {
        path: path.into(),
        data: data.to_vec(),
        version: None,
    }
}

fn stat(czxid: i64, owner: i64) -> Stat {
    Stat {
        czxid,
        ephemeral_owner: owner,
        ..Stat::default()
    }
}

fn created_at(path: &str, czxid: i64, owner: i64) -> Result<OpResult, Error> {
    Ok(OpResult::Created {
        path: path.into(),
        stat: stat(czxid, owner),
    })
}

fn fired() -> WatchedEvent {
    WatchedEvent {
        kind: EventType::NodeDeleted,
        path: PATH.into(),
    }
}

/// An ephemeral node, created and watched (the check's reply still due: its token is returned).
fn present() -> (NodeMachine, Token) {
    let (mut m, ops) = node(CreateMode::Ephemeral);
    let out = feed(&mut m, done(ops[0].0, created_at(PATH, 10, SESSION)));
    assert_eq!(out.ops[0].1, exists(PATH));
    let check = out.ops[0].0;
    let out = feed(
        &mut m,
        done(check, Ok(OpResult::Exists(Some(stat(10, SESSION))))),
    );
    assert!(out.ops.is_empty());
    (m, check)
}

#[test]
fn creates_with_its_data_then_watches_the_node() {
    let (mut m, ops) = node(CreateMode::Ephemeral);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].1, create(PATH, b"d1", CreateMode::Ephemeral));
    assert_eq!(m.state(), NodeState::Creating);
    let out = feed(&mut m, done(ops[0].0, created_at(PATH, 10, SESSION)));
    assert_eq!(out.ops[0].1, exists(PATH));
    assert_eq!(
        out.events,
        vec![
            NodeEvent::Written { generation: 1 },
            NodeEvent::Created { path: PATH.into() }
        ]
    );
    assert_eq!(
        m.state(),
        NodeState::Present {
            path: PATH.into(),
            stat: stat(10, SESSION)
        }
    );
    assert_eq!(m.actual_path(), Some(PATH));
}

#[test]
fn missing_parents_are_created_as_containers_then_the_node() {
    let (mut m, ops) = node(CreateMode::Persistent);
    let out = feed(&mut m, done(ops[0].0, Err(Error::NoNode)));
    let kinds: Vec<Op> = out.ops.into_iter().map(|(_, op)| op).collect();
    assert_eq!(
        kinds,
        vec![
            create("/group", b"", CreateMode::Container),
            create(PATH, b"d1", CreateMode::Persistent)
        ]
    );
}

#[test]
fn a_deleted_node_is_created_again_with_the_newest_data() {
    let (mut m, check) = present();
    feed(&mut m, Input::Command(NodeCommand::SetData(b"d2".to_vec())));
    let out = feed(
        &mut m,
        Input::Watch {
            token: check,
            event: fired(),
        },
    );
    assert_eq!(out.ops[0].1, exists(PATH));
    let out = feed(&mut m, done(out.ops[0].0, Ok(OpResult::Exists(None))));
    assert_eq!(out.ops[0].1, create(PATH, b"d2", CreateMode::Ephemeral));
    assert_eq!(m.state(), NodeState::Creating);
}

#[test]
fn set_data_after_a_lost_reply_is_sent_again_only_once_reconnected() {
    let (mut m, _) = present();
    let out = feed(&mut m, Input::Command(NodeCommand::SetData(b"d2".to_vec())));
    assert_eq!(out.ops[0].1, set(PATH, b"d2"));
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::ConnectionLoss)));
    assert!(
        out.ops.is_empty(),
        "not again before the connection is back"
    );
    assert_eq!(m.generations(), (2, 1));
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    let kinds: Vec<Op> = out.ops.iter().map(|(_, op)| op.clone()).collect();
    assert_eq!(kinds, vec![exists(PATH), set(PATH, b"d2")]);
    let written = Ok(OpResult::Stat(stat(10, SESSION)));
    let out = feed(&mut m, done(out.ops[1].0, written));
    assert_eq!(out.events, vec![NodeEvent::Written { generation: 2 }]);
    assert_eq!(m.generations(), (2, 2));
}

#[test]
fn an_earlier_sessions_node_is_deleted_at_its_version_then_created_again() {
    let (mut m, _) = present();
    feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert_eq!(
        m.state(),
        NodeState::Creating,
        "the node went with the session"
    );
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION + 1));
    assert_eq!(out.ops[0].1, exists(PATH));
    // A lagging follower still shows the old session's node.
    let old = Stat {
        version: 3,
        ..stat(10, SESSION)
    };
    let out = feed(&mut m, done(out.ops[0].0, Ok(OpResult::Exists(Some(old)))));
    assert!(out.events.is_empty(), "never taken for ours");
    let delete = Op::Delete {
        path: PATH.into(),
        version: Some(3),
    };
    assert_eq!(out.ops[0].1, delete);
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::NoNode)));
    assert_eq!(out.ops[0].1, create(PATH, b"d1", CreateMode::Ephemeral));
}

#[test]
fn a_foreign_sessions_node_is_watched_until_it_goes() {
    let (mut m, ops) = node(CreateMode::Ephemeral);
    let out = feed(&mut m, done(ops[0].0, Err(Error::NodeExists)));
    assert_eq!(out.ops[0].1, exists(PATH));
    let check = out.ops[0].0;
    let theirs = Ok(OpResult::Exists(Some(stat(4, 99))));
    let out = feed(&mut m, done(check, theirs));
    assert!(out.ops.is_empty(), "neither deleted nor overwritten");
    assert_eq!(m.state(), NodeState::Creating);
    let out = feed(
        &mut m,
        Input::Watch {
            token: check,
            event: fired(),
        },
    );
    let out = feed(&mut m, done(out.ops[0].0, Ok(OpResult::Exists(None))));
    assert_eq!(out.ops[0].1, create(PATH, b"d1", CreateMode::Ephemeral));
}

#[test]
fn an_existing_persistent_node_is_taken_over_and_given_our_data() {
    let (mut m, ops) = node(CreateMode::Persistent);
    let out = feed(&mut m, done(ops[0].0, Err(Error::NodeExists)));
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(OpResult::Exists(Some(stat(4, 0))))),
    );
    assert_eq!(out.ops[0].1, set(PATH, b"d1"));
    assert_eq!(out.events, vec![NodeEvent::Created { path: PATH.into() }]);
}

#[test]
fn close_racing_an_in_flight_create_deletes_what_it_made() {
    let (mut m, ops) = node(CreateMode::Ephemeral);
    let out = feed(&mut m, Input::Command(NodeCommand::Close));
    assert!(out.ops.is_empty(), "waits for the create's reply");
    assert!(!m.is_done());
    let out = feed(&mut m, done(ops[0].0, created_at(PATH, 10, SESSION)));
    let delete = Op::Delete {
        path: PATH.into(),
        version: None,
    };
    assert_eq!(out.ops[0].1, delete);
    assert_eq!(m.state(), NodeState::Closed);
    feed(&mut m, done(out.ops[0].0, Ok(OpResult::Deleted)));
    assert!(m.is_done());
}

#[test]
fn close_after_an_unknown_outcome_deletes_the_path_it_may_hold() {
    let (mut m, ops) = node(CreateMode::Persistent);
    // Sent before the connection was known: sent again at once.
    let out = feed(&mut m, done(ops[0].0, Err(Error::ConnectionLoss)));
    assert_eq!(out.ops[0].1, create(PATH, b"d1", CreateMode::Persistent));
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::ConnectionLoss)));
    assert!(out.ops.is_empty(), "waits for the connection");
    let out = feed(&mut m, Input::Command(NodeCommand::Close));
    let delete = Op::Delete {
        path: PATH.into(),
        version: None,
    };
    assert_eq!(out.ops[0].1, delete);
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::ConnectionLoss)));
    assert!(out.ops.is_empty() && !m.is_done());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(
        out.ops[0].1, delete,
        "guaranteed: sent again once reconnected"
    );
    feed(&mut m, done(out.ops[0].0, Err(Error::NoNode)));
    assert!(m.is_done());
}

#[test]
fn sequential_nodes_are_protected_and_found_again_after_a_lost_reply() {
    let (mut m, ops) = node(CreateMode::EphemeralSequential);
    let Op::Create { path, .. } = &ops[0].1 else {
        panic!("{ops:?}")
    };
    assert!(
        path.starts_with("/group/_c_") && path.ends_with("-me"),
        "{path}"
    );
    let name = format!("{}0000000003", crate::path::name(path));
    // Sent before the connection was known: it looks at once.
    let out = feed(&mut m, done(ops[0].0, Err(Error::ConnectionLoss)));
    assert!(matches!(out.ops[0].1, Op::Sync { .. }));
    // sync, then the listing of the parent
    let out = feed(&mut m, done(out.ops[1].0, Ok(children(&[&name]))));
    let actual = format!("/group/{name}");
    assert_eq!(
        out.ops[0].1,
        Op::Exists {
            path: actual.clone(),
            watch: false
        }
    );
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(OpResult::Exists(Some(stat(12, SESSION))))),
    );
    assert_eq!(out.ops[0].1, exists(&actual));
    assert_eq!(m.actual_path(), Some(actual.as_str()));
}

#[test]
fn a_ttl_node_touches_its_child_every_half_ttl() {
    let ttl = Duration::from_secs(10);
    let mut m = NodeMachine::new(
        PATH.into(),
        CreateMode::Container,
        vec![],
        false,
        Rng::new(1, 0),
    )
    .with_touch("touch", ttl);
    let at = |secs| Instant::from_epoch(Duration::from_secs(secs));
    m.handle(at(0), connected(SESSION));
    let ops = drain(&mut m).ops;
    assert_eq!(ops[0].1, create(PATH, b"", CreateMode::Container));
    m.handle(at(1), done(ops[0].0, created_at(PATH, 10, 0)));
    let ops = drain(&mut m).ops;
    let touch = "/group/me/touch";
    assert_eq!(ops[1].1, set(touch, b""));
    assert_eq!(m.poll_timeout(), Some(at(6)));
    m.handle(at(1), done(ops[1].0, Err(Error::NoNode)));
    let ops = drain(&mut m).ops;
    assert_eq!(
        ops[0].1,
        create(touch, b"", CreateMode::PersistentWithTtl(ttl))
    );
    m.handle(at(1), done(ops[0].0, created_at(touch, 11, 0)));
    m.handle(at(6), Input::Timeout);
    assert_eq!(drain(&mut m).ops[0].1, set(touch, b""));
    // Close deletes nothing: the child expires, then the container is reaped.
    m.handle(at(7), Input::Command(NodeCommand::Close));
    assert!(drain(&mut m).ops.is_empty());
    assert!(m.is_done());
    assert_eq!(m.poll_timeout(), None);
}
