use super::machine::*;
use super::revoke::REVOKE_MESSAGE;
use crate::framework::ErrorPolicy;
use crate::machine::{Input, Machine};
use crate::op::{Op, OpResult};
use crate::path;
use crate::recipes::testing::*;
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{EventType, WatchedEvent};
use crate::{ConnectionState, Error};

const SESSION: i64 = 7;

fn mutex() -> LockMachine {
    let mut m = LockMachine::new(
        "/locks/a".into(),
        "lock-",
        1,
        b"10.0.0.1".to_vec(),
        ErrorPolicy::Standard,
        Rng::new(1, 0),
    );
    let out = feed(&mut m, connected(SESSION));
    assert!(out.ops.is_empty() && out.events.is_empty());
    m
}

fn acquire(m: &mut LockMachine) -> Out<LockMachine> {
    feed(m, Input::Command(LockCommand::Acquire { deadline: None }))
}

/// Acquires: our create lands as `seq` with `czxid`, and the pipelined listing shows
/// `others` plus our node. Returns our node and what the listing produced.
fn enrolled(
    m: &mut LockMachine,
    seq: i32,
    czxid: i64,
    others: &[&str],
) -> (String, Out<LockMachine>) {
    let out = acquire(m);
    let (node, result) = created(&out.ops[0].1, seq, czxid, SESSION);
    feed(m, done(out.ops[0].0, Ok(result)));
    let mut names = others.to_vec();
    names.push(path::name(&node));
    let listed = feed(m, done(out.ops[1].0, Ok(children(&names))));
    (node, listed)
}

#[test]
fn uncontended_acquire_pipelines_the_listing_and_grants_with_the_czxid() {
    let mut m = mutex();
    let out = acquire(&mut m);
    assert_eq!(out.ops.len(), 2, "create and listing go out together");
    let (ct, create) = &out.ops[0];
    let (lt, list) = &out.ops[1];
    let Op::Create { path, data, .. } = create else {
        panic!("{create:?}")
    };
    assert!(path.starts_with("/locks/a/_c_") && path.ends_with("-lock-"));
    assert_eq!(path::name(path).len(), 40 + "lock-".len());
    assert_eq!(data, b"10.0.0.1");
    assert_eq!(
        list,
        &Op::GetChildren {
            path: "/locks/a".into(),
            watch: false
        }
    );
    let (node, result) = created(create, 3, 0x42, SESSION);
    assert!(feed(&mut m, done(*ct, Ok(result))).events.is_empty());
    let out = feed(&mut m, done(*lt, Ok(children(&[path::name(&node)]))));
    assert!(out.ops.is_empty());
    assert_eq!(
        out.events,
        vec![LockEvent::Acquired(Lease {
            node: node.clone(),
            token: 0x42
        })]
    );
    assert_eq!(m.lease().map(|l| l.token), Some(0x42));

    // Release is immediate; the guaranteed delete goes on behind it.
    let out = feed(&mut m, Input::Command(LockCommand::Release));
    assert_eq!(out.events, vec![LockEvent::Released]);
    let (dt, del) = &out.ops[0];
    assert_eq!(
        del,
        &Op::Delete {
            path: node,
            version: None
        }
    );
    assert!(!m.is_acquiring());
    let out = feed(&mut m, done(*dt, Ok(OpResult::Deleted)));
    assert!(out.events.is_empty() && out.ops.is_empty());
    assert!(m.lease().is_none());
}

#[test]
fn waiter_watches_only_its_predecessor_with_get_data() {
    let mut m = mutex();
    let out = acquire(&mut m);
    let (ct, create) = out.ops[0].clone();
    let lt = out.ops[1].0;
    let (node, result) = created(&create, 5, 50, SESSION);
    feed(&mut m, done(ct, Ok(result)));
    let ours = path::name(&node).to_owned();
    let out = feed(
        &mut m,
        done(
            lt,
            Ok(children(&[
                &ours,
                "_c_0a0a0a0a-0000-4000-8000-000000000000-lock-0000000004",
                "lock-0000000001",
            ])),
        ),
    );
    let (wt, watch) = &out.ops[0];
    assert_eq!(
        watch,
        &Op::GetData {
            path: "/locks/a/_c_0a0a0a0a-0000-4000-8000-000000000000-lock-0000000004".into(),
            watch: true
        }
    );
    assert!(out.events.is_empty());
    feed(&mut m, done(*wt, Ok(OpResult::Synced)));
    // The predecessor goes: list again, now first.
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
    let (lt, list) = &out.ops[0];
    assert!(matches!(list, Op::GetChildren { .. }));
    let out = feed(&mut m, done(*lt, Ok(children(&[&ours]))));
    assert_eq!(
        out.events,
        vec![LockEvent::Acquired(Lease { node, token: 50 })]
    );
}

