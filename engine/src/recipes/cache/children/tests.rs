use super::machine::*;
use crate::machine::{Input, Machine, Token};
use crate::op::OpResult;
use crate::recipes::cache::testing::*;
use crate::recipes::cache::{CacheCommand, ChildData};
use crate::recipes::testing::*;
use crate::types::{EventType, Stat};
use crate::{ConnectionState, Error};

const SESSION: i64 = 7;
const DIR: &str = "/workers";

fn child(name: &str, bytes: &[u8], stat: Stat) -> ChildData {
    ChildData {
        path: format!("{DIR}/{name}"),
        stat,
        data: Some(bytes.to_vec()),
    }
}

/// A started cache; returns the listing's token.
fn started(mode: StartMode) -> (ChildrenMachine, Token) {
    let mut m = ChildrenMachine::new(DIR.into(), mode, true);
    let out = feed(&mut m, connected(SESSION));
    assert_eq!(ops(&out.ops), vec![get_children(DIR, true)]);
    (m, out.ops[0].0)
}

/// A cache holding `a` (czxid 10) and `b` (czxid 11), initialized. Returns the tokens of the
/// listing (its child watch) and of the reads of `a` and `b` (their data watches).
fn loaded(mode: StartMode) -> (ChildrenMachine, Token, Token, Token) {
    let (mut m, list) = started(mode);
    let out = feed(&mut m, done(list, Ok(children(&["a", "b"]))));
    let (ta, tb) = (out.ops[0].0, out.ops[1].0);
    feed(&mut m, done(ta, Ok(data(b"x", stat(10, 10, 0)))));
    feed(&mut m, done(tb, Ok(data(b"y", stat(11, 11, 0)))));
    assert!(m.is_initialized());
    (m, list, ta, tb)
}

#[test]
fn the_initial_reads_go_out_together_and_report_added() {
    let (mut m, list) = started(StartMode::Normal);
    let out = feed(&mut m, done(list, Ok(children(&["a", "b", "c"]))));
    assert_eq!(
        ops(&out.ops),
        vec![
            get_data("/workers/a"),
            get_data("/workers/b"),
            get_data("/workers/c")
        ],
        "every read in one batch, not one round trip each"
    );
    assert!(out.events.is_empty());
    let mut events = Vec::new();
    for (i, (token, _)) in out.ops.iter().enumerate() {
        let s = stat(10 + i as i64, 10 + i as i64, 0);
        events.extend(feed(&mut m, done(*token, Ok(data(b"d", s)))).events);
    }
    assert_eq!(
        events,
        vec![
            ChildrenEvent::ChildAdded(child("a", b"d", stat(10, 10, 0))),
            ChildrenEvent::ChildAdded(child("b", b"d", stat(11, 11, 0))),
            ChildrenEvent::ChildAdded(child("c", b"d", stat(12, 12, 0))),
        ],
        "Normal mode sends no Initialized"
    );
    assert!(m.is_initialized());
    assert_eq!(m.snapshot().len(), 3);
}

#[test]
fn post_initialized_event_follows_the_last_initial_read() {
    let (mut m, list) = started(StartMode::PostInitializedEvent);
    let out = feed(&mut m, done(list, Ok(children(&["a", "b"]))));
    let first = feed(&mut m, done(out.ops[0].0, Ok(data(b"x", stat(10, 10, 0)))));
    assert_eq!(
        first.events,
        vec![ChildrenEvent::ChildAdded(child("a", b"x", stat(10, 10, 0)))]
    );
    let last = feed(&mut m, done(out.ops[1].0, Ok(data(b"y", stat(11, 11, 0)))));
    assert_eq!(
        last.events,
        vec![
            ChildrenEvent::ChildAdded(child("b", b"y", stat(11, 11, 0))),
            ChildrenEvent::Initialized
        ]
    );
}

#[test]
fn build_initial_loads_silently_then_reports_changes() {
    let (mut m, list) = started(StartMode::BuildInitial);
    let out = feed(&mut m, done(list, Ok(children(&["a"]))));
    let ta = out.ops[0].0;
    let out = feed(&mut m, done(ta, Ok(data(b"x", stat(10, 10, 0)))));
    assert_eq!(
        out.events,
        vec![ChildrenEvent::Initialized],
        "no ChildAdded"
    );
    let a = child("a", b"x", stat(10, 10, 0));
    assert_eq!(m.current_data("a"), Some(&a));
    assert_eq!(m.current_data("/workers/a"), Some(&a));
    assert_eq!(m.current_data("/elsewhere/a"), None);
    // After the load, changes are reported.
    let out = feed(&mut m, fired(ta, EventType::NodeDataChanged, "/workers/a"));
    assert_eq!(ops(&out.ops), vec![get_data("/workers/a")]);
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"x2", stat(10, 12, 1)))));
    assert_eq!(
        out.events,
        vec![ChildrenEvent::ChildUpdated(child(
            "a",
            b"x2",
            stat(10, 12, 1)
        ))]
    );
}

