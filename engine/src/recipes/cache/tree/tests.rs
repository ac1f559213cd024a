use std::collections::BTreeMap;

use super::machine::*;
use super::{Selector, TreeOptions};
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::recipes::cache::testing::*;
use crate::recipes::cache::{CacheCommand, ChildData};
use crate::recipes::testing::*;
use crate::types::{AddWatchMode, EventType, Stat};
use crate::{path, ConnectionState, Error};

const SESSION: i64 = 7;
const ROOT: &str = "/svc";

/// A tiny server tree that answers reads.
#[derive(Default)]
struct Tree(BTreeMap<String, (Vec<u8>, Stat)>);

impl Tree {
    fn with(nodes: &[(&str, &[u8], i64)]) -> Tree {
        let mut t = Tree::default();
        for (p, d, czxid) in nodes {
            t.put(p, d, stat(*czxid, *czxid, 0));
        }
        t
    }

    fn put(&mut self, p: &str, d: &[u8], s: Stat) {
        self.0.insert(p.into(), (d.to_vec(), s));
    }

    fn answer(&self, op: &Op) -> Result<OpResult, Error> {
        let node = |p: &str| self.0.get(p).ok_or(Error::NoNode);
        match op {
            Op::AddWatch { .. } => Ok(OpResult::WatchAdded),
            Op::GetData { path, .. } => {
                let (d, s) = node(path)?;
                Ok(data(d, *s))
            }
            Op::Exists { path, .. } => Ok(OpResult::Exists(self.0.get(path).map(|(_, s)| *s))),
            Op::GetChildren { path, .. } => {
                let (_, s) = node(path)?;
                let names: Vec<&str> = self
                    .0
                    .keys()
                    .filter(|k| path::parent(k) == Some(path.as_str()))
                    .map(|k| path::name(k))
                    .collect();
                let OpResult::Children { children, .. } = children(&names) else {
                    unreachable!()
                };
                Ok(OpResult::Children { children, stat: *s })
            }
            other => panic!("unexpected op {other:?}"),
        }
    }
}

/// Answers every op (and those they lead to) from `tree`; returns every event.
fn settle(m: &mut TreeMachine, tree: &Tree, ops: Vec<(Token, Op)>) -> Vec<TreeEvent> {
    let mut queue = std::collections::VecDeque::from(ops);
    let mut events = Vec::new();
    while let Some((token, op)) = queue.pop_front() {
        let out = feed(m, done(token, tree.answer(&op)));
        queue.extend(out.ops);
        events.extend(out.events);
    }
    events
}

fn node(p: &str, d: &[u8], czxid: i64) -> ChildData {
    ChildData {
        path: p.into(),
        stat: stat(czxid, czxid, 0),
        data: Some(d.to_vec()),
    }
}

fn add_watch() -> Op {
    Op::AddWatch {
        path: ROOT.into(),
        mode: AddWatchMode::PersistentRecursive,
    }
}

fn read(p: &str, watch: bool) -> Op {
    Op::GetData {
        path: p.into(),
        watch,
    }
}

fn sample() -> Tree {
    Tree::with(&[
        (ROOT, b"r", 1),
        ("/svc/a", b"a", 2),
        ("/svc/b", b"b", 3),
        ("/svc/b/x", b"x", 4),
    ])
}

/// A cache loaded from `tree` on persistent watches; returns the watch's token.
fn loaded(tree: &Tree, options: TreeOptions) -> (TreeMachine, Token) {
    let mut m = TreeMachine::new(ROOT.into(), options);
    let out = feed(&mut m, connected(SESSION));
    let watch = out.ops[0].0;
    settle(&mut m, tree, out.ops);
    assert!(m.is_initialized() && m.is_persistent());
    (m, watch)
}

