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

use std::collections::{BTreeMap, VecDeque};

use super::options::TreeOptions;
use crate::framework::ConnectionState;
use crate::machine::Token;
use crate::op::{Op, OpResult};
use crate::recipes::cache::reads::{unexpected, Reads, Reconnect, Sent};
use crate::recipes::cache::{compare, connection_event, Change, ChildData, Connection};
use crate::types::{AddWatchMode, EventType, WatchedEvent};
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

#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    AddWatch,
    Data(String),
    Children(String),
    /// A refresh's stat check of a node whose children are not listed.
    Check(String),
    RootExists,
}

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
    reads: Reads<Purpose>,
    mode: Mode,
    /// The registered persistent watch (its token) once `addWatch` succeeded.
    persistent: Option<Token>,
    /// An `addWatch` is in flight.
    adding: bool,
    nodes: BTreeMap<String, Node>,
    /// One-shot watches: which node and which kind.
    watches: BTreeMap<Token, (String, Kind)>,
    initialized: bool,
    closed: bool,
    events: VecDeque<TreeEvent>,
}

impl TreeMachine {
    /// A cache of the tree at `root`; it starts on the first connection.
    pub fn new(root: String, options: TreeOptions) -> TreeMachine {
        TreeMachine {
            root,
            options,
            reads: Reads::new(),
            mode: Mode::Probing,
            persistent: None,
            adding: false,
            nodes: BTreeMap::new(),
            watches: BTreeMap::new(),
            initialized: false,
            closed: false,
            events: VecDeque::new(),
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
        self.initialized
    }

    /// True when the server took the persistent recursive watch (false before it answered
    /// and after a fall back to one-shot watches).
    pub fn is_persistent(&self) -> bool {
        self.mode == Mode::Persistent
    }

    // ---- scope ----

    fn depth(&self, p: &str) -> usize {
        if p == self.root {
            return 0;
        }
        let rest = if self.root == "/" {
            &p[1..]
        } else {
            &p[self.root.len() + 1..]
        };
        rest.split('/').count()
    }

    fn under_root(&self, p: &str) -> bool {
        p != self.root
            && (self.root == "/" && p.starts_with('/')
                || p.starts_with(&self.root) && p[self.root.len()..].starts_with('/'))
    }

    /// True when the children of the cached node `p` are listed.
    fn descendable(&self, p: &str) -> bool {
        self.depth(p) < self.options.max_depth && self.options.selector.descends(p)
    }

    /// True when `p` belongs in the cache.
    fn in_scope(&self, p: &str) -> bool {
        if p == self.root {
            return true;
        }
        if !self.under_root(p)
            || self.depth(p) > self.options.max_depth
            || !self.options.selector.accepts(p)
            || !self.descendable(&self.root)
        {
            return false;
        }
        path::ancestors(p)
            .filter(|a| self.under_root(a))
            .all(|a| self.options.selector.accepts(a) && self.descendable(a))
    }

    /// True for the root and for a node whose parent is cached or being read.
    fn parent_known(&self, p: &str) -> bool {
        p == self.root || path::parent(p).is_some_and(|parent| self.nodes.contains_key(parent))
    }

    /// The known direct children of `p`.
    fn children_of(&self, p: &str) -> Vec<String> {
        let prefix = if p == "/" {
            "/".to_owned()
        } else {
            format!("{p}/")
        };
        self.nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k)
            .filter(|k| *k != p && !k[prefix.len()..].contains('/'))
            .cloned()
            .collect()
    }

    // ---- reads ----

    fn watched(&self) -> bool {
        self.mode == Mode::OneShot
    }

    fn add_watch(&mut self) {
        let path = self.root.clone();
        let op = Op::AddWatch {
            path,
            mode: AddWatchMode::PersistentRecursive,
        };
        self.reads.send(op, Purpose::AddWatch);
        self.adding = true;
    }

    /// Reads `p`'s data and, if it is descended into, its children.
    fn load(&mut self, p: &str) {
        self.read_data(p);
        if self.descendable(p) {
            self.list(p);
        }
    }

