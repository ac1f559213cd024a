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
//!    └───────────── Deleting (guaranteed) ◄──────────────────────┘       │ fired / NoNode
//!                                                                         └──► Checking
//! ```
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
    /// Deleting our node; `report` tells whether to say `Released` when done.
    Deleting {
        delete: GuaranteedDelete,
        report: bool,
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
    /// Give up the node as soon as the create finishes (deadline or close during Creating).
    abandon: bool,
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
            abandon: false,
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
            State::Deleting { delete, .. } => {
                let mine = delete.handle_op_done(now, token, &result, &mut self.tokens);
                if mine {
                    self.pump_delete();
                }
            }
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
                if self.abandon {
                    self.delete(lease.node, false);
                    return;
                }
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
            Err(e) if e.is_session_lost() && !self.abandon => {
                self.state = State::Restarting;
                self.resume();
            }
            Err(e) => {
                self.state = State::Idle;
                if !self.abandon {
                    self.events.push_back(LockEvent::AcquireFailed(e));
                }
                self.finish_if_closing();
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
                    Position::Holds => {
                        self.deadline = None;
                        self.events.push_back(LockEvent::Acquired(lease.clone()));
                        self.state = State::Held {
                            lease,
                            suspended: false,
                        };
                    }
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

    fn delete(&mut self, node: String, report: bool) {
        let mut delete = GuaranteedDelete::new(node, None);
        delete.start(&mut self.tokens);
        self.state = State::Deleting { delete, report };
        self.pump_delete();
    }

    fn pump_delete(&mut self) {
        let State::Deleting { delete, report } = &mut self.state else {
            return;
        };
        while let Some(op) = delete.poll_op() {
            self.ops.push_back(op);
        }
        if let Some(_outcome) = delete.poll_outcome() {
            // A failed guaranteed delete means the session is gone, and the ephemeral with it.
            if *report {
                self.events.push_back(LockEvent::Released);
            }
            self.state = State::Idle;
            self.finish_if_closing();
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
        match &mut self.state {
            State::Creating(enroll) => {
                enroll.handle_connection(state, session_id, &mut self.tokens);
                self.pump_create();
                return;
            }
            State::Deleting { delete, .. } => {
                delete.handle_connection(state, session_id, &mut self.tokens);
                self.pump_delete();
                return;
            }
            State::Held { suspended, .. } => match state {
                ConnectionState::Suspended if self.policy.is_error_state(state) && !*suspended => {
                    *suspended = true;
                    self.events.push_back(LockEvent::Suspended);
                }
                ConnectionState::Lost => {
                    self.state = State::Idle;
                    self.events.push_back(LockEvent::Lost);
                }
                _ if self.link.is_connected() && new_session => {
                    // Our ephemeral node lived and died with the old session.
                    self.state = State::Idle;
                    self.events.push_back(LockEvent::Lost);
                }
                _ if self.link.is_connected() && *suspended => {
                    *suspended = false;
                    self.events.push_back(LockEvent::Reconnected);
                }
                _ => {}
            },
            State::Checking { .. } | State::Watching { .. }
                if state == ConnectionState::Lost || (self.link.is_connected() && new_session) =>
            {
                self.state = State::Restarting;
            }
            _ => {}
        }
        self.resume();
    }

    fn on_timeout(&mut self, now: Instant) {
        if self.deadline.is_some_and(|d| now >= d) && self.is_acquiring() {
            self.deadline = None;
            self.events
                .push_back(LockEvent::AcquireFailed(Error::Timeout));
            self.give_up(false);
        }
    }

    /// Abandons an acquire or releases a held lock.
    fn give_up(&mut self, report: bool) {
        if let State::Creating(_) = self.state {
            // Let the create finish so that its node can be found and deleted.
            self.abandon = true;
            return;
        }
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Checking { lease, .. } | State::Watching { lease, .. } => {
                self.delete(lease.node, false)
            }
            State::Held { lease, .. } => self.delete(lease.node, report),
            other @ State::Deleting { .. } => self.state = other,
            State::Idle | State::Restarting | State::Creating(_) => self.finish_if_closing(),
        }
    }

    fn finish_if_closing(&mut self) {
        if self.closing && matches!(self.state, State::Idle) {
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
                self.abandon = false;
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
            Input::Watch { token, .. } => {
                if let State::Watching { lease, pending, .. } = &self.state {
                    if *pending == token {
                        let lease = lease.clone();
                        self.check(lease);
                    }
                }
            }
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
        self.done
    }
}
