//! Pure tests of the cache machine: the exact reads and events.

use super::machine::*;
use crate::discovery::instance::ServiceInstance;
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{EventType, SessionState, Stat, WatchedEvent};
use crate::{ConnectionState, Error};

const DIR: &str = "/foo/svc";

struct Out {
    ops: Vec<(Token, Op)>,
    events: Vec<CacheEvent>,
}

fn feed(m: &mut CacheMachine, input: Input<CacheCommand>) -> Out {
    m.handle(Instant::ZERO, input);
    let mut ops = Vec::new();
    while let Some(op) = m.poll_op() {
        ops.push(op);
    }
    let mut events = Vec::new();
    while let Some(e) = m.poll_event() {
        events.push(e);
    }
    Out { ops, events }
}

fn state(m: &mut CacheMachine, state: ConnectionState) -> Out {
    feed(
        m,
        Input::Connection {
            state,
            session_id: 7,
        },
    )
}

fn done(m: &mut CacheMachine, token: Token, result: Result<OpResult, Error>) -> Out {
    feed(m, Input::OpDone { token, result })
}

fn fire(m: &mut CacheMachine, token: Token, kind: EventType, path: &str) -> Out {
    feed(
        m,
        Input::Watch {
            token,
            event: WatchedEvent {
                kind,
                path: path.into(),
            },
        },
    )
}

fn instance(id: &str, payload: &str) -> ServiceInstance {
    ServiceInstance::builder("svc")
        .id(id)
        .address("10.0.0.1")
        .port(80)
        .payload_string(payload)
        .build_with(&mut Rng::new(1, 0), 5)
        .unwrap()
}

fn children(names: &[&str]) -> Result<OpResult, Error> {
    Ok(OpResult::Children {
        children: names.iter().map(|s| s.to_string()).collect(),
        stat: Stat::default(),
    })
}

fn data(bytes: Vec<u8>) -> Result<OpResult, Error> {
    Ok(OpResult::Data {
        data: bytes,
        stat: Stat::default(),
    })
}

fn list_op() -> Op {
    Op::GetChildren {
        path: DIR.into(),
        watch: true,
    }
}

fn read_op(id: &str) -> Op {
    Op::GetData {
        path: format!("{DIR}/{id}"),
        watch: true,
    }
}

fn ops(out: &Out) -> Vec<Op> {
    out.ops.iter().map(|(_, op)| op.clone()).collect()
}

fn ids(m: &CacheMachine) -> Vec<String> {
    m.snapshot().iter().map(|i| i.id.clone()).collect()
}

/// A cache loaded with instances `a` and `b`; returns the tokens of the listing and reads.
fn loaded() -> (CacheMachine, Token, Token, Token) {
    let mut m = CacheMachine::new(DIR);
    let out = state(&mut m, ConnectionState::Connected);
    assert_eq!(ops(&out), vec![list_op()]);
    let list = out.ops[0].0;
    let out = done(&mut m, list, children(&["b", "a"]));
    assert_eq!(
        ops(&out),
        vec![read_op("b"), read_op("a")],
        "pipelined, in listing order"
    );
    assert!(out.events.is_empty() && !m.is_ready());
    let (rb, ra) = (out.ops[0].0, out.ops[1].0);
    let out = done(&mut m, ra, data(instance("a", "x").to_json()));
    assert!(matches!(&out.events[..], [CacheEvent::Added(i)] if i.id == "a"));
    let out = done(&mut m, rb, data(instance("b", "x").to_json()));
    assert!(matches!(&out.events[..], [CacheEvent::Added(i), CacheEvent::Ready] if i.id == "b"));
    assert!(m.is_ready());
    assert_eq!(ids(&m), vec!["a", "b"]);
    (m, list, ra, rb)
}