#[test]
fn the_watch_and_the_load_are_pipelined_level_by_level() {
    let tree = sample();
    let mut m = TreeMachine::new(ROOT.into(), TreeOptions::default());
    assert!(drain(&mut m).ops.is_empty(), "nothing before a connection");
    let out = feed(&mut m, connected(SESSION));
    assert_eq!(
        ops(&out.ops),
        vec![add_watch(), read(ROOT, false), get_children(ROOT, false)],
        "the watch is in place before the reads, in one batch"
    );
    let (w, d, c) = (out.ops[0].0, out.ops[1].0, out.ops[2].0);
    feed(&mut m, done(w, Ok(OpResult::WatchAdded)));
    let root = feed(&mut m, done(d, tree.answer(&out.ops[1].1)));
    assert_eq!(
        root.events,
        vec![TreeEvent::NodeCreated(node(ROOT, b"r", 1))]
    );
    let level = feed(&mut m, done(c, tree.answer(&out.ops[2].1)));
    assert_eq!(
        ops(&level.ops),
        vec![
            read("/svc/a", false),
            get_children("/svc/a", false),
            read("/svc/b", false),
            get_children("/svc/b", false),
        ],
        "a whole level at once (the driver sends its data reads as one multiRead)"
    );
    let events = settle(&mut m, &tree, level.ops);
    assert_eq!(
        events,
        vec![
            TreeEvent::NodeCreated(node("/svc/a", b"a", 2)),
            TreeEvent::NodeCreated(node("/svc/b", b"b", 3)),
            TreeEvent::NodeCreated(node("/svc/b/x", b"x", 4)),
            TreeEvent::Initialized,
        ]
    );
    assert_eq!(m.snapshot().len(), 4);
    assert_eq!(
        m.current_children("/svc")
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        vec!["a", "b"]
    );
}

#[test]
fn persistent_events_keep_the_cache_current() {
    let mut tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    tree.put("/svc/c", b"c", stat(5, 5, 0));
    let out = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c"));
    assert_eq!(ops(&out.ops), vec![read("/svc/c", false)]);
    assert_eq!(
        settle(&mut m, &tree, out.ops),
        vec![TreeEvent::NodeCreated(node("/svc/c", b"c", 5))]
    );
    tree.put("/svc/a", b"a2", stat(2, 6, 1));
    let out = feed(&mut m, fired(watch, EventType::NodeDataChanged, "/svc/a"));
    assert_eq!(
        settle(&mut m, &tree, out.ops),
        vec![TreeEvent::NodeChanged(ChildData {
            path: "/svc/a".into(),
            stat: stat(2, 6, 1),
            data: Some(b"a2".to_vec())
        })]
    );
    // Deleting /svc/b drops its cached subtree, descendants first.
    let out = feed(&mut m, fired(watch, EventType::NodeDeleted, "/svc/b"));
    assert_eq!(
        out.events,
        vec![
            TreeEvent::NodeDeleted(node("/svc/b/x", b"x", 4)),
            TreeEvent::NodeDeleted(node("/svc/b", b"b", 3)),
        ]
    );
    assert!(out.ops.is_empty());
}