#[test]
fn a_child_deleted_between_the_listing_and_its_read_is_simply_absent() {
    let (mut m, list) = started(StartMode::PostInitializedEvent);
    let out = feed(&mut m, done(list, Ok(children(&["a", "b"]))));
    let gone = feed(&mut m, done(out.ops[0].0, Err(Error::NoNode)));
    assert!(gone.events.is_empty() && gone.ops.is_empty());
    let last = feed(&mut m, done(out.ops[1].0, Ok(data(b"y", stat(11, 11, 0)))));
    assert_eq!(
        last.events,
        vec![
            ChildrenEvent::ChildAdded(child("b", b"y", stat(11, 11, 0))),
            ChildrenEvent::Initialized
        ]
    );
    assert_eq!(m.snapshot().keys().collect::<Vec<_>>(), vec!["/workers/b"]);
}

#[test]
fn a_burst_between_watch_rearms_is_diffed_against_a_new_listing() {
    let (mut m, list, _, _) = loaded(StartMode::Normal);
    // One child event stands for any number of changes: a gone, c and d new.
    let out = feed(&mut m, fired(list, EventType::NodeChildrenChanged, DIR));
    assert_eq!(ops(&out.ops), vec![get_children(DIR, true)]);
    let out = feed(&mut m, done(out.ops[0].0, Ok(children(&["b", "c", "d"]))));
    assert_eq!(
        out.events,
        vec![ChildrenEvent::ChildRemoved(child(
            "a",
            b"x",
            stat(10, 10, 0)
        ))]
    );
    assert_eq!(
        ops(&out.ops),
        vec![get_data("/workers/c"), get_data("/workers/d")],
        "only the new names are read"
    );
}

#[test]
fn data_watches_report_updates_and_deletions() {
    let (mut m, _, ta, tb) = loaded(StartMode::Normal);
    let out = feed(&mut m, fired(ta, EventType::NodeDataChanged, "/workers/a"));
    assert_eq!(ops(&out.ops), vec![get_data("/workers/a")]);
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"x2", stat(10, 12, 1)))));
    assert_eq!(
        out.events,
        vec![ChildrenEvent::ChildUpdated(child(
            "a",
            b"x2",
            stat(10, 12, 1)
        ))]
    );
    let out = feed(&mut m, fired(tb, EventType::NodeDeleted, "/workers/b"));
    assert_eq!(
        out.events,
        vec![ChildrenEvent::ChildRemoved(child(
            "b",
            b"y",
            stat(11, 11, 0)
        ))]
    );
    assert!(out.ops.is_empty(), "the parent's child watch re-lists");
}

#[test]
fn a_recreate_during_a_disconnect_is_reported_by_czxid() {
    let (mut m, _, ta, _) = loaded(StartMode::Normal);
    let out = feed(&mut m, state(ConnectionState::Suspended, SESSION));
    assert_eq!(out.events, vec![ChildrenEvent::ConnectionSuspended]);
    assert!(out.ops.is_empty());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(out.events, vec![ChildrenEvent::ConnectionReconnected]);
    // One listing, without a second child watch (the old one is still registered).
    assert_eq!(ops(&out.ops), vec![get_children(DIR, false)]);
    let out = feed(&mut m, done(out.ops[0].0, Ok(children(&["a", "b"]))));
    assert!(out.ops.is_empty() && out.events.is_empty());
    // The re-registered data watch of `a` fires: same name, same version, same data, but
    // another node.
    let out = feed(&mut m, fired(ta, EventType::NodeDataChanged, "/workers/a"));
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"x", stat(20, 20, 0)))));
    assert_eq!(
        out.events,
        vec![
            ChildrenEvent::ChildRemoved(child("a", b"x", stat(10, 10, 0))),
            ChildrenEvent::ChildAdded(child("a", b"x", stat(20, 20, 0))),
        ]
    );
}

