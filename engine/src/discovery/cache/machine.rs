//! The sans-IO core of the service cache: the children cache's machine ([`ChildrenMachine`])
//! on the service's node, each child read as Curator's instance JSON.
//!
//! ```text
//!  ChildrenMachine (child watch on the service's node, a data watch per instance)
//!     ChildAdded / ChildUpdated ─► parse ─ok──► Added / Updated (same content: nothing)
//!                                     └─error─► Unreadable (left out; the data watch stays,
//!                                               so a fix is noticed) — CURATOR-574
//!     ChildRemoved ─► Removed (when it was readable)
//!     Initialized ─► Ready (the first listing and every read it started are in)
//! ```
//!
//! Everything the children cache does holds here: the snapshot survives disconnects and is
//! corrected on reconnection, a missing service node is watched until it appears, and a
//! reply or watch of a superseded read is ignored. The snapshot is rebuilt (a new `Arc`) only
//! when its contents changed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

pub use crate::recipes::cache::CacheCommand;

use crate::discovery::instance::ServiceInstance;
use crate::discovery::json::read_at;
use crate::framework::{StateCell, StateWatch};
use crate::machine::{Input, Machine, Token};
use crate::op::Op;
use crate::recipes::cache::{ChildData, ChildrenEvent, ChildrenMachine, StartMode};
use crate::time::Instant;
use crate::{path, Error};

/// The cache's contents: every readable instance, ordered by id. Cheap to clone.
pub type Snapshot = Arc<[Arc<ServiceInstance>]>;

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

/// The service cache machine.
#[derive(Debug)]
pub struct CacheMachine {
    children: ChildrenMachine,
    /// The readable instances, by id.
    instances: BTreeMap<String, Arc<ServiceInstance>>,
    /// Published as soon as it changes, under the machine's lock: never behind the events.
    snapshot: StateCell<Snapshot>,
    events: VecDeque<CacheEvent>,
}

impl CacheMachine {
    /// A cache of the instances under `dir` (`basePath/serviceName`); starts on the first
    /// connection state.
    pub fn new(dir: impl Into<String>) -> CacheMachine {
        CacheMachine {
            children: ChildrenMachine::new(dir.into(), StartMode::PostInitializedEvent, true),
            instances: BTreeMap::new(),
            snapshot: StateCell::new(Arc::from(Vec::new())),
            events: VecDeque::new(),
        }
    }

    /// The current instances (an `Arc` clone).
    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.get()
    }

    /// The instances, now and after each change (the current value first).
    pub fn watch_snapshot(&self) -> StateWatch<Snapshot> {
        self.snapshot.watch()
    }

    /// What a late subscriber is told first: `Added` for every instance, then `Ready` once
    /// the first load finished.
    pub fn replay(&self) -> Vec<CacheEvent> {
        let added = self.instances.values().cloned().map(CacheEvent::Added);
        added
            .chain(self.is_ready().then_some(CacheEvent::Ready))
            .collect()
    }

    /// True once the first load finished.
    pub fn is_ready(&self) -> bool {
        self.children.is_initialized()
    }

    /// Turns the children cache's events into the service cache's; true when the snapshot
    /// changed.
    fn take_children_events(&mut self) -> bool {
        let mut changed = false;
        while let Some(event) = self.children.poll_event() {
            changed |= match event {
                ChildrenEvent::ChildAdded(node) | ChildrenEvent::ChildUpdated(node) => {
                    self.read(node)
                }
                ChildrenEvent::ChildRemoved(node) => self.remove(path::name(&node.path)),
                ChildrenEvent::Initialized => {
                    self.events.push_back(CacheEvent::Ready);
                    false
                }
                _ => false, // connection changes: the snapshot is kept and corrected
            };
        }
        changed
    }

    /// A node's fresh data: the instance it holds, or a report of why it holds none.
    fn read(&mut self, node: ChildData) -> bool {
        let id = path::name(&node.path).to_owned();
        let data = node.data.unwrap_or_default();
        let instance = match read_at(&node.path, &data) {
            Ok(instance) => Arc::new(instance),
            Err(error) => {
                tracing::warn!(path = %node.path, %error, "skipping an unreadable service instance");
                let removed = self.remove(&id);
                self.events.push_back(CacheEvent::Unreadable {
                    path: node.path,
                    error,
                });
                return removed;
            }
        };
        let event = match self.instances.get(&id) {
            None => CacheEvent::Added(instance.clone()),
            Some(old) if **old != *instance => CacheEvent::Updated(instance.clone()),
            Some(_) => return false,
        };
        self.instances.insert(id, instance);
        self.events.push_back(event);
        true
    }

    fn remove(&mut self, id: &str) -> bool {
        let Some(old) = self.instances.remove(id) else {
            return false;
        };
        self.events.push_back(CacheEvent::Removed(old));
        true
    }
}

impl Machine for CacheMachine {
    type Command = CacheCommand;
    type Event = CacheEvent;

    fn handle(&mut self, now: Instant, input: Input<CacheCommand>) {
        self.children.handle(now, input);
        if self.take_children_events() {
            self.snapshot
                .set(self.instances.values().cloned().collect());
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.children.poll_op()
    }

    fn poll_event(&mut self) -> Option<CacheEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.children.is_done()
    }
}
