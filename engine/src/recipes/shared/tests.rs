use super::machine::*;
use crate::machine::{Input, Token};
use crate::op::{Op, OpResult};
use crate::recipes::testing::*;
use crate::types::{EventType, Stat, WatchedEvent};
use crate::{ConnectionState, Error};

const SESSION: i64 = 7;

fn read_op() -> Op {
    Op::GetData {
        path: "/v".into(),
        watch: true,
    }
}

fn data(data: &[u8], version: i32) -> OpResult {
    OpResult::Data {
        data: data.to_vec(),
        stat: Stat {
            version,
            ..Stat::default()
        },
    }
}

fn written(version: i32) -> OpResult {
    OpResult::Stat(Stat {
        version,
        ..Stat::default()
    })
}

fn fired<C>(token: Token) -> Input<C> {
    Input::Watch {
        token,
        event: WatchedEvent {
            kind: EventType::NodeDataChanged,
            path: "/v".into(),
        },
    }
}

fn set(id: u64, data: &[u8], version: Option<i32>) -> Input<SharedCommand> {
    Input::Command(SharedCommand::Set {
        id,
        data: data.to_vec(),
        version,
    })
}

/// A count machine connected and showing `count` at `version`; returns the read's token.
fn count_at(count: i32, version: i32) -> (SharedMachine<i32>, Token) {
    let mut m = SharedMachine::<i32>::new("/v");
    let out = feed(&mut m, connected(SESSION));
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&read_op()]
    );
    let rt = out.ops[0].0;
    assert!(
        feed(&mut m, done(rt, Ok(data(&count.to_be_bytes(), version))))
            .ops
            .is_empty()
    );
    assert_eq!(
        m.state(),
        SharedState::Value(Versioned {
            value: count,
            version
        })
    );
    (m, rt)
}

#[test]
fn a_change_is_read_again_with_a_new_watch() {
    let (mut m, rt) = count_at(3, 0);
    let out = feed(&mut m, fired(rt));
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&read_op()]
    );
    feed(&mut m, done(out.ops[0].0, Ok(data(&9i32.to_be_bytes(), 1))));
    let want = Versioned {
        value: 9,
        version: 1,
    };
    assert_eq!(m.state(), SharedState::Value(want));
}

#[test]
fn try_set_writes_at_the_version_and_shows_the_write() {
    let (mut m, _) = count_at(3, 4);
    let out = feed(&mut m, set(1, &5i32.to_be_bytes(), Some(4)));
    let write = Op::SetData {
        path: "/v".into(),
        data: 5i32.to_be_bytes().to_vec(),
        version: Some(4),
    };
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&write]
    );
    let out = feed(&mut m, done(out.ops[0].0, Ok(written(5))));
    let ok = SharedEvent::SetDone {
        id: 1,
        result: Ok(true),
    };
    assert_eq!(out.events, vec![ok]);
    let want = Versioned {
        value: 5,
        version: 5,
    };
    assert_eq!(m.state(), SharedState::Value(want));
}

#[test]
fn a_stale_version_fails_and_reads_again() {
    let (mut m, _) = count_at(3, 4);
    let out = feed(&mut m, set(2, &5i32.to_be_bytes(), Some(3)));
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::BadVersion)));
    let stale = SharedEvent::SetDone {
        id: 2,
        result: Ok(false),
    };
    assert_eq!(out.events, vec![stale]);
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&read_op()]
    );
}

#[test]
fn a_lost_reply_is_an_unknown_outcome_and_the_node_is_read_on_reconnect() {
    let (mut m, _) = count_at(3, 4);
    let out = feed(&mut m, set(3, &5i32.to_be_bytes(), Some(4)));
    let st = out.ops[0].0;
    assert!(feed(&mut m, state(ConnectionState::Suspended, SESSION))
        .ops
        .is_empty());
    let out = feed(&mut m, done(st, Err(Error::ConnectionLoss)));
    let [SharedEvent::SetDone {
        id: 3,
        result: Err(e),
    }] = &out.events[..]
    else {
        panic!("{:?}", out.events);
    };
    assert!(e.is_unknown_outcome());
    // Nothing is assumed: the old value stays until the node is read again.
    let want = Versioned {
        value: 3,
        version: 4,
    };
    assert_eq!(m.state(), SharedState::Value(want));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&read_op()]
    );
    feed(&mut m, done(out.ops[0].0, Ok(data(&5i32.to_be_bytes(), 5))));
    let want = Versioned {
        value: 5,
        version: 5,
    };
    assert_eq!(m.state(), SharedState::Value(want));
}

