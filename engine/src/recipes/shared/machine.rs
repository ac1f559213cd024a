//! The sans-IO shared value: Curator's `SharedValue` reader and writer.
//!
//! The machine keeps one watched `getData` of the node in flight or armed and publishes what
//! it read in a [`StateCell`]. Which reply wins is decided by **request order** (tokens), never
//! by comparing versions: a version wraps from `i32::MAX` to `i32::MIN` after 2^31 writes
//! (CURATOR-688: Curator compared them and stopped updating). A data watch firing, a
//! `BadVersion` and every (re)connection send a fresh read; a watch that fires while a read is
//! in flight marks that read stale, so it is read again once the reply is in.
//!
//! ```text
//!                 connected / watch fired / BadVersion
//!   Reading ─────────────────────────────────────────► getData (watched)
//!      ▲                                                 │ data        │ NoNode
//!      │ node created (exists watch)          Value(v) / Corrupt    Absent ─► exists (watched)
//!      └────────────────────────────────────────────────────────────────┘
//!   set(data, version) ─► setData ─► Stat: Value(data, stat.version), SetDone(true)
//!                                  ─► BadVersion: SetDone(false), read again
//!                                  ─► lost reply: SetDone(Err(unknown outcome)), read again
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;

use crate::framework::link::Link;
use crate::framework::sub::Reply;
use crate::framework::{StateCell, StateWatch};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::recipes::shared::codec::{decode_count, expected_version};
use crate::time::Instant;
use crate::{ConnectionState, Error};

/// What a shared node holds: raw bytes ([`SharedValue`](super::SharedValue)) or a 4-byte
/// count ([`SharedCount`](super::SharedCount)).
pub trait SharedData: Clone + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// Reads a node's data; [`Error::CorruptData`] when it is not a value of this type.
    fn decode(path: &str, data: &[u8]) -> Result<Self, Error>;
    /// The node's data for this value.
    fn encode(&self) -> Vec<u8>;
}

impl SharedData for Vec<u8> {
    fn decode(_: &str, data: &[u8]) -> Result<Self, Error> {
        Ok(data.to_vec())
    }
    fn encode(&self) -> Vec<u8> {
        self.clone()
    }
}

impl SharedData for i32 {
    fn decode(path: &str, data: &[u8]) -> Result<Self, Error> {
        decode_count(path, data)
    }
    fn encode(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
}

/// True when a write that failed with `error` may still have been applied: its reply was lost
/// ([`Error::is_unknown_outcome`]), or the session ended or moved with it in flight (the
/// client fails what was pending with `SessionExpired`, applied or not), or the client closed
/// under it.
pub(crate) fn maybe_applied(error: &Error) -> bool {
    error.is_unknown_outcome() || error.is_session_lost() || *error == Error::Closed
}

/// A value and the node version it was read at (Curator's `VersionedValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// The node's data version when it held `value`.
    pub version: i32,
}

/// What a shared value's handle shows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SharedState<T> {
    /// Not read yet.
    Reading,
    /// The node does not exist (deleted by someone): watched until it is created again.
    Absent,
    /// The value last read, with its version.
    Value(Versioned<T>),
    /// The node holds data that is not a value of this type (written by a foreign or broken
    /// peer): reported, never misread. A `set` replaces it.
    Corrupt {
        /// The node's data version.
        version: i32,
        /// [`Error::CorruptData`], saying what is wrong.
        error: Error,
    },
}

/// Commands for the shared value machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedCommand {
    /// Write `data`, only at `version` (`None`: whatever the version).
    Set {
        /// Names the request in its [`SharedEvent::SetDone`].
        id: u64,
        /// The new data.
        data: Vec<u8>,
        /// The expected version.
        version: Option<i32>,
    },
    /// Stop for good.
    Close,
}

/// What the shared value machine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SharedEvent {
    /// The set `id` ended: `Ok(true)` written (the state shows it), `Ok(false)` the version was
    /// stale, an error with [`Error::is_unknown_outcome`] or [`Error::is_session_lost`] when
    /// its reply was lost or its session ended under it (it may have been applied: the node is
    /// read again).
    SetDone {
        /// The request.
        id: u64,
        /// Its outcome.
        result: Result<bool, Error>,
    },
}

/// The shared value machine.
pub struct SharedMachine<T: SharedData> {
    path: String,
    tokens: Tokens,
    link: Link,
    state: StateCell<SharedState<T>>,
    /// The request whose reply the state shows.
    shown: Token,
    /// The read in flight (a getData, or an exists while the node is absent).
    read: Option<Token>,
    /// A watch fired while `read` was in flight: read again when it answers.
    stale: bool,
    /// Sets in flight: their ids and data.
    sets: BTreeMap<Token, (u64, Vec<u8>)>,
    closed: bool,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<SharedEvent>,
    _data: PhantomData<T>,
}

