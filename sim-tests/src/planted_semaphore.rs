//! Naive semaphore variants, each with one bug of the ones Curator's `InterProcessSemaphoreV2`
//! fixed: the semaphore suites must catch them (`tests/planted_semaphore.rs`).
//!
//! [`NaiveSemaphore`] takes one lease at a time: (creation mutex) → lease create → watched
//! listing until at most `max` leases exist → (mutex released). Its creation mutex is a plain
//! ephemeral node (`<dir>/locks/naive`), taken when its create succeeds or the node is
//! already its own session's.

use std::collections::VecDeque;

use docent::rng::Rng;
use docent::{
    Acl, ConnectionState, CreateMode, Error, Input, Instant, Machine, Op, OpResult, Token, Tokens,
};

/// The bug a [`NaiveSemaphore`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemFlaw {
    /// None: the creation mutex and protected names. The control: it must pass the checks,
    /// so that each flaw's catch is the flaw's.
    None,
    /// Leases are created without the creation mutex: several waiting leases at once, and
    /// once more exist than the max, the waiters block each other for good (CURATOR-315's
    /// cousin: the reason V2 has the mutex).
    NoCreationMutex,
    /// Plain `lease-` names: after a lost create reply it creates again, and the first lease
    /// (applied, reply lost) is an orphan of its own live session holding a permit.
    UnprotectedCreate,
}

/// Commands of a [`NaiveSemaphore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NaiveCommand {
    /// Take one lease.
    Acquire,
    /// Give the lease (held or waiting) back.
    Release,
}

/// Events of a [`NaiveSemaphore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NaiveEvent {
    /// Granted, with this token (the lease's sequence number).
    Acquired(i64),
    /// The lease must be presumed gone (LOST, SUSPENDED).
    Lost,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Mutex,
    MutexOwner,
    Create,
    List,
    Delete(String),
}

/// A minimal semaphore with one planted [`SemFlaw`].
#[derive(Debug)]
pub struct NaiveSemaphore {
    dir: String,
    max: usize,
    flaw: SemFlaw,
    prefix: String,
    tokens: Tokens,
    pending: Vec<(Token, Kind)>,
    want: bool,
    has_mutex: bool,
    /// Our lease node's name.
    lease: Option<String>,
    /// A lease create's outcome is unknown.
    unsure: bool,
    held: Option<i64>,
    deleting: Vec<String>,
    connected: bool,
    session: i64,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<NaiveEvent>,
}

