//! The cache oracle: what the caches showed, checked against what the ensemble really had.
//!
//! - [`Seen`] collects every [`ChildData`] a cache showed (in an event or a snapshot) and
//!   checks each against [`Ensemble::history`](docent_sim::Ensemble::history): its path must
//!   once have had exactly that stat (and that data, when the cache keeps data). A cache may
//!   lag; it may never invent.
//! - [`Mirror`] replays one cache's events into the state they describe and flags events out
//!   of order: an update or removal of a node the cache did not have, an addition of one it
//!   already had, an update to another node (czxid) or back in time, a removal that is not the
//!   last state reported. Once the caches settle, the mirror must equal the snapshot: the
//!   events tell the same story as the cache.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::recipes::cache::ChildData;
use docent_sim::check::Viewed;
use docent_sim::Sim;

/// One thing a cache showed, and where.
#[derive(Debug, Clone)]
struct Observation {
    /// Which cache and how: `"c1 children ChildAdded"`.
    what: String,
    at: Duration,
    data: ChildData,
}

/// Everything the caches of one run showed. Cheap to clone; clones share.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    inner: Arc<Mutex<SeenInner>>,
}

#[derive(Debug, Default)]
struct SeenInner {
    observations: Vec<Observation>,
    /// What is already recorded (snapshots repeat themselves).
    known: HashSet<(String, Option<Vec<u8>>, docent::Stat)>,
}

impl Seen {
    /// A fresh, empty record.
    pub fn new() -> Seen {
        Seen::default()
    }

    /// Records that `what` showed `data` at `at`.
    pub fn record(&self, what: &str, at: Duration, data: &ChildData) {
        let mut inner = self.inner.lock().unwrap();
        let key = (data.path.clone(), data.data.clone(), data.stat);
        if inner.known.insert(key) {
            inner.observations.push(Observation {
                what: what.to_owned(),
                at,
                data: data.clone(),
            });
        }
    }

    /// How many distinct node states were recorded.
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap().observations.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Safety: every recorded state is one its path really had (committed by now, under
    /// `prefix`). Replays the ensemble's log once.
    pub fn check(&self, sim: &Sim, prefix: &str) -> Result<(), String> {
        let history = sim.inspect(|m| m.history(prefix));
        let inner = self.inner.lock().unwrap();
        for o in &inner.observations {
            let states = history.get(&o.data.path).map(Vec::as_slice).unwrap_or(&[]);
            let real = states.iter().any(|(data, stat)| {
                *stat == o.data.stat && o.data.data.as_ref().is_none_or(|d| d == data)
            });
            if !real {
                let had: Vec<String> = states.iter().map(|(d, s)| describe(d, s)).collect();
                return Err(format!(
                    "{} at {:?} showed a state {} never had: {}\nits real states:\n  {}",
                    o.what,
                    o.at,
                    o.data.path,
                    describe_child(&o.data),
                    had.join("\n  ")
                ));
            }
        }
        Ok(())
    }
}

fn describe(data: &[u8], stat: &docent::Stat) -> String {
    let node = ChildData {
        path: String::new(),
        stat: *stat,
        data: Some(data.to_vec()),
    };
    node.describe()
}

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
