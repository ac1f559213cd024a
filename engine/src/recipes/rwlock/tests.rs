//! The two sides of the read–write lock as machines: the exact ops each emits.

use super::downgrade_name;
use crate::framework::ErrorPolicy;
use crate::machine::Input;
use crate::op::{Op, OpResult};
use crate::path;
use crate::recipes::lock::machine::{Lease, LockCommand, LockEvent, LockMachine};
use crate::recipes::order::{ReadWrite, READ_MARKER, WRITE_MARKER};
use crate::recipes::testing::*;
use crate::rng::Rng;
use crate::types::{CreateMode, EventType, Stat, WatchedEvent};

const SESSION: i64 = 7;

fn side(writer: bool) -> LockMachine {
    let marker = if writer { WRITE_MARKER } else { READ_MARKER };
    let rule = Box::new(ReadWrite { writer });
    let mut m = LockMachine::with_rule(
        "/rw".into(),
        marker,
        rule,
        vec![],
        ErrorPolicy::Standard,
        Rng::new(1, u64::from(writer)),
    );
    assert!(feed(&mut m, connected(SESSION)).ops.is_empty());
    m
}

/// Acquires with `command`; our create lands as `seq` and the pipelined listing shows
/// `others` plus our node. Returns our node and what the listing produced.
fn enrolled(
    m: &mut LockMachine,
    command: LockCommand,
    seq: i32,
    others: &[&str],
) -> (String, Out<LockMachine>) {
    let out = feed(m, Input::Command(command));
    assert_eq!(out.ops.len(), 2, "create and listing go out together");
    assert_eq!(
        out.ops[1].1,
        Op::GetChildren {
            path: "/rw".into(),
            watch: false
        }
    );
    let (node, result) = created(&out.ops[0].1, seq, 100 + i64::from(seq), SESSION);
    feed(m, done(out.ops[0].0, Ok(result)));
    let mut names = others.to_vec();
    names.push(path::name(&node));
    let listed = feed(m, done(out.ops[1].0, Ok(children(&names))));
    (node, listed)
}

fn deleted<C>(token: crate::machine::Token, path: &str) -> Input<C> {
    Input::Watch {
        token,
        event: WatchedEvent {
            kind: EventType::NodeDeleted,
            path: path.into(),
        },
    }
}

fn acquire() -> LockCommand {
    LockCommand::Acquire { deadline: None }
}

#[test]
fn a_reader_creates_a_sequential_read_node_and_holds_among_readers() {
    let mut m = side(false);
    let out = feed(&mut m, Input::Command(acquire()));
    let Op::Create { path, mode, .. } = &out.ops[0].1 else {
        panic!("{:?}", out.ops)
    };
    assert!(path.starts_with("/rw/_c_") && path.ends_with("-__READ__"));
    assert_eq!(*mode, CreateMode::EphemeralSequential);
    let (node, result) = created(&out.ops[0].1, 2, 102, SESSION);
    feed(&mut m, done(out.ops[0].0, Ok(result)));
    let names = ["_c_x-__READ__0000000001", path::name(&node)];
    let out = feed(&mut m, done(out.ops[1].0, Ok(children(&names))));
    assert!(out.ops.is_empty(), "{:?}", out.ops);
    assert_eq!(
        out.events,
        vec![LockEvent::Acquired(Lease { node, token: 102 })]
    );
}

#[test]
fn a_reader_watches_the_last_writer_before_it_then_lists_again() {
    let mut m = side(false);
    let others = [
        "_c_a-__WRIT__0000000001",
        "_c_b-__READ__0000000002",
        "_c_c-__WRIT__0000000003",
        "_c_d-__READ__0000000004",
        "_c_e-__WRIT__0000000006",
    ];
    let (node, out) = enrolled(&mut m, acquire(), 5, &others);
    assert!(out.events.is_empty());
    let [(watch, Op::GetData { path, watch: true })] = &out.ops[..] else {
        panic!("{:?}", out.ops)
    };
    assert_eq!(path, "/rw/_c_c-__WRIT__0000000003");
    let out = feed(&mut m, deleted(*watch, path));
    assert!(out.events.is_empty(), "a deletion alone grants nothing");
    let [(listing, Op::GetChildren { .. })] = &out.ops[..] else {
        panic!("{:?}", out.ops)
    };
    let now = [others[1], others[3], others[4], path::name(&node)];
    let out = feed(&mut m, done(*listing, Ok(children(&now))));
    assert_eq!(
        out.events,
        vec![LockEvent::Acquired(Lease { node, token: 105 })]
    );
}