    fn read_data(&mut self, p: &str) {
        if self.closed {
            return;
        }
        let watch = self.watched();
        let path = p.to_owned();
        let op = if self.options.cache_data {
            Op::GetData { path, watch }
        } else {
            Op::Exists { path, watch }
        };
        let token = self.reads.send(op, Purpose::Data(p.to_owned()));
        let node = self.nodes.entry(p.to_owned()).or_default();
        node.since.get_or_insert(token);
        node.reading = Some(token);
    }

    fn list(&mut self, p: &str) {
        if self.closed {
            return;
        }
        let watch = self.watched();
        let path = p.to_owned();
        let token = self.reads.send(
            Op::GetChildren { path, watch },
            Purpose::Children(p.to_owned()),
        );
        let epoch = self.reads.epoch();
        let node = self.nodes.entry(p.to_owned()).or_default();
        node.since.get_or_insert(token);
        node.listing = Some(token);
        node.listed = epoch;
        node.check = false;
    }

    fn root_exists(&mut self) {
        if self.closed {
            return;
        }
        let path = self.root.clone();
        self.reads
            .send(Op::Exists { path, watch: true }, Purpose::RootExists);
    }

    /// Reads every known node (and the root) again.
    fn reload_all(&mut self) {
        let mut paths: Vec<String> = self.nodes.keys().cloned().collect();
        if !self.nodes.contains_key(&self.root) {
            paths.insert(0, self.root.clone());
        }
        for p in paths {
            self.load(&p);
        }
    }

    /// Persistent mode after a reconnect: the watch's missed events are not replayed, so look
    /// at every node again, cheaply: a listing (whose stat tells whether the data changed) for
    /// nodes whose children are cached, then a data read only where that stat changed; the
    /// leaves' data read again (batched; a stat check each when data is not cached). Only
    /// real changes make events.
    fn refresh_all(&mut self) {
        let paths: Vec<String> = self.nodes.keys().cloned().collect();
        if !self.nodes.contains_key(&self.root) {
            let root = self.root.clone();
            self.load(&root);
        }
        for p in paths {
            self.refresh(&p);
        }
    }

    fn refresh(&mut self, p: &str) {
        if self.closed {
            return;
        }
        if self.nodes.get(p).is_none_or(|n| n.data.is_none()) {
            return self.load(p);
        }
        if self.descendable(p) {
            self.list(p);
            self.nodes.get_mut(p).expect("listed").check = true;
        } else if self.options.cache_data {
            // Leaves' data reads leave together (the driver sends them as multiRead batches):
            // a few requests for the lot, where a stat check each would be one per node.
            self.read_data(p);
        } else {
            let path = p.to_owned();
            let token = self.reads.send(
                Op::Exists { path, watch: false },
                Purpose::Check(p.to_owned()),
            );
            self.nodes.get_mut(p).expect("listed").reading = Some(token);
        }
    }

    /// Reads again the known children of the newly cached `p` that were held back while it
    /// was not cached.
    fn adopt(&mut self, p: &str) {
        let waiting: Vec<String> = self
            .children_of(p)
            .into_iter()
            .filter(|c| {
                self.nodes
                    .get(c)
                    .is_some_and(|n| n.data.is_none() && n.reading.is_none())
            })
            .collect();
        for c in waiting {
            self.read_data(&c);
        }
    }

    /// True when `stat` shows another node or other data than the cached one.
    fn stale(&self, p: &str, stat: &crate::types::Stat) -> bool {
        self.current_data(p)
            .is_none_or(|d| d.stat.czxid != stat.czxid || d.stat.mzxid != stat.mzxid)
    }

    fn arm(&mut self, p: &str, token: Token, kind: Kind) {
        let Some(node) = self.nodes.get_mut(p) else {
            return;
        };
        let slot = match kind {
            Kind::Data => &mut node.data_watch,
            Kind::Children => &mut node.child_watch,
            Kind::RootExists => return,
        };
        if let Some(old) = slot.replace(token) {
            self.watches.remove(&old);
        }
        self.watches.insert(token, (p.to_owned(), kind));
    }

