//! Loading and refreshing: the reads the tree cache sends (pipelined, level by level), and
//! what their replies mean for the store. A reply to a read sent before the node was (last)
//! found says nothing about it (tokens are compared, never arrival order).

use super::{Kind, Node, Purpose, TreeMachine};
use crate::machine::Token;
use crate::op::{Op, OpResult};
use crate::recipes::cache::reads::Sent;
use crate::recipes::cache::ChildData;
use crate::types::AddWatchMode;
use crate::{path, Error};

impl TreeMachine {
    pub(super) fn add_watch(&mut self) {
        let path = self.root.clone();
        let op = Op::AddWatch {
            path,
            mode: AddWatchMode::PersistentRecursive,
        };
        self.core.send(op, Purpose::AddWatch);
        self.adding = true;
    }

    /// Reads `p`'s data and, if it is descended into, its children.
    pub(super) fn load(&mut self, p: &str) {
        self.read_data(p);
        if self.descendable(p) {
            self.list(p);
        }
    }

    pub(super) fn read_data(&mut self, p: &str) {
        let watch = self.watched();
        let path = p.to_owned();
        let op = if self.options.cache_data {
            Op::GetData { path, watch }
        } else {
            Op::Exists { path, watch }
        };
        let Some(token) = self.core.send(op, Purpose::Data(p.to_owned())) else {
            return;
        };
        let node = self.nodes.entry(p.to_owned()).or_default();
        node.since.get_or_insert(token);
        node.reading = Some(token);
    }

    pub(super) fn list(&mut self, p: &str) {
        let watch = self.watched();
        let path = p.to_owned();
        let op = Op::GetChildren { path, watch };
        let Some(token) = self.core.send(op, Purpose::Children(p.to_owned())) else {
            return;
        };
        let epoch = self.core.reads.epoch();
        let node = self.nodes.entry(p.to_owned()).or_default();
        node.since.get_or_insert(token);
        node.listing = Some(token);
        node.listed = epoch;
        node.check = false;
    }

    /// Persistent mode after a reconnect: the watch's missed events are not replayed, so look
    /// at every node again, cheaply: a listing (whose stat tells whether the data changed) for
    /// nodes whose children are cached, then a data read only where that stat changed; the
    /// leaves' data read again (batched; a stat check each when data is not cached). Only
    /// real changes make events.
    pub(super) fn refresh_all(&mut self) {
        let paths: Vec<String> = self.nodes.keys().cloned().collect();
        if !self.nodes.contains_key(&self.root) {
            let root = self.root.clone();
            self.load(&root);
        }
        for p in paths {
            self.refresh(&p);
        }
    }

    pub(super) fn refresh(&mut self, p: &str) {
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
            let op = Op::Exists { path, watch: false };
            if let Some(token) = self.core.send(op, Purpose::Check(p.to_owned())) {
                self.nodes.get_mut(p).expect("listed").reading = Some(token);
            }
        }
    }

    pub(super) fn on_data(
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
                if self
                    .core
                    .failed(Purpose::Data(p.clone()), sent.epoch, other)
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
        if latest && self.watched() && self.core.reads.outlived(sent.session) {
            self.read_data(&p);
        }
    }

    pub(super) fn on_children(
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
                if self
                    .core
                    .failed(Purpose::Children(p.clone()), sent.epoch, other)
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
        let epoch = self.core.reads.epoch();
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
        if self.watched() && self.core.reads.outlived(sent.session) {
            self.list(&p);
        }
    }

    pub(super) fn on_check(
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
                if self
                    .core
                    .failed(Purpose::Check(p.clone()), sent.epoch, other)
                {
                    self.resend(Purpose::Check(p));
                }
            }
        }
    }
}
