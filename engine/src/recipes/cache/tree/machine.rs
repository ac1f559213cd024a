//! The sans-IO core of the tree cache (Curator's `CuratorCache`, with `TreeCache`'s depth
//! limit and selector).
//!
//! ```text
//!  (first connection) ──► addWatch(root, persistent recursive)  ┐ pipelined: the watch is
//!                         getData + getChildren of the root     ┘ in place before the reads
//!        listing ──► unknown children: getData + getChildren each, all at once, level by level
//!
//!  persistent mode (3.6+): created / data changed ──► getData; deleted ──► drop the subtree
//!  addWatch fails with Unimplemented ──► one-shot mode: every node read again with a data
//!        watch and a child watch (changed → getData, children changed → list and diff,
//!        deleted → drop the subtree; an absent root gets an exists watch)
//!
//!  RECONNECTED, same session: one-shot watches survive and catch up; ZooKeeper does not
//!        replay a persistent watch's missed events, so persistent mode refreshes: a listing
//!        per listed node (its stat shows data changes, read only where czxid or mzxid
//!        changed) and the leaves' data in multiRead batches
//!  reads: unwatched getData polled together leave as multiRead batches (the driver's doing)
//!  new session: every watch is gone ──► add the watch again and refresh (persistent), or
//!        read everything with new watches (one-shot)
//!
//!  a node is cached only under its cached parent: a read answered while the parent is not
//!        cached is held back and sent again once the parent is; a node read with another
//!        czxid takes its old subtree with it (descendants first) and is listed again
//! ```

mod load;
mod oneshot;
mod store;

use std::collections::BTreeMap;

use super::options::TreeOptions;
use crate::framework::ConnectionState;
use crate::machine::Token;
use crate::op::OpResult;
use crate::recipes::cache::core::{CacheCore, CacheEvents, CacheInputs, Connection};
use crate::recipes::cache::reads::Reconnect;
use crate::recipes::cache::ChildData;
use crate::types::{EventType, WatchedEvent};
use crate::{path, Error};

/// What the tree cache reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeEvent {
    /// A node appeared (or was re-created: then it follows a `NodeDeleted`).
    NodeCreated(ChildData),
    /// A node's data or stat changed.
    NodeChanged(ChildData),
    /// A node is gone; its last cached state. Descendants are reported before ancestors.
    NodeDeleted(ChildData),
    /// The initial load is complete.
    Initialized,
    /// The connection was lost; the cache keeps its data and catches up on reconnect.
    ConnectionSuspended,
    /// The connection is back; the cache is re-syncing.
    ConnectionReconnected,
    /// The session is gone; the cache reloads on the next session.
    ConnectionLost,
}

impl CacheEvents for TreeEvent {
    fn added(node: ChildData) -> Self {
        TreeEvent::NodeCreated(node)
    }
    fn updated(node: ChildData) -> Self {
        TreeEvent::NodeChanged(node)
    }
    fn removed(node: ChildData) -> Self {
        TreeEvent::NodeDeleted(node)
    }
    fn initialized() -> Self {
        TreeEvent::Initialized
    }
    fn connection(change: Connection) -> Self {
        match change {
            Connection::Suspended => TreeEvent::ConnectionSuspended,
            Connection::Reconnected => TreeEvent::ConnectionReconnected,
            Connection::Lost => TreeEvent::ConnectionLost,
        }
    }
}

/// How changes reach the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `addWatch` is in flight: reads go out without watches, assuming it will succeed.
    Probing,
    /// One persistent recursive watch on the root.
    Persistent,
    /// The server has no `addWatch`: one-shot watches per node.
    OneShot,
}

/// Why a read was sent: public, as the cache's [`CacheInputs`] names it, in a private
/// module (unreachable from outside the crate).
mod purpose {
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Purpose {
        AddWatch,
        Data(String),
        Children(String),
        /// A refresh's stat check of a node whose children are not listed.
        Check(String),
        RootExists,
    }
}

use purpose::Purpose;

/// Which one-shot watch a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Data,
    Children,
    RootExists,
}

#[derive(Debug, Default)]
struct Node {
    data: Option<ChildData>,
    /// The first read sent for this entry: a reply to an earlier one was sent before the
    /// node was (last) found, and says nothing about it.
    since: Option<Token>,
    /// The latest data read (or stat check) in flight.
    reading: Option<Token>,
    listing: Option<Token>,
    /// The listing in flight is a refresh: compare the stat it brings with the cached one.
    check: bool,
    /// The connection epoch of its last listing (0: never listed).
    listed: u64,
    /// One-shot mode: the data and child watches left by the last reads.
    data_watch: Option<Token>,
    child_watch: Option<Token>,
}

/// The tree cache machine.
#[derive(Debug)]
pub struct TreeMachine {
    root: String,
    options: TreeOptions,
    core: CacheCore<Purpose, TreeEvent>,
    mode: Mode,
    /// The registered persistent watch (its token) once `addWatch` succeeded.
    persistent: Option<Token>,
    /// An `addWatch` is in flight.
    adding: bool,
    nodes: BTreeMap<String, Node>,
    /// One-shot watches: which node and which kind.
    watches: BTreeMap<Token, (String, Kind)>,
}

