//! The sans-IO core of the leader latch (Curator 5.8's `LeaderLatch`, fenced).
//!
//! ```text
//!  new ──► Creating ──(created, listing pipelined)──► Checking ◄──────────────┐
//!             ▲                                        │   │                   │
//!             │ our node missing, foreign owner,       │   │ index > 0         │ watch fired,
//!             │ parent gone                            │   ▼                   │ NoNode,
//!             └────────────── reset ◄──────────────────┤  Watching(predecessor)┘ RECONNECTED
//!                                                      │ index 0 and ephemeralOwner == session
//!                                                      ▼
//!                                                   Leading ── SUSPENDED / LOST ──► not leader
//! ```
//!
//! Leadership is granted only when our node is first **and** its ephemeral owner is the
//! current session: a node left by an expired session (still listed by a lagging follower
//! that has not applied the close) never makes us leader (CURATOR-696). A vanished parent
//! resets the latch (CURATOR-724). SUSPENDED ends leadership under the standard error policy;
//! RECONNECTED re-reads the children and checks again. The predecessor's deletion is always
//! followed by a new listing, never taken as leadership on its own: an event proves nothing
//! about our own session, whose requests may no longer reach the ensemble. All of the queue is
//! the lease queue's (`recipes/lease/`, latch mode); this machine turns its turns into
//! leadership and applies the error policy.

use std::collections::VecDeque;

use crate::framework::link::Link;
use crate::framework::sub::{self, Sub};
use crate::framework::{ConnectionState, ErrorPolicy};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::Op;
use crate::recipes::lease::{LeaseQueue, Mode, Turn};
use crate::recipes::order::MaxLeases;
use crate::rng::Rng;
use crate::time::Instant;
use crate::Error;

/// Curator's latch node name.
pub const LATCH_NAME: &str = "latch-";

/// How closing the latch is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CloseMode {
    /// Close without a `NotLeader` event (Curator's default).
    #[default]
    Silent,
    /// Send `NotLeader` if we were leading.
    NotifyLeader,
}

/// Commands for the latch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatchCommand {
    /// Leave the election for good.
    Close(CloseMode),
}

/// Leadership changes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LatchEvent {
    /// We lead. `token` is the fencing token (our latch node's creation zxid).
    IsLeader {
        /// Fencing token.
        token: i64,
    },
    /// We no longer lead.
    NotLeader,
    /// A failure the latch cannot recover from by itself (it keeps trying).
    Error(Error),
}

/// The leader latch machine.
#[derive(Debug)]
pub struct LatchMachine {
    queue: LeaseQueue,
    policy: ErrorPolicy,
    tokens: Tokens,
    link: Link,
    leader: Option<i64>,
    closed: bool,
    events: VecDeque<LatchEvent>,
}

impl LatchMachine {
    /// A latch in `dir` for participant `id`; starts at once.
    pub fn new(dir: String, id: &str, policy: ErrorPolicy, rng: Rng) -> LatchMachine {
        let rule = MaxLeases {
            name: LATCH_NAME.to_owned(),
            max: 1,
        };
        let data = id.as_bytes().to_vec();
        let mut latch = LatchMachine {
            queue: LeaseQueue::new(dir, LATCH_NAME, data, Box::new(rule), Mode::Latch, rng),
            policy,
            tokens: Tokens::default(),
            link: Link::default(),
            leader: None,
            closed: false,
            events: VecDeque::new(),
        };
        latch.queue.join(&mut latch.tokens);
        latch
    }

    /// The fencing token while we lead (and the connection is not suspended).
    pub fn leadership(&self) -> Option<i64> {
        self.leader
    }

    /// Our latch node, once created.
    pub fn node(&self) -> Option<&str> {
        self.queue.node().map(|node| node.path.as_str())
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn set_leader(&mut self, token: Option<i64>) {
        if self.leader == token {
            return;
        }
        self.leader = token;
        self.events.push_back(match token {
            Some(token) => LatchEvent::IsLeader { token },
            None => LatchEvent::NotLeader,
        });
    }

    /// Takes in what the queue decided.
    fn absorb(&mut self) {
        while let Some(turn) = self.queue.poll_outcome() {
            match turn {
                Turn::Holds(node) => self.set_leader(Some(node.stat.czxid)),
                Turn::Waits | Turn::Lost => self.set_leader(None),
                // The latch keeps trying.
                Turn::Failed(e) => {
                    self.set_leader(None);
                    self.events.push_back(LatchEvent::Error(e));
                    self.queue.join_when_connected(&mut self.tokens);
                }
            }
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        self.link.handle(state, session_id);
        // RECONNECTED (or a new session) lists again.
        self.queue.handle_link(&self.link, &mut self.tokens);
        if self.policy.is_error_state(state) || state == ConnectionState::Lost {
            self.set_leader(None);
        }
        self.absorb();
    }

    fn close(&mut self, mode: CloseMode) {
        let was_leader = self.leader.take().is_some();
        if was_leader && mode == CloseMode::NotifyLeader {
            self.events.push_back(LatchEvent::NotLeader);
        }
        self.closed = true;
        // An in-flight create is let finish, then what it made is deleted.
        self.queue.leave(&mut self.tokens);
    }
}

impl Machine for LatchMachine {
    type Command = LatchCommand;
    type Event = LatchEvent;

    fn handle(&mut self, _now: Instant, input: Input<LatchCommand>) {
        match sub::route(&mut self.queue, input, &mut self.tokens) {
            None => self.absorb(),
            Some(Input::Connection { state, session_id }) => self.on_connection(state, session_id),
            Some(Input::Command(LatchCommand::Close(mode))) => self.close(mode),
            Some(Input::Timeout | Input::OpDone { .. } | Input::Watch { .. }) => {}
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.queue.poll_op()
    }

    fn poll_event(&mut self) -> Option<LatchEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.closed && self.queue.is_done()
    }
}