#[test]
fn a_reconnect_reads_only_new_names_and_failed_reads() {
    let (mut m, _, ta, _) = loaded(StartMode::Normal);
    let out = feed(&mut m, fired(ta, EventType::NodeDataChanged, "/workers/a"));
    let read = out.ops[0].0;
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, done(read, Err(Error::ConnectionLoss)));
    assert!(out.ops.is_empty(), "no retry while suspended");
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(
        ops(&out.ops),
        vec![get_data("/workers/a"), get_children(DIR, false)]
    );
    let out = feed(&mut m, done(out.ops[1].0, Ok(children(&["a", "b", "c"]))));
    assert_eq!(ops(&out.ops), vec![get_data("/workers/c")]);
}

#[test]
fn a_failure_reported_after_the_reconnect_is_retried_at_once() {
    let (mut m, _, ta, _) = loaded(StartMode::Normal);
    let out = feed(&mut m, fired(ta, EventType::NodeDataChanged, "/workers/a"));
    let read = out.ops[0].0;
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    let out = feed(&mut m, done(read, Err(Error::ConnectionLoss)));
    assert_eq!(ops(&out.ops), vec![get_data("/workers/a")]);
}

#[test]
fn a_new_session_reloads_everything_with_new_watches() {
    let (mut m, _, _, _) = loaded(StartMode::Normal);
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert_eq!(out.events, vec![ChildrenEvent::ConnectionLost]);
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION + 1));
    assert_eq!(
        ops(&out.ops),
        vec![
            get_children(DIR, true),
            get_data("/workers/a"),
            get_data("/workers/b")
        ]
    );
    // Unchanged children produce no event; a changed one does.
    let out2 = feed(&mut m, done(out.ops[0].0, Ok(children(&["a", "b"]))));
    assert!(out2.ops.is_empty());
    let a = feed(&mut m, done(out.ops[1].0, Ok(data(b"x", stat(10, 10, 0)))));
    assert!(a.events.is_empty());
    let b = feed(&mut m, done(out.ops[2].0, Ok(data(b"y2", stat(11, 13, 1)))));
    assert_eq!(
        b.events,
        vec![ChildrenEvent::ChildUpdated(child(
            "b",
            b"y2",
            stat(11, 13, 1)
        ))]
    );
}

#[test]
fn a_cache_started_while_the_ensemble_is_down_fills_once_it_is_up() {
    let mut m = ChildrenMachine::new(DIR.into(), StartMode::PostInitializedEvent, true);
    assert!(drain(&mut m).ops.is_empty(), "nothing before a connection");
    let out = feed(&mut m, connected(SESSION));
    let list = out.ops[0].0;
    // The connection drops before the listing's reply.
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, done(list, Err(Error::ConnectionLoss)));
    assert!(out.ops.is_empty() && out.events.is_empty());
    assert!(!m.is_initialized());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(ops(&out.ops), vec![get_children(DIR, true)]);
    let out = feed(&mut m, done(out.ops[0].0, Ok(children(&["a"]))));
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"x", stat(10, 10, 0)))));
    assert_eq!(
        out.events,
        vec![
            ChildrenEvent::ChildAdded(child("a", b"x", stat(10, 10, 0))),
            ChildrenEvent::Initialized
        ]
    );
}

#[test]
fn a_reaped_parent_is_watched_until_it_is_created_again() {
    let (mut m, list, _, _) = loaded(StartMode::Normal);
    // The parent (a container) is reaped: its child watch fires NodeDeleted.
    let out = feed(&mut m, fired(list, EventType::NodeDeleted, DIR));
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::NoNode)));
    assert_eq!(
        out.events,
        vec![
            ChildrenEvent::ChildRemoved(child("a", b"x", stat(10, 10, 0))),
            ChildrenEvent::ChildRemoved(child("b", b"y", stat(11, 11, 0))),
        ]
    );
    assert_eq!(ops(&out.ops), vec![exists(DIR)]);
    let ex = out.ops[0].0;
    assert!(feed(&mut m, done(ex, Ok(OpResult::Exists(None))))
        .ops
        .is_empty());
    let out = feed(&mut m, fired(ex, EventType::NodeCreated, DIR));
    assert_eq!(ops(&out.ops), vec![get_children(DIR, true)]);
    let out = feed(&mut m, done(out.ops[0].0, Ok(children(&["c"]))));
    let out = feed(&mut m, done(out.ops[0].0, Ok(data(b"z", stat(30, 30, 0)))));
    assert_eq!(
        out.events,
        vec![ChildrenEvent::ChildAdded(child("c", b"z", stat(30, 30, 0)))]
    );
}

