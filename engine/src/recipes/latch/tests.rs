use super::machine::*;
use crate::framework::ErrorPolicy;
use crate::machine::{Input, Machine};
use crate::op::{Op, OpResult};
use crate::path;
use crate::recipes::testing::*;
use crate::rng::Rng;
use crate::types::{EventType, WatchedEvent};
use crate::{ConnectionState, Error};

const SESSION: i64 = 7;

/// A latch whose first create and listing are out; returns them too.
fn latch() -> (LatchMachine, Out<LatchMachine>) {
    let mut m = LatchMachine::new(
        "/election".into(),
        "p1",
        ErrorPolicy::Standard,
        Rng::new(3, 0),
    );
    let out = feed(&mut m, connected(SESSION));
    (m, out)
}

/// Completes the create with `seq` and the listing with `others` + ours.
fn enrolled(
    m: &mut LatchMachine,
    out: &Out<LatchMachine>,
    seq: i32,
    owner: i64,
    others: &[&str],
) -> (String, Out<LatchMachine>) {
    let (node, result) = created(&out.ops[0].1, seq, 100 + seq as i64, owner);
    feed(m, done(out.ops[0].0, Ok(result)));
    let mut names: Vec<&str> = others.to_vec();
    names.push(path::name(&node));
    let out = feed(m, done(out.ops[1].0, Ok(children(&names))));
    (node, out)
}

#[test]
fn first_node_of_our_session_leads_with_its_czxid() {
    let (mut m, out) = latch();
    let Op::Create { path, data, .. } = &out.ops[0].1 else {
        panic!()
    };
    assert!(path.starts_with("/election/_c_") && path.ends_with("-latch-"));
    assert_eq!(data, b"p1");
    assert!(
        matches!(out.ops[1].1, Op::GetChildren { .. }),
        "listing pipelined"
    );
    let (node, out) = enrolled(&mut m, &out, 0, SESSION, &[]);
    assert_eq!(out.events, vec![LatchEvent::IsLeader { token: 100 }]);
    assert_eq!(m.leadership(), Some(100));
    // As leader it watches its own node.
    assert_eq!(
        out.ops[0].1,
        Op::GetData {
            path: node,
            watch: true
        }
    );
}

#[test]
fn a_first_node_left_by_an_earlier_session_never_leads() {
    let (mut m, out) = latch();
    // Our protected create found a node whose owner is an older session (lagging follower).
    let (node, out) = enrolled(&mut m, &out, 0, SESSION - 1, &[]);
    assert!(out.events.is_empty());
    assert_eq!(m.leadership(), None);
    // Reset: the old node is deleted and a new one created, with a listing behind it.
    let kinds: Vec<_> = out.ops.iter().map(|(_, op)| op.clone()).collect();
    assert!(
        kinds.contains(&Op::Delete {
            path: node,
            version: None
        }),
        "{kinds:?}"
    );
    assert!(kinds.iter().any(|op| matches!(op, Op::Create { .. })));
}

#[test]
fn waits_on_predecessor_then_rechecks_when_it_goes() {
    let (mut m, out) = latch();
    let (node, out) = enrolled(
        &mut m,
        &out,
        4,
        SESSION,
        &["latch-0000000000", "latch-0000000002"],
    );
    assert!(out.events.is_empty());
    let (wt, op) = &out.ops[0];
    assert_eq!(
        op,
        &Op::GetData {
            path: "/election/latch-0000000002".into(),
            watch: true
        }
    );
    let out = feed(
        &mut m,
        Input::Watch {
            token: *wt,
            event: WatchedEvent {
                kind: EventType::NodeDeleted,
                path: String::new(),
            },
        },
    );
    // The predecessor went: list again.
    assert!(matches!(out.ops[0].1, Op::GetChildren { .. }));
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(children(&[path::name(&node)]))),
    );
    assert_eq!(out.events, vec![LatchEvent::IsLeader { token: 104 }]);
}

#[test]
fn suspended_ends_leadership_and_reconnected_rechecks() {
    let (mut m, out) = latch();
    let (node, _) = enrolled(&mut m, &out, 0, SESSION, &[]);
    let out = feed(&mut m, state(ConnectionState::Suspended, SESSION));
    assert_eq!(out.events, vec![LatchEvent::NotLeader]);
    assert_eq!(m.leadership(), None);
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert!(
        out.events.is_empty(),
        "no leadership before re-reading the children"
    );
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(children(&[path::name(&node)]))),
    );
    assert_eq!(out.events, vec![LatchEvent::IsLeader { token: 100 }]);
}

