//! The sans-IO core of the children cache (Curator's `PathChildrenCache`).
//!
//! ```text
//!  (first connection) ──► list parent (child watch) ─┬─ names ──► diff: read new names (all at
//!        ▲                     ▲                     │           once, data watch each),
//!        │                     │ child watch fired,  │           drop missing names
//!        │                     │ exists watch fired, │
//!        │                     │ RECONNECTED         └─ NoNode ──► drop every child,
//!        │                     │                                   exists watch on the parent
//!  data watch: changed → read again; deleted → drop the child
//!  NoNode on a child's read: it is gone (deleted between the listing and the read)
//!  failed for want of a connection: parked until the connection comes back
//!  new session (after LOST): every watch is gone → list and read everything again
//! ```
//!
//! Initialization: once the first listing and every read started before the cache went idle
//! have completed. In [`StartMode::BuildInitial`] the children of that load produce no
//! `ChildAdded`.

// HashSet: membership only, in `diff` (never iterated).
#[allow(clippy::disallowed_types)]
use std::collections::{BTreeMap, HashSet};

use foldhash::fast::FixedState;

use crate::framework::ConnectionState;
use crate::machine::Token;
use crate::op::{Op, OpResult};
use crate::recipes::cache::core::{CacheCore, CacheEvents, CacheInputs, Connection};
use crate::recipes::cache::reads::{Reconnect, Sent};
use crate::recipes::cache::ChildData;
use crate::types::{EventType, WatchedEvent};
use crate::{path, Error};

/// How the initial children are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StartMode {
    /// A `ChildAdded` for every initial child, no `Initialized` (Curator's `NORMAL`).
    #[default]
    Normal,
    /// The initial children are loaded before `start` returns, without `ChildAdded`; one
    /// `Initialized` marks the end of the load (Curator's `BUILD_INITIAL_CACHE`).
    BuildInitial,
    /// A `ChildAdded` for every initial child, then one `Initialized`
    /// (Curator's `POST_INITIALIZED_EVENT`).
    PostInitializedEvent,
}

/// What the children cache reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildrenEvent {
    /// A child appeared (or was re-created: then it follows a `ChildRemoved`).
    ChildAdded(ChildData),
    /// A child's data or stat changed.
    ChildUpdated(ChildData),
    /// A child is gone; its last cached state.
    ChildRemoved(ChildData),
    /// The initial load is complete (`PostInitializedEvent` and `BuildInitial` modes).
    Initialized,
    /// The connection was lost; the cache keeps its data and catches up on reconnect.
    ConnectionSuspended,
    /// The connection is back; the cache is re-syncing.
    ConnectionReconnected,
    /// The session is gone; the cache reloads everything on the next session.
    ConnectionLost,
}

impl CacheEvents for ChildrenEvent {
    fn added(node: ChildData) -> Self {
        ChildrenEvent::ChildAdded(node)
    }
    fn updated(node: ChildData) -> Self {
        ChildrenEvent::ChildUpdated(node)
    }
    fn removed(node: ChildData) -> Self {
        ChildrenEvent::ChildRemoved(node)
    }
    fn initialized() -> Self {
        ChildrenEvent::Initialized
    }
    fn connection(change: Connection) -> Self {
        match change {
            Connection::Suspended => ChildrenEvent::ConnectionSuspended,
            Connection::Reconnected => ChildrenEvent::ConnectionReconnected,
            Connection::Lost => ChildrenEvent::ConnectionLost,
        }
    }
}

/// Why a read was sent: public, as the cache's [`CacheInputs`] names it, in a private
/// module (unreachable from outside the crate).
mod purpose {
    /// Why a read was sent.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Purpose {
        /// The parent's listing (or, once it is absent, its exists watch).
        Parent,
        /// A child's data (or stat).
        Child(String),
    }
}

use purpose::Purpose;

/// The parent's listing (or exists check) in flight.
#[derive(Debug, Clone, Copy)]
struct Listing {
    token: Token,
    /// It leaves a watch.
    watched: bool,
    /// Another listing is wanted once it is back.
    again: bool,
}

/// What the cache knows of one child name.
#[derive(Debug, Default)]
struct Child {
    data: Option<ChildData>,
    /// The read in flight.
    reading: Option<Token>,
    /// The watch its last read left, and that read's session.
    watch: Option<(Token, i64)>,
}

/// The children cache machine.
#[derive(Debug)]
pub struct ChildrenMachine {
    path: String,
    mode: StartMode,
    cache_data: bool,
    core: CacheCore<Purpose, ChildrenEvent>,
    /// The parent's listing (or exists check) in flight.
    listing: Option<Listing>,
    /// The child (or exists) watch on the parent, and its session.
    parent_watch: Option<(Token, i64)>,
    children: BTreeMap<String, Child>,
    /// Which child a data watch belongs to.
    watches: BTreeMap<Token, String>,
}

