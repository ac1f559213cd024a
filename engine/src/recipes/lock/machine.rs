//! The sans-IO lock core shared by [`Mutex`](super::Mutex), the leader selector and the
//! semaphores: Curator's `LockInternals` with pipelining and fencing.
//!
//! ```text
//!            Acquire (the queue joins)
//!   Idle ─────────────────────────────► Acquiring ──(Holds)──► Held ──SUSPENDED──► Held, suspended
//!    ▲  ▲                                  │ Failed                │  ▲                 │
//!    │  └──────── AcquireFailed ◄──────────┘                      │  └──RECONNECTED────┘
//!    │                                                             │ LOST / new session: Lost
//!    └── Release / Close / deadline: Idle; the node's guaranteed ◄─┘
//!        delete goes on in the background
//! ```
//!
//! Everything about the queue itself (the pipelined create and listing, the predecessor's
//! watch, listing again before any grant, the owner check, giving a waiting node up on LOST)
//! is the lease queue's (`recipes/lease/`, lock mode); this machine adds the deadline, the
//! suspension events and the commands. Giving a node up never blocks it: the node's guaranteed
//! delete runs in the background while the machine is already idle, so a release followed by
//! an acquire sends delete, create and listing in one batch — ZooKeeper applies them in that
//! order.
//!
//! A revocable lock (`MakeRevocable`, Curator's `makeRevocable`) keeps a data watch on its held
//! node ([`revoke`](super::revoke)) and reports `RevocationRequested` when someone wrote
//! `__REVOKE__` to it; releasing is still the holder's call.

use std::collections::VecDeque;

use crate::framework::link::Link;
use crate::framework::sub::{self, Sub};
use crate::framework::{ConnectionState, ErrorPolicy};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::Op;
use crate::recipes::lease::{LeaseQueue, Mode, Turn};
use crate::recipes::lock::revoke::RevokeWatch;
use crate::recipes::order::{GrantRule, MaxLeases};
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::CreateMode;
use crate::Error;

/// A granted lease: the lock node and its fencing token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Full path of our lock node.
    pub node: String,
    /// The fencing token: the lock node's creation zxid. Strictly increases in grant order.
    pub token: i64,
}

/// Commands for the lock core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockCommand {
    /// Start acquiring; give up at `deadline`.
    Acquire {
        /// When to give up (`None`: never).
        deadline: Option<Instant>,
    },
    /// Start acquiring with a plain ephemeral (not sequential) node named `name`, protected:
    /// a read–write lock's downgrade, whose read node carries its write node's sequence.
    AcquireNamed {
        /// The node's name, after the protected prefix.
        name: String,
        /// When to give up (`None`: never).
        deadline: Option<Instant>,
    },
    /// Release the held lock (or abandon an acquire in progress).
    Release,
    /// Release or abandon, then stop for good.
    Close,
    /// Watch the held node (now, and each lease from now on) for revocation requests.
    MakeRevocable,
}

/// What the lock core reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockEvent {
    /// The lock is ours.
    Acquired(Lease),
    /// The acquire ended without the lock ([`Error::Timeout`] when the deadline passed).
    AcquireFailed(Error),
    /// The connection is suspended: we may still hold the lock, but must stop acting on it
    /// until [`LockEvent::Reconnected`] (standard error policy only).
    Suspended,
    /// Connected again with the same session: the lock is still ours.
    Reconnected,
    /// The session was lost while we held the lock: it is gone.
    Lost,
    /// The lock was released (the node is deleted, or is being deleted in the background).
    Released,
    /// Someone asked the holder of a revocable lock to let go (wrote `__REVOKE__` to its node).
    RevocationRequested,
}

/// The lock core machine.
#[derive(Debug)]
pub struct LockMachine {
    queue: LeaseQueue,
    /// The name of ordinary (sequential) lock nodes.
    lock_name: String,
    policy: ErrorPolicy,
    tokens: Tokens,
    link: Link,
    /// The lease granted and not given back (usable unless `suspended`).
    held: Option<Lease>,
    suspended: bool,
    /// Leases are watched for revocation requests.
    revocable: bool,
    revoke: RevokeWatch,
    deadline: Option<Instant>,
    closing: bool,
    done: bool,
    events: VecDeque<LockEvent>,
}

impl LockMachine {
    /// A lock on directory `dir`, nodes named `<lock_name><seq>` (protected), `max_leases`
    /// holders at once, node data `data`.
    pub fn new(
        dir: String,
        lock_name: &str,
        max_leases: usize,
        data: Vec<u8>,
        policy: ErrorPolicy,
        rng: Rng,
    ) -> Self {
        let rule = MaxLeases {
            name: lock_name.to_owned(),
            max: max_leases,
        };
        Self::with_rule(dir, lock_name, Box::new(rule), data, policy, rng)
    }

    /// A lock whose holders `rule` decides (the read–write lock's two sides).
    pub(crate) fn with_rule(
        dir: String,
        lock_name: &str,
        rule: Box<dyn GrantRule>,
        data: Vec<u8>,
        policy: ErrorPolicy,
        rng: Rng,
    ) -> Self {
        LockMachine {
            queue: LeaseQueue::new(dir, lock_name, data, rule, Mode::Lock, rng),
            lock_name: lock_name.to_owned(),
            policy,
            tokens: Tokens::default(),
            link: Link::default(),
            held: None,
            suspended: false,
            revocable: false,
            revoke: RevokeWatch::default(),
            deadline: None,
            closing: false,
            done: false,
            events: VecDeque::new(),
        }
    }