#[test]
fn loads_then_follows_children_and_data_watches() {
    let (mut m, list, ra, rb) = loaded();
    // A new instance.
    let out = fire(&mut m, list, EventType::NodeChildrenChanged, DIR);
    assert_eq!(ops(&out), vec![list_op()]);
    let out = done(&mut m, out.ops[0].0, children(&["a", "b", "c"]));
    assert_eq!(ops(&out), vec![read_op("c")]);
    done(&mut m, out.ops[0].0, data(instance("c", "x").to_json()));
    assert_eq!(ids(&m), vec!["a", "b", "c"]);
    // An update.
    let out = fire(&mut m, ra, EventType::NodeDataChanged, "/foo/svc/a");
    assert_eq!(ops(&out), vec![read_op("a")]);
    let out = done(&mut m, out.ops[0].0, data(instance("a", "y").to_json()));
    assert!(
        matches!(&out.events[..], [CacheEvent::Updated(i)] if i.payload == instance("a", "y").payload)
    );
    // A deletion.
    let out = fire(&mut m, rb, EventType::NodeDeleted, "/foo/svc/b");
    assert!(matches!(&out.events[..], [CacheEvent::Removed(i)] if i.id == "b"));
    assert_eq!(ids(&m), vec!["a", "c"]);
}

#[test]
fn the_snapshot_is_a_new_arc_only_when_something_changed() {
    let (mut m, _, ra, _) = loaded();
    let before = m.snapshot();
    let out = fire(&mut m, ra, EventType::NodeDataChanged, "/foo/svc/a");
    let out = done(&mut m, out.ops[0].0, data(instance("a", "x").to_json()));
    assert!(out.events.is_empty(), "same content: no event");
    assert!(std::sync::Arc::ptr_eq(&before, &m.snapshot()));
}

/// discovery_poison_instance: a foreign node is skipped and reported; the rest still load.
#[test]
fn discovery_poison_instance_is_skipped_and_reported() {
    let mut m = CacheMachine::new(DIR);
    let out = state(&mut m, ConnectionState::Connected);
    let out = done(&mut m, out.ops[0].0, children(&["a", "poison", "z"]));
    let tokens: Vec<Token> = out.ops.iter().map(|(t, _)| *t).collect();
    done(&mut m, tokens[0], data(instance("a", "x").to_json()));
    let out = done(&mut m, tokens[1], data(b"\x00\x01 not json".to_vec()));
    assert!(matches!(
        &out.events[..],
        [CacheEvent::Unreadable { path, error: Error::CorruptData { .. } }] if path == "/foo/svc/poison"
    ));
    let out = done(&mut m, tokens[2], data(instance("z", "x").to_json()));
    assert!(out.events.contains(&CacheEvent::Ready));
    assert_eq!(ids(&m), vec!["a", "z"]);
    // Fixed later: its data watch notices.
    let out = fire(
        &mut m,
        tokens[1],
        EventType::NodeDataChanged,
        "/foo/svc/poison",
    );
    let out = done(
        &mut m,
        out.ops[0].0,
        data(instance("poison", "x").to_json()),
    );
    assert!(matches!(&out.events[..], [CacheEvent::Added(i)] if i.id == "poison"));
}

#[test]
fn a_missing_service_node_is_watched_until_it_appears() {
    let mut m = CacheMachine::new(DIR);
    let out = state(&mut m, ConnectionState::Connected);
    let out = done(&mut m, out.ops[0].0, Err(Error::NoNode));
    assert_eq!(
        ops(&out),
        vec![Op::Exists {
            path: DIR.into(),
            watch: true
        }]
    );
    let exists = out.ops[0].0;
    let out = done(&mut m, exists, Ok(OpResult::Exists(None)));
    assert_eq!(out.events, vec![CacheEvent::Ready], "empty, but loaded");
    let out = fire(&mut m, exists, EventType::NodeCreated, DIR);
    assert_eq!(ops(&out), vec![list_op()]);
}