impl ChildrenMachine {
    /// A cache of the children of `path`; it starts on the first connection.
    pub fn new(path: String, mode: StartMode, cache_data: bool) -> ChildrenMachine {
        ChildrenMachine {
            path,
            mode,
            cache_data,
            core: CacheCore::new(),
            listing: None,
            parent_watch: None,
            children: BTreeMap::new(),
            watches: BTreeMap::new(),
        }
    }

    /// The cached children by full path (children not read yet are not in it).
    pub fn snapshot(&self) -> BTreeMap<String, ChildData> {
        self.children
            .values()
            .filter_map(|c| c.data.clone())
            .map(|d| (d.path.clone(), d))
            .collect()
    }

    /// One cached child, by full path or by name.
    pub fn current_data(&self, path_or_name: &str) -> Option<&ChildData> {
        let name = match path::parent(path_or_name) {
            Some(parent) if parent == self.path => path::name(path_or_name),
            Some(_) => return None,
            None => path_or_name,
        };
        self.children.get(name)?.data.as_ref()
    }

    /// True once the initial load is complete.
    pub fn is_initialized(&self) -> bool {
        self.core.is_initialized()
    }

    /// The start mode.
    pub fn mode(&self) -> StartMode {
        self.mode
    }

    /// Lists the parent, leaving a child watch unless one is still registered.
    fn list(&mut self) {
        if let Some(listing) = &mut self.listing {
            listing.again = true;
            return;
        }
        let session = self.core.reads.session();
        let watch = !matches!(self.parent_watch, Some((_, s)) if s == session);
        let path = self.path.clone();
        let op = Op::GetChildren { path, watch };
        let Some(token) = self.core.send(op, Purpose::Parent) else {
            return;
        };
        self.listing = Some(Listing {
            token,
            watched: watch,
            again: false,
        });
    }

    /// Reads one child, leaving a data watch (an exists watch when data is not cached).
    fn read(&mut self, name: &str) {
        let path = path::join(&self.path, name);
        let op = if self.cache_data {
            Op::GetData { path, watch: true }
        } else {
            Op::Exists { path, watch: true }
        };
        let Some(token) = self.core.send(op, Purpose::Child(name.to_owned())) else {
            return;
        };
        self.children.entry(name.to_owned()).or_default().reading = Some(token);
    }

    fn remove(&mut self, name: &str) {
        let Some(child) = self.children.remove(name) else {
            return;
        };
        if let Some((token, _)) = child.watch {
            self.watches.remove(&token);
        }
        if let Some(data) = child.data {
            self.core.removed(data);
        }
    }

    fn on_parent(&mut self, token: Token, sent: Sent<Purpose>, result: Result<OpResult, Error>) {
        let listing = match self.listing {
            Some(listing) if listing.token == token => listing,
            _ => Listing {
                token,
                watched: false,
                again: false,
            },
        };
        self.listing = None;
        match result {
            Ok(OpResult::Children { children, .. }) => {
                if listing.watched {
                    self.parent_watch = Some((token, sent.session));
                }
                let (fresh, gone) = diff(&self.children, children);
                for name in gone {
                    self.remove(&name);
                }
                // Every unknown name is read now, all at once.
                for name in fresh {
                    self.read(&name);
                }
                if listing.again {
                    self.list();
                }
            }
            // The parent is back: list it.
            Ok(OpResult::Exists(Some(_))) => self.list(),
            // Still absent; the exists watch tells us when it is back.
            Ok(OpResult::Exists(None)) => self.parent_watch = Some((token, sent.session)),
            Err(Error::NoNode) => {
                // The parent is gone (e.g. a reaped container): nothing is cached under it.
                let names: Vec<String> = self.children.keys().cloned().collect();
                for name in names {
                    self.remove(&name);
                }
                let path = self.path.clone();
                let op = Op::Exists { path, watch: true };
                if let Some(token) = self.core.send(op, Purpose::Parent) {
                    self.listing = Some(Listing {
                        token,
                        watched: true,
                        again: false,
                    });
                }
            }
            other => {
                if self.core.failed(Purpose::Parent, sent.epoch, other) {
                    self.list();
                }
            }
        }
    }

