//! Guaranteed delete as a composable sans-IO sub-machine (Curator's `.guaranteed()`).
//!
//! ```text
//!  start ──► DELETING ──ok / NoNode──────────────────────► DONE(ok)
//!               │  ▲
//!   lost reply, │  │ (RE)CONNECTED after the op was sent
//!   no session  ▼  │
//!             WAITING          other error ─────────────► DONE(err)
//!                              cancel() ────────────────► DONE(Closed)
//! ```
//!
//! A connection loss, an expired session or "not connected" never ends it: it waits for the
//! next (re)connection and deletes again, across sessions, until the node is gone or the owner
//! cancels it (the client was closed). NoNode counts as done, so a delete that was applied but
//! whose reply was lost is not an error.
//!
//! The parent machine owns the tokens and forwards inputs:
//!
//! ```
//! use docent::framework::GuaranteedDelete;
//! use docent::{Error, Instant, OpResult, Tokens};
//!
//! let mut tokens = Tokens::default();
//! let mut delete = GuaranteedDelete::new("/locks/lock-0000000001", None);
//! delete.start(&mut tokens);
//! let (token, _op) = delete.poll_op().unwrap();
//! // the reply was lost: wait for the connection to come back
//! assert!(delete.handle_op_done(Instant::ZERO, token, &Err(Error::ConnectionLoss), &mut tokens));
//! assert!(delete.poll_op().is_none());
//! delete.handle_connection(docent::ConnectionState::Reconnected, 7, &mut tokens);
//! let (token, _op) = delete.poll_op().unwrap();
//! // it had been applied after all: NoNode is success
//! delete.handle_op_done(Instant::ZERO, token, &Err(Error::NoNode), &mut tokens);
//! assert_eq!(delete.poll_outcome(), Some(Ok(())));
//! ```

use std::collections::VecDeque;

use crate::coverage;
use crate::framework::link::Link;
use crate::framework::sub::{Reply, Sub};
use crate::framework::ConnectionState;
use crate::machine::{Token, Tokens};
use crate::op::{Op, OpResult};
use crate::time::Instant;
use crate::Error;

/// Deletes a node, retrying across connection losses and sessions until it is gone.
#[derive(Debug, Clone)]
pub struct GuaranteedDelete {
    path: String,
    version: Option<i32>,
    link: Link,
    state: State,
    queue: VecDeque<(Token, Op)>,
    outcome: Option<Result<(), Error>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    Deleting { token: Token, epoch: u64 },
    Waiting,
    Done,
}

impl GuaranteedDelete {
    /// A delete of `path` (at `version`, or any version).
    pub fn new(path: impl Into<String>, version: Option<i32>) -> Self {
        GuaranteedDelete {
            path: path.into(),
            version,
            link: Link::default(),
            state: State::Idle,
            queue: VecDeque::new(),
            outcome: None,
        }
    }

    /// A delete of `path` (any version) sent at once, knowing what `link` knows.
    pub(crate) fn started(path: impl Into<String>, link: &Link, tokens: &mut Tokens) -> Self {
        let mut delete = GuaranteedDelete::new(path, None);
        delete.handle_link(link, tokens);
        delete.start(tokens);
        delete
    }

    /// The node being deleted.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Sends the first delete.
    pub fn start(&mut self, tokens: &mut Tokens) {
        if self.state == State::Idle {
            self.send(tokens);
        }
    }

    /// The next op to send. Drain after every input.
    #[must_use]
    pub fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.queue.pop_front()
    }

    /// Feeds an op result; false when `token` is not this machine's.
    pub fn handle_op_done(
        &mut self,
        _now: Instant,
        token: Token,
        result: &Result<OpResult, Error>,
        tokens: &mut Tokens,
    ) -> bool {
        Sub::handle_op(self, token, result, tokens)
    }

    /// Feeds a connection state change.
    pub fn handle_connection(
        &mut self,
        state: ConnectionState,
        session_id: i64,
        tokens: &mut Tokens,
    ) {
        let mut link = self.link;
        link.handle(state, session_id);
        self.handle_link(&link, tokens);
    }

    /// Gives up (the client is closing): the outcome becomes [`Error::Closed`].
    pub fn cancel(&mut self) {
        if self.state != State::Done {
            self.queue.clear();
            self.finish(Err(Error::Closed));
        }
    }

    /// The result, once: `Ok` when the node is gone.
    #[must_use]
    pub fn poll_outcome(&mut self) -> Option<Result<(), Error>> {
        self.outcome.take()
    }

    /// True once finished (whether or not the outcome was polled).
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn send(&mut self, tokens: &mut Tokens) {
        if self.state != State::Idle {
            coverage::hit("guaranteed.retried");
        }
        let token = tokens.next();
        self.queue.push_back((
            token,
            Op::Delete {
                path: self.path.clone(),
                version: self.version,
            },
        ));
        self.state = State::Deleting {
            token,
            epoch: self.link.epoch(),
        };
    }

    fn finish(&mut self, outcome: Result<(), Error>) {
        self.state = State::Done;
        self.outcome = Some(outcome);
    }
}

impl Sub for GuaranteedDelete {
    type Outcome = Result<(), Error>;