#[test]
fn without_add_watch_it_falls_back_to_one_shot_watches() {
    let mut tree = sample();
    let mut m = TreeMachine::new(ROOT.into(), TreeOptions::default());
    let out = feed(&mut m, connected(SESSION));
    let fallback = feed(&mut m, done(out.ops[0].0, Err(Error::Unimplemented)));
    assert_eq!(
        ops(&fallback.ops),
        vec![read(ROOT, true), get_children(ROOT, true)]
    );
    // The unwatched reads already in flight are superseded: a data read still counts (its
    // state is real), a listing does not; neither leads to more reads.
    let stale = feed(&mut m, done(out.ops[1].0, tree.answer(&out.ops[1].1)));
    assert_eq!(
        stale.events,
        vec![TreeEvent::NodeCreated(node(ROOT, b"r", 1))]
    );
    assert!(stale.ops.is_empty());
    let stale = feed(&mut m, done(out.ops[2].0, tree.answer(&out.ops[2].1)));
    assert!(stale.events.is_empty() && stale.ops.is_empty());
    let root_child_watch = fallback.ops[1].0;
    let events = settle(&mut m, &tree, fallback.ops);
    assert_eq!(events.len(), 4, "{events:?}");
    assert_eq!(events.last(), Some(&TreeEvent::Initialized));
    assert!(!m.is_persistent());
    // A burst between re-arms: one child event, a re-listing, a diff.
    tree.0.remove("/svc/a");
    tree.put("/svc/c", b"c", stat(5, 5, 0));
    tree.put("/svc/d", b"d", stat(6, 6, 0));
    let out = feed(
        &mut m,
        fired(root_child_watch, EventType::NodeChildrenChanged, ROOT),
    );
    assert_eq!(ops(&out.ops), vec![get_children(ROOT, true)]);
    let out = feed(&mut m, done(out.ops[0].0, tree.answer(&out.ops[0].1)));
    assert_eq!(
        out.events,
        vec![TreeEvent::NodeDeleted(node("/svc/a", b"a", 2))]
    );
    assert_eq!(
        ops(&out.ops),
        vec![
            read("/svc/c", true),
            get_children("/svc/c", true),
            read("/svc/d", true),
            get_children("/svc/d", true),
        ]
    );
}

#[test]
fn depth_and_selector_bound_what_is_read() {
    let tree = Tree::with(&[
        (ROOT, b"r", 1),
        ("/svc/a", b"a", 2),
        ("/svc/a/deep", b"d", 3),
        ("/svc/skip", b"s", 4),
    ]);
    let options = TreeOptions::default()
        .max_depth(1)
        .selector(Selector::all().accept(|p| !p.ends_with("/skip")));
    let mut m = TreeMachine::new(ROOT.into(), options);
    let out = feed(&mut m, connected(SESSION));
    let watch = out.ops[0].0;
    let out = feed(&mut m, done(out.ops[2].0, tree.answer(&out.ops[2].1)));
    assert_eq!(
        ops(&out.ops),
        vec![read("/svc/a", false)],
        "no listing below max depth, no read of unselected nodes"
    );
    // Persistent events beyond the scope are ignored.
    assert!(
        feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/a/deep2"))
            .ops
            .is_empty()
    );
    assert!(
        feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/skip"))
            .ops
            .is_empty()
    );
    assert!(feed(&mut m, fired(watch, EventType::NodeCreated, "/svcx"))
        .ops
        .is_empty());
}

#[test]
fn a_node_deleted_between_the_listing_and_its_read_is_simply_absent() {
    let mut tree = sample();
    let mut m = TreeMachine::new(ROOT.into(), TreeOptions::default());
    let out = feed(&mut m, connected(SESSION));
    let listing = feed(&mut m, done(out.ops[2].0, tree.answer(&out.ops[2].1)));
    tree.0.remove("/svc/b/x");
    tree.0.remove("/svc/b");
    let mut events = settle(&mut m, &tree, listing.ops);
    events.extend(settle(&mut m, &tree, out.ops));
    // (The child answered before its parent is held back, and read again once the parent
    // is cached.)
    assert_eq!(
        events,
        vec![
            TreeEvent::NodeCreated(node(ROOT, b"r", 1)),
            TreeEvent::NodeCreated(node("/svc/a", b"a", 2)),
            TreeEvent::Initialized
        ]
    );
    assert_eq!(m.current_data("/svc/b"), None);
}