#[test]
fn deadline_abandons_and_deletes_our_node() {
    let mut m = mutex();
    let deadline = Instant::ZERO + std::time::Duration::from_secs(1);
    let out = feed(
        &mut m,
        Input::Command(LockCommand::Acquire {
            deadline: Some(deadline),
        }),
    );
    assert_eq!(m.poll_timeout(), Some(deadline));
    let (ct, create) = out.ops[0].clone();
    let (node, result) = created(&create, 2, 20, SESSION);
    feed(&mut m, done(ct, Ok(result)));
    feed(
        &mut m,
        done(
            out.ops[1].0,
            Ok(children(&["lock-0000000001", path::name(&node)])),
        ),
    );
    m.handle(deadline, Input::Timeout);
    let out = drain(&mut m);
    assert_eq!(out.events, vec![LockEvent::AcquireFailed(Error::Timeout)]);
    assert_eq!(
        out.ops[0].1,
        Op::Delete {
            path: node,
            version: None
        }
    );
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn suspension_and_loss_are_events() {
    let mut m = mutex();
    enrolled(&mut m, 1, 10, &[]);
    let out = feed(&mut m, state(ConnectionState::Suspended, SESSION));
    assert_eq!(out.events, vec![LockEvent::Suspended]);
    assert!(m.lease().is_none(), "not usable while suspended");
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(out.events, vec![LockEvent::Reconnected]);
    assert!(m.lease().is_some());
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert_eq!(out.events, vec![LockEvent::Lost]);
    assert!(m.lease().is_none() && !m.is_acquiring());
}

#[test]
fn a_listing_lost_in_flight_is_retried_only_after_reconnecting() {
    let mut m = mutex();
    let out = acquire(&mut m);
    let (node, result) = created(&out.ops[0].1, 1, 10, SESSION);
    feed(&mut m, done(out.ops[0].0, Ok(result)));
    // The listing fails before the connection state says anything: no busy retry.
    let out2 = feed(&mut m, done(out.ops[1].0, Err(Error::ConnectionLoss)));
    assert!(out2.ops.is_empty());
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert!(matches!(out.ops[0].1, Op::GetChildren { .. }));
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(children(&[path::name(&node)]))),
    );
    assert!(matches!(out.events[0], LockEvent::Acquired(_)));
}

#[test]
fn a_missing_node_starts_a_fresh_attempt() {
    let mut m = mutex();
    let out = acquire(&mut m);
    let (_, result) = created(&out.ops[0].1, 1, 10, SESSION);
    feed(&mut m, done(out.ops[0].0, Ok(result)));
    let out = feed(
        &mut m,
        done(out.ops[1].0, Ok(children(&["lock-0000000000"]))),
    );
    assert!(matches!(out.ops[0].1, Op::Create { .. }));
    assert!(matches!(out.ops[1].1, Op::GetChildren { .. }));
}

#[test]
fn release_then_acquire_go_out_in_one_batch() {
    let mut m = mutex();
    enrolled(&mut m, 1, 10, &[]);
    feed(&mut m, Input::Command(LockCommand::Release));
    let out = acquire(&mut m);
    assert!(matches!(out.ops[0].1, Op::Create { .. }));
    assert!(matches!(out.ops[1].1, Op::GetChildren { .. }));
}

