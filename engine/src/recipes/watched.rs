//! A recipe machine with its state published: what every lease recipe's handle drives.
//!
//! [`Watched`] wraps a machine and, after every input, recomputes the recipe's public state
//! from the machine (and the events that input produced) and publishes it in a [`StateCell`].
//! This runs inside `handle`, under the driver's lock on the machine, so the published state
//! is never behind the events: whoever receives an event and then reads the state sees the
//! state that event left.
//!
//! Beside the state it counts **losses**: each time the current lease (a held lock, a
//! leadership) stops being current. A count never goes back, so a guard that remembers the
//! count of its grant learns of a loss even if the state came back before it looked (a
//! SUSPENDED followed at once by RECONNECTED): a watch of the state alone may skip it.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Deref;

use crate::framework::{StateCell, StateWatch};
use crate::machine::{Input, Machine, Token};
use crate::op::Op;
use crate::time::Instant;

/// A recipe's public state that may hold a lease.
pub(crate) trait LeaseState: Clone + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The fencing token of the lease that is current (held and usable) in this state.
    fn current(&self) -> Option<i64>;

    /// True while the lease `token` is held and usable in this state (a semaphore holds
    /// several at once).
    fn holds(&self, token: i64) -> bool {
        self.current() == Some(token)
    }

    /// True when going from `old` to this state loses what `old` held (a loss for
    /// [`Watched`]'s count).
    fn loses(&self, old: &Self) -> bool {
        old.current().is_some() && self.current() != old.current()
    }
}

/// Computes the new state from the machine, the events of the last input and the old state.
pub(crate) type Observe<M, S> = fn(&M, &[<M as Machine>::Event], &S) -> S;

/// A machine whose state is published after every input.
pub(crate) struct Watched<M: Machine, S> {
    machine: M,
    observe: Observe<M, S>,
    state: StateCell<S>,
    losses: StateCell<u64>,
    events: VecDeque<M::Event>,
}

impl<M: Machine, S: LeaseState> Watched<M, S> {
    /// Wraps `machine`; its state starts as `observe` finds it.
    pub(crate) fn new(machine: M, initial: S, observe: Observe<M, S>) -> Self {
        let state = observe(&machine, &[], &initial);
        Watched {
            machine,
            observe,
            state: StateCell::new(state),
            losses: StateCell::new(0),
            events: VecDeque::new(),
        }
    }

    /// The current state.
    pub(crate) fn state(&self) -> S {
        self.state.get()
    }

    /// A watch of the state (current value first).
    pub(crate) fn watch(&self) -> StateWatch<S> {
        self.state.watch()
    }

    /// How many times a current lease was lost so far, and a watch of that count.
    pub(crate) fn losses(&self) -> (u64, StateWatch<u64>) {
        (self.losses.get(), self.losses.watch())
    }
}

impl<M: Machine, S> Deref for Watched<M, S> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.machine
    }
}

impl<M: Machine, S: fmt::Debug> fmt::Debug for Watched<M, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watched")
            .field("machine", &self.machine)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<M: Machine, S: LeaseState> Machine for Watched<M, S> {
    type Command = M::Command;
    type Event = M::Event;

    fn handle(&mut self, now: Instant, input: Input<M::Command>) {
        self.machine.handle(now, input);
        let first = self.events.len();
        self.events
            .extend(std::iter::from_fn(|| self.machine.poll_event()));
        let old = self.state.get();
        let new = (self.observe)(&self.machine, &self.events.make_contiguous()[first..], &old);
        if new.loses(&old) {
            self.losses.update(|n| {
                *n += 1;
                true
            });
        }
        self.state.set_if_changed(new);
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.machine.poll_op()
    }

    fn poll_event(&mut self) -> Option<M::Event> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.machine.poll_timeout()
    }

    fn is_done(&self) -> bool {
        self.machine.is_done()
    }
}