#[test]
fn a_persistent_reconnect_reads_everything_again_and_sees_a_recreate() {
    let mut tree = sample();
    let (mut m, _) = loaded(&tree, TreeOptions::default());
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    // While disconnected, /svc/a was deleted and created again with the same data.
    tree.put("/svc/a", b"a", stat(9, 9, 0));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(out.events, vec![TreeEvent::ConnectionReconnected]);
    assert!(
        !ops(&out.ops).contains(&add_watch()),
        "the same session keeps its persistent watch"
    );
    assert_eq!(
        ops(&out.ops),
        vec![
            get_children(ROOT, false),
            get_children("/svc/a", false),
            get_children("/svc/b", false),
            get_children("/svc/b/x", false),
        ],
        "one listing per node; the listings' stats show what changed"
    );
    assert_eq!(
        settle(&mut m, &tree, out.ops),
        vec![
            TreeEvent::NodeDeleted(node("/svc/a", b"a", 2)),
            TreeEvent::NodeCreated(node("/svc/a", b"a", 9)),
        ]
    );
}

#[test]
fn a_one_shot_reconnect_sends_only_failed_reads() {
    let tree = sample();
    let mut m = TreeMachine::new(ROOT.into(), TreeOptions::default());
    let out = feed(&mut m, connected(SESSION));
    let fallback = feed(&mut m, done(out.ops[0].0, Err(Error::Unimplemented)));
    let (root_read, root_list) = (fallback.ops[0].clone(), fallback.ops[1].clone());
    settle(&mut m, &tree, vec![root_list]);
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    feed(&mut m, done(root_read.0, Err(Error::ConnectionLoss)));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(ops(&out.ops), vec![read(ROOT, true)]);
}

#[test]
fn a_new_session_adds_the_watch_again_and_reloads() {
    let tree = sample();
    let (mut m, old_watch) = loaded(&tree, TreeOptions::default());
    let out = feed(
        &mut m,
        fired(
            old_watch,
            EventType::Session(crate::SessionState::Expired),
            "",
        ),
    );
    assert!(out.ops.is_empty());
    feed(&mut m, state(ConnectionState::Lost, SESSION));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION + 1));
    assert_eq!(ops(&out.ops)[0], add_watch());
    assert_eq!(out.ops.len(), 5, "the watch and a listing per node");
    assert!(settle(&mut m, &tree, out.ops).is_empty(), "nothing changed");
}

#[test]
fn an_absent_root_is_cached_once_created() {
    let mut tree = Tree::default();
    let mut m = TreeMachine::new(ROOT.into(), TreeOptions::default());
    let out = feed(&mut m, connected(SESSION));
    let watch = out.ops[0].0;
    assert_eq!(settle(&mut m, &tree, out.ops), vec![TreeEvent::Initialized]);
    tree.put(ROOT, b"r", stat(1, 1, 0));
    let out = feed(&mut m, fired(watch, EventType::NodeCreated, ROOT));
    assert_eq!(
        settle(&mut m, &tree, out.ops),
        vec![TreeEvent::NodeCreated(node(ROOT, b"r", 1))]
    );

    // On one-shot watches, an exists watch waits for the root.
    let mut tree = Tree::default();
    let mut m = TreeMachine::new(ROOT.into(), TreeOptions::default());
    let out = feed(&mut m, connected(SESSION));
    let fallback = feed(&mut m, done(out.ops[0].0, Err(Error::Unimplemented)));
    assert!(
        settle(&mut m, &tree, out.ops[1..].to_vec()).is_empty(),
        "superseded"
    );
    let out = feed(&mut m, done(fallback.ops[0].0, Err(Error::NoNode)));
    assert_eq!(ops(&out.ops), vec![exists(ROOT)]);
    let ex = out.ops[0].0;
    feed(&mut m, done(ex, Ok(OpResult::Exists(None))));
    let init = feed(&mut m, done(fallback.ops[1].0, Err(Error::NoNode)));
    assert_eq!(init.events, vec![TreeEvent::Initialized]);
    tree.put(ROOT, b"r", stat(1, 1, 0));
    let out = feed(&mut m, fired(ex, EventType::NodeCreated, ROOT));
    assert_eq!(
        ops(&out.ops),
        vec![read(ROOT, true), get_children(ROOT, true)]
    );
}

