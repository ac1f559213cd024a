use super::machine::*;
use crate::machine::{Input, Machine, Token};
use crate::op::OpResult;
use crate::recipes::cache::testing::*;
use crate::recipes::cache::{CacheCommand, ChildData};
use crate::recipes::testing::*;
use crate::types::{EventType, Stat};
use crate::{ConnectionState, Error};

const SESSION: i64 = 7;
const PATH: &str = "/config";

fn node(bytes: &[u8], stat: Stat) -> ChildData {
    ChildData {
        path: PATH.into(),
        stat,
        data: Some(bytes.to_vec()),
    }
}

/// A cache that has read the node (czxid 10, "v1"); returns the read's (watch's) token.
fn loaded() -> (NodeMachine, Token) {
    let mut m = NodeMachine::new(PATH.into());
    assert!(drain(&mut m).ops.is_empty(), "nothing before a connection");
    let out = feed(&mut m, connected(SESSION));
    assert_eq!(ops(&out.ops), vec![get_data(PATH)]);
    let token = out.ops[0].0;
    let out = feed(&mut m, done(token, Ok(data(b"v1", stat(10, 10, 0)))));
    assert_eq!(
        out.events,
        vec![
            NodeEvent::Created(node(b"v1", stat(10, 10, 0))),
            NodeEvent::Initialized
        ]
    );
    (m, token)
}

#[test]
fn an_existing_node_is_read_with_a_data_watch_and_changes_are_reported() {
    let (mut m, watch) = loaded();
    let out = feed(&mut m, fired(watch, EventType::NodeDataChanged, PATH));
    assert_eq!(ops(&out.ops), vec![get_data(PATH)]);
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"v2", stat(10, 12, 1)))));
    assert_eq!(
        out.events,
        vec![NodeEvent::Changed(node(b"v2", stat(10, 12, 1)))]
    );
    assert_eq!(m.current_data(), Some(&node(b"v2", stat(10, 12, 1))));
}

#[test]
fn an_absent_node_is_watched_with_exists_until_created() {
    let mut m = NodeMachine::new(PATH.into());
    let out = feed(&mut m, connected(SESSION));
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::NoNode)));
    assert_eq!(ops(&out.ops), vec![exists(PATH)]);
    assert!(out.events.is_empty());
    let ex = out.ops[0].0;
    let out = feed(&mut m, done(ex, Ok(OpResult::Exists(None))));
    assert_eq!(out.events, vec![NodeEvent::Initialized]);
    assert!(out.ops.is_empty());
    assert_eq!(m.current_data(), None);
    let out = feed(&mut m, fired(ex, EventType::NodeCreated, PATH));
    assert_eq!(ops(&out.ops), vec![get_data(PATH)]);
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"v1", stat(10, 10, 0)))));
    assert_eq!(
        out.events,
        vec![NodeEvent::Created(node(b"v1", stat(10, 10, 0)))]
    );
}

#[test]
fn created_between_the_read_and_the_exists_check_is_read_at_once() {
    let mut m = NodeMachine::new(PATH.into());
    let out = feed(&mut m, connected(SESSION));
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::NoNode)));
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(OpResult::Exists(Some(stat(10, 10, 0))))),
    );
    assert_eq!(ops(&out.ops), vec![get_data(PATH)]);
}

#[test]
fn a_deletion_is_reported_and_the_node_watched_for_its_return() {
    let (mut m, watch) = loaded();
    let out = feed(&mut m, fired(watch, EventType::NodeDeleted, PATH));
    assert_eq!(
        out.events,
        vec![NodeEvent::Deleted(node(b"v1", stat(10, 10, 0)))]
    );
    assert_eq!(ops(&out.ops), vec![exists(PATH)]);
    assert_eq!(m.current_data(), None);
}

#[test]
fn a_recreate_during_a_disconnect_is_reported_by_czxid() {
    let (mut m, watch) = loaded();
    let out = feed(&mut m, state(ConnectionState::Suspended, SESSION));
    assert_eq!(out.events, vec![NodeEvent::ConnectionSuspended]);
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(out.events, vec![NodeEvent::ConnectionReconnected]);
    assert!(
        out.ops.is_empty(),
        "the watch survived: no read on reconnect"
    );
    // The re-registered watch fires; same version and data, another node.
    let out = feed(&mut m, fired(watch, EventType::NodeDataChanged, PATH));
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"v1", stat(20, 20, 0)))));
    assert_eq!(
        out.events,
        vec![
            NodeEvent::Deleted(node(b"v1", stat(10, 10, 0))),
            NodeEvent::Created(node(b"v1", stat(20, 20, 0)))
        ]
    );
}

#[test]
fn a_read_lost_to_a_disconnect_is_sent_again_on_reconnect() {
    let (mut m, watch) = loaded();
    let out = feed(&mut m, fired(watch, EventType::NodeDataChanged, PATH));
    let read = out.ops[0].0;
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    assert!(feed(&mut m, done(read, Err(Error::ConnectionLoss)))
        .ops
        .is_empty());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(ops(&out.ops), vec![get_data(PATH)]);
}

#[test]
fn a_new_session_reads_again_and_ignores_old_watches() {
    let (mut m, watch) = loaded();
    feed(&mut m, state(ConnectionState::Lost, SESSION));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION + 1));
    assert_eq!(ops(&out.ops), vec![get_data(PATH)]);
    let stale = feed(&mut m, fired(watch, EventType::NodeDataChanged, PATH));
    assert!(stale.ops.is_empty(), "the old session's watch is gone");
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"v1", stat(10, 10, 0)))));
    assert!(out.events.is_empty(), "unchanged");
}

#[test]
fn close_stops_everything() {
    let (mut m, watch) = loaded();
    feed(&mut m, Input::Command(CacheCommand::Close));
    assert!(m.is_done());
    let out = feed(&mut m, fired(watch, EventType::NodeDataChanged, PATH));
    assert!(out.ops.is_empty() && out.events.is_empty());
}

#[test]
fn the_state_the_cache_was_created_in_is_not_reported() {
    let mut m = NodeMachine::new(PATH.into());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert!(out.events.is_empty());
    assert_eq!(ops(&out.ops), vec![get_data(PATH)]);
}

/// The state says when the first read is in, to a watch made before; a late subscriber's
/// replay holds what the events said so far.
#[test]
fn the_state_and_the_replay_follow_the_load() {
    use crate::recipes::cache::core::CacheInputs;
    use crate::recipes::cache::CacheState;
    use futures::StreamExt;
    let mut m = NodeMachine::new(PATH.into());
    let mut watch = m.core().watch_state();
    assert_eq!(m.core().state(), CacheState::Loading);
    assert!(m.replay().is_empty());
    let out = feed(&mut m, connected(SESSION));
    feed(&mut m, done(out.ops[0].0, Ok(data(b"v1", stat(10, 10, 0)))));
    assert_eq!(m.core().state(), CacheState::Initialized);
    let states = futures::executor::block_on(async {
        vec![watch.next().await, m.core().watch_state().next().await]
    });
    // The watch made before sees the latest value; a new one the current value first.
    assert_eq!(states, vec![Some(CacheState::Initialized); 2]);
    assert_eq!(
        m.replay(),
        vec![
            NodeEvent::Created(node(b"v1", stat(10, 10, 0))),
            NodeEvent::Initialized
        ]
    );
}