impl NaiveSemaphore {
    /// A semaphore on `dir` (whose `leases` and `locks` children must exist) of `max` leases.
    pub fn new(dir: &str, max: usize, flaw: SemFlaw, mut rng: Rng) -> NaiveSemaphore {
        let prefix = match flaw {
            SemFlaw::UnprotectedCreate => String::new(),
            SemFlaw::None | SemFlaw::NoCreationMutex => format!("_c_{}-", rng.uuid()),
        };
        NaiveSemaphore {
            dir: dir.to_owned(),
            max,
            flaw,
            prefix,
            tokens: Tokens::default(),
            pending: Vec::new(),
            want: false,
            has_mutex: false,
            lease: None,
            unsure: false,
            held: None,
            deleting: Vec::new(),
            connected: false,
            session: 0,
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The token while it believes it holds.
    pub fn held(&self) -> Option<i64> {
        self.held
    }

    fn send(&mut self, op: Op, kind: Kind) {
        let token = self.tokens.next();
        self.pending.push((token, kind));
        self.ops.push_back((token, op));
    }

    fn mutex_path(&self) -> String {
        format!("{}/locks/naive", self.dir)
    }

    fn uses_mutex(&self) -> bool {
        self.flaw != SemFlaw::NoCreationMutex
    }

    /// Sends what the current step needs, once connected and nothing is in flight.
    fn resume(&mut self) {
        if !self.connected || !self.pending.is_empty() {
            return;
        }
        for node in self.deleting.clone() {
            let path = format!("{}/leases/{node}", self.dir);
            self.send(
                Op::Delete {
                    path,
                    version: None,
                },
                Kind::Delete(node),
            );
        }
        if !self.want {
            if self.has_mutex && self.held.is_some() {
                self.release_mutex();
            }
            return;
        }
        let protected = !self.prefix.is_empty();
        if self.lease.is_some() || (self.unsure && protected) {
            let path = format!("{}/leases", self.dir);
            self.send(Op::GetChildren { path, watch: true }, Kind::List);
        } else if self.uses_mutex() && !self.has_mutex {
            let op = Op::Create {
                path: self.mutex_path(),
                data: Vec::new(),
                acl: Acl::open(),
                mode: CreateMode::Ephemeral,
            };
            self.send(op, Kind::Mutex);
        } else {
            let op = Op::Create {
                path: format!("{}/leases/{}lease-", self.dir, self.prefix),
                data: Vec::new(),
                acl: Acl::open(),
                mode: CreateMode::EphemeralSequential,
            };
            self.send(op, Kind::Create);
        }
    }

    fn release_mutex(&mut self) {
        if self.has_mutex {
            self.has_mutex = false;
            let path = self.mutex_path();
            self.send(
                Op::Delete {
                    path,
                    version: None,
                },
                Kind::Delete(String::new()),
            );
        }
    }

    fn on_op(&mut self, token: Token, result: Result<OpResult, Error>) {
        let Some(i) = self.pending.iter().position(|(t, _)| *t == token) else {
            return;
        };
        let (_, kind) = self.pending.remove(i);
        match (kind, result) {
            (Kind::Mutex, Ok(_)) => self.has_mutex = true,
            (Kind::Mutex, Err(Error::NodeExists)) => {
                let path = self.mutex_path();
                self.send(Op::GetData { path, watch: true }, Kind::MutexOwner);
                return;
            }
            (Kind::MutexOwner, Ok(OpResult::Data { stat, .. })) => {
                if stat.ephemeral_owner == self.session {
                    self.has_mutex = true;
                } else {
                    return; // wait for the watch
                }
            }
            (Kind::Create, Ok(OpResult::Created { path, .. })) => {
                self.lease = path.rsplit('/').next().map(str::to_owned);
                self.unsure = false;
            }
            (Kind::Create, Err(e)) if e.is_unknown_outcome() || e.is_session_lost() => {
                self.unsure = true;
            }
            (Kind::List, Ok(OpResult::Children { children, .. })) => {
                self.on_children(children);
                return;
            }
            (Kind::Delete(node), Ok(_) | Err(Error::NoNode)) => {
                self.deleting.retain(|n| *n != node || node.is_empty());
            }
            _ => {}
        }
        self.resume();
    }

    fn on_children(&mut self, children: Vec<String>) {
        if self.lease.is_none() && self.unsure {
            // Protected: find the lease whose reply was lost by its prefix.
            self.lease = children
                .iter()
                .find(|c| c.starts_with(&self.prefix))
                .cloned();
            self.unsure = false;
            return self.resume();
        }
        let Some(lease) = self.lease.clone() else {
            return self.resume();
        };
        if !self.want {
            return;
        }
        if !children.contains(&lease) {
            self.lease = None;
            return self.resume();
        }
        if children.len() <= self.max {
            let token = lease
                .rsplit('-')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            self.want = false;
            self.held = Some(token);
            self.events.push_back(NaiveEvent::Acquired(token));
            self.release_mutex();
        }
        // Else wait for the listing's watch.
    }

    fn give_back(&mut self) {
        self.want = false;
        self.held = None;
        self.unsure = false;
        if let Some(lease) = self.lease.take() {
            self.deleting.push(lease);
        }
        self.release_mutex();
        self.resume();
    }
}

impl Machine for NaiveSemaphore {
    type Command = NaiveCommand;
    type Event = NaiveEvent;

    fn handle(&mut self, _now: Instant, input: Input<NaiveCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_op(token, result),
            Input::Watch { .. }
                if self.connected && self.pending.iter().all(|(_, k)| *k != Kind::List) =>
            {
                self.pending.retain(|(_, k)| *k != Kind::MutexOwner);
                self.resume();
            }
            Input::Connection { state, session_id } => {
                let new_session = self.session != 0 && session_id != self.session;
                self.session = session_id;
                self.connected = state.is_connected();
                if matches!(state, ConnectionState::Suspended | ConnectionState::Lost)
                    && self.held.take().is_some()
                {
                    self.events.push_back(NaiveEvent::Lost);
                }
                if new_session && self.connected {
                    self.lease = None;
                    self.has_mutex = false;
                    self.unsure = false;
                    self.deleting.clear();
                }
                if self.connected {
                    if self.pending.iter().any(|(_, k)| *k == Kind::Create) {
                        self.unsure = true;
                    }
                    self.pending.clear();
                    self.resume();
                }
            }
            Input::Command(NaiveCommand::Acquire) => {
                self.want = true;
                self.resume();
            }
            Input::Command(NaiveCommand::Release) => self.give_back(),
            _ => {}
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<NaiveEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        false
    }
}