#[test]
fn a_timed_out_handle_can_acquire_again_at_once() {
    let mut m = mutex();
    let deadline = Instant::ZERO + std::time::Duration::from_millis(5);
    let out = feed(
        &mut m,
        Input::Command(LockCommand::Acquire {
            deadline: Some(deadline),
        }),
    );
    // The deadline passes while the create is still in flight.
    m.handle(deadline, Input::Timeout);
    let timed_out = drain(&mut m);
    assert_eq!(
        timed_out.events,
        vec![LockEvent::AcquireFailed(Error::Timeout)]
    );
    let again = acquire(&mut m);
    assert!(again.events.is_empty(), "{:?}", again.events);
    assert!(matches!(again.ops[0].1, Op::Create { .. }));
    // The first create lands after all: its node is deleted in the background.
    let (node, result) = created(&out.ops[0].1, 1, 10, SESSION);
    let cleanup = feed(&mut m, done(out.ops[0].0, Ok(result)));
    assert_eq!(
        cleanup.ops[0].1,
        Op::Delete {
            path: node,
            version: None
        }
    );
}

/// Regression (mutex swarm, seed 769): a waiter right behind the first node took the lock on
/// that node's NodeDeleted alone. Its own requests no longer reached the ensemble (a one-way
/// partition) while events still came in, relayed late by a lagging follower; the ensemble
/// expired its session and granted the next waiter while it still believed it held the lock.
#[test]
fn a_waiter_behind_the_first_node_lists_again_before_it_holds() {
    let mut m = mutex();
    let (node, out) = enrolled(&mut m, 2, 20, &["lock-0000000001"]);
    let wt = out.ops[0].0;
    let out = feed(
        &mut m,
        Input::Watch {
            token: wt,
            event: WatchedEvent {
                kind: EventType::NodeDeleted,
                path: "/locks/a/lock-0000000001".into(),
            },
        },
    );
    assert!(out.events.is_empty(), "an event alone grants nothing");
    let [(lt, Op::GetChildren { .. })] = out.ops.as_slice() else {
        panic!("one new listing: {:?}", out.ops)
    };
    let out = feed(&mut m, done(*lt, Ok(children(&[path::name(&node)]))));
    assert_eq!(
        out.events,
        vec![LockEvent::Acquired(Lease { node, token: 20 })],
        "the listing's round trip does"
    );
}

#[test]
fn after_lost_the_old_node_is_deleted_even_if_the_session_comes_back() {
    // LOST is injected client-side after a session timeout without contact; the ensemble
    // may still keep the session (and our node) and hand it back on reconnect.
    let mut m = mutex();
    let (node, _) = enrolled(&mut m, 2, 20, &["lock-0000000001"]);
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let lost = feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert_eq!(
        lost.ops[0].1,
        Op::Delete {
            path: node.clone(),
            version: None
        }
    );
    let back = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert!(
        back.ops
            .iter()
            .any(|(_, op)| matches!(op, Op::Create { .. })),
        "a fresh attempt: {:?}",
        back.ops
    );
}

#[test]
fn a_holder_that_is_lost_deletes_its_node() {
    let mut m = mutex();
    let (node, _) = enrolled(&mut m, 1, 10, &[]);
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert_eq!(out.events, vec![LockEvent::Lost]);
    assert_eq!(
        out.ops[0].1,
        Op::Delete {
            path: node,
            version: None
        }
    );
    // A release asked for afterwards is still answered.
    let out = feed(&mut m, Input::Command(LockCommand::Release));
    assert_eq!(out.events, vec![LockEvent::Released]);
}

fn data(bytes: &[u8]) -> OpResult {
    OpResult::Data {
        data: bytes.to_vec(),
        stat: Default::default(),
    }
}

fn data_changed<C>(token: crate::machine::Token, node: &str) -> Input<C> {
    Input::Watch {
        token,
        event: WatchedEvent {
            kind: EventType::NodeDataChanged,
            path: node.into(),
        },
    }
}

/// The revocation read a revocable holder sends: getData with a watch on its own node.
fn revocation_read(out: &Out<LockMachine>, node: &str) -> crate::machine::Token {
    assert_eq!(out.ops.len(), 1, "{:?}", out.ops);
    let (token, op) = &out.ops[0];
    let read = Op::GetData {
        path: node.into(),
        watch: true,
    };
    assert_eq!(op, &read);
    *token
}

