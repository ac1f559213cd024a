//! The messages between the model's actors, and the names they use for each other: a leaf
//! module that every actor imports and none defines (str0m's netem, quinn's `Pair`).

use std::sync::Arc;
use std::time::Duration;

use docent::{Error, Id, Op, OpResult, SessionState, WatchedEvent};

/// One simulated client process (one ZooKeeper handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u32);

/// Names one submitted op; its [`Output::OpDone`] carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// Names one watch left by a watched read; its events carry the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchId(pub u64);

/// One TCP connection between a client and a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ConnId(pub(crate) u64);

/// What a client sends.
#[derive(Debug)]
pub(crate) enum ToServer {
    Connect {
        session: i64,
        passwd: u64,
        timeout: Duration,
        last_zxid: i64,
        ids: Arc<[Id]>,
    },
    SetWatches {
        relative_zxid: i64,
        paths: WatchPaths,
    },
    Request {
        xid: i32,
        op: Op,
    },
    Ping,
    Close {
        xid: i32,
    },
    /// The client closed the TCP connection.
    Fin,
}

/// What a server sends.
#[derive(Debug)]
pub(crate) enum ToClient {
    Connected {
        session: i64,
        passwd: u64,
        timeout: Duration,
    },
    Expired,
    Reply {
        xid: i32,
        zxid: i64,
        result: Result<OpResult, Error>,
    },
    Event(WatchedEvent),
    Pong,
    /// The server closed the TCP connection.
    Fin,
}

/// The body of a setWatches request.
#[derive(Debug, Clone, Default)]
pub(crate) struct WatchPaths {
    pub(crate) data: Vec<String>,
    pub(crate) exist: Vec<String>,
    pub(crate) child: Vec<String>,
    pub(crate) persistent: Vec<String>,
    pub(crate) recursive: Vec<String>,
}

/// The kind of watch an op left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// Fires once.
    OneShot,
    /// Fires until the session ends (`addWatch`).
    Persistent,
}

/// What the model tells the client processes. Drain with [`Ensemble::poll_output`](super::Ensemble::poll_output) after
/// every mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// An op finished.
    OpDone {
        /// The client.
        client: ClientId,
        /// The op.
        op: OpId,
        /// Its result.
        result: Result<OpResult, Error>,
        /// The watch it left, if it asked for one and succeeded.
        watch: Option<(WatchId, WatchKind)>,
    },
    /// A watch fired. `last` is true when no further event will come from it.
    Watch {
        /// The client.
        client: ClientId,
        /// The watch.
        watch: WatchId,
        /// The event.
        event: WatchedEvent,
        /// True for one-shot watches and for session ends.
        last: bool,
    },
    /// The client's session state changed.
    Session {
        /// The client.
        client: ClientId,
        /// The new state.
        state: SessionState,
    },
}