#[test]
fn a_cache_started_while_down_fills_once_up() {
    let tree = sample();
    let mut m = TreeMachine::new(ROOT.into(), TreeOptions::default());
    let out = feed(&mut m, connected(SESSION));
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    for (token, _) in &out.ops {
        assert!(feed(&mut m, done(*token, Err(Error::ConnectionLoss)))
            .ops
            .is_empty());
    }
    assert!(!m.is_initialized());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(
        ops(&out.ops),
        vec![add_watch(), read(ROOT, false), get_children(ROOT, false)]
    );
    let events = settle(&mut m, &tree, out.ops);
    assert_eq!(events.len(), 5);
    assert_eq!(events.last(), Some(&TreeEvent::Initialized));
    assert!(m.is_persistent());
}

#[test]
fn close_stops_everything() {
    let tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    feed(&mut m, Input::Command(CacheCommand::Close));
    assert!(m.is_done());
    let out = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/z"));
    assert!(out.ops.is_empty() && out.events.is_empty());
}

#[test]
fn a_refresh_lists_and_rereads_leaves_in_one_batch_reporting_only_changes() {
    let mut tree = sample();
    let (mut m, _) = loaded(&tree, TreeOptions::default().max_depth(1));
    assert_eq!(
        m.snapshot().len(),
        3,
        "root, a and b; b/x is below max depth"
    );
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    tree.put("/svc/b", b"b2", stat(3, 8, 1));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(
        ops(&out.ops),
        vec![
            get_children(ROOT, false),
            read("/svc/a", false),
            read("/svc/b", false)
        ],
        "one drain: the driver sends the leaves' reads as one multiRead"
    );
    let mut reads = Vec::new();
    let mut events = Vec::new();
    for (token, op) in out.ops {
        let out = feed(&mut m, done(token, tree.answer(&op)));
        reads.extend(ops(&out.ops));
        events.extend(out.events);
        events.extend(settle(&mut m, &tree, out.ops));
    }
    assert_eq!(reads, vec![], "the root's stat did not change");
    assert_eq!(
        events,
        vec![TreeEvent::NodeChanged(ChildData {
            path: "/svc/b".into(),
            stat: stat(3, 8, 1),
            data: Some(b"b2".to_vec())
        })]
    );
}

/// Regression (found by the cache suite): a parent's read superseded by a later one (its data
/// changed) was dropped, so a child read after it was cached first, an orphan. The superseded
/// read's data is newer than the cache's and is applied in its turn.
#[test]
fn a_superseded_read_keeps_a_parent_ahead_of_its_child() {
    let mut tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    tree.put("/svc/c", b"c0", stat(5, 5, 0));
    let parent = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c"));
    tree.put("/svc/c/y", b"y", stat(6, 6, 0));
    let child = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c/y"));
    tree.put("/svc/c", b"c1", stat(5, 7, 1));
    let again = feed(&mut m, fired(watch, EventType::NodeDataChanged, "/svc/c"));
    assert_eq!(ops(&again.ops), vec![read("/svc/c", false)]);
    // The replies, in the order they were sent: the first read of /svc/c was served before
    // its data changed.
    let first = feed(
        &mut m,
        done(parent.ops[0].0, Ok(data(b"c0", stat(5, 5, 0)))),
    );
    let second = feed(&mut m, done(child.ops[0].0, tree.answer(&child.ops[0].1)));
    let third = feed(&mut m, done(again.ops[0].0, tree.answer(&again.ops[0].1)));
    let events: Vec<TreeEvent> = [first, second, third]
        .into_iter()
        .flat_map(|o| o.events)
        .collect();
    assert_eq!(
        events,
        vec![
            TreeEvent::NodeCreated(node("/svc/c", b"c0", 5)),
            TreeEvent::NodeCreated(node("/svc/c/y", b"y", 6)),
            TreeEvent::NodeChanged(ChildData {
                path: "/svc/c".into(),
                stat: stat(5, 7, 1),
                data: Some(b"c1".to_vec()),
            }),
        ]
    );
}

