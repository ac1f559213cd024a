use std::time::Duration;

use super::machine::*;
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::recipes::barrier::BarrierEvent;
use crate::recipes::testing::*;
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{Acl, CreateMode, EventType, SessionState, Stat, WatchedEvent};
use crate::{path, ConnectionState, Error};

const DIR: &str = "/barriers/job";
const READY: &str = "/barriers/job/ready";
const SESSION: i64 = 7;

fn member() -> (DoubleBarrierMachine, String) {
    let mut m = DoubleBarrierMachine::new(DIR.into(), 3, Rng::new(5, 0));
    feed(&mut m, connected(SESSION));
    let node = m.node().to_owned();
    (m, node)
}

fn enter(m: &mut DoubleBarrierMachine, deadline: Option<Instant>) -> Out<DoubleBarrierMachine> {
    feed(
        m,
        Input::Command(DoubleBarrierCommand::Enter { call: 1, deadline }),
    )
}

fn leave(m: &mut DoubleBarrierMachine, deadline: Option<Instant>) -> Out<DoubleBarrierMachine> {
    feed(
        m,
        Input::Command(DoubleBarrierCommand::Leave { call: 2, deadline }),
    )
}

fn exists(up: bool, owner: i64) -> Result<OpResult, Error> {
    let stat = Stat {
        ephemeral_owner: owner,
        version: 4,
        ..Stat::default()
    };
    Ok(OpResult::Exists(up.then_some(stat)))
}

fn create_op(path: &str, mode: CreateMode) -> Op {
    Op::Create {
        path: path.into(),
        data: Vec::new(),
        acl: Acl::open(),
        mode,
    }
}

fn created(path: &str, owner: i64) -> Result<OpResult, Error> {
    let stat = Stat {
        ephemeral_owner: owner,
        ..Stat::default()
    };
    Ok(OpResult::Created {
        path: path.into(),
        stat,
    })
}

fn listing(names: &[&str]) -> Result<OpResult, Error> {
    Ok(children(names))
}

fn fire(m: &mut DoubleBarrierMachine, token: Token, kind: EventType) -> Out<DoubleBarrierMachine> {
    let event = WatchedEvent {
        kind,
        path: String::new(),
    };
    feed(m, Input::Watch { token, event })
}

fn ops(out: &Out<DoubleBarrierMachine>) -> Vec<Op> {
    out.ops.iter().map(|(_, op)| op.clone()).collect()
}

fn passed(call: u64, outcome: Result<bool, Error>) -> Vec<BarrierEvent> {
    vec![BarrierEvent::Done { call, outcome }]
}

/// An enter look: exists(ready) with a watch, our create, the listing, in that order.
fn enter_look(node: &str) -> Vec<Op> {
    vec![
        Op::Exists {
            path: READY.into(),
            watch: true,
        },
        create_op(node, CreateMode::Ephemeral),
        Op::GetChildren {
            path: DIR.into(),
            watch: false,
        },
    ]
}

/// A member that entered and waits with one other member listed; returns the ready watch.
fn waiting() -> (DoubleBarrierMachine, String, Token) {
    let (mut m, node) = member();
    let out = enter(&mut m, None);
    let ready = out.ops[0].0;
    feed(&mut m, done(ready, exists(false, 0)));
    feed(&mut m, done(out.ops[1].0, created(&node, SESSION)));
    let out = feed(
        &mut m,
        done(out.ops[2].0, listing(&["x", path::name(&node)])),
    );
    assert!(out.ops.is_empty() && out.events.is_empty());
    assert_eq!(m.state(), DoubleBarrierState::Entering);
    (m, node, ready)
}

#[test]
fn the_member_that_counts_enough_creates_ready_and_passes() {
    let (mut m, node) = member();
    assert!(rng_uuid_is_the_name(&node));
    let out = enter(&mut m, None);
    assert_eq!(ops(&out), enter_look(&node));
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    feed(&mut m, done(out.ops[1].0, created(&node, SESSION)));
    let out = feed(
        &mut m,
        done(out.ops[2].0, listing(&["a", "b", path::name(&node)])),
    );
    assert_eq!(ops(&out), vec![create_op(READY, CreateMode::Persistent)]);
    assert!(out.events.is_empty(), "passes only once ready is made");
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::NodeExists)));
    assert_eq!(out.events, passed(1, Ok(true)));
    assert_eq!(m.state(), DoubleBarrierState::Inside);
}

fn rng_uuid_is_the_name(node: &str) -> bool {
    path::parent(node) == Some(DIR) && crate::rng::is_uuid(path::name(node))
}

#[test]
fn ready_already_there_passes_once_our_node_is_made() {
    let (mut m, node) = member();
    let out = enter(&mut m, None);
    feed(&mut m, done(out.ops[0].0, exists(true, 0)));
    feed(&mut m, done(out.ops[1].0, created(&node, SESSION)));
    let out = feed(&mut m, done(out.ops[2].0, listing(&[path::name(&node)])));
    assert_eq!(out.events, passed(1, Ok(true)));
}