    // ---- changes ----

    fn apply(&mut self, p: &str, new: ChildData) {
        let node = self.nodes.entry(p.to_owned()).or_default();
        let old = node.data.replace(new.clone());
        match compare(old.as_ref(), &new) {
            Change::Same => {}
            Change::Added => self.events.push_back(TreeEvent::NodeCreated(new)),
            Change::Updated => self.events.push_back(TreeEvent::NodeChanged(new)),
            Change::Replaced => {
                let old = old.expect("replaced implies cached");
                self.events.push_back(TreeEvent::NodeDeleted(old));
                self.events.push_back(TreeEvent::NodeCreated(new));
            }
        }
    }

    /// Drops `p` and everything cached below it, deepest first.
    fn remove_subtree(&mut self, p: &str) {
        let prefix = if p == "/" {
            "/".to_owned()
        } else {
            format!("{p}/")
        };
        let mut doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .filter(|k| k != p)
            .collect();
        if self.nodes.contains_key(p) {
            doomed.insert(0, p.to_owned());
        }
        // A descendant sorts after its ancestors: reversed, descendants come first.
        for k in doomed.into_iter().rev() {
            let node = self.nodes.remove(&k).expect("listed");
            for token in [node.data_watch, node.child_watch].into_iter().flatten() {
                self.watches.remove(&token);
            }
            if let Some(data) = node.data {
                self.events.push_back(TreeEvent::NodeDeleted(data));
            }
        }
    }

    fn root_gone(&mut self) {
        let root = self.root.clone();
        self.remove_subtree(&root);
        // A persistent recursive watch reports the root's creation; one-shot watches need an
        // exists watch.
        if self.mode == Mode::OneShot {
            self.root_exists();
        }
    }

    // ---- inputs ----

    fn on_data(
        &mut self,
        token: Token,
        p: String,
        sent: Sent<Purpose>,
        result: Result<OpResult, Error>,
    ) {
        let Some(node) = self.nodes.get_mut(&p) else {
            return;
        };
        // A read superseded by a later one (the node changed meanwhile) still brings a state
        // newer than the cached one (replies come in order): a success is applied, which
        // keeps a parent ahead of the children read after it. Its failure is left to the
        // later read.
        let latest = node.reading == Some(token);
        if !latest && node.since.is_none_or(|since| token < since) {
            return; // sent before the node was (last) found
        }
        if latest {
            node.reading = None;
        }
        let (stat, data) = match result {
            Ok(OpResult::Data { data, stat }) => (stat, self.options.cache_data.then_some(data)),
            Ok(OpResult::Exists(Some(stat))) => (stat, None),
            _ if !latest => return,
            Ok(OpResult::Exists(None)) | Err(Error::NoNode) => {
                if p == self.root {
                    return self.root_gone();
                }
                return self.remove_subtree(&p);
            }
            other => {
                let error = unexpected(other);
                if self
                    .reads
                    .retry(Purpose::Data(p.clone()), sent.epoch, &error)
                    .is_some()
                {
                    self.read_data(&p);
                }
                return;
            }
        };
        if p != self.root && path::parent(&p).is_some_and(|up| self.current_data(up).is_none()) {
            // Its parent is not cached (the parent's read failed, or is still to come after a
            // reconnect): hold the node back, so that no node is cached without its parent.
            // It is read again once the parent is cached.
            return;
        }
        let replaced = self
            .current_data(&p)
            .is_some_and(|d| d.stat.czxid != stat.czxid);
        let found = replaced || self.current_data(&p).is_none();
        if replaced {
            // Another node under the same path: the old one went with its whole subtree (a
            // node is deleted only once its children are). Report that, descendants first,
            // then look for the new node's children.
            let reading = self.nodes.get(&p).and_then(|n| n.reading);
            self.remove_subtree(&p);
            let node = self.nodes.entry(p.clone()).or_default();
            node.since = Some(token);
            node.reading = reading;
        }
        if self.watched() && latest {
            self.arm(&p, token, Kind::Data);
        }
        let path = p.clone();
        self.apply(&p, ChildData { path, stat, data });
        if replaced && self.descendable(&p) {
            self.list(&p);
        }
        if found {
            self.adopt(&p);
        }
        if latest
            && self.watched()
            && sent.session != self.reads.session()
            && self.reads.is_connected()
        {
            self.read_data(&p);
        }
    }

