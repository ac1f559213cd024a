//! The sans-IO core of the node cache (Curator's `NodeCache`).
//!
//! ```text
//!  (first connection) ──► getData (data watch) ──► data ──► cached; the watch fires:
//!        ▲                    │      ▲                        changed/created → getData
//!        │                    │      └──── exists: present ◄─┐ deleted → Deleted, exists
//!        │                NoNode                             │
//!        │                    └──► exists (exists watch) ────┘ absent: wait for the watch
//!  read failed for want of a connection: parked until the connection comes back
//!  new session (after LOST): the watch is gone → read again
//! ```

use crate::framework::ConnectionState;
use crate::machine::Token;
use crate::op::{Op, OpResult};
use crate::recipes::cache::core::{CacheCore, CacheEvents, CacheInputs, Connection};
use crate::recipes::cache::reads::{Reconnect, Sent};
use crate::recipes::cache::ChildData;
use crate::types::{EventType, WatchedEvent};
use crate::Error;

/// What the node cache reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// The node exists (first seen, created, or re-created: then it follows a `Deleted`).
    Created(ChildData),
    /// The node's data or stat changed.
    Changed(ChildData),
    /// The node is gone; its last cached state.
    Deleted(ChildData),
    /// The first read is complete (whether or not the node exists).
    Initialized,
    /// The connection was lost; the cache keeps its data and catches up on reconnect.
    ConnectionSuspended,
    /// The connection is back.
    ConnectionReconnected,
    /// The session is gone; the cache reads again on the next session.
    ConnectionLost,
}

impl CacheEvents for NodeEvent {
    fn added(node: ChildData) -> Self {
        NodeEvent::Created(node)
    }
    fn updated(node: ChildData) -> Self {
        NodeEvent::Changed(node)
    }
    fn removed(node: ChildData) -> Self {
        NodeEvent::Deleted(node)
    }
    fn initialized() -> Self {
        NodeEvent::Initialized
    }
    fn connection(change: Connection) -> Self {
        match change {
            Connection::Suspended => NodeEvent::ConnectionSuspended,
            Connection::Reconnected => NodeEvent::ConnectionReconnected,
            Connection::Lost => NodeEvent::ConnectionLost,
        }
    }
}

/// Why a read was sent: public, as the cache's [`CacheInputs`] names it, in a private
/// module (unreachable from outside the crate).
mod purpose {
    /// The one read the node cache sends.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Purpose {
        Read,
    }
}

use purpose::Purpose;

/// The node cache machine.
#[derive(Debug)]
pub struct NodeMachine {
    path: String,
    core: CacheCore<Purpose, NodeEvent>,
    data: Option<ChildData>,
    /// The read in flight.
    reading: Option<Token>,
    /// The registered watch (data or exists) and its session.
    watch: Option<(Token, i64)>,
}

impl NodeMachine {
    /// A cache of the node at `path`; it starts on the first connection.
    pub fn new(path: String) -> NodeMachine {
        NodeMachine {
            path,
            core: CacheCore::new(),
            data: None,
            reading: None,
            watch: None,
        }
    }

    /// The node as last read, `None` while it does not exist (or before the first read).
    pub fn current_data(&self) -> Option<&ChildData> {
        self.data.as_ref()
    }

    /// True once the first read is complete.
    pub fn is_initialized(&self) -> bool {
        self.core.is_initialized()
    }

    fn send(&mut self, op: Op) {
        if let Some(token) = self.core.send(op, Purpose::Read) {
            self.reading = Some(token);
        }
    }

    fn read(&mut self) {
        let path = self.path.clone();
        self.send(Op::GetData { path, watch: true });
    }

    fn watch_absent(&mut self) {
        let path = self.path.clone();
        self.send(Op::Exists { path, watch: true });
    }

    fn set(&mut self, new: Option<ChildData>) {
        let old = std::mem::replace(&mut self.data, new.clone());
        match (old, new) {
            (None, None) => {}
            (Some(old), None) => self.core.removed(old),
            (old, Some(new)) => self.core.report(old, new, false),
        }
    }

    fn on_read(&mut self, token: Token, sent: Sent<Purpose>, result: Result<OpResult, Error>) {
        match result {
            Ok(OpResult::Data { data, stat }) => {
                self.watch = Some((token, sent.session));
                let path = self.path.clone();
                self.set(Some(ChildData {
                    path,
                    stat,
                    data: Some(data),
                }));
            }
            Err(Error::NoNode) => {
                self.set(None);
                self.watch_absent();
                return;
            }
            // Created between the getData and the exists: read it.
            Ok(OpResult::Exists(Some(_))) => return self.read(),
            Ok(OpResult::Exists(None)) => {
                self.watch = Some((token, sent.session));
                self.set(None);
            }
            other => {
                if self.core.failed(Purpose::Read, sent.epoch, other) {
                    self.read();
                }
                return;
            }
        }
        if self.core.reads.outlived(sent.session) {
            // Read in a session that has since ended: its watch is gone.
            self.read();
        }
    }
}

impl CacheInputs for NodeMachine {
    type Purpose = Purpose;
    type Event = NodeEvent;

    fn core(&self) -> &CacheCore<Purpose, NodeEvent> {
        &self.core
    }

    fn core_mut(&mut self) -> &mut CacheCore<Purpose, NodeEvent> {
        &mut self.core
    }

    fn on_op_done(&mut self, token: Token, result: Result<OpResult, Error>) {
        let Some(sent) = self.core.complete(token) else {
            return;
        };
        if self.reading == Some(token) {
            self.reading = None;
            self.on_read(token, sent, result);
        }
        self.core.settle(true);
    }

    fn on_watch(&mut self, token: Token, event: WatchedEvent) {
        if self.core.is_closed() || !matches!(self.watch, Some((t, _)) if t == token) {
            return;
        }
        self.watch = None;
        match event.kind {
            EventType::NodeDeleted => {
                self.set(None);
                self.watch_absent();
            }
            EventType::Session(_) => {} // a new session reads again
            _ => self.read(),
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        match self.core.connection(state, session_id) {
            None | Some(Reconnect::Down) => {}
            Some(Reconnect::First) => self.read(),
            // The watch survived; only a read that failed meanwhile is sent again.
            Some(Reconnect::SameSession) => {
                if !self.core.reads.take_ready().is_empty() && self.reading.is_none() {
                    self.read();
                }
            }
            Some(Reconnect::NewSession) => {
                self.core.reads.clear_parked();
                self.watch = None;
                self.read();
            }
        }
    }

    fn replay(&self) -> Vec<NodeEvent> {
        self.core.replay(self.data.iter().cloned(), true)
    }
}
