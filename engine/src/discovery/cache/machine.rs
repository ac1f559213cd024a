//! The sans-IO core of the service cache: one service's instances kept in memory by a
//! children watch on the service's node and a data watch on each instance.
//!
//! ```text
//!  first CONNECTED ─► list(watch) ──children──► getData(watch) for each new id (pipelined)
//!        ▲               │ NoNode                 │ data → Added / Updated
//!        │               ▼                        │ NoNode → Removed
//!        │           exists(watch) ─created─► list │ garbage → Unreadable (skipped)
//!        │                                         ▼
//!  children watch ─► list again         data watch ─► getData(watch) again
//!  (RE)CONNECTED ─► list + re-read every instance (watches may be gone with a session)
//! ```
//!
//! The snapshot survives disconnects untouched and is corrected on reconnection. Replies and
//! watches of superseded reads are ignored (each read's token is remembered), so duplicate
//! watches after a reconnect are harmless. `Ready` is sent once, when the first listing and
//! every read it started have answered.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::discovery::instance::ServiceInstance;
use crate::discovery::json::read_at;
use crate::framework::guaranteed::waits_for_connection;
use crate::framework::link::Link;
use crate::framework::ConnectionState;
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::time::Instant;
use crate::types::{EventType, WatchedEvent};
use crate::{path, Error};

/// The cache's contents: every readable instance, ordered by id. Cheap to clone.
pub type Snapshot = Arc<[Arc<ServiceInstance>]>;

/// Commands for the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheCommand {
    /// Stop watching.
    Close,
}

/// Changes to the cache.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CacheEvent {
    /// The first complete load finished.
    Ready,
    /// An instance appeared.
    Added(Arc<ServiceInstance>),
    /// An instance's data changed.
    Updated(Arc<ServiceInstance>),
    /// An instance left (its last known content).
    Removed(Arc<ServiceInstance>),
    /// A node could not be read (foreign or corrupt data); it is left out until it changes.
    Unreadable {
        /// The node.
        path: String,
        /// Why.
        error: Error,
    },
}

#[derive(Debug, Default)]
struct Node {
    instance: Option<Arc<ServiceInstance>>,
    /// The latest data read (its reply and watch count; older ones are ignored).
    read: Option<Token>,
}

/// The service cache machine.
#[derive(Debug)]
pub struct CacheMachine {
    dir: String,
    tokens: Tokens,
    link: Link,
    started: bool,
    closed: bool,
    ready: bool,
    /// The latest listing (or exists check while the service node is missing) and the epoch
    /// it was sent at.
    list: Option<(Token, u64)>,
    listing: bool,
    nodes: BTreeMap<String, Node>,
    /// Data reads in flight: token → (id, epoch sent).
    reads: BTreeMap<Token, (String, u64)>,
    snapshot: Snapshot,
    dirty: bool,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<CacheEvent>,
}

impl CacheMachine {
    /// A cache of the instances under `dir` (`basePath/serviceName`); starts on the first
    /// connection state.
    pub fn new(dir: impl Into<String>) -> CacheMachine {
        CacheMachine {
            dir: dir.into(),
            tokens: Tokens::default(),
            link: Link::default(),
            started: false,
            closed: false,
            ready: false,
            list: None,
            listing: false,
            nodes: BTreeMap::new(),
            reads: BTreeMap::new(),
            snapshot: Arc::from(Vec::new()),
            dirty: false,
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The current instances (an `Arc` clone).
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.clone()
    }

    /// True once the first load finished.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    fn send_list(&mut self) {
        let token = self.tokens.next();
        self.ops.push_back((
            token,
            Op::GetChildren {
                path: self.dir.clone(),
                watch: true,
            },
        ));
        self.list = Some((token, self.link.epoch()));
        self.listing = true;
    }

    fn send_read(&mut self, id: &str) {
        let token = self.tokens.next();
        self.ops.push_back((
            token,
            Op::GetData {
                path: path::join(&self.dir, id),
                watch: true,
            },
        ));
        self.reads.insert(token, (id.to_owned(), self.link.epoch()));
        self.nodes.entry(id.to_owned()).or_default().read = Some(token);
    }

