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
//! about our own session, whose requests may no longer reach the ensemble (see the lock core).

use std::collections::VecDeque;

use crate::framework::guaranteed::GuaranteedDelete;
use crate::framework::link::Link;
use crate::framework::protected::Created;
use crate::framework::{ConnectionState, ErrorPolicy};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::recipes::enroll::{Enroll, Listing};
use crate::recipes::order::{position, sorted, Position};
use crate::rng::Rng;
use crate::time::Instant;
use crate::{path, Error};

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

#[derive(Debug)]
enum State {
    Creating(Box<Enroll>),
    /// Listing the children (`pending`), or waiting for the connection to come back after
    /// `epoch` to list them.
    Checking {
        node: Created,
        pending: Option<Token>,
        epoch: u64,
    },
    /// Watching the predecessor (a getData watch sent at `epoch`).
    Watching {
        node: Created,
        pending: Token,
        epoch: u64,
    },
    /// Leading; `pending` watches our own node (so that its deletion is noticed).
    Leading {
        node: Created,
        pending: Token,
        epoch: u64,
    },
    /// Waiting for a connection to create again.
    Resetting,
    /// Closed while the create was in flight: delete its node once it is known.
    Closing(Box<Enroll>),
    Closed,
}

/// The leader latch machine.
#[derive(Debug)]
pub struct LatchMachine {
    dir: String,
    id: Vec<u8>,
    policy: ErrorPolicy,
    rng: Rng,
    tokens: Tokens,
    link: Link,
    leader: Option<i64>,
    state: State,
    /// Old nodes being deleted in the background.
    cleanup: Vec<GuaranteedDelete>,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<LatchEvent>,
}

impl LatchMachine {
    /// A latch in `dir` for participant `id`; starts at once.
    pub fn new(dir: String, id: &str, policy: ErrorPolicy, rng: Rng) -> LatchMachine {
        let mut latch = LatchMachine {
            dir,
            id: id.as_bytes().to_vec(),
            policy,
            rng,
            tokens: Tokens::default(),
            link: Link::default(),
            leader: None,
            state: State::Resetting,
            cleanup: Vec::new(),
            ops: VecDeque::new(),
            events: VecDeque::new(),
        };
        latch.create();
        latch
    }

    /// The fencing token while we lead (and the connection is not suspended).
    pub fn leadership(&self) -> Option<i64> {
        self.leader
    }

