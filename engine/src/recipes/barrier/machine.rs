//! The sans-IO core of [`Barrier`](super::Barrier)'s wait (Curator's
//! `DistributedBarrier.waitOnBarrier`).
//!
//! ```text
//!   Idle ──wait──► Looking: sync, exists(path, watch) ──absent──► Idle (passed)
//!    ▲                 ▲        │ present
//!    │                 │        ▼
//!    │   watch fired,  └──── Watching ──deadline──► Idle (timed out)
//!    │   RECONNECTED            │
//!    └────────── close ─────────┘
//! ```
//!
//! A wait passes only on a reply that says the node is absent, never on an event alone: a
//! watch that fires for the session (a disconnection, an expiry) or for the node's deletion
//! only makes it look again. Every look is preceded by a `sync`, so a waiter connected to a
//! lagging follower (a new session has no last zxid to hold the server to) does not pass on a
//! read older than a barrier set before it started waiting. A look that failed for want of a connection is sent again once the connection
//! came back after it.

use std::collections::VecDeque;

use crate::framework::guaranteed::waits_for_connection;
use crate::framework::link::Link;
use crate::framework::{ConnectionState, StateCell, StateWatch};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::time::Instant;
use crate::Error;

/// What a [`Barrier`](super::Barrier) handle is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BarrierState {
    /// No wait in progress.
    Idle,
    /// Waiting for the barrier node to go.
    Waiting,
}

/// Commands for the barrier machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BarrierCommand {
    /// Wait until the node is gone; call number `call`, give up at `deadline`.
    Wait {
        /// Names the wait in its outcome.
        call: u64,
        /// When to give up (`None`: never).
        deadline: Option<Instant>,
    },
    /// Stop for good.
    Close,
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BarrierEvent {
    /// Wait `call` ended: `Ok(true)` the node is gone, `Ok(false)` the deadline passed first.
    Done {
        /// The wait's call number.
        call: u64,
        /// Its outcome.
        outcome: Result<bool, Error>,
    },
}

/// A wait in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wait {
    call: u64,
    deadline: Option<Instant>,
    step: Step,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The exists sent under `token` (behind a sync) at link `epoch`.
    Looking { token: Token, epoch: u64 },
    /// The node was there; the exists watch of `token` is armed.
    Watching { token: Token },
    /// A look failed for want of a connection; look again once it is back.
    Offline,
}

/// The barrier wait machine.
#[derive(Debug)]
pub struct BarrierMachine {
    path: String,
    link: Link,
    tokens: Tokens,
    wait: Option<Wait>,
    closed: bool,
    state: StateCell<BarrierState>,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<BarrierEvent>,
}

impl BarrierMachine {
    /// A machine for the barrier node `path`; idle until told to wait.
    pub fn new(path: String) -> BarrierMachine {
        BarrierMachine {
            path,
            link: Link::default(),
            tokens: Tokens::default(),
            wait: None,
            closed: false,
            state: StateCell::new(BarrierState::Idle),
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// What the machine is doing.
    pub fn state(&self) -> BarrierState {
        self.state.get()
    }

    /// The state, now and after each change.
    pub fn watch_state(&self) -> StateWatch<BarrierState> {
        self.state.watch()
    }

    /// Sends an exists with a watch, a sync before it.
    fn look(&mut self) {
        let Some(wait) = &mut self.wait else { return };
        let path = self.path.clone();
        self.ops.push_back((self.tokens.next(), Op::Sync { path }));
        let token = self.tokens.next();
        let path = self.path.clone();
        self.ops
            .push_back((token, Op::Exists { path, watch: true }));
        wait.step = Step::Looking {
            token,
            epoch: self.link.epoch(),
        };
    }

    fn finish(&mut self, outcome: Result<bool, Error>) {
        if let Some(wait) = self.wait.take() {
            let call = wait.call;
            self.events.push_back(BarrierEvent::Done { call, outcome });
        }
    }

    fn on_reply(&mut self, token: Token, result: Result<OpResult, Error>) {
        let Some(Wait {
            step: Step::Looking { token: mine, epoch },
            ..
        }) = self.wait
        else {
            return;
        };
        if token != mine {
            return; // the sync's reply: the exists behind it says what matters
        }
        match result {
            Ok(OpResult::Exists(None)) => self.finish(Ok(true)),
            Ok(OpResult::Exists(Some(_))) => {
                if let Some(wait) = &mut self.wait {
                    wait.step = Step::Watching { token };
                }
            }
            Err(e) if waits_for_connection(&e) => {
                if self.link.ready_after(epoch) {
                    self.look();
                } else if let Some(wait) = &mut self.wait {
                    wait.step = Step::Offline;
                }
            }
            Err(e) => self.finish(Err(e)),
            Ok(other) => {
                let e = Error::unexpected_reply(&self.path, "exists", &other);
                self.finish(Err(e));
            }
        }
    }

    fn on_watch(&mut self, token: Token) {
        if let Some(Wait {
            step: Step::Watching { token: mine },
            ..
        }) = self.wait
        {
            if token == mine {
                self.look();
            }
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        if !self.link.handle(state, session_id) {
            return;
        }
        // A watch may have gone with the session; an offline look goes again.
        if matches!(
            self.wait,
            Some(Wait {
                step: Step::Watching { .. } | Step::Offline,
                ..
            })
        ) {
            self.look();
        }
    }
}

impl Machine for BarrierMachine {
    type Command = BarrierCommand;
    type Event = BarrierEvent;

    fn handle(&mut self, now: Instant, input: Input<BarrierCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_reply(token, result),
            Input::Watch { token, .. } => self.on_watch(token),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Timeout => {
                let due = self.wait.as_ref().and_then(|w| w.deadline);
                if due.is_some_and(|d| now >= d) {
                    self.finish(Ok(false));
                }
            }
            Input::Command(BarrierCommand::Wait { call, deadline }) => {
                // A wait whose caller went away gives way to the new one.
                self.finish(Err(Error::Closed));
                self.wait = Some(Wait {
                    call,
                    deadline,
                    step: Step::Offline,
                });
                self.look();
            }
            Input::Command(BarrierCommand::Close) => {
                self.finish(Err(Error::Closed));
                self.closed = true;
            }
        }
        let state = match self.wait {
            Some(_) => BarrierState::Waiting,
            None => BarrierState::Idle,
        };
        self.state.set_if_changed(state);
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<BarrierEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.wait.as_ref().and_then(|w| w.deadline)
    }

    fn is_done(&self) -> bool {
        self.closed
    }
}