#[test]
fn a_session_event_on_the_ready_watch_never_passes_enter() {
    let (mut m, node, ready) = waiting();
    let out = fire(&mut m, ready, EventType::Session(SessionState::Expired));
    assert!(out.events.is_empty());
    // It looks again: same session known, so no new create.
    let again = ops(&out);
    assert_eq!(again.len(), 2, "{again:?}");
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    let out = feed(&mut m, done(out.ops[1].0, listing(&[path::name(&node)])));
    assert!(out.events.is_empty() && out.ops.is_empty());
    assert_eq!(m.state(), DoubleBarrierState::Entering);
}

#[test]
fn the_ready_creation_makes_it_look_and_the_reply_passes() {
    let (mut m, node, ready) = waiting();
    let out = fire(&mut m, ready, EventType::NodeCreated);
    assert!(out.events.is_empty(), "an event alone never passes");
    feed(&mut m, done(out.ops[0].0, exists(true, 0)));
    let names = ["a", "b", path::name(&node)];
    let out = feed(&mut m, done(out.ops[1].0, listing(&names)));
    assert_eq!(out.events, passed(1, Ok(true)));
}

#[test]
fn a_watch_fired_during_a_look_makes_another_look() {
    let (mut m, node) = member();
    let out = enter(&mut m, None);
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    feed(&mut m, done(out.ops[1].0, created(&node, SESSION)));
    // The ready node is made before our listing comes back, which counted too few.
    fire(&mut m, out.ops[0].0, EventType::NodeCreated);
    let out = feed(&mut m, done(out.ops[2].0, listing(&[path::name(&node)])));
    assert_eq!(ops(&out).len(), 2, "looks again instead of waiting");
    let out = feed(&mut m, done(out.ops[0].0, exists(true, 0)));
    assert!(out.events.is_empty());
}

#[test]
fn a_new_session_re_creates_our_node_under_the_same_name() {
    let (mut m, node, _) = waiting();
    feed(&mut m, state(ConnectionState::Lost, SESSION));
    let out = feed(&mut m, connected(SESSION + 1));
    assert_eq!(ops(&out), enter_look(&node));
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    // The old node is still there (its session not yet closed): whose is it?
    let (owner, list) = (out.ops[1].0, out.ops[2].0);
    feed(&mut m, done(owner, Err(Error::NodeExists)));
    let out = feed(&mut m, done(list, listing(&[path::name(&node)])));
    assert_eq!(
        ops(&out),
        vec![Op::Exists {
            path: node.clone(),
            watch: false
        }]
    );
    let out = feed(&mut m, done(out.ops[0].0, exists(true, SESSION)));
    assert_eq!(
        ops(&out),
        vec![Op::Delete {
            path: node.clone(),
            version: Some(4)
        }]
    );
    let out = feed(&mut m, done(out.ops[0].0, Ok(OpResult::Deleted)));
    assert_eq!(ops(&out), enter_look(&node));
}

#[test]
fn a_node_of_another_process_under_our_name_fails_the_enter_untouched() {
    let (mut m, node) = member();
    let out = enter(&mut m, None);
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    feed(&mut m, done(out.ops[1].0, Err(Error::NodeExists)));
    let out = feed(&mut m, done(out.ops[2].0, listing(&[path::name(&node)])));
    let out = feed(&mut m, done(out.ops[0].0, exists(true, 99)));
    assert!(
        matches!(
            &out.events[..],
            [BarrierEvent::Done {
                call: 1,
                outcome: Err(Error::InvalidArgument(_))
            }]
        ),
        "{:?}",
        out.events
    );
    // No delete of any kind: the node is the other's.
    assert!(ops(&out).is_empty(), "{:?}", ops(&out));
}

#[test]
fn our_own_node_found_after_a_lost_reply_is_kept() {
    let (mut m, node) = member();
    let out = enter(&mut m, None);
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    feed(&mut m, done(out.ops[1].0, Err(Error::ConnectionLoss)));
    let out = feed(&mut m, done(out.ops[2].0, Err(Error::ConnectionLoss)));
    assert!(out.ops.is_empty(), "waits for the connection");
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(ops(&out), enter_look(&node));
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    feed(&mut m, done(out.ops[1].0, Err(Error::NodeExists)));
    let out = feed(&mut m, done(out.ops[2].0, listing(&[path::name(&node)])));
    let out = feed(&mut m, done(out.ops[0].0, exists(true, SESSION)));
    // Ours: one more look, without a create.
    assert_eq!(ops(&out).len(), 2);
    assert!(!ops(&out).iter().any(|op| matches!(op, Op::Create { .. })));
}

#[test]
fn missing_parents_are_made_as_containers() {
    let (mut m, node) = member();
    let out = enter(&mut m, None);
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    feed(&mut m, done(out.ops[1].0, Err(Error::NoNode)));
    let out = feed(&mut m, done(out.ops[2].0, Err(Error::NoNode)));
    let mut expected = vec![
        create_op("/barriers", CreateMode::Container),
        create_op(DIR, CreateMode::Container),
    ];
    expected.extend(enter_look(&node));
    assert_eq!(ops(&out), expected);
}

