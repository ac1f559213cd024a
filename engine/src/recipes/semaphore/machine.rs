//! The sans-IO semaphore: Curator's `InterProcessSemaphoreV2` over two lease queues.
//!
//! The creation mutex is a lease queue in `<path>/locks` (`lock-` nodes, one holder); each
//! lease is a lease queue in `<path>/leases` (`lease-` nodes) under the count rule
//! (`CountLeases`: held while the directory has at most `max` children). A lease is created
//! only while the creation mutex is ours, so at most one created-but-waiting lease exists at a
//! time and waiters never block each other. The mutex is released as soon as the lease is
//! granted; its delete goes out in the same batch as the next step (the next lease's mutex
//! create when acquiring several).
//!
//! Losing the session while acquiring gives the waiting lease up (it must not be created again
//! without the mutex) and takes the mutex again once connected. Held leases are lost with the
//! session ([`SemaphoreEvent::Lost`]).

use std::collections::VecDeque;

use crate::framework::link::Link;
use crate::framework::sub::{Reply, Sub};
use crate::framework::{ConnectionState, ErrorPolicy};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::recipes::lease::{LeaseQueue, Mode, Turn};
use crate::recipes::lock::Lease;
use crate::recipes::order::{CountLeases, MaxLeases};
use crate::recipes::shared::codec::decode_count;
use crate::rng::Rng;
use crate::time::Instant;
use crate::{path, Error};

/// Commands for the semaphore machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SemaphoreCommand {
    /// Acquire `count` leases, all or none; give up at `deadline`.
    Acquire {
        /// How many leases.
        count: usize,
        /// When to give up (`None`: never).
        deadline: Option<Instant>,
    },
    /// Give the lease on this node back.
    Release {
        /// The lease node.
        node: String,
    },
    /// The caller of the current (or just finished) acquire is gone (its future was dropped,
    /// as a Curator acquire is interrupted): an acquire in progress ends as at its deadline,
    /// and the leases granted to an acquire nobody received are given back.
    Abandon,
    /// Give everything up, then stop for good.
    Close,
}

/// What the semaphore machine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SemaphoreEvent {
    /// The leases of an acquire, all granted.
    Acquired(Vec<Lease>),
    /// The acquire ended without leases ([`Error::Timeout`] past the deadline); those granted
    /// so far were given back.
    AcquireFailed(Error),
    /// The connection is suspended: the held leases must not be acted on until
    /// [`SemaphoreEvent::Reconnected`] (standard error policy only).
    Suspended,
    /// Connected again with the same session: the leases are still ours.
    Reconnected,
    /// A held lease was lost with the session.
    Lost(Lease),
    /// A lease was given back (its node is being deleted in the background).
    Released(String),
    /// The max leases changed (read from the count node).
    MaxLeases(usize),
}

/// Where the max leases come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MaxSource {
    /// A fixed number.
    Fixed(usize),
    /// A `SharedCount`-compatible node (4-byte big-endian), watched.
    Node(String),
}

/// An acquire in progress.
#[derive(Debug)]
struct Acquiring {
    /// Leases still to get.
    want: usize,
    /// Granted so far (their queues are in `leases`).
    got: Vec<Lease>,
    /// The lease being created or waiting, once the creation mutex is ours.
    queue: Option<LeaseQueue>,
    deadline: Option<Instant>,
}

/// The count node's read: `pending` getData (with a watch) sent at `epoch`.
#[derive(Debug)]
struct CountRead {
    path: String,
    pending: Option<Token>,
    epoch: u64,
}

/// The semaphore machine.
#[derive(Debug)]
pub struct SemaphoreMachine {
    leases_dir: String,
    data: Vec<u8>,
    policy: ErrorPolicy,
    rng: Rng,
    tokens: Tokens,
    link: Link,
    /// The creation mutex.
    creation: LeaseQueue,
    acquiring: Option<Acquiring>,
    /// The lease nodes of the last acquire granted, until the next acquire starts: an
    /// [`SemaphoreCommand::Abandon`] gives them back (nobody received them).
    unclaimed: Vec<String>,
    /// Held leases (and given-up ones still being deleted).
    leases: Vec<(Option<Lease>, LeaseQueue)>,
    /// The max leases, once known.
    max: Option<usize>,
    count: Option<CountRead>,
    /// The count node's content is corrupt: acquires fail with this until it is fixed.
    count_error: Option<Error>,
    suspended: bool,
    closing: bool,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<SemaphoreEvent>,
}

