use super::machine::*;
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::recipes::testing::*;
use crate::time::Instant;
use crate::types::{EventType, SessionState, Stat, WatchedEvent};
use crate::{ConnectionState, Error};

const PATH: &str = "/barriers/b";
const SESSION: i64 = 7;

fn wait(m: &mut BarrierMachine, call: u64, deadline: Option<Instant>) -> Out<BarrierMachine> {
    feed(m, Input::Command(BarrierCommand::Wait { call, deadline }))
}

fn exists(up: bool) -> Result<OpResult, Error> {
    Ok(OpResult::Exists(up.then(Stat::default)))
}

fn fire(m: &mut BarrierMachine, token: Token, kind: EventType) -> Out<BarrierMachine> {
    let path = match kind {
        EventType::Session(_) => String::new(),
        _ => PATH.to_owned(),
    };
    feed(
        m,
        Input::Watch {
            token,
            event: WatchedEvent { kind, path },
        },
    )
}

fn done_event(call: u64, outcome: Result<bool, Error>) -> Vec<BarrierEvent> {
    vec![BarrierEvent::Done { call, outcome }]
}

/// A machine whose wait of call 1 found the barrier up; returns the exists token.
fn waiting() -> (BarrierMachine, Token) {
    let mut m = BarrierMachine::new(PATH.into());
    feed(&mut m, connected(SESSION));
    let out = wait(&mut m, 1, None);
    let look = out.ops[1].0;
    assert!(feed(&mut m, done(look, exists(true))).events.is_empty());
    assert_eq!(m.state(), BarrierState::Waiting);
    (m, look)
}

#[test]
fn a_look_syncs_then_stats_with_a_watch_and_passes_when_absent() {
    let mut m = BarrierMachine::new(PATH.into());
    feed(&mut m, connected(SESSION));
    let out = wait(&mut m, 1, None);
    let ops: Vec<Op> = out.ops.iter().map(|(_, op)| op.clone()).collect();
    assert_eq!(
        ops,
        vec![
            Op::Sync { path: PATH.into() },
            Op::Exists {
                path: PATH.into(),
                watch: true
            }
        ]
    );
    assert!(feed(&mut m, done(out.ops[0].0, Ok(OpResult::Synced)))
        .events
        .is_empty());
    let out = feed(&mut m, done(out.ops[1].0, exists(false)));
    assert_eq!(out.events, done_event(1, Ok(true)));
    assert_eq!(m.state(), BarrierState::Idle);
}

#[test]
fn deletion_event_makes_it_look_again_and_only_an_absent_reply_passes() {
    let (mut m, look) = waiting();
    let out = fire(&mut m, look, EventType::NodeDeleted);
    assert!(out.events.is_empty(), "an event alone never passes");
    assert_eq!(out.ops[0].1, Op::Sync { path: PATH.into() });
    let (again, op) = out.ops[1].clone();
    assert_eq!(
        op,
        Op::Exists {
            path: PATH.into(),
            watch: true
        }
    );
    // Set again before the look arrived: still up, still waiting.
    assert!(feed(&mut m, done(again, exists(true))).events.is_empty());
    let out = fire(&mut m, again, EventType::NodeDeleted);
    let out = feed(&mut m, done(out.ops[1].0, exists(false)));
    assert_eq!(out.events, done_event(1, Ok(true)));
}

#[test]
fn session_events_never_pass_a_wait() {
    let (mut m, look) = waiting();
    let out = fire(&mut m, look, EventType::Session(SessionState::Expired));
    assert!(out.events.is_empty());
    let out = feed(&mut m, done(out.ops[1].0, exists(true)));
    assert!(out.events.is_empty());
    assert_eq!(m.state(), BarrierState::Waiting);
}

#[test]
fn a_failed_look_goes_again_after_the_reconnection() {
    let (mut m, look) = waiting();
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = fire(&mut m, look, EventType::NodeDeleted);
    let out = feed(&mut m, done(out.ops[1].0, Err(Error::ConnectionLoss)));
    assert!(out.ops.is_empty() && out.events.is_empty());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(
        out.ops[1].1,
        Op::Exists {
            path: PATH.into(),
            watch: true
        }
    );
    let out = feed(&mut m, done(out.ops[1].0, exists(false)));
    assert_eq!(out.events, done_event(1, Ok(true)));
}

#[test]
fn the_deadline_ends_a_wait_with_false() {
    let mut m = BarrierMachine::new(PATH.into());
    feed(&mut m, connected(SESSION));
    let deadline = Instant::ZERO + std::time::Duration::from_secs(5);
    let out = wait(&mut m, 3, Some(deadline));
    let look = out.ops[1].0;
    feed(&mut m, done(look, exists(true)));
    assert_eq!(m.poll_timeout(), Some(deadline));
    m.handle(deadline, Input::Timeout);
    let out = drain(&mut m);
    assert_eq!(out.events, done_event(3, Ok(false)));
    assert_eq!(m.poll_timeout(), None);
    // The old watch firing later changes nothing.
    let out = fire(&mut m, look, EventType::NodeDeleted);
    assert!(out.ops.is_empty() && out.events.is_empty());
}

#[test]
fn close_ends_a_wait_and_the_machine() {
    let (mut m, _) = waiting();
    let out = feed(&mut m, Input::Command(BarrierCommand::Close));
    assert_eq!(out.events, done_event(1, Err(Error::Closed)));
    assert!(m.is_done());
}