    fn handle_op(&mut self, token: Token, result: &Reply, tokens: &mut Tokens) -> bool {
        let State::Deleting { token: mine, epoch } = self.state else {
            return false;
        };
        if token != mine {
            return false;
        }
        match result {
            Ok(_) | Err(Error::NoNode) => self.finish(Ok(())),
            Err(e) if is_timeout(e) && self.link.is_connected() => self.send(tokens),
            Err(e) if waits_for_connection(e) => {
                if self.link.ready_after(epoch) {
                    self.send(tokens);
                } else {
                    self.state = State::Waiting;
                }
            }
            Err(e) => self.finish(Err(e.clone())),
        }
        true
    }

    fn handle_link(&mut self, link: &Link, tokens: &mut Tokens) {
        self.link = *link;
        if link.is_connected() && self.state == State::Waiting {
            self.send(tokens);
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        GuaranteedDelete::poll_op(self)
    }

    fn poll_outcome(&mut self) -> Option<Result<(), Error>> {
        GuaranteedDelete::poll_outcome(self)
    }

    fn is_done(&self) -> bool {
        GuaranteedDelete::is_done(self)
    }
}

/// Timeouts: the connection may still be up, so the op can go again at once.
pub(crate) fn is_timeout(e: &Error) -> bool {
    matches!(e, Error::OperationTimeout | Error::RequestTimeout)
}

/// Errors that say "no usable connection or session right now": retry after a (re)connection.
pub(crate) fn waits_for_connection(e: &Error) -> bool {
    matches!(
        e,
        Error::ConnectionLoss
            | Error::NotConnected
            | Error::SessionExpired
            | Error::SessionMoved
            | Error::OperationTimeout
            | Error::RequestTimeout
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionState::*;

    fn delete_op(path: &str, version: Option<i32>) -> Op {
        Op::Delete {
            path: path.into(),
            version,
        }
    }

    #[test]
    fn retries_across_reconnects_and_sessions_until_done() {
        let mut tokens = Tokens::default();
        let mut d = GuaranteedDelete::new("/a", Some(3));
        d.start(&mut tokens);
        let (t1, op) = d.poll_op().unwrap();
        assert_eq!(op, delete_op("/a", Some(3)));
        assert!(d.poll_op().is_none());
        d.handle_connection(Suspended, 1, &mut tokens);
        assert!(d.handle_op_done(Instant::ZERO, t1, &Err(Error::ConnectionLoss), &mut tokens));
        assert!(d.poll_op().is_none(), "waits for the connection");
        d.handle_connection(Lost, 1, &mut tokens);
        assert!(d.poll_op().is_none());
        d.handle_connection(Reconnected, 2, &mut tokens);
        let (t2, op) = d.poll_op().unwrap();
        assert_eq!(op, delete_op("/a", Some(3)));
        assert!(!d.handle_op_done(Instant::ZERO, t1, &Ok(OpResult::Deleted), &mut tokens));
        d.handle_op_done(Instant::ZERO, t2, &Err(Error::SessionExpired), &mut tokens);
        assert!(d.poll_op().is_none(), "expired: wait for the new session");
        d.handle_connection(Reconnected, 3, &mut tokens);
        let (t3, _) = d.poll_op().unwrap();
        d.handle_op_done(Instant::ZERO, t3, &Ok(OpResult::Deleted), &mut tokens);
        assert!(d.is_done());
        assert_eq!(d.poll_outcome(), Some(Ok(())));
        assert_eq!(d.poll_outcome(), None);
    }

    #[test]
    fn reconnect_seen_before_the_failure_retries_at_once() {
        let mut tokens = Tokens::default();
        let mut d = GuaranteedDelete::new("/a", None);
        d.start(&mut tokens);
        let (t1, _) = d.poll_op().unwrap();
        d.handle_connection(Suspended, 1, &mut tokens);
        d.handle_connection(Reconnected, 1, &mut tokens);
        d.handle_op_done(Instant::ZERO, t1, &Err(Error::ConnectionLoss), &mut tokens);
        assert_eq!(d.poll_op().map(|(_, op)| op), Some(delete_op("/a", None)));
    }

    #[test]
    fn no_node_is_done_and_other_errors_are_final() {
        let mut tokens = Tokens::default();
        let mut d = GuaranteedDelete::new("/a", None);
        d.start(&mut tokens);
        let (t, _) = d.poll_op().unwrap();
        d.handle_op_done(Instant::ZERO, t, &Err(Error::NoNode), &mut tokens);
        assert_eq!(d.poll_outcome(), Some(Ok(())));

        let mut d = GuaranteedDelete::new("/b", Some(1));
        d.start(&mut tokens);
        let (t, _) = d.poll_op().unwrap();
        d.handle_op_done(Instant::ZERO, t, &Err(Error::BadVersion), &mut tokens);
        assert_eq!(d.poll_outcome(), Some(Err(Error::BadVersion)));
        assert!(d.poll_op().is_none());
    }

    #[test]
    fn cancel_ends_with_closed() {
        let mut tokens = Tokens::default();
        let mut d = GuaranteedDelete::new("/a", None);
        d.start(&mut tokens);
        let (t, _) = d.poll_op().unwrap();
        d.handle_op_done(Instant::ZERO, t, &Err(Error::NotConnected), &mut tokens);
        d.cancel();
        assert_eq!(d.poll_outcome(), Some(Err(Error::Closed)));
        d.handle_connection(Reconnected, 1, &mut tokens);
        assert!(d.poll_op().is_none());
    }
}