#[test]
fn enter_honours_its_deadline_and_takes_its_node_away() {
    let deadline = Instant::ZERO + Duration::from_secs(3);
    let (mut m, node) = member();
    let out = enter(&mut m, Some(deadline));
    feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    feed(&mut m, done(out.ops[1].0, created(&node, SESSION)));
    feed(&mut m, done(out.ops[2].0, listing(&[path::name(&node)])));
    assert_eq!(m.poll_timeout(), Some(deadline));
    m.handle(deadline, Input::Timeout);
    let out = drain(&mut m);
    assert_eq!(out.events, passed(1, Ok(false)));
    assert_eq!(
        ops(&out),
        vec![Op::Delete {
            path: node,
            version: None
        }]
    );
    assert_eq!(m.state(), DoubleBarrierState::Outside);
}

/// A member inside the barrier.
fn inside() -> (DoubleBarrierMachine, String) {
    let (mut m, node) = member();
    let out = enter(&mut m, None);
    feed(&mut m, done(out.ops[0].0, exists(true, 0)));
    feed(&mut m, done(out.ops[1].0, created(&node, SESSION)));
    feed(&mut m, done(out.ops[2].0, listing(&[path::name(&node)])));
    assert_eq!(m.state(), DoubleBarrierState::Inside);
    (m, node)
}

#[test]
fn leave_deletes_our_node_and_waits_for_the_last_member() {
    let (mut m, node) = inside();
    let out = leave(&mut m, None);
    assert_eq!(
        ops(&out),
        vec![
            Op::Delete {
                path: node.clone(),
                version: None
            },
            Op::Sync { path: DIR.into() },
            Op::GetChildren {
                path: DIR.into(),
                watch: false
            }
        ]
    );
    feed(&mut m, done(out.ops[0].0, Ok(OpResult::Deleted)));
    let out = feed(&mut m, done(out.ops[2].0, listing(&["b", "ready", "a"])));
    assert_eq!(
        ops(&out),
        vec![Op::Exists {
            path: format!("{DIR}/b"),
            watch: true
        }]
    );
    let last = out.ops[0].0;
    assert!(feed(&mut m, done(last, exists(true, 9))).events.is_empty());
    // `b` dies mid-leave (its session expires): its node goes, we look again.
    let out = fire(&mut m, last, EventType::NodeDeleted);
    assert!(out.events.is_empty());
    assert_eq!(ops(&out).len(), 2, "only a listing: our node is gone");
    let out = feed(&mut m, done(out.ops[1].0, listing(&["ready"])));
    assert_eq!(out.events, passed(2, Ok(true)));
    assert_eq!(
        ops(&out),
        vec![Op::Delete {
            path: READY.into(),
            version: None
        }]
    );
    assert_eq!(m.state(), DoubleBarrierState::Outside);
}

#[test]
fn a_watched_member_gone_before_the_watch_means_listing_again_not_passing() {
    let (mut m, _) = inside();
    let out = leave(&mut m, None);
    let out = feed(&mut m, done(out.ops[2].0, listing(&["a", "d"])));
    // `d` left between our listing and the exists: `a` may still be in.
    let out = feed(&mut m, done(out.ops[0].0, exists(false, 0)));
    assert!(out.events.is_empty(), "{:?}", out.events);
    assert_eq!(
        ops(&out),
        vec![
            Op::Sync { path: DIR.into() },
            Op::GetChildren {
                path: DIR.into(),
                watch: false
            }
        ]
    );
    let out = feed(&mut m, done(out.ops[1].0, listing(&["a"])));
    assert_eq!(
        ops(&out),
        vec![Op::Exists {
            path: format!("{DIR}/a"),
            watch: true
        }]
    );
    assert_eq!(m.state(), DoubleBarrierState::Leaving);
}

#[test]
fn leave_honours_its_deadline() {
    let (mut m, _) = inside();
    let deadline = Instant::ZERO + Duration::from_secs(2);
    let out = leave(&mut m, Some(deadline));
    let out = feed(&mut m, done(out.ops[2].0, listing(&["z"])));
    feed(&mut m, done(out.ops[0].0, exists(true, 9)));
    m.handle(deadline, Input::Timeout);
    assert_eq!(drain(&mut m).events, passed(2, Ok(false)));
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn close_deletes_our_node_and_finishes_once_it_is_gone() {
    let (mut m, node) = inside();
    let out = feed(&mut m, Input::Command(DoubleBarrierCommand::Close));
    assert_eq!(
        ops(&out),
        vec![Op::Delete {
            path: node,
            version: None
        }]
    );
    assert!(!m.is_done());
    feed(&mut m, done(out.ops[0].0, Err(Error::NoNode)));
    assert!(m.is_done());
}
