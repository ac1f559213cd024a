use std::time::Duration;

use super::machine::*;
use crate::framework::RetryPolicy;
use crate::machine::{Input, Token};
use crate::op::{Op, OpResult};
use crate::recipes::testing::*;
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{Acl, CreateMode, Stat};
use crate::{ConnectionState, Error, Machine};

const SESSION: i64 = 7;

fn long() -> AtomicMachine<i64> {
    let mut m = AtomicMachine::new("/c/n", Rng::new(1, 0));
    assert!(feed(&mut m, connected(SESSION)).ops.is_empty());
    m
}

fn run(
    m: &mut AtomicMachine<i64>,
    op: AtomicOp<i64>,
    retry: RetryPolicy,
) -> Out<AtomicMachine<i64>> {
    feed(m, Input::Command(AtomicCommand::Run { id: 1, op, retry }))
}

fn one_op(out: &Out<AtomicMachine<i64>>) -> (Token, Op) {
    assert_eq!(out.ops.len(), 1, "{:?}", out.ops);
    out.ops[0].clone()
}

fn read() -> Op {
    Op::GetData {
        path: "/c/n".into(),
        watch: false,
    }
}

fn value(v: i64, version: i32) -> OpResult {
    OpResult::Data {
        data: v.to_be_bytes().to_vec(),
        stat: Stat {
            version,
            ..Stat::default()
        },
    }
}

fn set_at(v: i64, version: i32) -> Op {
    Op::SetData {
        path: "/c/n".into(),
        data: v.to_be_bytes().to_vec(),
        version: Some(version),
    }
}

fn done_with(out: &Out<AtomicMachine<i64>>) -> Result<AtomicResult<i64>, Error> {
    let [AtomicEvent::Done { id: 1, result }] = &out.events[..] else {
        panic!("{:?}", out.events);
    };
    result.clone()
}

fn result(status: AtomicStatus, pre: i64, post: i64, tries: u32) -> AtomicResult<i64> {
    AtomicResult {
        status,
        pre,
        post,
        tries,
        promoted: false,
    }
}

fn retry() -> RetryPolicy {
    RetryPolicy::n_times(1, Duration::from_millis(10))
}

#[test]
fn an_increment_of_an_absent_node_creates_it_with_one() {
    let mut m = long();
    let out = run(&mut m, AtomicOp::Add(1), retry());
    let (rt, op) = one_op(&out);
    assert_eq!(op, read());
    let out = feed(&mut m, done(rt, Err(Error::NoNode)));
    let create = Op::Create {
        path: "/c/n".into(),
        data: 1i64.to_be_bytes().to_vec(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    };
    let (ct, op) = one_op(&out);
    assert_eq!(op, create);
    let created = OpResult::Created {
        path: "/c/n".into(),
        stat: Stat::default(),
    };
    let out = feed(&mut m, done(ct, Ok(created)));
    let want = result(AtomicStatus::Succeeded, 0, 1, 1);
    assert_eq!(done_with(&out), Ok(want));
    assert!(out.ops.is_empty());
}

#[test]
fn a_conflict_sleeps_as_the_policy_says_then_reads_again() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Add(2), retry()));
    let (wt, op) = one_op(&feed(&mut m, done(rt, Ok(value(5, 3)))));
    assert_eq!(op, set_at(7, 3));
    let out = feed(&mut m, done(wt, Err(Error::BadVersion)));
    assert!(out.ops.is_empty() && out.events.is_empty());
    assert_eq!(
        m.poll_timeout(),
        Some(Instant::ZERO + Duration::from_millis(10))
    );
    m.handle(Instant::ZERO + Duration::from_millis(10), Input::Timeout);
    let (rt, op) = one_op(&drain(&mut m));
    assert_eq!(op, read());
    let (wt, op) = one_op(&feed(&mut m, done(rt, Ok(value(6, 4)))));
    assert_eq!(op, set_at(8, 4));
    // The policy allows one retry: a second conflict ends it.
    let out = feed(&mut m, done(wt, Err(Error::BadVersion)));
    assert_eq!(done_with(&out), Ok(result(AtomicStatus::Failed, 6, 8, 2)));
}

#[test]
fn a_lost_write_reply_is_unknown_and_never_retried() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Add(1), retry()));
    let (wt, _) = one_op(&feed(&mut m, done(rt, Ok(value(5, 3)))));
    let out = feed(&mut m, done(wt, Err(Error::ConnectionLoss)));
    assert_eq!(done_with(&out), Ok(result(AtomicStatus::Unknown, 5, 6, 1)));
    assert!(out.ops.is_empty());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert!(out.ops.is_empty() && out.events.is_empty());
}

#[test]
fn a_lost_read_is_read_again_once_reconnected_and_does_not_count() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Add(1), retry()));
    let out = feed(&mut m, done(rt, Err(Error::ConnectionLoss)));
    assert!(out.ops.is_empty() && out.events.is_empty());
    assert!(feed(&mut m, state(ConnectionState::Suspended, SESSION))
        .ops
        .is_empty());
    let (rt, op) = one_op(&feed(&mut m, state(ConnectionState::Reconnected, SESSION)));
    assert_eq!(op, read());
    let (wt, _) = one_op(&feed(&mut m, done(rt, Ok(value(1, 0)))));
    let out = feed(&mut m, done(wt, Ok(OpResult::Stat(Stat::default()))));
    assert_eq!(
        done_with(&out),
        Ok(result(AtomicStatus::Succeeded, 1, 2, 1))
    );
}