/// CURATOR-688: after the version wraps to `i32::MIN` the value keeps being followed and
/// compare-and-set keeps working; an older reply with a "bigger" version never wins.
#[test]
fn versions_that_wrap_are_ordered_by_request_not_by_magnitude() {
    let (mut m, rt) = count_at(1, i32::MAX);
    let out = feed(&mut m, set(1, &2i32.to_be_bytes(), Some(i32::MAX)));
    let out = feed(&mut m, done(out.ops[0].0, Ok(written(i32::MIN))));
    assert_eq!(out.events.len(), 1);
    let want = Versioned {
        value: 2,
        version: i32::MIN,
    };
    assert_eq!(m.state(), SharedState::Value(want.clone()));
    // A reply to the first read, replayed late, is older: ignored.
    feed(&mut m, done(rt, Ok(data(&1i32.to_be_bytes(), i32::MAX))));
    assert_eq!(m.state(), SharedState::Value(want));
    let out = feed(&mut m, set(2, &3i32.to_be_bytes(), Some(i32::MIN)));
    let Op::SetData { version, .. } = &out.ops[0].1 else {
        panic!("{:?}", out.ops);
    };
    assert_eq!(*version, Some(i32::MIN));
}

#[test]
fn version_minus_one_is_refused_not_sent_as_any_version() {
    let (mut m, _) = count_at(1, -1);
    let out = feed(&mut m, set(1, &2i32.to_be_bytes(), Some(-1)));
    assert!(out.ops.is_empty());
    assert!(matches!(
        &out.events[..],
        [SharedEvent::SetDone {
            id: 1,
            result: Err(Error::InvalidArgument(_))
        }]
    ));
}

#[test]
fn a_count_of_another_length_is_corrupt_and_a_set_replaces_it() {
    let mut m = SharedMachine::<i32>::new("/v");
    let rt = feed(&mut m, connected(SESSION)).ops[0].0;
    feed(&mut m, done(rt, Ok(data(&[1, 2, 3], 6))));
    let SharedState::Corrupt { version: 6, error } = m.state() else {
        panic!("{:?}", m.state());
    };
    assert!(matches!(error, Error::CorruptData { path, .. } if path == "/v"));
    let out = feed(&mut m, set(1, &8i32.to_be_bytes(), Some(6)));
    feed(&mut m, done(out.ops[0].0, Ok(written(7))));
    let want = Versioned {
        value: 8,
        version: 7,
    };
    assert_eq!(m.state(), SharedState::Value(want));
}

#[test]
fn an_absent_node_is_watched_until_created() {
    let mut m = SharedMachine::<Vec<u8>>::new("/v");
    let rt = feed(&mut m, connected(SESSION)).ops[0].0;
    let out = feed(&mut m, done(rt, Err(Error::NoNode)));
    assert_eq!(m.state(), SharedState::Absent);
    let exists = Op::Exists {
        path: "/v".into(),
        watch: true,
    };
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&exists]
    );
    let et = out.ops[0].0;
    assert!(feed(&mut m, done(et, Ok(OpResult::Exists(None))))
        .ops
        .is_empty());
    let out = feed(&mut m, fired(et));
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&read_op()]
    );
    feed(&mut m, done(out.ops[0].0, Ok(data(b"hi", 0))));
    let want = Versioned {
        value: b"hi".to_vec(),
        version: 0,
    };
    assert_eq!(m.state(), SharedState::Value(want));
}

#[test]
fn a_watch_fired_during_a_read_reads_again_after_it() {
    let (mut m, rt) = count_at(1, 0);
    let out = feed(&mut m, fired(rt));
    let second = out.ops[0].0;
    // Another change fires an older watch while the read is in flight: no second read yet.
    assert!(feed(&mut m, fired(rt)).ops.is_empty());
    let out = feed(&mut m, done(second, Ok(data(&2i32.to_be_bytes(), 1))));
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&read_op()]
    );
}