/// A read sent before its node was dropped says nothing about the node found again: the old
/// node is not brought back.
#[test]
fn a_read_from_before_a_recreate_is_ignored() {
    let mut tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    let stale = feed(&mut m, fired(watch, EventType::NodeDataChanged, "/svc/a"));
    feed(&mut m, fired(watch, EventType::NodeDeleted, "/svc/a"));
    tree.put("/svc/a", b"a", stat(9, 9, 0));
    let fresh = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/a"));
    let out = feed(
        &mut m,
        done(stale.ops[0].0, Ok(data(b"old", stat(2, 8, 1)))),
    );
    assert!(out.events.is_empty(), "{:?}", out.events);
    let out = feed(&mut m, done(fresh.ops[0].0, tree.answer(&fresh.ops[0].1)));
    assert_eq!(
        out.events,
        vec![TreeEvent::NodeCreated(node("/svc/a", b"a", 9))]
    );
}

/// A persistent event for a node whose parent the cache does not know yet sends no read: the
/// parent's listing finds it (read first, it would be cached before its parent).
#[test]
fn a_child_of_an_unknown_parent_is_left_to_the_parents_listing() {
    let mut tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    tree.put("/svc/c", b"c", stat(5, 5, 0));
    tree.put("/svc/c/y", b"y", stat(6, 6, 0));
    let out = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c/y"));
    assert!(out.ops.is_empty(), "{:?}", out.ops);
    let out = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c"));
    assert_eq!(ops(&out.ops), vec![read("/svc/c", false)]);
    let events = settle(&mut m, &tree, out.ops);
    assert_eq!(
        events,
        vec![TreeEvent::NodeCreated(node("/svc/c", b"c", 5))]
    );
}

/// Regression (found by the cache suite): the root deleted and created again (with a new
/// child) while disconnected. The refresh read the new child before the new root, and then
/// reported the old root deleted while that child was still cached. A replaced node now takes
/// its cached subtree with it, descendants first, and is listed again.
#[test]
fn a_replaced_node_takes_its_subtree_with_it() {
    let tree = sample();
    let (mut m, _) = loaded(&tree, TreeOptions::default());
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let mut tree = Tree::with(&[(ROOT, b"r", 10), ("/svc/b", b"b2", 11)]);
    tree.put("/svc/b/x", b"x2", stat(12, 12, 0));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    let events = settle(&mut m, &tree, out.ops);
    assert_eq!(
        events,
        vec![
            TreeEvent::NodeDeleted(node("/svc/a", b"a", 2)),
            TreeEvent::NodeDeleted(node("/svc/b/x", b"x", 4)),
            TreeEvent::NodeDeleted(node("/svc/b", b"b", 3)),
            TreeEvent::NodeDeleted(node(ROOT, b"r", 1)),
            TreeEvent::NodeCreated(node(ROOT, b"r", 10)),
            TreeEvent::NodeCreated(node("/svc/b", b"b2", 11)),
            TreeEvent::NodeCreated(node("/svc/b/x", b"x2", 12)),
        ]
    );
    let cached: Vec<String> = m.snapshot().into_keys().collect();
    assert_eq!(cached, [ROOT, "/svc/b", "/svc/b/x"]);
}

/// Regression (found by the cache suite): a parent's read lost with the connection while its
/// child's read, sent later, was queued and answered after the reconnect: the child was cached
/// before its parent. It is held back until the parent is cached, then read again.
#[test]
fn a_child_answered_before_its_parent_is_held_back() {
    let mut tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    tree.put("/svc/c", b"c", stat(5, 5, 0));
    tree.put("/svc/c/y", b"y", stat(6, 6, 0));
    let parent = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c"));
    let child = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c/y"));
    feed(&mut m, done(parent.ops[0].0, Err(Error::ConnectionLoss)));
    let out = feed(&mut m, done(child.ops[0].0, tree.answer(&child.ops[0].1)));
    assert!(out.events.is_empty(), "{:?}", out.events);
    assert_eq!(m.current_data("/svc/c/y"), None);
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    let events = settle(&mut m, &tree, out.ops);
    assert_eq!(
        events,
        vec![
            TreeEvent::NodeCreated(node("/svc/c", b"c", 5)),
            TreeEvent::NodeCreated(node("/svc/c/y", b"y", 6)),
        ]
    );
}

