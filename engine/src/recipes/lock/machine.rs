//! The sans-IO lock core shared by [`Mutex`](super::Mutex), the leader selector and the
//! semaphores: Curator's `LockInternals` with pipelining and fencing.
//!
//! ```text
//!            Acquire
//!   Idle ───────────────► Creating ──(created; pipelined children)──► Checking
//!    ▲                       │ failed                                  │  │
//!    │                       ▼                              index < max │  │ else
//!    │◄──────────── AcquireFailed                                      ▼  ▼
//!    │                                                          Held   Watching (getData watch
//!    │              Release / Close / deadline                   │       on the predecessor)
//!    └──────────── Idle; the node's guaranteed delete ◄──────────┘       │ fired / NoNode
//!                  goes on in the background                              └──► Checking
//! ```
//!
//! Giving a node up never blocks the machine: its guaranteed delete (or, for a create still
//! in flight, the create and then the delete) runs in the background while the machine is
//! already idle, so a release followed by an acquire sends delete, create and listing in one
//! batch — ZooKeeper applies them in that order. A waiter whose predecessor is deleted lists
//! again before it holds, even when that predecessor was first: a watch event alone proves
//! nothing about our own session (a client whose requests no longer reach the server still
//! receives events, and counts them as contact, while the ensemble expires its session and
//! the next waiter takes over); the listing's round trip does.
//!
//! The create and the `getChildren` of the lock directory go out together: ZooKeeper applies
//! one session's requests in order, so the listing already contains our node. A connection
//! loss is never guessed at: the protected create finds its node again by UUID, and a listing
//! lost in flight is simply asked for again once connected.

use std::collections::VecDeque;

use crate::framework::guaranteed::GuaranteedDelete;
use crate::framework::link::Link;
use crate::framework::{ConnectionState, ErrorPolicy};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::recipes::enroll::{Enroll, Listing};
use crate::recipes::order::{position, sorted, Position};
use crate::rng::Rng;
use crate::time::Instant;
use crate::{path, Error};

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
    /// Release the held lock (or abandon an acquire in progress).
    Release,
    /// Release or abandon, then stop for good.
    Close,
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
}

/// A node being given up in the background.
#[derive(Debug)]
enum Cleanup {
    /// Its create is still in flight: delete what it makes.
    Create(Box<Enroll>),
    Delete(GuaranteedDelete),
}

#[derive(Debug)]
enum State {
    Idle,
    /// The protected create (and the listing behind it) is in flight.
    Creating(Box<Enroll>),
    /// Our node exists; the listing under `pending` is in flight (or, when `None`, to be sent
    /// once the connection is back after `epoch`, the link epoch of the last attempt).
    Checking {
        lease: Lease,
        pending: Option<Token>,
        epoch: u64,
    },
    /// Waiting for the predecessor; `pending` is the getData watch op, sent at `epoch`.
    Watching {
        lease: Lease,
        pending: Token,
        epoch: u64,
    },
    Held {
        lease: Lease,
        suspended: bool,
    },
    /// The session died under an acquire: start again once connected.
    Restarting,
}