    fn on_child(
        &mut self,
        token: Token,
        name: String,
        sent: Sent<Purpose>,
        result: Result<OpResult, Error>,
    ) {
        let (session, epoch) = (sent.session, sent.epoch);
        let Some(child) = self.children.get_mut(&name) else {
            return; // dropped meanwhile
        };
        if child.reading != Some(token) {
            return; // superseded by a later read
        }
        child.reading = None;
        let stat = match result {
            Ok(OpResult::Data { data, stat }) => (stat, self.cache_data.then_some(data)),
            Ok(OpResult::Exists(Some(stat))) => (stat, None),
            // Deleted between the listing and the read: simply not there.
            Ok(OpResult::Exists(None)) | Err(Error::NoNode) => return self.remove(&name),
            other => {
                if self.core.failed(Purpose::Child(name.clone()), epoch, other) {
                    self.read(&name);
                }
                return;
            }
        };
        let new = ChildData {
            path: path::join(&self.path, &name),
            stat: stat.0,
            data: stat.1,
        };
        if let Some((old, _)) = child.watch.replace((token, session)) {
            self.watches.remove(&old);
        }
        let old = child.data.replace(new.clone());
        self.watches.insert(token, name.clone());
        let quiet = self.mode == StartMode::BuildInitial && !self.core.is_initialized();
        self.core.report(old, new, quiet);
        if self.core.reads.outlived(session) {
            // Read in a session that has since ended: its watch is gone.
            self.read(&name);
        }
    }
}

/// The names of a listing the cache does not know yet (in listing order), and the cached names
/// it no longer has. Hashing, not ordered sets: a listing of a large directory is compared on
/// every child event.
// Hash sets for membership tests only: nothing iterates them, so hash order never shows.
#[allow(clippy::disallowed_types)]
fn diff(cached: &BTreeMap<String, Child>, listed: Vec<String>) -> (Vec<String>, Vec<String>) {
    let known: HashSet<&str, FixedState> = cached.keys().map(String::as_str).collect();
    let still = listed.iter().filter(|n| known.contains(n.as_str())).count();
    let gone = if still == cached.len() {
        Vec::new() // every cached name is still listed (a listing has no duplicates)
    } else {
        let listed: HashSet<&str, FixedState> = listed.iter().map(String::as_str).collect();
        cached
            .keys()
            .filter(|n| !listed.contains(n.as_str()))
            .cloned()
            .collect()
    };
    let fresh = listed
        .into_iter()
        .filter(|n| !known.contains(n.as_str()))
        .collect();
    (fresh, gone)
}

impl CacheInputs for ChildrenMachine {
    type Purpose = Purpose;
    type Event = ChildrenEvent;

    fn core(&self) -> &CacheCore<Purpose, ChildrenEvent> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut CacheCore<Purpose, ChildrenEvent> {
        &mut self.core
    }

    fn on_op_done(&mut self, token: Token, result: Result<OpResult, Error>) {
        let Some(sent) = self.core.complete(token) else {
            return;
        };
        match sent.purpose {
            Purpose::Parent => self.on_parent(token, sent, result),
            Purpose::Child(ref name) => {
                let name = name.clone();
                self.on_child(token, name, sent, result)
            }
        }
        self.core.settle(self.reports_initialized());
    }

    fn on_watch(&mut self, token: Token, event: WatchedEvent) {
        if self.core.is_closed() {
            return;
        }
        if matches!(self.parent_watch, Some((t, _)) if t == token) {
            self.parent_watch = None;
            if !matches!(event.kind, EventType::Session(_)) {
                self.list();
            }
            return;
        }
        let Some(name) = self.watches.remove(&token) else {
            return; // a watch we no longer care about
        };
        if let Some(child) = self.children.get_mut(&name) {
            child.watch = None;
        }
        match event.kind {
            EventType::NodeDeleted => self.remove(&name),
            EventType::NodeDataChanged | EventType::NodeCreated => self.read(&name),
            // The session ended: a new session reads everything again.
            _ => {}
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        match self.core.connection(state, session_id) {
            None | Some(Reconnect::Down) => {}
            Some(Reconnect::First) => self.list(),
            Some(Reconnect::SameSession) => {
                // The watches survived: one listing, plus whatever failed meanwhile.
                for purpose in self.core.reads.take_ready() {
                    if let Purpose::Child(name) = purpose {
                        if self
                            .children
                            .get(&name)
                            .is_some_and(|c| c.reading.is_none())
                        {
                            self.read(&name);
                        }
                    }
                }
                self.list();
            }
            Some(Reconnect::NewSession) => {
                // Every watch is gone: list and read everything again.
                self.core.reads.clear_parked();
                self.parent_watch = None;
                self.watches.clear();
                self.list();
                let names: Vec<String> = self.children.keys().cloned().collect();
                for name in names {
                    self.children.get_mut(&name).expect("listed").watch = None;
                    self.read(&name);
                }
            }
        }
    }

    fn replay(&self) -> Vec<ChildrenEvent> {
        let children = self.children.values().filter_map(|c| c.data.clone());
        self.core.replay(children, self.reports_initialized())
    }

    fn reports_initialized(&self) -> bool {
        self.mode != StartMode::Normal
    }
}
