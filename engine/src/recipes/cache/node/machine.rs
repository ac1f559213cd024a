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

use std::collections::VecDeque;

use crate::framework::ConnectionState;
use crate::machine::Token;
use crate::op::{Op, OpResult};
use crate::recipes::cache::reads::{unexpected, Reads, Reconnect, Sent};
use crate::recipes::cache::{compare, connection_event, Change, ChildData, Connection};
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

/// The one read the node cache sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Read,
}

/// The node cache machine.
#[derive(Debug)]
pub struct NodeMachine {
    path: String,
    reads: Reads<Purpose>,
    data: Option<ChildData>,
    /// The read in flight.
    reading: Option<Token>,
    /// The registered watch (data or exists) and its session.
    watch: Option<(Token, i64)>,
    initialized: bool,
    closed: bool,
    events: VecDeque<NodeEvent>,
}

impl NodeMachine {
    /// A cache of the node at `path`; it starts on the first connection.
    pub fn new(path: String) -> NodeMachine {
        NodeMachine {
            path,
            reads: Reads::new(),
            data: None,
            reading: None,
            watch: None,
            initialized: false,
            closed: false,
            events: VecDeque::new(),
        }
    }

    /// The node as last read, `None` while it does not exist (or before the first read).
    pub fn current_data(&self) -> Option<&ChildData> {
        self.data.as_ref()
    }

    /// True once the first read is complete.
    pub fn is_initialized(&self) -> bool {
        self.initialized
    }

    fn send(&mut self, op: Op) {
        if !self.closed {
            self.reading = Some(self.reads.send(op, Purpose::Read));
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
            (Some(old), None) => self.events.push_back(NodeEvent::Deleted(old)),
            (old, Some(new)) => match compare(old.as_ref(), &new) {
                Change::Same => {}
                Change::Added => self.events.push_back(NodeEvent::Created(new)),
                Change::Updated => self.events.push_back(NodeEvent::Changed(new)),
                Change::Replaced => {
                    let old = old.expect("replaced implies cached");
                    self.events.push_back(NodeEvent::Deleted(old));
                    self.events.push_back(NodeEvent::Created(new));
                }
            },
        }
    }

    fn on_op_done(&mut self, token: Token, result: Result<OpResult, Error>) {
        let Some(sent) = self.reads.complete(token) else {
            return;
        };
        if self.reading == Some(token) && !self.closed {
            self.reading = None;
            self.on_read(token, sent, result);
        }
        if !self.initialized && self.reads.is_idle() {
            self.initialized = true;
            self.events.push_back(NodeEvent::Initialized);
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
                let error = unexpected(other);
                if self
                    .reads
                    .retry(Purpose::Read, sent.epoch, &error)
                    .is_some()
                {
                    self.read();
                }
                return;
            }
        }
        if sent.session != self.reads.session() && self.reads.is_connected() {
            // Read in a session that has since ended: its watch is gone.
            self.read();
        }
    }

    fn on_watch(&mut self, token: Token, event: WatchedEvent) {
        if self.closed || !matches!(self.watch, Some((t, _)) if t == token) {
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
        if self.closed {
            return;
        }
        // Connection events only once the cache has started (not for the state it was
        // created in).
        let started = self.reads.is_started();
        match connection_event(state).filter(|_| started) {
            Some(Connection::Suspended) => self.events.push_back(NodeEvent::ConnectionSuspended),
            Some(Connection::Reconnected) => {
                self.events.push_back(NodeEvent::ConnectionReconnected)
            }
            Some(Connection::Lost) => self.events.push_back(NodeEvent::ConnectionLost),
            None => {}
        }
        match self.reads.connection(state, session_id) {
            Reconnect::Down => {}
            Reconnect::First => self.read(),
            // The watch survived; only a read that failed meanwhile is sent again.
            Reconnect::SameSession => {
                if !self.reads.take_ready().is_empty() && self.reading.is_none() {
                    self.read();
                }
            }
            Reconnect::NewSession => {
                self.reads.clear_parked();
                self.watch = None;
                self.read();
            }
        }
    }
}

cache_machine!(NodeMachine, NodeEvent);
