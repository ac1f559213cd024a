//! The sans-IO machine contract.
//!
//! A machine never sleeps, never reads a clock, never draws randomness of its own, and never
//! touches a socket. Everything arrives through [`Machine::handle`]; everything it wants done
//! leaves through the `poll_*` methods.
//!
//! **The rule:** after every `handle`, drain [`poll_op`](Machine::poll_op) and
//! [`poll_event`](Machine::poll_event) until they return `None`, then ask
//! [`poll_timeout`](Machine::poll_timeout) when to wake the machine next. Ops must be submitted
//! in exactly the order they were polled.
//!
//! ```text
//!             ┌──────────── inputs ────────────┐
//!  op result ─┤ Input::OpDone { token, result }│      ┌─ outputs ───────────────┐
//!  watch fire ┤ Input::Watch { token, event }  ├─► machine ─► poll_op()       │
//!  conn state ┤ Input::Connection { .. }       │      ├─ poll_event()          │
//!  timer ─────┤ Input::Timeout                 │      └─ poll_timeout()        │
//!  user call ─┤ Input::Command(c)              │
//!             └────────────────────────────────┘
//! ```
//!
//! # What the driver does, and what a machine may rely on
//! [`framework::driver`](crate::framework::driver) runs every recipe; a machine written for it
//! may count on exactly this, and must not count on more:
//!
//! - **First input.** The current connection state (if the client has one) comes before
//!   anything else; commands sent before it are fed after it, in order.
//! - **Ops leave at once, in poll order**, so pipelined ops reach the session in that order
//!   and a read polled after the machine's own write sees that write. One exception:
//!   **plain unwatched `getData` reads polled together may be batched** into `multiRead`
//!   requests (ZooKeeper 3.6+) sent in the place of the first read; a batch never reaches
//!   past a write or a `sync` polled between its reads, and each read still gets its own
//!   [`Input::OpDone`] under its own token, with the result a single `getData` would have
//!   had. Against a server without `multiRead` the reads go one by one.
//! - **Watch events ready together with replies are fed first**: the transports deliver them on separate channels, so the true order is
//!   unknown. (For one-shot watches this is right: a watch is armed only by its own reply,
//!   which has then been fed.) A persistent watch can therefore report a node before the
//!   reply to a listing sent earlier. So a machine **must never let a reply to a request sent
//!   before it learned of a node undo what a newer event started**: compare tokens (they
//!   grow in request order), never arrival order.
//! - **A grant follows a round trip, never an event alone.** An event says that something
//!   changed, a reply says what is true. A machine grants (leadership, a lock, a permit)
//!   only on a reply to a read or write it sent after the change it reacts to; a watch event
//!   makes it ask again.
//! - **Unknown outcomes.** A connection loss on an op is not a failure: the op may have been
//!   applied. The machine resolves it by looking (protected names, re-reads).
//! - **Connection states** are Curator's ([`ConnectionState`]), each fed with the session id
//!   current when it is fed.
//! - **Timeouts.** The driver asks [`poll_timeout`](Machine::poll_timeout) after every input
//!   and feeds [`Input::Timeout`] once the latest instant asked for has passed; an instant
//!   asked for and then withdrawn is never fed.
//! - **Commands** from the recipe's handle run in the caller's task once the driver is live,
//!   under the machine's lock; their ops leave before the command returns.
//! - **Stop.** The driver stops when [`is_done`](Machine::is_done) is true after an input,
//!   when every handle is dropped, or when the client is closed.
//!
//! The crate docs hold a complete hand-written loop that does the same (without batching).

use std::fmt;

use crate::framework::ConnectionState;
use crate::op::{Op, OpResult};
use crate::time::Instant;
use crate::types::WatchedEvent;
use crate::Error;

/// Names one op a machine emitted; its result and any watch it left come back with the same
/// token.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub u64);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Hands out fresh tokens.
#[derive(Debug, Default, Clone)]
pub struct Tokens(u64);

impl Tokens {
    /// The next unused token.
    #[allow(clippy::should_implement_trait)] // an endless counter, not an iterator
    pub fn next(&mut self) -> Token {
        self.0 += 1;
        Token(self.0)
    }
}

/// Everything that can happen to a machine.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input<C> {
    /// The op sent under `token` finished.
    OpDone {
        /// The op's token.
        token: Token,
        /// Its result.
        result: Result<OpResult, Error>,
    },
    /// A watch left by the op sent under `token` fired (persistent watches fire repeatedly).
    Watch {
        /// The op's token.
        token: Token,
        /// The event.
        event: WatchedEvent,
    },
    /// The connection state changed. `session_id` is the current session's id.
    Connection {
        /// The new state.
        state: ConnectionState,
        /// The session it refers to (after LOST, the new session's id once connected).
        session_id: i64,
    },
    /// The instant last returned by `poll_timeout` has passed.
    Timeout,
    /// A user command from the recipe's handle.
    Command(C),
}

/// A sans-IO recipe state machine.
pub trait Machine: fmt::Debug + Send + 'static {
    /// Commands from the recipe's handle.
    type Command: fmt::Debug + Send + 'static;
    /// Events for the recipe's users.
    type Event: fmt::Debug + Send + 'static;

    /// Feeds one input; `now` is the transport's clock.
    fn handle(&mut self, now: Instant, input: Input<Self::Command>);

    /// The next op to send. Call until `None` after every `handle`.
    #[must_use]
    fn poll_op(&mut self) -> Option<(Token, Op)>;

    /// The next event for the user. Call until `None` after every `handle`.
    #[must_use]
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// When to deliver [`Input::Timeout`], if ever. Ask again after every `handle`.
    #[must_use]
    fn poll_timeout(&self) -> Option<Instant>;

    /// True once the machine has finished for good (closed); the driver then stops.
    fn is_done(&self) -> bool {
        false
    }
}
