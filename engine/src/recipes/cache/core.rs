//! [`CacheCore`]: what the three cache machines share, held by each and delegated to: the
//! read bookkeeping ([`Reads`]), the event queue, whether the initial load is complete, and
//! whether the cache is closed.
//!
//! A machine says what is specific to it ([`CacheInputs`]: which reads it sends, what a reply
//! or a watch means); the core says how a change, a connection state and the end of the
//! initial load are reported, the same way in every cache, and the [`Machine`] plumbing
//! (closing, polling) is the same for all of them.

use std::collections::VecDeque;
use std::fmt;

use crate::framework::{ConnectionState, StateCell, StateWatch};
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::recipes::cache::reads::{unexpected, Reads, Reconnect, Sent};
use crate::recipes::cache::{CacheCommand, CacheState, ChildData};
use crate::time::Instant;
use crate::types::WatchedEvent;
use crate::Error;

/// What a cache machine says for itself; it is then a [`Machine`] (the impl below) whose
/// commands are [`CacheCommand`]s.
pub trait CacheInputs: fmt::Debug + Send + 'static {
    /// Why a read was sent.
    type Purpose: Clone;
    /// What the cache reports.
    type Event: CacheEvents + fmt::Debug + Send + 'static;

    /// The core it holds.
    fn core(&self) -> &CacheCore<Self::Purpose, Self::Event>;
    /// The core it holds, to change.
    fn core_mut(&mut self) -> &mut CacheCore<Self::Purpose, Self::Event>;
    /// An op's result.
    fn on_op_done(&mut self, token: Token, result: Result<OpResult, Error>);
    /// A watch fired.
    fn on_watch(&mut self, token: Token, event: WatchedEvent);
    /// The connection changed.
    fn on_connection(&mut self, state: ConnectionState, session_id: i64);
    /// What a late subscriber is told first: the cached nodes, then the end of the initial
    /// load if it is over.
    fn replay(&self) -> Vec<Self::Event>;
    /// True when the cache reports the end of its initial load.
    fn reports_initialized(&self) -> bool {
        true
    }
}

impl<C: CacheInputs> Machine for C {
    type Command = CacheCommand;
    type Event = C::Event;

    fn handle(&mut self, _now: Instant, input: Input<CacheCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_op_done(token, result),
            Input::Watch { token, event } => self.on_watch(token, event),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Command(CacheCommand::Close) => self.core_mut().close(),
            Input::Timeout => {}
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.core_mut().poll_op()
    }

    fn poll_event(&mut self) -> Option<C::Event> {
        self.core_mut().poll_event()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.core().is_closed()
    }
}

/// The events every cache reports, whatever it calls them.
pub trait CacheEvents {
    /// A node appeared.
    fn added(node: ChildData) -> Self;
    /// A node's data or stat changed.
    fn updated(node: ChildData) -> Self;
    /// A node is gone (its last cached state).
    fn removed(node: ChildData) -> Self;
    /// The initial load is complete.
    fn initialized() -> Self;
    /// The connection changed (after the cache started).
    fn connection(change: Connection) -> Self;
}

/// The connection changes every cache reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Suspended,
    Reconnected,
    Lost,
}

impl Connection {
    fn of(state: ConnectionState) -> Option<Connection> {
        match state {
            ConnectionState::Suspended => Some(Connection::Suspended),
            ConnectionState::Reconnected => Some(Connection::Reconnected),
            ConnectionState::Lost => Some(Connection::Lost),
            _ => None,
        }
    }
}

/// Reads, events and lifecycle of one cache machine.
#[derive(Debug)]
pub struct CacheCore<P, E> {
    /// The reads in flight and parked.
    pub(crate) reads: Reads<P>,
    events: VecDeque<E>,
    /// Published as soon as it changes, under the machine's lock: never behind the events.
    state: StateCell<CacheState>,
    closed: bool,
}

impl<P: Clone, E: CacheEvents> CacheCore<P, E> {
    pub(crate) fn new() -> CacheCore<P, E> {
        CacheCore {
            reads: Reads::new(),
            events: VecDeque::new(),
            state: StateCell::new(CacheState::Loading),
            closed: false,
        }
    }

    /// True once closed: nothing is sent or reported any more.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// True once the initial load is complete.
    pub(crate) fn is_initialized(&self) -> bool {
        self.state() == CacheState::Initialized
    }