    /// The held lease, if the lock is ours and the connection is not suspended.
    pub fn lease(&self) -> Option<&Lease> {
        self.held.as_ref().filter(|_| !self.suspended)
    }

    /// Our node while acquiring or holding.
    pub fn node(&self) -> Option<&str> {
        self.queue.node().map(|node| node.path.as_str())
    }

    /// True while an acquire is in progress.
    pub fn is_acquiring(&self) -> bool {
        self.queue.is_waiting()
    }

    /// Takes in what the queue decided.
    fn absorb(&mut self) {
        while let Some(turn) = self.queue.poll_outcome() {
            match turn {
                Turn::Holds(node) => {
                    let lease = Lease {
                        node: node.path,
                        token: node.stat.czxid,
                    };
                    self.deadline = None;
                    self.suspended = false;
                    self.events.push_back(LockEvent::Acquired(lease.clone()));
                    if self.revocable {
                        self.revoke.watch(&lease.node, &mut self.tokens);
                    }
                    self.held = Some(lease);
                }
                Turn::Waits => {}
                Turn::Lost => {
                    self.revoke.stop();
                    self.held = None;
                    self.suspended = false;
                    self.events.push_back(LockEvent::Lost);
                }
                Turn::Failed(e) => self.events.push_back(LockEvent::AcquireFailed(e)),
            }
        }
        while self.revoke.poll_outcome().is_some() {
            if self.held.is_some() {
                self.events.push_back(LockEvent::RevocationRequested);
            }
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        self.link.handle(state, session_id);
        // LOST or a new session: a held lease is lost, a waiting node given up.
        self.queue.handle_link(&self.link, &mut self.tokens);
        self.revoke.handle_link(&self.link, &mut self.tokens);
        self.absorb();
        if self.held.is_none() {
            return;
        }
        if state == ConnectionState::Suspended
            && self.policy.is_error_state(state)
            && !self.suspended
        {
            self.suspended = true;
            self.events.push_back(LockEvent::Suspended);
        } else if self.link.is_connected() && self.suspended {
            self.suspended = false;
            self.events.push_back(LockEvent::Reconnected);
        }
    }

    fn on_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) && self.is_acquiring() {
            self.deadline = None;
            self.events
                .push_back(LockEvent::AcquireFailed(Error::Timeout));
            self.give_up(false);
        }
    }

    /// Abandons an acquire or releases a held lock; the node goes in the background.
    fn give_up(&mut self, report: bool) {
        self.queue.leave(&mut self.tokens);
        self.revoke.stop();
        self.held = None;
        self.suspended = false;
        // Answered in every state (a lock lost or never granted is released too), so that
        // whoever asked never waits for nothing.
        if report {
            self.events.push_back(LockEvent::Released);
        }
        if self.closing {
            self.done = true;
        }
    }

    fn on_command(&mut self, now: Instant, command: LockCommand) {
        match command {
            LockCommand::Acquire { deadline } => {
                let name = self.lock_name.clone();
                self.acquire(now, deadline, &name, CreateMode::EphemeralSequential);
            }
            LockCommand::AcquireNamed { name, deadline } => {
                self.acquire(now, deadline, &name, CreateMode::Ephemeral)
            }
            LockCommand::Release => self.give_up(true),
            LockCommand::Close => {
                self.closing = true;
                self.give_up(true);
            }
            LockCommand::MakeRevocable => {
                self.revocable = true;
                if let (Some(lease), false) = (&self.held, self.revoke.is_on()) {
                    let node = lease.node.clone();
                    self.revoke.watch(&node, &mut self.tokens);
                }
            }
        }
    }

    fn acquire(&mut self, now: Instant, deadline: Option<Instant>, name: &str, mode: CreateMode) {
        if !self.queue.is_idle() || self.closing {
            self.events
                .push_back(LockEvent::AcquireFailed(Error::InvalidArgument(
                    "the lock is already held or being acquired by this handle".into(),
                )));
            return;
        }
        self.deadline = deadline;
        if deadline.is_some_and(|d| now >= d) {
            self.events
                .push_back(LockEvent::AcquireFailed(Error::Timeout));
            return;
        }
        self.queue.name_next(name, mode);
        self.queue.join(&mut self.tokens);
        self.absorb();
    }
}

impl Machine for LockMachine {
    type Command = LockCommand;
    type Event = LockEvent;

    fn handle(&mut self, now: Instant, input: Input<LockCommand>) {
        let tokens = &mut self.tokens;
        let revocation = match &input {
            Input::OpDone { token, result } => self.revoke.handle_op(*token, result, tokens),
            Input::Watch { token, .. } => self.revoke.handle_watch(*token, tokens),
            _ => false,
        };
        if revocation {
            return self.absorb();
        }
        match sub::route(&mut self.queue, input, &mut self.tokens) {
            None => self.absorb(),
            Some(Input::Connection { state, session_id }) => self.on_connection(state, session_id),
            Some(Input::Timeout) => self.on_timeout(now),
            Some(Input::Command(c)) => self.on_command(now, c),
            Some(Input::OpDone { .. } | Input::Watch { .. }) => {} // routed
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.queue.poll_op().or_else(|| self.revoke.poll_op())
    }

    fn poll_event(&mut self) -> Option<LockEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.is_acquiring())
    }

    fn is_done(&self) -> bool {
        self.done && self.queue.is_done() && self.revoke.is_done()
    }
}