    fn on_children(
        &mut self,
        token: Token,
        p: String,
        sent: Sent<Purpose>,
        result: Result<OpResult, Error>,
    ) {
        let Some(node) = self.nodes.get_mut(&p) else {
            return;
        };
        if node.listing != Some(token) {
            return;
        }
        node.listing = None;
        let check = std::mem::take(&mut node.check);
        let names = match result {
            Ok(OpResult::Children { children, stat }) => {
                if check && self.stale(&p, &stat) {
                    self.read_data(&p);
                    if self
                        .current_data(&p)
                        .is_some_and(|d| d.stat.czxid != stat.czxid)
                    {
                        return; // another node: its read drops the old subtree, lists again
                    }
                }
                children
            }
            Err(Error::NoNode) => return self.remove_subtree(&p),
            other => {
                let error = unexpected(other);
                if self
                    .reads
                    .retry(Purpose::Children(p.clone()), sent.epoch, &error)
                    .is_some()
                {
                    self.list(&p);
                }
                return;
            }
        };
        if self.watched() {
            self.arm(&p, token, Kind::Children);
        }
        let listed: Vec<String> = names.iter().map(|n| path::join(&p, n)).collect();
        // A child first read after this listing was sent was found later (a persistent
        // watch's event is fed before an older reply that was ready with it): the listing
        // says nothing about it, and its own read settles it.
        let known_before = |n: &Node| n.since.is_none_or(|since| since < token);
        for gone in self.children_of(&p) {
            if !listed.contains(&gone) && self.nodes.get(&gone).is_some_and(known_before) {
                self.remove_subtree(&gone);
            }
        }
        // Every unknown child is loaded now, all at once. With a persistent watch, a known
        // child not listed since the connection came back was found by an event that may
        // have come late (its children made meanwhile sent none): it is looked at again.
        let epoch = self.reads.epoch();
        for c in listed {
            match self.nodes.get(&c) {
                None if self.in_scope(&c) => self.load(&c),
                Some(n)
                    if !self.watched()
                        && n.listed < epoch
                        && n.listing.is_none()
                        && self.descendable(&c) =>
                {
                    self.refresh(&c)
                }
                _ => {}
            }
        }
        if self.watched() && sent.session != self.reads.session() && self.reads.is_connected() {
            self.list(&p);
        }
    }

    fn on_check(
        &mut self,
        token: Token,
        p: String,
        sent: Sent<Purpose>,
        result: Result<OpResult, Error>,
    ) {
        let Some(node) = self.nodes.get_mut(&p) else {
            return;
        };
        if node.reading != Some(token) {
            return;
        }
        node.reading = None;
        match result {
            Ok(OpResult::Exists(Some(stat))) => {
                if self.stale(&p, &stat) {
                    self.read_data(&p);
                }
            }
            Ok(OpResult::Exists(None)) | Err(Error::NoNode) if p == self.root => self.root_gone(),
            Ok(OpResult::Exists(None)) | Err(Error::NoNode) => self.remove_subtree(&p),
            other => {
                let error = unexpected(other);
                if let Some(purpose) = self.reads.retry(Purpose::Check(p), sent.epoch, &error) {
                    self.resend(purpose);
                }
            }
        }
    }

