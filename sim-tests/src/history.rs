//! The cache oracle: what the caches showed, checked against what the ensemble really had.
//!
//! - [`Seen`](docent_sim::check::Seen) (in `docent_sim::check`) collects every
//!   [`ChildData`] a cache showed and checks that each is a state the ensemble really had.
//! - [`Mirror`] replays one cache's events into the state they describe and flags events out
//!   of order: an update or removal of a node the cache did not have, an addition of one it
//!   already had, an update to another node (czxid) or back in time, a removal that is not the
//!   last state reported. Once the caches settle, the mirror must equal the snapshot: the
//!   events tell the same story as the cache.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use docent::recipes::cache::ChildData;
use docent_sim::check::Viewed;

/// A short description of a cached node: its data and stat (as `docent_sim::check` shows it).
pub fn describe_child(d: &ChildData) -> String {
    d.describe()
}

/// A change a cache reported, whatever the cache's own event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A node appeared.
    Added(ChildData),
    /// A cached node changed.
    Updated(ChildData),
    /// A cached node is gone (its last cached state).
    Removed(ChildData),
}

impl Change {
    /// The node it carries.
    pub fn data(&self) -> &ChildData {
        match self {
            Change::Added(d) | Change::Updated(d) | Change::Removed(d) => d,
        }
    }
}

/// One cache's state as its events tell it, with the order violations they showed.
#[derive(Debug, Default)]
pub struct Mirror {
    nodes: BTreeMap<String, ChildData>,
    changes: Vec<Change>,
    initialized: usize,
    errors: Vec<String>,
}

impl Mirror {
    /// An empty mirror (a cache before its first event).
    pub fn new() -> Mirror {
        Mirror::default()
    }

    /// The state the events describe.
    pub fn nodes(&self) -> &BTreeMap<String, ChildData> {
        &self.nodes
    }

    /// Every change reported, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// How many `Initialized` events came.
    pub fn initialized(&self) -> usize {
        self.initialized
    }

    /// The order violations seen so far.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// An `Initialized` event.
    pub fn on_initialized(&mut self) {
        self.initialized += 1;
    }

    /// A node appeared (created, or re-created after a removal).
    pub fn added(&mut self, d: &ChildData) {
        self.changes.push(Change::Added(d.clone()));
        if let Some(old) = self.nodes.insert(d.path.clone(), d.clone()) {
            self.errors.push(format!(
                "added {} while it was cached ({}); now {}",
                d.path,
                describe_child(&old),
                describe_child(d)
            ));
        }
    }

    /// A cached node changed.
    pub fn updated(&mut self, d: &ChildData) {
        self.changes.push(Change::Updated(d.clone()));
        let Some(old) = self.nodes.insert(d.path.clone(), d.clone()) else {
            return self
                .errors
                .push(format!("updated {}, which was not cached", d.path));
        };
        let (o, n) = (&old.stat, &d.stat);
        if o.czxid != n.czxid {
            self.errors.push(format!(
                "updated {} to another node (czxid {:#x} → {:#x}): a re-create must be a \
                 removal and an addition",
                d.path, o.czxid, n.czxid
            ));
        } else if n.mzxid < o.mzxid || n.pzxid < o.pzxid || n.version < o.version {
            self.errors.push(format!(
                "updated {} back in time: {} → {}",
                d.path,
                describe_child(&old),
                describe_child(d)
            ));
        } else if old == *d {
            self.errors
                .push(format!("updated {} to the state it had", d.path));
        }
    }

    /// A cached node is gone; `d` is its last cached state.
    pub fn removed(&mut self, d: &ChildData) {
        self.changes.push(Change::Removed(d.clone()));
        match self.nodes.remove(&d.path) {
            None => self
                .errors
                .push(format!("removed {}, which was not cached", d.path)),
            Some(old) if old != *d => self.errors.push(format!(
                "removed {} as {}, but its last reported state was {}",
                d.path,
                describe_child(d),
                describe_child(&old)
            )),
            Some(_) => {}
        }
    }
}

impl Mirror {
    /// A tree cache's node appeared: its parent must be cached already (below `root`).
    pub fn added_in_tree(&mut self, root: &str, d: &ChildData) {
        if d.path != root {
            let parent = docent::path::parent(&d.path).unwrap_or("/");
            if !self.nodes.contains_key(parent) {
                self.errors
                    .push(format!("added {} before its parent {parent}", d.path));
            }
        }
        self.added(d);
    }

    /// A tree cache's node is gone: its descendants must have been reported gone first.
    pub fn removed_from_tree(&mut self, d: &ChildData) {
        let prefix = format!("{}/", d.path.trim_end_matches('/'));
        if let Some(below) = self.nodes.keys().find(|k| k.starts_with(&prefix)) {
            self.errors
                .push(format!("removed {} before its descendant {below}", d.path));
        }
        self.removed(d);
    }
}

/// A [`Mirror`] shared between a cache's event task and the checks.
pub type SharedMirror = Arc<Mutex<Mirror>>;