#[test]
fn a_writer_waits_for_a_reader_before_it_and_watches_it() {
    let mut m = side(true);
    let others = ["_c_a-__READ__0000000001", "_c_b-__READ__0000000002"];
    let (_, out) = enrolled(&mut m, acquire(), 3, &others);
    assert!(out.events.is_empty());
    assert!(
        matches!(&out.ops[..], [(_, Op::GetData { path, watch: true })]
            if path == "/rw/_c_b-__READ__0000000002"),
        "{:?}",
        out.ops
    );
}

#[test]
fn a_writer_alone_holds() {
    let mut m = side(true);
    let (node, out) = enrolled(&mut m, acquire(), 1, &[]);
    assert!(node.ends_with("-__WRIT__0000000001"));
    assert_eq!(
        out.events,
        vec![LockEvent::Acquired(Lease { node, token: 101 })]
    );
}

#[test]
fn a_downgrade_creates_an_ephemeral_read_node_with_the_write_sequence_and_holds() {
    let mut m = side(false);
    let name = downgrade_name("/rw/_c_w-__WRIT__0000000004");
    assert_eq!(name, "__READ__0000000004");
    let command = LockCommand::AcquireNamed {
        name,
        deadline: None,
    };
    let out = feed(&mut m, Input::Command(command));
    let Op::Create { path, mode, .. } = &out.ops[0].1 else {
        panic!("{:?}", out.ops)
    };
    assert_eq!(*mode, CreateMode::Ephemeral);
    assert!(path.starts_with("/rw/_c_") && path.ends_with("-__READ__0000000004"));
    assert_eq!(path::name(path).len(), 40 + "__READ__0000000004".len());
    let stat = Stat {
        czxid: 9,
        ephemeral_owner: SESSION,
        ..Stat::default()
    };
    let node = path.clone();
    let created = OpResult::Created {
        path: node.clone(),
        stat,
    };
    feed(&mut m, done(out.ops[0].0, Ok(created)));
    // Our write node and a writer queued behind it: the read node sorts before both.
    let names = [
        "_c_q-__WRIT__0000000005",
        "_c_w-__WRIT__0000000004",
        path::name(&node),
    ];
    let out = feed(&mut m, done(out.ops[1].0, Ok(children(&names))));
    assert!(out.ops.is_empty(), "{:?}", out.ops);
    assert_eq!(
        out.events,
        vec![LockEvent::Acquired(Lease { node, token: 9 })]
    );
    // Released: the next plain acquire creates a sequential read node again.
    feed(&mut m, Input::Command(LockCommand::Release));
    let out = feed(&mut m, Input::Command(acquire()));
    assert!(
        matches!(&out.ops[0].1, Op::Create { path, mode: CreateMode::EphemeralSequential, .. }
            if path.ends_with("-__READ__")),
        "{:?}",
        out.ops
    );
}

#[test]
fn a_downgrade_cut_off_by_lost_joins_again_as_a_plain_reader() {
    use crate::ConnectionState;
    let mut m = side(false);
    let command = LockCommand::AcquireNamed {
        name: "__READ__0000000004".into(),
        deadline: None,
    };
    let out = feed(&mut m, Input::Command(command));
    assert!(matches!(
        &out.ops[0].1,
        Op::Create {
            mode: CreateMode::Ephemeral,
            ..
        }
    ));
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    feed(&mut m, state(ConnectionState::Lost, SESSION));
    let mut out = feed(&mut m, connected(SESSION + 1));
    // The failed create's clean-up looks for its node first (none found).
    let mut ops = Vec::new();
    for (token, op) in std::mem::take(&mut out.ops) {
        let reply = match op {
            Op::Sync { .. } => OpResult::Synced,
            _ => children(&[]),
        };
        ops.extend(feed(&mut m, done(token, Ok(reply))).ops);
    }
    let creates: Vec<_> = ops
        .iter()
        .filter_map(|(_, op)| match op {
            Op::Create { path, mode, .. } => Some((path.clone(), *mode)),
            _ => None,
        })
        .collect();
    // The write lease went with the session: the read node must not jump the queue.
    assert!(
        matches!(&creates[..], [(path, CreateMode::EphemeralSequential)] if path.ends_with("-__READ__")),
        "{ops:?}"
    );
}