    fn on_op_done(&mut self, token: Token, result: Result<OpResult, Error>) {
        let Some(sent) = self.reads.complete(token) else {
            return;
        };
        if !self.closed {
            if sent.purpose == Purpose::AddWatch {
                self.adding = false;
            }
            match sent.purpose.clone() {
                Purpose::AddWatch => match result {
                    _ if self.mode == Mode::OneShot => {}
                    Ok(_) => {
                        if self.mode == Mode::Probing {
                            self.mode = Mode::Persistent;
                        }
                        self.persistent = Some(token);
                    }
                    Err(Error::Unimplemented) => {
                        // ZooKeeper before 3.6: fall back to one-shot watches, reading every
                        // node again with watches (the reads in flight are superseded).
                        self.mode = Mode::OneShot;
                        self.reload_all();
                    }
                    Err(error) => {
                        if self
                            .reads
                            .retry(Purpose::AddWatch, sent.epoch, &error)
                            .is_some()
                        {
                            self.add_watch();
                            self.refresh_all();
                        }
                    }
                },
                Purpose::Data(p) => self.on_data(token, p, sent, result),
                Purpose::Children(p) => self.on_children(token, p, sent, result),
                Purpose::Check(p) => self.on_check(token, p, sent, result),
                Purpose::RootExists => match result {
                    Ok(OpResult::Exists(Some(_))) => {
                        let root = self.root.clone();
                        self.load(&root);
                    }
                    Ok(OpResult::Exists(None)) => {
                        let root = self.root.clone();
                        self.watches.insert(token, (root, Kind::RootExists));
                    }
                    other => {
                        let error = unexpected(other);
                        if self
                            .reads
                            .retry(Purpose::RootExists, sent.epoch, &error)
                            .is_some()
                        {
                            self.root_exists();
                        }
                    }
                },
            }
        }
        if !self.initialized && self.reads.is_started() && self.reads.is_idle() {
            self.initialized = true;
            self.events.push_back(TreeEvent::Initialized);
        }
    }

    fn on_watch(&mut self, token: Token, event: WatchedEvent) {
        if self.closed {
            return;
        }
        if self.persistent == Some(token) {
            return self.on_persistent(event);
        }
        let Some((p, kind)) = self.watches.remove(&token) else {
            return;
        };
        if let Some(node) = self.nodes.get_mut(&p) {
            match kind {
                Kind::Data => node.data_watch = None,
                Kind::Children => node.child_watch = None,
                Kind::RootExists => {}
            }
        }
        match (kind, event.kind) {
            (_, EventType::Session(_)) => {} // a new session reloads
            (Kind::RootExists, _) => {
                let root = self.root.clone();
                self.load(&root);
            }
            (Kind::Data, EventType::NodeDeleted) if p == self.root => self.root_gone(),
            (_, EventType::NodeDeleted) => self.remove_subtree(&p),
            (Kind::Data, _) => self.read_data(&p),
            (Kind::Children, _) => self.list(&p),
        }
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

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        if self.closed {
            return;
        }
        // Connection events only once the cache has started (not for the state it was
        // created in).
        let started = self.reads.is_started();
        match connection_event(state).filter(|_| started) {
            Some(Connection::Suspended) => self.events.push_back(TreeEvent::ConnectionSuspended),
            Some(Connection::Reconnected) => {
                self.events.push_back(TreeEvent::ConnectionReconnected)
            }
            Some(Connection::Lost) => self.events.push_back(TreeEvent::ConnectionLost),
            None => {}
        }
        match self.reads.connection(state, session_id) {
            Reconnect::Down => {}
            Reconnect::First => {
                self.add_watch();
                let root = self.root.clone();
                self.load(&root);
            }
            Reconnect::SameSession if self.mode == Mode::OneShot => {
                // The one-shot watches survived and fire what was missed: only failed reads.
                for purpose in self.reads.take_ready() {
                    self.resend(purpose);
                }
            }
            Reconnect::SameSession => {
                // A persistent watch's missed events are not replayed: look at everything
                // again (stats first; data only where it changed).
                let ready = self.reads.take_ready();
                if ready.contains(&Purpose::AddWatch) || self.persistent.is_none() && !self.adding {
                    self.add_watch();
                }
                self.refresh_all();
            }
            Reconnect::NewSession => {
                self.reads.clear_parked();
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

cache_machine!(TreeMachine, TreeEvent);