#[test]
fn an_absent_parent_initializes_empty_and_is_found_when_created() {
    let (mut m, list) = started(StartMode::PostInitializedEvent);
    let out = feed(&mut m, done(list, Err(Error::NoNode)));
    let ex = out.ops[0].0;
    let out = feed(&mut m, done(ex, Ok(OpResult::Exists(None))));
    assert_eq!(out.events, vec![ChildrenEvent::Initialized]);
    // Created between the listing and the exists check: listed at once.
    let mut m = ChildrenMachine::new(DIR.into(), StartMode::Normal, true);
    let out = feed(&mut m, connected(SESSION));
    let out = feed(&mut m, done(out.ops[0].0, Err(Error::NoNode)));
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(OpResult::Exists(Some(stat(5, 5, 0))))),
    );
    assert_eq!(ops(&out.ops), vec![get_children(DIR, true)]);
}

#[test]
fn without_data_children_are_read_with_exists_watches() {
    let mut m = ChildrenMachine::new(DIR.into(), StartMode::Normal, false);
    let out = feed(&mut m, connected(SESSION));
    let out = feed(&mut m, done(out.ops[0].0, Ok(children(&["a"]))));
    assert_eq!(ops(&out.ops), vec![exists("/workers/a")]);
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(OpResult::Exists(Some(stat(10, 10, 0))))),
    );
    assert_eq!(
        out.events,
        vec![ChildrenEvent::ChildAdded(ChildData {
            path: "/workers/a".into(),
            stat: stat(10, 10, 0),
            data: None
        })]
    );
}

#[test]
fn a_large_fanout_is_read_in_one_batch() {
    const N: usize = 100_000;
    let (mut m, list) = started(StartMode::PostInitializedEvent);
    let names: Vec<String> = (0..N).map(|i| format!("n{i:06}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let out = feed(&mut m, done(list, Ok(children(&refs))));
    assert_eq!(out.ops.len(), N, "all reads pipelined");
    let mut added = 0;
    let mut initialized = 0;
    for (i, (token, _)) in out.ops.iter().enumerate() {
        let s = stat(i as i64 + 1, i as i64 + 1, 0);
        for e in feed(&mut m, done(*token, Ok(data(b"", s)))).events {
            match e {
                ChildrenEvent::ChildAdded(_) => added += 1,
                ChildrenEvent::Initialized => initialized += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!((added, initialized), (N, 1));
    assert_eq!(m.snapshot().len(), N);
}

#[test]
fn close_stops_everything() {
    let (mut m, list, _, _) = loaded(StartMode::Normal);
    let out = feed(&mut m, Input::Command(CacheCommand::Close));
    assert!(out.ops.is_empty() && m.is_done());
    let out = feed(&mut m, fired(list, EventType::NodeChildrenChanged, DIR));
    assert!(out.ops.is_empty() && out.events.is_empty());
}

#[test]
fn an_unreadable_child_is_left_out_without_blocking_initialization() {
    let (mut m, list) = started(StartMode::PostInitializedEvent);
    let out = feed(&mut m, done(list, Ok(children(&["a", "secret"]))));
    feed(&mut m, done(out.ops[0].0, Ok(data(b"x", stat(10, 10, 0)))));
    let last = feed(&mut m, done(out.ops[1].0, Err(Error::NoAuth)));
    assert!(last.ops.is_empty(), "not retried");
    assert_eq!(last.events, vec![ChildrenEvent::Initialized]);
    assert_eq!(m.current_data("secret"), None);
}

/// A late subscriber is told every cached child, even those a `BuildInitial` load reported
/// no `ChildAdded` for, then the end of the load.
#[test]
fn the_replay_lists_every_cached_child_then_the_end_of_the_load() {
    use crate::recipes::cache::core::CacheInputs;
    use crate::recipes::cache::CacheState;
    let (m, _, _, _) = loaded(StartMode::BuildInitial);
    assert_eq!(m.core().state(), CacheState::Initialized);
    assert_eq!(
        m.replay(),
        vec![
            ChildrenEvent::ChildAdded(child("a", b"x", stat(10, 10, 0))),
            ChildrenEvent::ChildAdded(child("b", b"y", stat(11, 11, 0))),
            ChildrenEvent::Initialized
        ]
    );
    let (m, _, _, _) = loaded(StartMode::Normal);
    assert_eq!(m.replay().len(), 2, "Normal reports no end of the load");
}
