//! The one-shot fallback: on a server without `addWatch` (ZooKeeper before 3.6) every cached
//! node carries a data watch and (when descended into) a child watch, and an absent root an
//! exists watch. The probe (`addWatch` sent at the first connection) decides the mode.
//!
//! ```text
//!  addWatch ─ok─► Persistent
//!      └─Unimplemented─► OneShot: every node read again with watches
//!  data watch: changed → getData; deleted → drop the subtree (the root: exists watch)
//!  child watch: changed → list and diff
//!  exists watch on the absent root: created → load the root
//! ```

use super::{Kind, Mode, Purpose, TreeMachine};
use crate::machine::Token;
use crate::op::{Op, OpResult};
use crate::recipes::cache::reads::Sent;
use crate::types::{EventType, WatchedEvent};
use crate::Error;

impl TreeMachine {
    /// True when reads leave watches (one-shot mode).
    pub(super) fn watched(&self) -> bool {
        self.mode == Mode::OneShot
    }

    /// The probe's answer: a persistent watch, or the fall back to one-shot watches.
    pub(super) fn on_add_watch(
        &mut self,
        token: Token,
        sent: Sent<Purpose>,
        result: Result<OpResult, Error>,
    ) {
        match result {
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
                    .core
                    .reads
                    .retry(Purpose::AddWatch, sent.epoch, &error)
                    .is_some()
                {
                    self.add_watch();
                    self.refresh_all();
                }
            }
        }
    }

    /// The root's exists check (one-shot mode).
    pub(super) fn on_root_exists(
        &mut self,
        token: Token,
        sent: Sent<Purpose>,
        result: Result<OpResult, Error>,
    ) {
        match result {
            Ok(OpResult::Exists(Some(_))) => {
                let root = self.root.clone();
                self.load(&root);
            }
            Ok(OpResult::Exists(None)) => {
                let root = self.root.clone();
                self.watches.insert(token, (root, Kind::RootExists));
            }
            other => {
                if self.core.failed(Purpose::RootExists, sent.epoch, other) {
                    self.root_exists();
                }
            }
        }
    }

    /// Reads every known node (and the root) again.
    pub(super) fn reload_all(&mut self) {
        let mut paths: Vec<String> = self.nodes.keys().cloned().collect();
        if !self.nodes.contains_key(&self.root) {
            paths.insert(0, self.root.clone());
        }
        for p in paths {
            self.load(&p);
        }
    }

    /// One-shot mode with the root absent: an exists watch tells when it is back.
    pub(super) fn root_exists(&mut self) {
        let path = self.root.clone();
        self.core
            .send(Op::Exists { path, watch: true }, Purpose::RootExists);
    }

    /// Remembers the one-shot watch `token` left on `p` (replacing the one it replaces).
    pub(super) fn arm(&mut self, p: &str, token: Token, kind: Kind) {
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

    /// The root is gone: its whole subtree with it.
    pub(super) fn root_gone(&mut self) {
        let root = self.root.clone();
        self.remove_subtree(&root);
        // A persistent recursive watch reports the root's creation; one-shot watches need an
        // exists watch.
        if self.mode == Mode::OneShot {
            self.root_exists();
        }
    }

    /// A one-shot watch fired.
    pub(super) fn on_one_shot(&mut self, token: Token, event: WatchedEvent) {
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
}