#[test]
fn data_of_another_length_is_corrupt_and_nothing_is_written() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Add(1), retry()));
    let bad = OpResult::Data {
        data: vec![0, 0, 0, 9],
        stat: Stat::default(),
    };
    let out = feed(&mut m, done(rt, Ok(bad)));
    assert!(out.ops.is_empty());
    let Err(Error::CorruptData { path, reason }) = done_with(&out) else {
        panic!("{:?}", out.events);
    };
    assert_eq!(
        (path.as_str(), reason.as_str()),
        ("/c/n", "a long is 8 bytes, found 4")
    );
}

#[test]
fn empty_data_reads_as_zero() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Get, retry()));
    let empty = OpResult::Data {
        data: Vec::new(),
        stat: Stat::default(),
    };
    let out = feed(&mut m, done(rt, Ok(empty)));
    assert_eq!(
        done_with(&out),
        Ok(result(AtomicStatus::Succeeded, 0, 0, 1))
    );
}

#[test]
fn a_create_without_its_parent_makes_the_parents_and_tries_again() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Add(1), retry()));
    let (ct, _) = one_op(&feed(&mut m, done(rt, Err(Error::NoNode))));
    let out = feed(&mut m, done(ct, Err(Error::NoNode)));
    let container = Op::Create {
        path: "/c".into(),
        data: Vec::new(),
        acl: Acl::open(),
        mode: CreateMode::Container,
    };
    let ops: Vec<Op> = out.ops.iter().map(|o| o.1.clone()).collect();
    assert_eq!(ops, vec![container, read()]);
    let out = feed(
        &mut m,
        done(
            out.ops[0].0,
            Ok(OpResult::Created {
                path: "/c".into(),
                stat: Stat::default(),
            }),
        ),
    );
    assert!(out.ops.is_empty() && out.events.is_empty());
}

#[test]
fn compare_and_set_is_one_try() {
    let mut m = long();
    let (rt, _) = one_op(&run(
        &mut m,
        AtomicOp::CompareAndSet {
            expected: 4,
            new: 9,
        },
        retry(),
    ));
    let out = feed(&mut m, done(rt, Ok(value(5, 3))));
    assert!(out.ops.is_empty());
    assert_eq!(done_with(&out), Ok(result(AtomicStatus::Failed, 5, 5, 1)));
    let (rt, _) = one_op(&run(
        &mut m,
        AtomicOp::CompareAndSet {
            expected: 5,
            new: 9,
        },
        retry(),
    ));
    let (wt, op) = one_op(&feed(&mut m, done(rt, Ok(value(5, 3)))));
    assert_eq!(op, set_at(9, 3));
    let out = feed(&mut m, done(wt, Err(Error::BadVersion)));
    assert_eq!(done_with(&out), Ok(result(AtomicStatus::Failed, 5, 9, 1)));
}

#[test]
fn a_node_at_version_minus_one_is_refused_not_written_blindly() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Add(1), retry()));
    let out = feed(&mut m, done(rt, Ok(value(5, -1))));
    assert!(out.ops.is_empty());
    assert!(matches!(done_with(&out), Err(Error::InvalidArgument(_))));
}

#[test]
fn initialize_creates_only_when_absent() {
    let mut m = long();
    let (ct, op) = one_op(&run(&mut m, AtomicOp::Initialize(10), retry()));
    assert!(matches!(
        op,
        Op::Create {
            mode: CreateMode::Persistent,
            ..
        }
    ));
    let out = feed(&mut m, done(ct, Err(Error::NodeExists)));
    assert_eq!(done_with(&out), Ok(result(AtomicStatus::Failed, 10, 10, 1)));
}

#[test]
fn force_set_creates_an_absent_node() {
    let mut m = long();
    let (st, op) = one_op(&run(&mut m, AtomicOp::ForceSet(3), retry()));
    assert!(matches!(op, Op::SetData { version: None, .. }));
    let (ct, op) = one_op(&feed(&mut m, done(st, Err(Error::NoNode))));
    assert!(matches!(op, Op::Create { .. }));
    let created = OpResult::Created {
        path: "/c/n".into(),
        stat: Stat::default(),
    };
    let out = feed(&mut m, done(ct, Ok(created)));
    assert!(done_with(&out).is_ok_and(|r| r.succeeded() && r.post == 3));
}

#[test]
fn operations_run_one_at_a_time_in_order() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Add(1), retry()));
    let second = Input::Command(AtomicCommand::Run {
        id: 2,
        op: AtomicOp::Get,
        retry: retry(),
    });
    assert!(feed(&mut m, second).ops.is_empty());
    let (wt, _) = one_op(&feed(&mut m, done(rt, Ok(value(1, 0)))));
    let out = feed(&mut m, done(wt, Ok(OpResult::Stat(Stat::default()))));
    assert_eq!(out.events.len(), 1);
    assert_eq!(one_op(&out).1, read());
}

/// The client fails what was in flight with `SessionExpired` when the session ends, applied or
/// not: as unknown as a lost reply.
#[test]
fn a_write_whose_session_expired_under_it_is_unknown() {
    let mut m = long();
    let (rt, _) = one_op(&run(&mut m, AtomicOp::Add(1), retry()));
    let (wt, _) = one_op(&feed(&mut m, done(rt, Ok(value(5, 3)))));
    let out = feed(&mut m, done(wt, Err(Error::SessionExpired)));
    assert_eq!(done_with(&out), Ok(result(AtomicStatus::Unknown, 5, 6, 1)));
    assert!(out.ops.is_empty());
}