impl SemaphoreMachine {
    /// A semaphore on `dir` (`<dir>/locks`, `<dir>/leases`), lease nodes carrying `data`.
    pub fn new(
        dir: &str,
        max: MaxSource,
        data: Vec<u8>,
        policy: ErrorPolicy,
        mut rng: Rng,
    ) -> Self {
        let rule = MaxLeases {
            name: "lock-".into(),
            max: 1,
        };
        let locks = path::join(dir, "locks");
        let creation_rng = Rng::new(rng.next_u64(), 1);
        let (max, count) = match max {
            MaxSource::Fixed(n) => (Some(n), None),
            MaxSource::Node(path) => (
                None,
                Some(CountRead {
                    path,
                    pending: None,
                    epoch: 0,
                }),
            ),
        };
        SemaphoreMachine {
            leases_dir: path::join(dir, "leases"),
            data,
            policy,
            rng,
            tokens: Tokens::default(),
            link: Link::default(),
            creation: LeaseQueue::new(
                locks,
                "lock-",
                Vec::new(),
                Box::new(rule),
                Mode::Lock,
                creation_rng,
            ),
            acquiring: None,
            unclaimed: Vec::new(),
            leases: Vec::new(),
            max,
            count,
            count_error: None,
            suspended: false,
            closing: false,
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The leases held, in grant order (also while suspended: see
    /// [`is_suspended`](Self::is_suspended)).
    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        self.leases.iter().filter_map(|(l, _)| l.as_ref())
    }

    /// True while the held leases must not be acted on (SUSPENDED, standard policy).
    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// True while an acquire is in progress.
    pub fn is_acquiring(&self) -> bool {
        self.acquiring.is_some()
    }

    /// The max leases, once known.
    pub fn max_leases(&self) -> Option<usize> {
        self.max
    }

    /// The lease node being created or waiting, if any.
    pub fn waiting_node(&self) -> Option<&str> {
        let queue = self.acquiring.as_ref()?.queue.as_ref()?;
        queue.node().map(|n| n.path.as_str())
    }

    /// Takes the creation mutex (when the max is known; else once it is).
    fn take_mutex(&mut self) {
        if self.max.is_some() && self.creation.is_idle() {
            self.creation.join_when_connected(&mut self.tokens);
        }
    }

    /// Moves every sub-machine's ops out and takes in their turns.
    fn settle(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(turn) = self.creation.poll_outcome() {
                progressed = true;
                self.on_creation(turn);
            }
            let turn = self
                .acquiring
                .as_mut()
                .and_then(|a| a.queue.as_mut())
                .and_then(|q| q.poll_outcome());
            if let Some(turn) = turn {
                progressed = true;
                self.on_lease(turn);
            }
            for i in 0..self.leases.len() {
                while let Some(turn) = self.leases[i].1.poll_outcome() {
                    if turn == Turn::Lost {
                        if let Some(lease) = self.leases[i].0.take() {
                            self.events.push_back(SemaphoreEvent::Lost(lease));
                        }
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        self.creation.drain_ops(&mut self.ops);
        if let Some(q) = self.acquiring.as_mut().and_then(|a| a.queue.as_mut()) {
            q.drain_ops(&mut self.ops);
        }
        for (_, q) in &mut self.leases {
            q.drain_ops(&mut self.ops);
        }
        self.leases
            .retain(|(lease, q)| lease.is_some() || !q.is_done());
    }

    fn on_creation(&mut self, turn: Turn) {
        match turn {
            Turn::Holds(_) => {
                let Some(acquiring) = self.acquiring.as_mut() else {
                    // Granted after the acquire ended: let it go.
                    return self.creation.leave(&mut self.tokens);
                };
                if acquiring.queue.is_none() {
                    let rng = Rng::new(self.rng.next_u64(), 2);
                    let rule = Box::new(CountLeases {
                        max: self.max.unwrap_or(0),
                    });
                    let dir = self.leases_dir.clone();
                    // Curator's lease node: `<path>/leases/_c_<uuid>-lease-<seq>`.
                    let mut queue =
                        LeaseQueue::new(dir, "lease-", self.data.clone(), rule, Mode::Lock, rng);
                    queue.handle_link(&self.link, &mut self.tokens);
                    queue.join(&mut self.tokens);
                    acquiring.queue = Some(queue);
                }
            }
            Turn::Waits => {}
            // The mutex went with the session: take it again once connected.
            Turn::Lost => {
                if self.acquiring.is_some() {
                    self.take_mutex();
                }
            }
            Turn::Failed(e) => self.fail(e),
        }
    }

    fn on_lease(&mut self, turn: Turn) {
        match turn {
            Turn::Holds(node) => {
                let lease = Lease {
                    node: node.path,
                    token: node.stat.czxid,
                };
                let acquiring = self.acquiring.as_mut().expect("a lease queue is acquiring");
                let queue = acquiring.queue.take().expect("the granted queue");
                acquiring.got.push(lease.clone());
                acquiring.want -= 1;
                self.leases.push((Some(lease), queue));
                // The mutex's delete goes out with the next step.
                self.creation.leave(&mut self.tokens);
                if acquiring.want > 0 {
                    self.creation.join_when_connected(&mut self.tokens);
                } else {
                    let got = std::mem::take(&mut acquiring.got);
                    self.acquiring = None;
                    self.unclaimed = got.iter().map(|l| l.node.clone()).collect();
                    self.events.push_back(SemaphoreEvent::Acquired(got));
                }
            }
            Turn::Waits | Turn::Lost => {}
            Turn::Failed(e) => self.fail(e),
        }
    }

    /// Ends the acquire without leases: what it took goes back, in the background.
    fn fail(&mut self, error: Error) {
        let Some(mut acquiring) = self.acquiring.take() else {
            return;
        };
        if let Some(mut queue) = acquiring.queue.take() {
            queue.leave(&mut self.tokens);
            self.leases.push((None, queue));
        }
        for lease in acquiring.got {
            self.give_back(&lease.node);
        }
        self.creation.leave(&mut self.tokens);
        self.events.push_back(SemaphoreEvent::AcquireFailed(error));
    }

    /// Gives the held lease on `node` back; false when it is not held.
    fn give_back(&mut self, node: &str) -> bool {
        let Some((lease, queue)) = self
            .leases
            .iter_mut()
            .find(|(l, _)| l.as_ref().is_some_and(|l| l.node == node))
        else {
            return false;
        };
        *lease = None;
        queue.leave(&mut self.tokens);
        true
    }

    fn on_command(&mut self, now: Instant, command: SemaphoreCommand) {
        match command {
            SemaphoreCommand::Acquire { count, deadline } => {
                if self.acquiring.is_some() || self.closing || count == 0 {
                    let why = if count == 0 {
                        "acquire at least one lease"
                    } else {
                        "one acquire at a time per handle, and none after close"
                    };
                    let error = Error::InvalidArgument(why.into());
                    return self.events.push_back(SemaphoreEvent::AcquireFailed(error));
                }
                if let Some(error) = self.count_error.clone() {
                    return self.events.push_back(SemaphoreEvent::AcquireFailed(error));
                }
                if deadline.is_some_and(|d| now >= d) {
                    let error = Error::Timeout;
                    return self.events.push_back(SemaphoreEvent::AcquireFailed(error));
                }
                self.unclaimed.clear();
                self.acquiring = Some(Acquiring {
                    want: count,
                    got: Vec::new(),
                    queue: None,
                    deadline,
                });
                self.take_mutex();
            }
            SemaphoreCommand::Release { node } => {
                self.give_back(&node);
                self.events.push_back(SemaphoreEvent::Released(node));
            }
            SemaphoreCommand::Abandon if self.acquiring.is_some() => self.fail(Error::Timeout),
            SemaphoreCommand::Abandon => {
                for node in std::mem::take(&mut self.unclaimed) {
                    if self.give_back(&node) {
                        self.events.push_back(SemaphoreEvent::Released(node));
                    }
                }
            }
            SemaphoreCommand::Close => {
                self.closing = true;
                self.fail(Error::Closed);
                let held: Vec<String> = self.held_nodes();
                for node in held {
                    self.give_back(&node);
                    self.events.push_back(SemaphoreEvent::Released(node));
                }
                self.count = None;
            }
        }
    }

    fn held_nodes(&self) -> Vec<String> {
        self.leases().map(|l| l.node.clone()).collect()
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        let old = self.link.session_id();
        self.link.handle(state, session_id);
        let link = self.link;
        let gone = link.is_lost() || (link.is_connected() && old != 0 && session_id != old);
        if gone {
            // A waiting lease must not be created again without the mutex: give it up.
            if let Some(mut queue) = self.acquiring.as_mut().and_then(|a| a.queue.take()) {
                queue.leave(&mut self.tokens);
                self.leases.push((None, queue));
            }
        }
        self.creation.handle_link(&link, &mut self.tokens);
        if let Some(q) = self.acquiring.as_mut().and_then(|a| a.queue.as_mut()) {
            q.handle_link(&link, &mut self.tokens);
        }
        for (_, q) in &mut self.leases {
            q.handle_link(&link, &mut self.tokens);
        }
        if self.acquiring.is_some() && (gone || self.creation.is_idle()) {
            self.take_mutex();
        }
        self.read_count();
        let holding = self.leases.iter().any(|(l, _)| l.is_some());
        if !holding {
            self.suspended = false;
        } else if state == ConnectionState::Suspended
            && self.policy.is_error_state(state)
            && !self.suspended
        {
            self.suspended = true;
            self.events.push_back(SemaphoreEvent::Suspended);
        } else if link.is_connected() && self.suspended {
            self.suspended = false;
            self.events.push_back(SemaphoreEvent::Reconnected);
        }
    }

    /// Reads the count node with a watch (once connected, when no read is pending).
    fn read_count(&mut self) {
        let Some(count) = self.count.as_mut() else {
            return;
        };
        if count.pending.is_some() || !self.link.is_connected() {
            return;
        }
        let token = self.tokens.next();
        let path = count.path.clone();
        self.ops
            .push_back((token, Op::GetData { path, watch: true }));
        count.pending = Some(token);
        count.epoch = self.link.epoch();
    }

    /// The count node's reply: a new max, or an error.
    fn on_count(&mut self, result: &Reply) {
        let path = self
            .count
            .as_ref()
            .map(|c| c.path.clone())
            .unwrap_or_default();
        match result {
            Ok(OpResult::Data { data, .. }) => match decode_count(&path, data) {
                Ok(count) => {
                    self.count_error = None;
                    self.set_max(count.max(0) as usize);
                }
                Err(error) => {
                    self.count_error = Some(error.clone());
                    self.fail(error);
                }
            },
            // No count node (yet): wait for it.
            Err(Error::NoNode) => {
                let token = self.tokens.next();
                let watch = Op::Exists { path, watch: true };
                self.ops.push_back((token, watch));
                if let Some(count) = self.count.as_mut() {
                    count.pending = Some(token);
                }
            }
            // It exists now (created between our read and the exists): read it.
            Ok(OpResult::Exists(Some(_))) => {
                if let Some(count) = self.count.as_mut() {
                    count.pending = None;
                }
                self.read_count();
            }
            Ok(OpResult::Exists(None)) => {} // the exists watch is armed
            Ok(other) => {
                let error = Error::unexpected_reply(&path, "getData", other);
                self.fail(error);
            }
            Err(_) => {
                // Lost in flight: read again once connected.
                if let Some(count) = self.count.as_mut() {
                    count.pending = None;
                }
                self.read_count();
            }
        }
    }

    fn set_max(&mut self, max: usize) {
        if self.max == Some(max) {
            return;
        }
        self.max = Some(max);
        self.events.push_back(SemaphoreEvent::MaxLeases(max));
        let rule = Box::new(CountLeases { max });
        if let Some(q) = self.acquiring.as_mut().and_then(|a| a.queue.as_mut()) {
            q.set_rule(rule, &mut self.tokens);
        }
        if self.acquiring.is_some() {
            self.take_mutex();
        }
    }

    fn on_timeout(&mut self, now: Instant) {
        let expired = self.acquiring.as_ref().and_then(|a| a.deadline);
        if expired.is_some_and(|d| now >= d) {
            self.fail(Error::Timeout);
        }
    }

    fn on_op(&mut self, token: Token, result: &Reply) {
        if self
            .count
            .as_ref()
            .is_some_and(|c| c.pending == Some(token))
        {
            return self.on_count(result);
        }
        let tokens = &mut self.tokens;
        if self.creation.handle_op(token, result, tokens) {
            return;
        }
        if let Some(q) = self.acquiring.as_mut().and_then(|a| a.queue.as_mut()) {
            if q.handle_op(token, result, tokens) {
                return;
            }
        }
        for (_, q) in &mut self.leases {
            if q.handle_op(token, result, tokens) {
                return;
            }
        }
    }

    fn on_watch(&mut self, token: Token) {
        if self
            .count
            .as_ref()
            .is_some_and(|c| c.pending == Some(token))
        {
            // The count changed (or went): read it again.
            if let Some(count) = self.count.as_mut() {
                count.pending = None;
            }
            return self.read_count();
        }
        let tokens = &mut self.tokens;
        if self.creation.handle_watch(token, tokens) {
            return;
        }
        if let Some(q) = self.acquiring.as_mut().and_then(|a| a.queue.as_mut()) {
            q.handle_watch(token, tokens);
        }
    }
}

impl Machine for SemaphoreMachine {
    type Command = SemaphoreCommand;
    type Event = SemaphoreEvent;

    fn handle(&mut self, now: Instant, input: Input<SemaphoreCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_op(token, &result),
            Input::Watch { token, .. } => self.on_watch(token),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Timeout => self.on_timeout(now),
            Input::Command(c) => self.on_command(now, c),
        }
        self.settle();
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<SemaphoreEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.acquiring.as_ref().and_then(|a| a.deadline)
    }

    fn is_done(&self) -> bool {
        self.closing
            && self.acquiring.is_none()
            && self.creation.is_done()
            && self.leases.is_empty()
            && self.ops.is_empty()
    }
}