    /// Whether the initial load is complete.
    pub(crate) fn state(&self) -> CacheState {
        self.state.get()
    }

    /// The state, now and after each change.
    pub(crate) fn watch_state(&self) -> StateWatch<CacheState> {
        self.state.watch()
    }

    /// Stops the cache for good: queued ops are dropped.
    pub(crate) fn close(&mut self) {
        self.closed = true;
        self.reads.clear_ops();
    }

    /// Queues `op` for `purpose`, unless closed.
    pub(crate) fn send(&mut self, op: Op, purpose: P) -> Option<Token> {
        (!self.closed).then(|| self.reads.send(op, purpose))
    }

    /// The read sent under `token`, once its result is in; `None` for a token not ours and
    /// once closed.
    pub(crate) fn complete(&mut self, token: Token) -> Option<Sent<P>> {
        let sent = self.reads.complete(token)?;
        (!self.closed).then_some(sent)
    }

    /// What a late subscriber is told first: `nodes` added, then the end of the initial load
    /// if it is over and `initialized` (the cache reports it).
    pub(crate) fn replay(
        &self,
        nodes: impl Iterator<Item = ChildData>,
        initialized: bool,
    ) -> Vec<E> {
        let mut events: Vec<E> = nodes.map(E::added).collect();
        if initialized && self.is_initialized() {
            events.push(E::initialized());
        }
        events
    }

    /// A read for `purpose` sent at `epoch` failed (or brought a reply of the wrong kind):
    /// true when it may be sent again now; else it is parked until the connection is back,
    /// or dropped for a failure a retry will not fix ([`Reads::retry`]).
    pub(crate) fn failed(
        &mut self,
        purpose: P,
        epoch: u64,
        result: Result<OpResult, Error>,
    ) -> bool {
        self.reads
            .retry(purpose, epoch, &unexpected(result))
            .is_some()
    }

    /// Reports a fresh read of a cached (or new) node; `quiet`: an addition is not reported
    /// (a load the user asked not to hear about).
    pub(crate) fn report(&mut self, old: Option<ChildData>, new: ChildData, quiet: bool) {
        match compare(old.as_ref(), &new) {
            Change::Same => {}
            Change::Added if quiet => {}
            Change::Added => self.events.push_back(E::added(new)),
            Change::Updated => self.events.push_back(E::updated(new)),
            Change::Replaced => {
                let old = old.expect("replaced implies cached");
                self.events.push_back(E::removed(old));
                self.events.push_back(E::added(new));
            }
        }
    }

    /// Reports that `old` is gone.
    pub(crate) fn removed(&mut self, old: ChildData) {
        self.events.push_back(E::removed(old));
    }

    /// Takes a connection state: reports it (once the cache has started, not for the state it
    /// was created in) and says what it means for the cache's watches; `None` once closed.
    pub(crate) fn connection(
        &mut self,
        state: ConnectionState,
        session_id: i64,
    ) -> Option<Reconnect> {
        if self.closed {
            return None;
        }
        if let Some(change) = Connection::of(state).filter(|_| self.reads.is_started()) {
            self.events.push_back(E::connection(change));
        }
        Some(self.reads.connection(state, session_id))
    }

    /// Marks the initial load complete once the cache has started and every read is in;
    /// `report`: with an `initialized` event. True the one time it completes.
    pub(crate) fn settle(&mut self, report: bool) -> bool {
        if self.is_initialized() || !self.reads.is_started() || !self.reads.is_idle() {
            return false;
        }
        self.state.set(CacheState::Initialized);
        if report {
            self.events.push_back(E::initialized());
        }
        true
    }

    /// The next op to send.
    pub(crate) fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.reads.poll_op()
    }

    /// The next event to report.
    pub(crate) fn poll_event(&mut self) -> Option<E> {
        self.events.pop_front()
    }
}

/// How a fresh read of a node relates to what the cache held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Nothing changed.
    Same,
    /// The node is new to the cache.
    Added,
    /// The same node (same czxid) with new data or stat.
    Updated,
    /// Another node under the same path (deleted and re-created): remove, then add.
    Replaced,
}

/// Compares a fresh read with the cached node.
fn compare(old: Option<&ChildData>, new: &ChildData) -> Change {
    match old {
        None => Change::Added,
        Some(old) if old.stat.czxid != new.stat.czxid => Change::Replaced,
        Some(old) if old == new => Change::Same,
        Some(_) => Change::Updated,
    }
}
