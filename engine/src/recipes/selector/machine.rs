//! The sans-IO core of the leader selector (Curator's `LeaderSelector`): the lock core plus
//! the rules for when the user's leadership must end.
//!
//! ```text
//!          Requeue                 Acquired(lease)
//!   Idle ──────────► Queued ───────────────────────► Leading ── TakeLeadership{token} ─► user
//!    ▲                                                 │   SUSPENDED (standard policy) / LOST
//!    │ Released, no auto-requeue                       │   or Interrupt: Cancel{reason} ─► user
//!    └──────── Releasing ◄──── Relinquish (the user's function returned or was cancelled)
//!                 │ Released, auto-requeue
//!                 └───────────────────────► Queued
//! ```
//!
//! The user's function runs outside the machine (in the handle); the machine decides when it
//! must stop (cancellation) and when to queue again.

use std::collections::VecDeque;

use crate::framework::{ConnectionState, ErrorPolicy};
use crate::machine::{Input, Machine, Token};
use crate::op::Op;
use crate::recipes::lock::{LockCommand, LockEvent, LockMachine};
use crate::rng::Rng;
use crate::time::Instant;
use crate::Error;

/// Curator's selector node name (the mutex's).
pub const LOCK_NAME: &str = "lock-";

/// Commands for the selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorCommand {
    /// Join the queue (Curator's `start` / `requeue`).
    Requeue,
    /// The user's leadership function has finished: release leadership.
    Relinquish,
    /// End the current leadership early (Curator's `interruptLeadership`).
    Interrupt,
    /// Leave for good.
    Close,
}

/// Why the user's leadership must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The connection changed to this state.
    Connection(ConnectionState),
    /// `interrupt_leadership` was called.
    Interrupted,
    /// The selector is closing.
    Closed,
}

/// What the selector asks of its handle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectorEvent {
    /// Run the user's leadership function; `token` is the fencing token.
    TakeLeadership {
        /// Fencing token (the lock node's creation zxid).
        token: i64,
        /// Our lock node.
        node: String,
    },
    /// Stop the user's leadership function now (the seed's `losingfn` gets `reason`).
    Cancel(CancelReason),
    /// Leadership was released.
    Released,
    /// The attempt to lead failed (it is retried on requeue).
    Error(Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Queued,
    Leading,
    Releasing,
    Closed,
}

/// The leader selector machine.
#[derive(Debug)]
pub struct SelectorMachine {
    lock: LockMachine,
    auto_requeue: bool,
    phase: Phase,
    requeue_after_release: bool,
    events: VecDeque<SelectorEvent>,
}

impl SelectorMachine {
    /// A selector on `dir`; `data` is its node data (its id); `auto_requeue` queues again
    /// after every leadership.
    pub fn new(
        dir: String,
        data: Vec<u8>,
        policy: ErrorPolicy,
        auto_requeue: bool,
        rng: Rng,
    ) -> SelectorMachine {
        SelectorMachine {
            lock: LockMachine::new(dir, LOCK_NAME, 1, data, policy, rng),
            auto_requeue,
            phase: Phase::Idle,
            requeue_after_release: false,
            events: VecDeque::new(),
        }
    }

    /// True while the user's leadership function should be running.
    pub fn is_leading(&self) -> bool {
        self.phase == Phase::Leading && self.lock.lease().is_some()
    }

    /// Our lock node while queued or leading.
    pub fn node(&self) -> Option<&str> {
        self.lock.node()
    }

    fn lock(&mut self, now: Instant, command: LockCommand) {
        self.lock.handle(now, Input::Command(command));
        self.collect(now);
    }

    fn cancel(&mut self, reason: CancelReason) {
        if self.phase == Phase::Leading {
            self.events.push_back(SelectorEvent::Cancel(reason));
        }
    }

    /// Turns the lock's events into the selector's.
    fn collect(&mut self, now: Instant) {
        while let Some(event) = self.lock.poll_event() {
            match event {
                LockEvent::Acquired(lease) => {
                    self.phase = Phase::Leading;
                    self.events.push_back(SelectorEvent::TakeLeadership {
                        token: lease.token,
                        node: lease.node,
                    });
                }
                LockEvent::AcquireFailed(e) => {
                    self.phase = Phase::Idle;
                    self.events.push_back(SelectorEvent::Error(e));
                }
                LockEvent::Suspended => {
                    self.cancel(CancelReason::Connection(ConnectionState::Suspended))
                }
                LockEvent::Lost => {
                    self.cancel(CancelReason::Connection(ConnectionState::Lost));
                    if self.phase == Phase::Leading {
                        // The node is gone with the session; wait for the user to stop.
                        self.phase = Phase::Releasing;
                    }
                }
                LockEvent::Reconnected | LockEvent::RevocationRequested => {}
                LockEvent::Released => self.released(now),
            }
        }
    }

    fn released(&mut self, now: Instant) {
        self.events.push_back(SelectorEvent::Released);
        if self.phase == Phase::Closed {
            return;
        }
        self.phase = Phase::Idle;
        if std::mem::take(&mut self.requeue_after_release) {
            self.phase = Phase::Queued;
            self.lock(now, LockCommand::Acquire { deadline: None });
        }
    }

    fn on_command(&mut self, now: Instant, command: SelectorCommand) {
        match (command, self.phase) {
            (_, Phase::Closed) => {}
            (SelectorCommand::Requeue, Phase::Idle) => {
                self.phase = Phase::Queued;
                self.lock(now, LockCommand::Acquire { deadline: None });
            }
            (SelectorCommand::Requeue, Phase::Releasing) => self.requeue_after_release = true,
            (SelectorCommand::Requeue, _) => {} // already queued or leading
            (SelectorCommand::Relinquish, Phase::Leading | Phase::Releasing) => {
                self.requeue_after_release |= self.auto_requeue;
                self.phase = Phase::Releasing;
                if self.lock.lease().is_some() || self.lock.node().is_some() {
                    self.lock(now, LockCommand::Release);
                } else {
                    self.released(now);
                }
            }
            (SelectorCommand::Relinquish, _) => {}
            (SelectorCommand::Interrupt, _) => self.cancel(CancelReason::Interrupted),
            (SelectorCommand::Close, _) => {
                self.cancel(CancelReason::Closed);
                self.phase = Phase::Closed;
                self.requeue_after_release = false;
                self.lock(now, LockCommand::Close);
            }
        }
    }
}

impl Machine for SelectorMachine {
    type Command = SelectorCommand;
    type Event = SelectorEvent;

    fn handle(&mut self, now: Instant, input: Input<SelectorCommand>) {
        match input {
            Input::Command(command) => self.on_command(now, command),
            // Under the session-only policy the lock core reports no suspension, so leadership
            // continues through one: that is what needs fencing (CURATOR-460).
            Input::Connection { state, session_id } => {
                self.lock
                    .handle(now, Input::Connection { state, session_id });
                self.collect(now);
            }
            Input::OpDone { token, result } => {
                self.lock.handle(now, Input::OpDone { token, result });
                self.collect(now);
            }
            Input::Watch { token, event } => {
                self.lock.handle(now, Input::Watch { token, event });
                self.collect(now);
            }
            Input::Timeout => {
                self.lock.handle(now, Input::Timeout);
                self.collect(now);
            }
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.lock.poll_op()
    }

    fn poll_event(&mut self) -> Option<SelectorEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.lock.poll_timeout()
    }

    fn is_done(&self) -> bool {
        self.phase == Phase::Closed && self.lock.is_done()
    }
}