/// A child held back while its parent's read was in flight is read again once the parent is
/// cached.
#[test]
fn a_held_back_child_is_read_again_with_its_parent() {
    let mut tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    tree.put("/svc/c", b"c", stat(5, 5, 0));
    tree.put("/svc/c/y", b"y", stat(6, 6, 0));
    let parent = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c"));
    let child = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c/y"));
    // Answered out of order (as after a lost connection): the child first.
    let out = feed(&mut m, done(child.ops[0].0, tree.answer(&child.ops[0].1)));
    assert!(out.events.is_empty());
    let out = feed(&mut m, done(parent.ops[0].0, tree.answer(&parent.ops[0].1)));
    assert_eq!(
        out.events,
        vec![TreeEvent::NodeCreated(node("/svc/c", b"c", 5))]
    );
    assert_eq!(ops(&out.ops), vec![read("/svc/c/y", false)]);
    assert_eq!(
        settle(&mut m, &tree, out.ops),
        vec![TreeEvent::NodeCreated(node("/svc/c/y", b"y", 6))]
    );
}

/// Regression (found by the cache suite): a node made during a disconnect, with a child, and
/// reported by a late event after the reconnect. The refresh's listing of its parent found it
/// already known and did not list it, so its child (which sent no event) was never cached.
#[test]
fn a_node_found_by_a_late_event_is_listed_by_the_refresh() {
    let mut tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    tree.put("/svc/c", b"c", stat(5, 5, 0));
    tree.put("/svc/c/y", b"y", stat(6, 6, 0));
    let refresh = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    let late = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c"));
    let mut ops = refresh.ops;
    ops.extend(late.ops);
    let events = settle(&mut m, &tree, ops);
    assert_eq!(
        events,
        vec![
            TreeEvent::NodeCreated(node("/svc/c", b"c", 5)),
            TreeEvent::NodeCreated(node("/svc/c/y", b"y", 6)),
        ]
    );
}

/// Regression (cache swarm, seed 4136): after a reconnect, the refresh's listing of the root was
/// answered before /svc/c was made, but the persistent watch's NodeCreated for /svc/c was fed
/// first. The older listing then dropped /svc/c with its read in flight, so the node and the
/// children made under it later were never cached.
#[test]
fn an_older_listing_does_not_drop_a_node_found_by_a_newer_event() {
    let mut tree = sample();
    let (mut m, watch) = loaded(&tree, TreeOptions::default());
    feed(&mut m, state(ConnectionState::Suspended, SESSION));
    let refresh = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    // The server answers the refresh first, then /svc/c is created.
    let answers: Vec<_> = refresh
        .ops
        .iter()
        .map(|(t, op)| (*t, tree.answer(op)))
        .collect();
    tree.put("/svc/c", b"c", stat(5, 5, 0));
    let read_c = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c"));
    assert_eq!(ops(&read_c.ops), vec![read("/svc/c", false)]);
    for (token, answer) in answers {
        let out = feed(&mut m, done(token, answer));
        assert!(out.events.is_empty(), "nothing changed before /svc/c");
    }
    assert_eq!(
        settle(&mut m, &tree, read_c.ops),
        vec![TreeEvent::NodeCreated(node("/svc/c", b"c", 5))]
    );
    tree.put("/svc/c/y", b"y", stat(6, 6, 0));
    let out = feed(&mut m, fired(watch, EventType::NodeCreated, "/svc/c/y"));
    assert_eq!(
        settle(&mut m, &tree, out.ops),
        vec![TreeEvent::NodeCreated(node("/svc/c/y", b"y", 6))]
    );
}