impl<T: SharedData> fmt::Debug for SharedMachine<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedMachine")
            .field("path", &self.path)
            .field("state", &self.state)
            .field("shown", &self.shown)
            .field("read", &self.read)
            .field("sets", &self.sets.keys())
            .finish_non_exhaustive()
    }
}

impl<T: SharedData> SharedMachine<T> {
    /// A machine for the node at `path`.
    pub fn new(path: &str) -> Self {
        SharedMachine {
            path: path.to_owned(),
            tokens: Tokens::default(),
            link: Link::default(),
            state: StateCell::new(SharedState::Reading),
            shown: Token(0),
            read: None,
            stale: false,
            sets: BTreeMap::new(),
            closed: false,
            ops: VecDeque::new(),
            events: VecDeque::new(),
            _data: PhantomData,
        }
    }

    /// The state now.
    pub fn state(&self) -> SharedState<T> {
        self.state.get()
    }

    /// The state, now and after each change.
    pub fn watch(&self) -> StateWatch<SharedState<T>> {
        self.state.watch()
    }

    fn send(&mut self, op: Op) -> Token {
        let token = self.tokens.next();
        self.ops.push_back((token, op));
        token
    }

    /// Reads the node with a watch, unless a read is in flight (then reads again after it).
    fn read(&mut self) {
        if self.read.is_some() {
            self.stale = true;
            return;
        }
        if !self.link.is_connected() || self.closed {
            return;
        }
        let path = self.path.clone();
        self.read = Some(self.send(Op::GetData { path, watch: true }));
    }

    /// Shows `state` if `token` is newer than what is shown.
    fn show(&mut self, token: Token, state: SharedState<T>) {
        if token > self.shown {
            self.shown = token;
            self.state.set_if_changed(state);
        }
    }

    fn decoded(&self, data: &[u8], version: i32) -> SharedState<T> {
        match T::decode(&self.path, data) {
            Ok(value) => SharedState::Value(Versioned { value, version }),
            Err(error) => SharedState::Corrupt { version, error },
        }
    }

    fn on_read(&mut self, token: Token, result: &Reply) {
        self.read = None;
        match result {
            Ok(OpResult::Data { data, stat }) => {
                let state = self.decoded(data, stat.version);
                self.show(token, state);
            }
            Err(Error::NoNode) => {
                self.show(token, SharedState::Absent);
                let path = self.path.clone();
                self.read = Some(self.send(Op::Exists { path, watch: true }));
                return;
            }
            // Created since: read it.
            Ok(OpResult::Exists(Some(_))) => self.stale = true,
            // Absent, the exists watch is armed.
            Ok(OpResult::Exists(None)) => {}
            Ok(other) => tracing::warn!(path = %self.path, ?other, "unexpected reply to a read"),
            // Read again on the next connection (or now, if it is not a connection's error).
            Err(e) => self.stale = !e.is_retryable(),
        }
        if std::mem::take(&mut self.stale) {
            self.read();
        }
    }

    fn on_set(&mut self, token: Token, id: u64, data: Vec<u8>, result: &Reply) {
        let result = match result {
            Ok(OpResult::Stat(stat)) => {
                let state = self.decoded(&data, stat.version);
                self.show(token, state);
                Ok(true)
            }
            Ok(other) => Err(Error::unexpected_reply(&self.path, "setData", other)),
            Err(Error::BadVersion) => {
                self.read();
                Ok(false)
            }
            Err(e) => {
                self.read();
                Err(e.clone())
            }
        };
        self.events.push_back(SharedEvent::SetDone { id, result });
    }

    fn on_command(&mut self, command: SharedCommand) {
        match command {
            SharedCommand::Set { id, data, version } => {
                let version = match version.map(expected_version).transpose() {
                    Ok(version) => version.flatten(),
                    Err(e) => {
                        let result = Err(e);
                        return self.events.push_back(SharedEvent::SetDone { id, result });
                    }
                };
                let path = self.path.clone();
                let op = Op::SetData {
                    path,
                    data: data.clone(),
                    version,
                };
                let token = self.send(op);
                self.sets.insert(token, (id, data));
            }
            SharedCommand::Close => self.closed = true,
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        if self.link.handle(state, session_id) {
            // What was in flight is lost with the old connection: read afresh.
            self.read = None;
            self.stale = false;
            self.read();
        }
    }
}

impl<T: SharedData> Machine for SharedMachine<T> {
    type Command = SharedCommand;
    type Event = SharedEvent;

    fn handle(&mut self, _now: Instant, input: Input<SharedCommand>) {
        match input {
            Input::OpDone { token, result } => {
                if let Some((id, data)) = self.sets.remove(&token) {
                    self.on_set(token, id, data, &result);
                } else if self.read == Some(token) {
                    self.on_read(token, &result);
                }
            }
            // A data or exists watch of ours fired: the node changed.
            Input::Watch { .. } => self.read(),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Timeout => {}
            Input::Command(c) => self.on_command(c),
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<SharedEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.closed
    }
}