#[test]
fn a_revocable_holder_watches_its_node_and_reports_only_the_exact_request() {
    let mut m = mutex();
    assert!(feed(&mut m, Input::Command(LockCommand::MakeRevocable))
        .ops
        .is_empty());
    let (node, out) = enrolled(&mut m, 1, 10, &[]);
    assert!(matches!(out.events[..], [LockEvent::Acquired(_)]));
    let read = revocation_read(&out, &node);
    // Its own data (what a lock node holds) is no request.
    let out = feed(&mut m, done(read, Ok(data(b"10.0.0.1"))));
    assert!(out.ops.is_empty() && out.events.is_empty());
    // Someone wrote something else: read again, no event.
    let out = feed(&mut m, data_changed(read, &node));
    let read = revocation_read(&out, &node);
    let out = feed(&mut m, done(read, Ok(data(b"__REVOKE__ "))));
    assert!(out.ops.is_empty() && out.events.is_empty());
    // The request: reported once; the watch is armed again by the read.
    let out = feed(&mut m, data_changed(read, &node));
    let read = revocation_read(&out, &node);
    let out = feed(&mut m, done(read, Ok(data(REVOKE_MESSAGE))));
    assert_eq!(out.events, vec![LockEvent::RevocationRequested]);
    assert!(out.ops.is_empty());
    assert!(m.lease().is_some(), "letting go is the holder's decision");
    // Released: the watch firing on the delete is claimed and ignored.
    let out = feed(&mut m, Input::Command(LockCommand::Release));
    assert!(matches!(out.ops[..], [(_, Op::Delete { .. })]));
    let out = feed(&mut m, data_changed(read, &node));
    assert!(out.ops.is_empty() && out.events.is_empty());
}

#[test]
fn a_lock_that_is_not_revocable_does_not_watch_its_node() {
    let mut m = mutex();
    let (_, out) = enrolled(&mut m, 1, 10, &[]);
    assert!(out.ops.is_empty(), "{:?}", out.ops);
}

#[test]
fn made_revocable_while_held_it_reads_at_once() {
    let mut m = mutex();
    let (node, _) = enrolled(&mut m, 1, 10, &[]);
    let out = feed(&mut m, Input::Command(LockCommand::MakeRevocable));
    let read = revocation_read(&out, &node);
    let out = feed(&mut m, done(read, Ok(data(REVOKE_MESSAGE))));
    assert_eq!(out.events, vec![LockEvent::RevocationRequested]);
    // Made revocable twice: no second watch.
    assert!(feed(&mut m, Input::Command(LockCommand::MakeRevocable))
        .ops
        .is_empty());
}

#[test]
fn a_revocation_read_lost_with_the_connection_is_sent_again_after_reconnecting() {
    let mut m = mutex();
    feed(&mut m, Input::Command(LockCommand::MakeRevocable));
    let (node, out) = enrolled(&mut m, 1, 10, &[]);
    let read = revocation_read(&out, &node);
    let out = feed(&mut m, state(ConnectionState::Suspended, SESSION));
    assert_eq!(out.events, vec![LockEvent::Suspended]);
    let out = feed(&mut m, done(read, Err(Error::ConnectionLoss)));
    assert!(out.ops.is_empty(), "not while disconnected");
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(out.events, vec![LockEvent::Reconnected]);
    let read = revocation_read(&out, &node);
    let out = feed(&mut m, done(read, Ok(data(REVOKE_MESSAGE))));
    assert_eq!(out.events, vec![LockEvent::RevocationRequested]);
}

#[test]
fn a_revocation_read_after_losing_the_lock_reports_nothing() {
    let mut m = mutex();
    feed(&mut m, Input::Command(LockCommand::MakeRevocable));
    let (node, out) = enrolled(&mut m, 1, 10, &[]);
    let read = revocation_read(&out, &node);
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert!(out.events.contains(&LockEvent::Lost));
    let out = feed(&mut m, done(read, Ok(data(REVOKE_MESSAGE))));
    assert!(out.events.is_empty());
    assert!(!out
        .ops
        .iter()
        .any(|(_, op)| matches!(op, Op::GetData { .. })));
}