/// The lock core machine.
#[derive(Debug)]
pub struct LockMachine {
    dir: String,
    lock_name: String,
    max_leases: usize,
    data: Vec<u8>,
    policy: ErrorPolicy,
    rng: Rng,
    tokens: Tokens,
    link: Link,
    /// The link epoch when the current attempt began.
    attempt_epoch: u64,
    state: State,
    deadline: Option<Instant>,
    /// Nodes given up, being deleted in the background.
    cleanup: Vec<Cleanup>,
    closing: bool,
    done: bool,
    ops: VecDeque<(Token, Op)>,
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
        LockMachine {
            dir,
            lock_name: lock_name.to_owned(),
            max_leases,
            data,
            policy,
            rng,
            tokens: Tokens::default(),
            link: Link::default(),
            attempt_epoch: 0,
            state: State::Idle,
            deadline: None,
            cleanup: Vec::new(),
            closing: false,
            done: false,
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The held lease, if the lock is ours and the connection is not suspended.
    pub fn lease(&self) -> Option<&Lease> {
        match &self.state {
            State::Held {
                lease,
                suspended: false,
            } => Some(lease),
            _ => None,
        }
    }

    /// Our node while acquiring or holding.
    pub fn node(&self) -> Option<&str> {
        match &self.state {
            State::Checking { lease, .. }
            | State::Watching { lease, .. }
            | State::Held { lease, .. } => Some(&lease.node),
            _ => None,
        }
    }

    /// True while an acquire is in progress.
    pub fn is_acquiring(&self) -> bool {
        matches!(
            self.state,
            State::Creating(_)
                | State::Checking { .. }
                | State::Watching { .. }
                | State::Restarting
        )
    }

    fn send(&mut self, op: Op) -> Token {
        let token = self.tokens.next();
        self.ops.push_back((token, op));
        token
    }

    fn list(&mut self) -> Token {
        let path = self.dir.clone();
        self.send(Op::GetChildren { path, watch: false })
    }

    fn start_attempt(&mut self) {
        self.attempt_epoch = self.link.epoch();
        let enroll = Enroll::start(
            &self.dir,
            &self.lock_name,
            self.data.clone(),
            &self.link,
            &mut self.rng,
            &mut self.tokens,
        );
        self.state = State::Creating(Box::new(enroll));
        self.pump_create();
    }

    fn pump_create(&mut self) {
        if let State::Creating(enroll) = &mut self.state {
            while let Some(op) = enroll.poll_op() {
                self.ops.push_back(op);
            }
        }
        self.after_create();
    }

    fn on_op_done(&mut self, now: Instant, token: Token, result: Result<OpResult, Error>) {
        for c in &mut self.cleanup {
            let mine = match c {
                Cleanup::Create(enroll) => {
                    enroll.handle_op_done(now, token, &result, &mut self.tokens)
                }
                Cleanup::Delete(delete) => {
                    delete.handle_op_done(now, token, &result, &mut self.tokens)
                }
            };
            if mine {
                return self.pump_cleanup();
            }
        }
        match &mut self.state {
            State::Creating(enroll) => {
                let mine = enroll.handle_op_done(now, token, &result, &mut self.tokens);
                if mine {
                    self.pump_create();
                }
            }
            State::Checking {
                lease,
                pending,
                epoch,
            } if *pending == Some(token) => {
                let (lease, epoch) = (lease.clone(), *epoch);
                self.on_listing(lease, epoch, result);
            }
            State::Watching {
                lease,
                pending,
                epoch,
                ..
            } if *pending == token => match result {
                Ok(_) => {} // the watch is armed; wait for it
                Err(Error::NoNode) => {
                    let lease = lease.clone();
                    self.check(lease);
                }
                Err(_) => {
                    // Lost in flight: list again once the connection is back.
                    let (lease, epoch) = (lease.clone(), *epoch);
                    self.state = State::Checking {
                        lease,
                        pending: None,
                        epoch,
                    };
                    self.resume();
                }
            },
            _ => {} // a reply to an op of an earlier state
        }
    }

    /// The protected create may have finished: move on.
    fn after_create(&mut self) {
        let State::Creating(enroll) = &mut self.state else {
            return;
        };
        let Some(outcome) = enroll.poll_outcome() else {
            return;
        };
        match outcome {
            Ok((created, listing)) => {
                let lease = Lease {
                    node: created.path,
                    token: created.stat.czxid,
                };
                // The listing went out no earlier than the attempt began.
                let epoch = self.attempt_epoch;
                match listing {
                    Listing::Ready(result) => self.on_listing(lease, epoch, result),
                    Listing::InFlight(token) => {
                        self.state = State::Checking {
                            lease,
                            pending: Some(token),
                            epoch,
                        }
                    }
                    Listing::Needed => self.check(lease),
                }
            }
            Err(e) if e.is_session_lost() => {
                self.state = State::Restarting;
                self.resume();
            }
            Err(e) => {
                self.state = State::Idle;
                self.events.push_back(LockEvent::AcquireFailed(e));
            }
        }
    }

    fn check(&mut self, lease: Lease) {
        let epoch = self.link.epoch();
        let pending = self.link.is_connected().then(|| self.list());
        self.state = State::Checking {
            lease,
            pending,
            epoch,
        };
    }

    fn on_listing(&mut self, lease: Lease, epoch: u64, result: Result<OpResult, Error>) {
        match result {
            Ok(OpResult::Children { children, .. }) => {
                let children = sorted(children, &self.lock_name);
                match position(&children, path::name(&lease.node), self.max_leases) {
                    Position::Holds => self.grant(lease),
                    Position::Waits { predecessor } => {
                        let epoch = self.link.epoch();
                        let pending = self.send(Op::GetData {
                            path: path::join(&self.dir, &predecessor),
                            watch: true,
                        });
                        self.state = State::Watching {
                            lease,
                            pending,
                            epoch,
                        };
                    }
                    // Our node is gone (deleted by someone, or the session died): start over.
                    Position::Missing => self.start_attempt(),
                }
            }
            Ok(other) => {
                self.state = State::Idle;
                self.events
                    .push_back(LockEvent::AcquireFailed(Error::CorruptData {
                        path: self.dir.clone(),
                        reason: format!("unexpected reply {other:?} to getChildren"),
                    }));
            }
            // The directory itself vanished (a reaped container): our node went with it.
            Err(Error::NoNode) => self.start_attempt(),
            Err(_) => {
                self.state = State::Checking {
                    lease,
                    pending: None,
                    epoch,
                };
                self.resume();
            }
        }
    }

    /// Deletes `node` in the background (guaranteed).
    fn forget(&mut self, node: String) {
        let mut delete = GuaranteedDelete::new(node, None);
        delete.start(&mut self.tokens);
        self.cleanup.push(Cleanup::Delete(delete));
        self.pump_cleanup();
    }

    /// Collects the background clean-up's ops and drops what has finished.
    fn pump_cleanup(&mut self) {
        let mut i = 0;
        while i < self.cleanup.len() {
            let finished = match &mut self.cleanup[i] {
                Cleanup::Create(enroll) => {
                    while let Some(op) = enroll.poll_op() {
                        self.ops.push_back(op);
                    }
                    match enroll.poll_outcome() {
                        None => false,
                        Some(Ok((created, _))) => {
                            let mut delete = GuaranteedDelete::new(created.path, None);
                            delete.start(&mut self.tokens);
                            self.cleanup[i] = Cleanup::Delete(delete);
                            continue; // collect the delete's op
                        }
                        // Nothing was created (a failed protected create cleans up after itself).
                        Some(Err(_)) => true,
                    }
                }
                Cleanup::Delete(delete) => {
                    while let Some(op) = delete.poll_op() {
                        self.ops.push_back(op);
                    }
                    // A failed guaranteed delete means the session is gone, and the node with it.
                    delete.poll_outcome().is_some()
                }
            };
            if finished {
                self.cleanup.remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Sends what a state waits for once the connection is back.
    fn resume(&mut self) {
        match &self.state {
            State::Restarting if self.link.is_connected() => self.start_attempt(),
            State::Checking {
                lease,
                pending: None,
                epoch,
            } if self.link.ready_after(*epoch) => {
                let lease = lease.clone();
                self.check(lease);
            }
            _ => {}
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        let new_session = session_id != self.link.session_id() && self.link.session_id() != 0;
        self.link.handle(state, session_id);
        for c in &mut self.cleanup {
            match c {
                Cleanup::Create(enroll) => {
                    enroll.handle_connection(state, session_id, &mut self.tokens)
                }
                Cleanup::Delete(delete) => {
                    delete.handle_connection(state, session_id, &mut self.tokens)
                }
            }
        }
        self.pump_cleanup();
        match &mut self.state {
            State::Creating(enroll) => {
                enroll.handle_connection(state, session_id, &mut self.tokens);
                self.pump_create();
                return;
            }
            State::Held { suspended, .. } => match state {
                ConnectionState::Suspended if self.policy.is_error_state(state) && !*suspended => {
                    *suspended = true;
                    self.events.push_back(LockEvent::Suspended);
                }
                // LOST may be injected client-side while the session still lives on the
                // ensemble (and comes back): the node is given up either way, and deleted so
                // that it cannot block the others for as long as that session lives.
                ConnectionState::Lost => self.lose(),
                _ if self.link.is_connected() && new_session => self.lose(),
                _ if self.link.is_connected() && *suspended => {
                    *suspended = false;
                    self.events.push_back(LockEvent::Reconnected);
                }
                _ => {}
            },
            State::Checking { lease, .. } | State::Watching { lease, .. }
                if state == ConnectionState::Lost || (self.link.is_connected() && new_session) =>
            {
                // As for a held lock: our node may outlive the LOST; delete it, start over.
                let node = lease.node.clone();
                self.state = State::Restarting;
                self.forget(node);
            }
            _ => {}
        }
        self.resume();
    }

    /// The session was (or may have been) lost while we held the lock.
    fn lose(&mut self) {
        if let State::Held { lease, .. } = std::mem::replace(&mut self.state, State::Idle) {
            self.forget(lease.node);
        }
        self.events.push_back(LockEvent::Lost);
    }

    /// The predecessor was deleted (or changed): list again.
    fn on_watch(&mut self, token: Token) {
        let State::Watching { lease, pending, .. } = &self.state else {
            return;
        };
        if *pending != token {
            return;
        }
        self.check(lease.clone());
    }

    fn grant(&mut self, lease: Lease) {
        self.deadline = None;
        self.events.push_back(LockEvent::Acquired(lease.clone()));
        self.state = State::Held {
            lease,
            suspended: false,
        };
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
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Creating(enroll) => {
                self.cleanup.push(Cleanup::Create(enroll));
                self.pump_cleanup();
            }
            State::Checking { lease, .. } | State::Watching { lease, .. } => {
                self.forget(lease.node)
            }
            State::Held { lease, .. } => self.forget(lease.node),
            State::Idle | State::Restarting => {}
        }
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
                if !matches!(self.state, State::Idle) || self.closing {
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
                self.start_attempt();
            }
            LockCommand::Release => self.give_up(true),
            LockCommand::Close => {
                self.closing = true;
                self.give_up(true);
            }
        }
    }
}

impl Machine for LockMachine {
    type Command = LockCommand;
    type Event = LockEvent;

    fn handle(&mut self, now: Instant, input: Input<LockCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_op_done(now, token, result),
            Input::Watch { token, .. } => self.on_watch(token),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Timeout => self.on_timeout(now),
            Input::Command(c) => self.on_command(now, c),
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<LockEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.filter(|_| self.is_acquiring())
    }

    fn is_done(&self) -> bool {
        self.done && self.cleanup.is_empty()
    }
}
