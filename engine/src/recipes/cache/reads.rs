//! Request bookkeeping shared by the caches: tokens, the ops queue, which session and
//! connection epoch each read was sent in, and the reads that failed for want of a connection
//! and wait for it to come back.
//!
//! A cache never retries a failed read in a loop: it parks the read here and sends it again
//! only once the connection came back *after* the read was sent ([`Link::ready_after`]), so a
//! down ensemble costs nothing and a reconnect costs one read per parked purpose.

use std::collections::{BTreeMap, VecDeque};

use crate::framework::link::Link;
use crate::framework::ConnectionState;
use crate::machine::{Token, Tokens};
use crate::op::Op;
use crate::Error;

/// What a (re)connection means for the watches a cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reconnect {
    /// Not connected (SUSPENDED, LOST).
    Down,
    /// The first connection: start loading.
    First,
    /// The same session is back: its watches are still registered with the server.
    SameSession,
    /// A new session: every watch of the old one is gone.
    NewSession,
}

/// One read in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent<P> {
    /// Why it was sent.
    pub(crate) purpose: P,
    /// The connection epoch it was sent in.
    pub(crate) epoch: u64,
    /// The session it was sent in (a watch it leaves lives as long as that session).
    pub(crate) session: i64,
}

/// Tokens, ops and parked reads of one cache.
#[derive(Debug)]
pub(crate) struct Reads<P> {
    tokens: Tokens,
    link: Link,
    /// The session of the last connected state (0 before the first).
    session: Option<i64>,
    ops: VecDeque<(Token, Op)>,
    pending: BTreeMap<Token, Sent<P>>,
    /// Failed reads waiting for a connection newer than their epoch.
    parked: Vec<(P, u64)>,
}

impl<P: Clone> Reads<P> {
    pub(crate) fn new() -> Reads<P> {
        Reads {
            tokens: Tokens::default(),
            link: Link::default(),
            session: None,
            ops: VecDeque::new(),
            pending: BTreeMap::new(),
            parked: Vec::new(),
        }
    }

    /// Queues `op` for `purpose`; returns its token.
    pub(crate) fn send(&mut self, op: Op, purpose: P) -> Token {
        let token = self.tokens.next();
        self.pending.insert(
            token,
            Sent {
                purpose,
                epoch: self.link.epoch(),
                session: self.session.unwrap_or(0),
            },
        );
        self.ops.push_back((token, op));
        token
    }

    /// The read sent under `token`, once its result is in (`None` for a token not ours).
    pub(crate) fn complete(&mut self, token: Token) -> Option<Sent<P>> {
        self.pending.remove(&token)
    }

    /// A read sent at `epoch` failed with `error`. A connection failure returns the read when
    /// it may be sent again now, else parks it until the connection comes back. Any other
    /// failure (e.g. `NoAuth`) is not retried: the node is left out of the cache.
    pub(crate) fn retry(&mut self, purpose: P, epoch: u64, error: &Error) -> Option<P> {
        if !error.is_retryable() {
            tracing::warn!(%error, "cache read failed; the node is left out");
            return None;
        }
        if self.link.ready_after(epoch) {
            return Some(purpose);
        }
        self.parked.push((purpose, epoch));
        None
    }

    /// Records a connection state and says what it means for the cache's watches.
    pub(crate) fn connection(&mut self, state: ConnectionState, session_id: i64) -> Reconnect {
        if !self.link.handle(state, session_id) {
            return Reconnect::Down;
        }
        match self.session.replace(session_id) {
            None => Reconnect::First,
            Some(old) if old == session_id => Reconnect::SameSession,
            Some(_) => Reconnect::NewSession,
        }
    }

    /// The parked reads that may be sent again now.
    pub(crate) fn take_ready(&mut self) -> Vec<P> {
        let link = self.link;
        let (ready, parked) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|(_, epoch)| link.ready_after(*epoch));
        self.parked = parked;
        ready.into_iter().map(|(purpose, _)| purpose).collect()
    }

    /// Forgets every parked read (a full reload covers them).
    pub(crate) fn clear_parked(&mut self) {
        self.parked.clear();
    }

    /// True when nothing is in flight and nothing is parked.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.parked.is_empty()
    }

    /// True once a connection has been seen.
    pub(crate) fn is_started(&self) -> bool {
        self.session.is_some()
    }

    /// The connection epoch: how many times the connection came up.
    pub(crate) fn epoch(&self) -> u64 {
        self.link.epoch()
    }

    /// The session of the last connected state.
    pub(crate) fn session(&self) -> i64 {
        self.session.unwrap_or(0)
    }

    /// True when a watch left by a read sent in `session` is gone with that session while
    /// a newer one is connected: read again to leave a new one.
    pub(crate) fn outlived(&self, session: i64) -> bool {
        session != self.session() && self.is_connected()
    }

    /// True while connected.
    pub(crate) fn is_connected(&self) -> bool {
        self.link.is_connected() && self.session.is_some()
    }

    /// The next op to send.
    pub(crate) fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    /// Drops every queued op (on close).
    pub(crate) fn clear_ops(&mut self) {
        self.ops.clear();
    }
}

/// The error of a failed read; a result of the wrong kind counts as a marshalling error.
pub(crate) fn unexpected(result: Result<crate::op::OpResult, Error>) -> Error {
    result.err().unwrap_or(Error::MarshallingError)
}