#[test]
fn survives_disconnects_and_refreshes_on_reconnect() {
    let (mut m, list, _, rb) = loaded();
    let out = state(&mut m, ConnectionState::Suspended);
    assert!(out.ops.is_empty() && out.events.is_empty());
    assert_eq!(ids(&m), vec!["a", "b"], "kept while disconnected");
    // The session ended: old watches report it and are ignored.
    let out = fire(&mut m, list, EventType::Session(SessionState::Expired), "");
    assert!(out.ops.is_empty());
    state(&mut m, ConnectionState::Lost);
    let out = feed(
        &mut m,
        Input::Connection {
            state: ConnectionState::Reconnected,
            session_id: 8,
        },
    );
    assert_eq!(ops(&out), vec![list_op(), read_op("a"), read_op("b")]);
    let tokens: Vec<Token> = out.ops.iter().map(|(t, _)| *t).collect();
    // "b" vanished with the old session; "a" was updated meanwhile.
    let out = done(&mut m, tokens[0], children(&["a"]));
    assert!(matches!(&out.events[..], [CacheEvent::Removed(i)] if i.id == "b"));
    let out = done(&mut m, tokens[2], Err(Error::NoNode));
    assert!(out.events.is_empty(), "already gone, and a stale read");
    done(&mut m, tokens[1], data(instance("a", "new").to_json()));
    assert_eq!(ids(&m), vec!["a"]);
    assert_eq!(m.snapshot()[0].payload, instance("a", "new").payload);
    // Watches from before the refresh are ignored.
    assert!(fire(&mut m, rb, EventType::NodeDataChanged, "/foo/svc/b")
        .ops
        .is_empty());
}

#[test]
fn a_read_lost_with_the_connection_waits_for_the_reconnect() {
    let (mut m, _, ra, _) = loaded();
    let out = fire(&mut m, ra, EventType::NodeDataChanged, "/foo/svc/a");
    let out = done(&mut m, out.ops[0].0, Err(Error::ConnectionLoss));
    assert!(out.ops.is_empty() && out.events.is_empty());
    assert_eq!(ids(&m), vec!["a", "b"]);
}

#[test]
fn close_stops_everything() {
    let (mut m, list, _, _) = loaded();
    feed(&mut m, Input::Command(CacheCommand::Close));
    assert!(m.is_done());
    assert!(fire(&mut m, list, EventType::NodeChildrenChanged, DIR)
        .ops
        .is_empty());
}

/// The contents are a watched state (the current snapshot first), and a late subscriber's
/// replay holds every instance, then `Ready`.
#[test]
fn the_contents_are_watched_and_replayed() {
    use futures::StreamExt;
    let (m, _, _, _) = loaded();
    let mut watch = m.watch_snapshot();
    let first = futures::executor::block_on(watch.next()).expect("the current value");
    assert!(std::sync::Arc::ptr_eq(&first, &m.snapshot()));
    let replay = m.replay();
    assert!(
        matches!(&replay[..], [CacheEvent::Added(a), CacheEvent::Added(b), CacheEvent::Ready] if a.id == "a" && b.id == "b"),
        "{replay:?}"
    );
}

/// A re-registration (delete and create: another node under the same id) is a removal and
/// an addition; the snapshot never shows the gap.
#[test]
fn a_recreated_instance_is_removed_then_added() {
    let (mut m, _, ra, _) = loaded();
    let out = fire(&mut m, ra, EventType::NodeDataChanged, "/foo/svc/a");
    let recreated = Ok(OpResult::Data {
        data: instance("a", "x").to_json(),
        stat: Stat {
            czxid: 99,
            ..Stat::default()
        },
    });
    let out = done(&mut m, out.ops[0].0, recreated);
    assert!(
        matches!(&out.events[..], [CacheEvent::Removed(old), CacheEvent::Added(new)] if old.id == "a" && new.id == "a"),
        "{:?}",
        out.events
    );
    assert_eq!(ids(&m), vec!["a", "b"]);
}