impl TreeMachine {
    /// A cache of the tree at `root`; it starts on the first connection.
    pub fn new(root: String, options: TreeOptions) -> TreeMachine {
        TreeMachine {
            root,
            options,
            core: CacheCore::new(),
            mode: Mode::Probing,
            persistent: None,
            adding: false,
            nodes: BTreeMap::new(),
            watches: BTreeMap::new(),
        }
    }

    /// Every cached node by full path, the root first.
    pub fn snapshot(&self) -> BTreeMap<String, ChildData> {
        self.nodes
            .iter()
            .filter_map(|(p, n)| Some((p.clone(), n.data.clone()?)))
            .collect()
    }

    /// One cached node.
    pub fn current_data(&self, path: &str) -> Option<&ChildData> {
        self.nodes.get(path)?.data.as_ref()
    }

    /// The cached children of `path` by name (`None` when `path` itself is not cached).
    pub fn current_children(&self, path: &str) -> Option<BTreeMap<String, ChildData>> {
        self.current_data(path)?;
        Some(
            self.children_of(path)
                .into_iter()
                .filter_map(|c| {
                    let data = self.nodes.get(&c)?.data.clone()?;
                    Some((path::name(&c).to_owned(), data))
                })
                .collect(),
        )
    }

    /// True once the initial load is complete.
    pub fn is_initialized(&self) -> bool {
        self.core.is_initialized()
    }

    /// True when the server took the persistent recursive watch (false before it answered
    /// and after a fall back to one-shot watches).
    pub fn is_persistent(&self) -> bool {
        self.mode == Mode::Persistent
    }

    fn on_persistent(&mut self, event: WatchedEvent) {
        let p = event.path;
        match event.kind {
            // A node whose parent is not known yet is found by the parent's listing (read
            // now, it could show up before its parent).
            EventType::NodeCreated | EventType::NodeDataChanged
                if self.in_scope(&p) && self.parent_known(&p) =>
            {
                self.read_data(&p)
            }
            EventType::NodeDeleted => self.remove_subtree(&p),
            // The session ended: the next one adds the watch again.
            EventType::Session(_) => self.persistent = None,
            _ => {}
        }
    }

    fn resend(&mut self, purpose: Purpose) {
        match purpose {
            Purpose::AddWatch => {
                self.add_watch();
                self.refresh_all();
            }
            Purpose::Data(p) => {
                if self.nodes.get(&p).is_some_and(|n| n.reading.is_none()) {
                    self.read_data(&p);
                }
            }
            Purpose::Children(p) => {
                if self.nodes.get(&p).is_some_and(|n| n.listing.is_none()) {
                    self.list(&p);
                }
            }
            Purpose::Check(p) => {
                if self.nodes.get(&p).is_some_and(|n| n.reading.is_none()) {
                    self.refresh(&p);
                }
            }
            Purpose::RootExists => self.root_exists(),
        }
    }
}

impl CacheInputs for TreeMachine {
    type Purpose = Purpose;
    type Event = TreeEvent;

    fn core(&self) -> &CacheCore<Purpose, TreeEvent> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut CacheCore<Purpose, TreeEvent> {
        &mut self.core
    }

    fn on_op_done(&mut self, token: Token, result: Result<OpResult, Error>) {
        let Some(sent) = self.core.complete(token) else {
            return;
        };
        match sent.purpose.clone() {
            Purpose::AddWatch => {
                self.adding = false;
                self.on_add_watch(token, sent, result)
            }
            Purpose::Data(p) => self.on_data(token, p, sent, result),
            Purpose::Children(p) => self.on_children(token, p, sent, result),
            Purpose::Check(p) => self.on_check(token, p, sent, result),
            Purpose::RootExists => self.on_root_exists(token, sent, result),
        }
        self.core.settle(true);
    }

    fn on_watch(&mut self, token: Token, event: WatchedEvent) {
        if self.core.is_closed() {
            return;
        }
        if self.persistent == Some(token) {
            return self.on_persistent(event);
        }
        self.on_one_shot(token, event);
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        let Some(reconnect) = self.core.connection(state, session_id) else {
            return;
        };
        match reconnect {
            Reconnect::Down => {}
            Reconnect::First => {
                self.add_watch();
                let root = self.root.clone();
                self.load(&root);
            }
            Reconnect::SameSession if self.mode == Mode::OneShot => {
                // The one-shot watches survived and fire what was missed: only failed reads.
                for purpose in self.core.reads.take_ready() {
                    self.resend(purpose);
                }
            }
            Reconnect::SameSession => {
                // A persistent watch's missed events are not replayed: look at everything
                // again (stats first; data only where it changed).
                let ready = self.core.reads.take_ready();
                if ready.contains(&Purpose::AddWatch) || self.persistent.is_none() && !self.adding {
                    self.add_watch();
                }
                self.refresh_all();
            }
            Reconnect::NewSession => {
                self.core.reads.clear_parked();
                self.persistent = None;
                self.watches.clear();
                for node in self.nodes.values_mut() {
                    node.data_watch = None;
                    node.child_watch = None;
                }
                if self.mode == Mode::OneShot {
                    // Every one-shot watch must be left again: read everything.
                    self.reload_all();
                } else {
                    self.add_watch();
                    self.refresh_all();
                }
            }
        }
    }

    fn replay(&self) -> Vec<TreeEvent> {
        // By path: every node after its parent.
        let nodes = self.nodes.values().filter_map(|n| n.data.clone());
        self.core.replay(nodes, true)
    }
}