    /// Our latch node, once created.
    pub fn node(&self) -> Option<&str> {
        match &self.state {
            State::Checking { node, .. }
            | State::Watching { node, .. }
            | State::Leading { node, .. } => Some(&node.path),
            _ => None,
        }
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    fn create(&mut self) {
        let enroll = Enroll::start(
            &self.dir,
            LATCH_NAME,
            self.id.clone(),
            &self.link,
            &mut self.rng,
            &mut self.tokens,
        );
        self.state = State::Creating(Box::new(enroll));
        self.pump();
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

    /// Drops our node (deleted in the background) and creates a new one once connected.
    fn reset(&mut self) {
        self.set_leader(None);
        if let State::Checking { node, .. }
        | State::Watching { node, .. }
        | State::Leading { node, .. } = std::mem::replace(&mut self.state, State::Resetting)
        {
            self.forget(node.path);
        }
        if self.link.is_connected() {
            self.create();
        }
    }

    fn forget(&mut self, node: String) {
        let mut delete = GuaranteedDelete::new(node, None);
        delete.start(&mut self.tokens);
        self.cleanup.push(delete);
        self.pump();
    }

    /// Collects the sub-machines' ops and outcomes.
    fn pump(&mut self) {
        for delete in &mut self.cleanup {
            while let Some(op) = delete.poll_op() {
                self.ops.push_back(op);
            }
        }
        self.cleanup.retain_mut(|d| d.poll_outcome().is_none());
        let (State::Creating(enroll) | State::Closing(enroll)) = &mut self.state else {
            return;
        };
        while let Some(op) = enroll.poll_op() {
            self.ops.push_back(op);
        }
        let outcome = enroll.poll_outcome();
        if let State::Closing(_) = self.state {
            if let Some(outcome) = outcome {
                self.state = State::Closed;
                if let Ok((node, _)) = outcome {
                    self.forget(node.path);
                }
            }
            return;
        }
        match outcome {
            None => {}
            Some(Ok((node, listing))) => match listing {
                Listing::Ready(result) => self.on_listing(node, 0, result),
                Listing::InFlight(pending) => {
                    self.state = State::Checking {
                        node,
                        pending: Some(pending),
                        // No earlier than now: a failure waits for a later connection.
                        epoch: 0,
                    }
                }
                Listing::Needed => self.check(node),
            },
            Some(Err(e)) => {
                if !e.is_session_lost() {
                    self.events.push_back(LatchEvent::Error(e));
                }
                self.state = State::Resetting;
                if self.link.is_connected() {
                    self.create();
                }
            }
        }
    }

    fn check(&mut self, node: Created) {
        let epoch = self.link.epoch();
        let pending = self.link.is_connected().then(|| {
            let token = self.tokens.next();
            let path = self.dir.clone();
            self.ops
                .push_back((token, Op::GetChildren { path, watch: false }));
            token
        });
        self.state = State::Checking {
            node,
            pending,
            epoch,
        };
    }

    fn watch(&mut self, path: String) -> Token {
        let token = self.tokens.next();
        self.ops
            .push_back((token, Op::GetData { path, watch: true }));
        token
    }

    fn on_listing(&mut self, node: Created, epoch: u64, result: Result<OpResult, Error>) {
        let children = match result {
            Ok(OpResult::Children { children, .. }) => sorted(children, LATCH_NAME),
            // The parent vanished (e.g. a reaped container): start over (CURATOR-724).
            Err(Error::NoNode) | Ok(_) => return self.reset_from(node),
            Err(_) => {
                self.state = State::Checking {
                    node,
                    pending: None,
                    epoch,
                };
                return self.resume();
            }
        };
        match position(&children, path::name(&node.path), 1) {
            Position::Holds if node.stat.ephemeral_owner == self.link.session_id() => {
                self.lead(node)
            }
            // Missing, or first but left by an earlier session: never lead on it.
            Position::Holds | Position::Missing => self.reset_from(node),
            Position::Waits { predecessor } => {
                self.set_leader(None);
                let epoch = self.link.epoch();
                let pending = self.watch(path::join(&self.dir, &predecessor));
                self.state = State::Watching {
                    node,
                    pending,
                    epoch,
                };
            }
        }
    }

    /// Leads on `node` (first, and ours) and watches it, so that its deletion is noticed.
    fn lead(&mut self, node: Created) {
        let epoch = self.link.epoch();
        let pending = self.watch(node.path.clone());
        self.set_leader(Some(node.stat.czxid));
        self.state = State::Leading {
            node,
            pending,
            epoch,
        };
    }

    fn reset_from(&mut self, node: Created) {
        self.state = State::Checking {
            node,
            pending: None,
            epoch: 0,
        };
        self.reset();
    }

    /// Lists again once the connection is back after a failed read.
    fn resume(&mut self) {
        if let State::Checking {
            node,
            pending: None,
            epoch,
        } = &self.state
        {
            if self.link.ready_after(*epoch) {
                let node = node.clone();
                self.check(node);
            }
        }
    }

    fn on_op_done(&mut self, now: Instant, token: Token, result: Result<OpResult, Error>) {
        for delete in &mut self.cleanup {
            if delete.handle_op_done(now, token, &result, &mut self.tokens) {
                return self.pump();
            }
        }
        match &mut self.state {
            State::Creating(enroll) | State::Closing(enroll) => {
                let mine = enroll.handle_op_done(now, token, &result, &mut self.tokens);
                if mine {
                    self.pump();
                }
            }
            State::Checking {
                node,
                pending,
                epoch,
            } if *pending == Some(token) => {
                let (node, epoch) = (node.clone(), *epoch);
                self.on_listing(node, epoch, result);
            }
            State::Watching {
                node,
                pending,
                epoch,
                ..
            }
            | State::Leading {
                node,
                pending,
                epoch,
            } if *pending == token => {
                match result {
                    Ok(_) => {} // armed
                    Err(Error::NoNode) => {
                        let node = node.clone();
                        self.check(node);
                    }
                    Err(_) => {
                        // Lost in flight: check again once the connection is back.
                        let (node, epoch) = (node.clone(), *epoch);
                        self.state = State::Checking {
                            node,
                            pending: None,
                            epoch,
                        };
                        self.resume();
                    }
                }
            }
            _ => {}
        }
    }

    /// The predecessor (or, leading, our own node) was deleted or changed: list again.
    fn on_watch(&mut self, token: Token) {
        let node = match &self.state {
            State::Watching { node, pending, .. } | State::Leading { node, pending, .. }
                if *pending == token =>
            {
                node.clone()
            }
            _ => return,
        };
        self.check(node);
    }

    fn on_connection(&mut self, now: Instant, state: ConnectionState, session_id: i64) {
        let _ = now;
        self.link.handle(state, session_id);
        for delete in &mut self.cleanup {
            delete.handle_connection(state, session_id, &mut self.tokens);
        }
        if let State::Creating(enroll) | State::Closing(enroll) = &mut self.state {
            enroll.handle_connection(state, session_id, &mut self.tokens);
            return self.pump();
        }
        self.pump();
        if self.policy.is_error_state(state) || state == ConnectionState::Lost {
            self.set_leader(None);
        }
        if !state.is_connected() {
            return;
        }
        match &self.state {
            State::Resetting => self.create(),
            // RECONNECTED (or a new session): read the children again and re-check.
            State::Checking { node, .. }
            | State::Watching { node, .. }
            | State::Leading { node, .. } => {
                let node = node.clone();
                self.check(node);
            }
            State::Creating(_) | State::Closing(_) | State::Closed => {}
        }
    }

    fn close(&mut self, mode: CloseMode) {
        let was_leader = self.leader.take().is_some();
        if was_leader && mode == CloseMode::NotifyLeader {
            self.events.push_back(LatchEvent::NotLeader);
        }
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Checking { node, .. }
            | State::Watching { node, .. }
            | State::Leading { node, .. } => self.forget(node.path),
            // Let an in-flight create finish, then delete what it made.
            State::Creating(enroll) => self.state = State::Closing(enroll),
            other @ State::Closing(_) => self.state = other,
            State::Resetting | State::Closed => {}
        }
    }
}

impl Machine for LatchMachine {
    type Command = LatchCommand;
    type Event = LatchEvent;

    fn handle(&mut self, now: Instant, input: Input<LatchCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_op_done(now, token, result),
            Input::Watch { token, .. } => self.on_watch(token),
            Input::Connection { state, session_id } => self.on_connection(now, state, session_id),
            Input::Timeout => {}
            Input::Command(LatchCommand::Close(mode)) => self.close(mode),
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<LatchEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.is_closed() && self.cleanup.is_empty() && self.ops.is_empty()
    }
}