#[test]
fn session_only_policy_keeps_leading_while_suspended() {
    let mut m = LatchMachine::new("/e".into(), "p", ErrorPolicy::SessionOnly, Rng::new(3, 0));
    let out = feed(&mut m, connected(SESSION));
    enrolled(&mut m, &out, 0, SESSION, &[]);
    assert!(feed(&mut m, state(ConnectionState::Suspended, SESSION))
        .events
        .is_empty());
    assert_eq!(
        feed(&mut m, state(ConnectionState::Lost, SESSION)).events,
        vec![LatchEvent::NotLeader]
    );
}

#[test]
fn a_vanished_parent_resets_the_latch() {
    let (mut m, out) = latch();
    let (node, result) = created(&out.ops[0].1, 0, 100, SESSION);
    feed(&mut m, done(out.ops[0].0, Ok(result)));
    let out = feed(&mut m, done(out.ops[1].0, Err(Error::NoNode)));
    let ops: Vec<_> = out.ops.iter().map(|(_, op)| op.clone()).collect();
    assert!(ops.contains(&Op::Delete {
        path: node,
        version: None
    }));
    assert!(ops.iter().any(|op| matches!(op, Op::Create { .. })));
}

#[test]
fn after_a_new_session_our_old_node_is_replaced() {
    let (mut m, out) = latch();
    let (node, _) = enrolled(&mut m, &out, 0, SESSION, &[]);
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    feed(&mut m, state(ConnectionState::Lost, SESSION));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION + 1));
    // A lagging follower still lists the old node first: it must not lead on it.
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(children(&[path::name(&node)]))),
    );
    assert!(out.events.is_empty());
    assert!(out
        .ops
        .iter()
        .any(|(_, op)| matches!(op, Op::Create { .. })));
}

#[test]
fn close_notifies_when_asked_and_deletes_the_node() {
    let (mut m, out) = latch();
    let (node, _) = enrolled(&mut m, &out, 0, SESSION, &[]);
    let out = feed(
        &mut m,
        Input::Command(LatchCommand::Close(CloseMode::NotifyLeader)),
    );
    assert_eq!(out.events, vec![LatchEvent::NotLeader]);
    let (dt, op) = &out.ops[0];
    assert_eq!(
        op,
        &Op::Delete {
            path: node,
            version: None
        }
    );
    assert!(!m.is_done());
    feed(&mut m, done(*dt, Ok(OpResult::Deleted)));
    assert!(m.is_done());
}

#[test]
fn second_in_line_lists_again_before_it_leads() {
    let (mut m, out) = latch();
    let (node, out) = enrolled(&mut m, &out, 4, SESSION, &["latch-0000000001"]);
    let wt = out.ops[0].0;
    let out = feed(
        &mut m,
        Input::Watch {
            token: wt,
            event: WatchedEvent {
                kind: EventType::NodeDeleted,
                path: "/election/latch-0000000001".into(),
            },
        },
    );
    assert!(out.events.is_empty(), "an event alone grants nothing");
    let [(lt, Op::GetChildren { .. })] = out.ops.as_slice() else {
        panic!("one new listing: {:?}", out.ops)
    };
    let out = feed(&mut m, done(*lt, Ok(children(&[path::name(&node)]))));
    assert_eq!(out.events, vec![LatchEvent::IsLeader { token: 104 }]);
}

/// The pipelined listing is retried once the connection came back after it was sent, like
/// every other op (the latch used to take it as sent at epoch 0 and re-send it at once, while
/// still believing itself connected).
#[test]
fn a_listing_lost_in_flight_is_retried_only_after_reconnecting() {
    let (mut m, out) = latch();
    let (_, result) = created(&out.ops[0].1, 0, 100, SESSION);
    feed(&mut m, done(out.ops[0].0, Ok(result)));
    // The parent vanished: join again, on this connection.
    let out = feed(&mut m, done(out.ops[1].0, Err(Error::NoNode)));
    let (ct, create) = out
        .ops
        .iter()
        .find(|(_, op)| matches!(op, Op::Create { .. }))
        .unwrap();
    let (lt, _) = out
        .ops
        .iter()
        .find(|(_, op)| matches!(op, Op::GetChildren { .. }))
        .unwrap();
    let (node, result) = created(create, 1, 101, SESSION);
    feed(&mut m, done(*ct, Ok(result)));
    let lost = feed(&mut m, done(*lt, Err(Error::ConnectionLoss)));
    assert!(lost.ops.is_empty(), "no busy retry: {:?}", lost.ops);
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let back = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    let [(lt, Op::GetChildren { .. })] = back.ops.as_slice() else {
        panic!("one new listing: {:?}", back.ops)
    };
    let out = feed(&mut m, done(*lt, Ok(children(&[path::name(&node)]))));
    assert_eq!(out.events, vec![LatchEvent::IsLeader { token: 101 }]);
}