    /// Lists again and re-reads every instance.
    fn refresh(&mut self) {
        self.send_list();
        let ids: Vec<String> = self.nodes.keys().cloned().collect();
        for id in ids {
            self.send_read(&id);
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(node) = self.nodes.remove(id) {
            if let Some(instance) = node.instance {
                self.events.push_back(CacheEvent::Removed(instance));
                self.dirty = true;
            }
        }
    }

    fn on_listing(&mut self, epoch: u64, result: Result<OpResult, Error>) {
        self.listing = false;
        match result {
            Ok(OpResult::Children { children, .. }) => {
                let gone: Vec<String> = self
                    .nodes
                    .keys()
                    .filter(|id| !children.contains(id))
                    .cloned()
                    .collect();
                for id in gone {
                    self.remove(&id);
                }
                let mut new: Vec<String> = children
                    .into_iter()
                    .filter(|id| !self.nodes.contains_key(id))
                    .collect();
                new.sort();
                for id in new {
                    self.send_read(&id);
                }
            }
            Ok(OpResult::Exists(Some(_))) => self.send_list(),
            Ok(OpResult::Exists(None)) => {} // the exists watch tells us when it appears
            Err(Error::NoNode) => {
                // No instance yet: watch for the service's node to appear.
                let ids: Vec<String> = self.nodes.keys().cloned().collect();
                for id in ids {
                    self.remove(&id);
                }
                let token = self.tokens.next();
                self.ops.push_back((
                    token,
                    Op::Exists {
                        path: self.dir.clone(),
                        watch: true,
                    },
                ));
                self.list = Some((token, self.link.epoch()));
                self.listing = true;
            }
            Err(e) if waits_for_connection(&e) => {
                if self.link.ready_after(epoch) {
                    self.send_list();
                }
            }
            Ok(_) | Err(_) => {
                if let Ok(other) = &result {
                    tracing::error!(?other, "unexpected listing result");
                }
                let error = result.err().unwrap_or(Error::MarshallingError);
                self.events.push_back(CacheEvent::Unreadable {
                    path: self.dir.clone(),
                    error,
                });
            }
        }
    }

    fn on_data(&mut self, token: Token, id: String, epoch: u64, result: Result<OpResult, Error>) {
        if self.nodes.get(&id).and_then(|n| n.read) != Some(token) {
            return; // superseded by a later read
        }
        let node_path = path::join(&self.dir, &id);
        let data = match result {
            Ok(OpResult::Data { data, .. }) => data,
            Err(Error::NoNode) => return self.remove(&id),
            Err(e) if waits_for_connection(&e) => {
                if self.link.ready_after(epoch) {
                    self.send_read(&id);
                }
                return;
            }
            Ok(_) => return self.unreadable(&id, node_path, Error::MarshallingError),
            Err(e) => return self.unreadable(&id, node_path, e),
        };
        match read_at(&node_path, &data) {
            Ok(instance) => {
                let node = self.nodes.entry(id).or_default();
                let instance = Arc::new(instance);
                let event = match &node.instance {
                    None => CacheEvent::Added(instance.clone()),
                    Some(old) if **old != *instance => CacheEvent::Updated(instance.clone()),
                    Some(_) => return,
                };
                node.instance = Some(instance);
                self.events.push_back(event);
                self.dirty = true;
            }
            Err(error) => self.unreadable(&id, node_path, error),
        }
    }

    /// Leaves a node out (keeping its data watch, so a fix is noticed).
    fn unreadable(&mut self, id: &str, node_path: String, error: Error) {
        tracing::warn!(path = %node_path, %error, "skipping an unreadable service instance");
        if let Some(old) = self.nodes.get_mut(id).and_then(|n| n.instance.take()) {
            self.events.push_back(CacheEvent::Removed(old));
            self.dirty = true;
        }
        self.events.push_back(CacheEvent::Unreadable {
            path: node_path,
            error,
        });
    }

    fn on_watch(&mut self, token: Token, event: WatchedEvent) {
        if let EventType::Session(_) = event.kind {
            return; // the session ended the watch: reconnection refreshes everything
        }
        if self.list.is_some_and(|(t, _)| t == token) {
            return self.send_list();
        }
        let id = self
            .nodes
            .iter()
            .find(|(_, n)| n.read == Some(token))
            .map(|(id, _)| id.clone());
        if let Some(id) = id {
            match event.kind {
                EventType::NodeDeleted => self.remove(&id),
                _ => self.send_read(&id),
            }
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        self.link.handle(state, session_id);
        if matches!(
            state,
            ConnectionState::Connected | ConnectionState::Reconnected
        ) {
            self.started = true;
            self.refresh();
        }
    }

    fn settle(&mut self) {
        if !self.ready && self.started && !self.listing && self.reads.is_empty() {
            self.ready = true;
            self.events.push_back(CacheEvent::Ready);
        }
        if std::mem::take(&mut self.dirty) {
            self.snapshot = self
                .nodes
                .values()
                .filter_map(|n| n.instance.clone())
                .collect();
        }
    }
}

impl Machine for CacheMachine {
    type Command = CacheCommand;
    type Event = CacheEvent;

    fn handle(&mut self, _now: Instant, input: Input<CacheCommand>) {
        if self.closed {
            return;
        }
        match input {
            Input::OpDone { token, result } => {
                if let Some((t, epoch)) = self.list {
                    if t == token {
                        self.on_listing(epoch, result);
                        return self.settle();
                    }
                }
                if let Some((id, epoch)) = self.reads.remove(&token) {
                    self.on_data(token, id, epoch, result);
                }
            }
            Input::Watch { token, event } => self.on_watch(token, event),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Command(CacheCommand::Close) => {
                self.closed = true;
                self.ops.clear();
            }
            Input::Timeout => {}
        }
        self.settle();
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<CacheEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.closed
    }
}
