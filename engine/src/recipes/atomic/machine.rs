//! The sans-IO atomic value: Curator's `DistributedAtomicValue` optimistic loop, honest about
//! lost replies.
//!
//! One operation runs at a time (the others wait in order). A try reads the node (absent reads
//! as zero: empty data), computes the new value and writes it: `setData` at the version read,
//! or `create` when the node was absent (its missing parents made as containers first). A
//! `BadVersion`, `NodeExists` or `NoNode` means someone else wrote in between: the retry policy
//! says whether and when to try again (its sleeps are timeouts of the machine; its jitter comes
//! from the injected RNG).
//!
//! **A lost reply to the write ends the operation as [`AtomicStatus::Unknown`]** (so does a
//! session that ended with the write in flight: the client fails it with `SessionExpired`,
//! applied or not): the write may have been applied, and trying again would apply the change twice (what Curator's retry loop
//! does after a `ConnectionLoss`). A lost reply to a read is harmless: it is read again once
//! connected.
//!
//! ```text
//!            ┌──────────── not connected: wait for the connection ◄──────┐ read lost
//!   Run ─► read (getData) ─► compute ─► write (setData@version | create) ─┤
//!            ▲                            │ Get, CAS mismatch: done      ├─► ok: Succeeded
//!            │ policy's sleep (a timeout) │                              ├─► lost reply: Unknown
//!            └──── BadVersion / NodeExists / NoNode (policy allows) ◄────┤   (never retried)
//!                                          policy gives up: Failed ◄─────┘
//! ```

use std::collections::VecDeque;
use std::fmt;

use crate::framework::link::Link;
use crate::framework::sub::Reply;
use crate::framework::RetryPolicy;
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::recipes::shared::codec::{be_bytes, expected_version};
use crate::recipes::shared::machine::maybe_applied;
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{Acl, CreateMode};
use crate::{path, Error};

/// How many times a create makes its missing parents before reporting `NoNode`.
const PARENT_ROUNDS: u32 = 3;

/// What an atomic node holds: raw bytes, or a big-endian `i32` / `i64` (empty data is 0;
/// another length is [`Error::CorruptData`]).
pub trait AtomicData: Clone + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// Reads a node's data (empty: zero).
    fn decode(path: &str, data: &[u8]) -> Result<Self, Error>;
    /// The node's data for this value.
    fn encode(&self) -> Vec<u8>;
    /// `self + delta` (wrapping, as Java's arithmetic); `None` for values that are no numbers.
    fn plus(&self, delta: &Self) -> Option<Self>;
}

impl AtomicData for Vec<u8> {
    fn decode(_: &str, data: &[u8]) -> Result<Self, Error> {
        Ok(data.to_vec())
    }
    fn encode(&self) -> Vec<u8> {
        self.clone()
    }
    fn plus(&self, _: &Self) -> Option<Self> {
        None
    }
}

macro_rules! atomic_number {
    ($t:ty, $n:literal, $what:literal) => {
        impl AtomicData for $t {
            fn decode(path: &str, data: &[u8]) -> Result<Self, Error> {
                if data.is_empty() {
                    return Ok(0);
                }
                be_bytes::<$n>(path, data, $what).map(<$t>::from_be_bytes)
            }
            fn encode(&self) -> Vec<u8> {
                self.to_be_bytes().to_vec()
            }
            fn plus(&self, delta: &Self) -> Option<Self> {
                Some(self.wrapping_add(*delta))
            }
        }
    };
}

atomic_number!(i64, 8, "a long");
atomic_number!(i32, 4, "an int");

/// One atomic operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtomicOp<T> {
    /// Read the value.
    Get,
    /// Add to the value (numbers only).
    Add(T),
    /// Set the value, whatever it was (compare-and-set on the version read, retried).
    Set(T),
    /// Set `new` only if the value is `expected`; one try.
    CompareAndSet {
        /// The value expected.
        expected: T,
        /// The new value.
        new: T,
    },
    /// Create the node with this value, only if it does not exist; one try.
    Initialize(T),
    /// Write the value unconditionally (create it if absent).
    ForceSet(T),
}

/// How an atomic operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomicStatus {
    /// Applied (or, for `Get`, read).
    Succeeded,
    /// Not applied: a compare-and-set found another value, or the tries ran out.
    Failed,
    /// The write's reply was lost: it may or may not have been applied. Never retried.
    Unknown,
}

/// The outcome of an atomic operation (Curator's `AtomicValue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtomicResult<T> {
    /// How it ended.
    pub status: AtomicStatus,
    /// The value read before the (last) write (`initialize` and `force_set` read nothing:
    /// the value written).
    pub pre: T,
    /// The value written, or tried (`pre` when nothing was to be written).
    pub post: T,
    /// How many tries it took (reads that failed for want of a connection do not count).
    pub tries: u32,
    /// Whether it ran under the promoted lock.
    pub promoted: bool,
}

impl<T> AtomicResult<T> {
    /// True when the operation was applied.
    pub fn succeeded(&self) -> bool {
        self.status == AtomicStatus::Succeeded
    }
}

/// Commands for the atomic machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtomicCommand<T> {
    /// Run `op`, retrying under `retry`; answered by [`AtomicEvent::Done`] with `id`.
    Run {
        /// Names the request.
        id: u64,
        /// The operation.
        op: AtomicOp<T>,
        /// When to try again after a conflict.
        retry: RetryPolicy,
    },
    /// Stop for good.
    Close,
}

/// What the atomic machine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtomicEvent<T> {
    /// The operation `id` ended. An `Err` was not applied (corrupt data, refused, closed).
    Done {
        /// The request.
        id: u64,
        /// Its outcome.
        result: Result<AtomicResult<T>, Error>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started, or waiting for the connection to read.
    Idle,
    Reading(Token),
    /// A write; `created`: a create (else a setData).
    Writing {
        token: Token,
        created: bool,
    },
    Sleeping(Instant),
}

#[derive(Debug)]
struct Run<T> {
    id: u64,
    op: AtomicOp<T>,
    retry: RetryPolicy,
    started: Option<Instant>,
    tries: u32,
    /// Rounds of parent creates after a create found no parent.
    parent_rounds: u32,
    /// The connection epoch the last read was sent in.
    sent_epoch: u64,
    /// A read failed for want of a connection: try once the connection came back since.
    reconnect: bool,
    phase: Phase,
    pre: Option<T>,
    post: Option<T>,
}

/// The atomic value machine.
#[derive(Debug)]
pub struct AtomicMachine<T: AtomicData> {
    path: String,
    rng: Rng,
    tokens: Tokens,
    link: Link,
    runs: VecDeque<Run<T>>,
    closed: bool,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<AtomicEvent<T>>,
}

impl<T: AtomicData> AtomicMachine<T> {
    /// A machine for the node at `path`; retry jitter comes from `rng`.
    pub fn new(path: &str, rng: Rng) -> Self {
        AtomicMachine {
            path: path.to_owned(),
            rng,
            tokens: Tokens::default(),
            link: Link::default(),
            runs: VecDeque::new(),
            closed: false,
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    fn send(&mut self, op: Op) -> Token {
        let token = self.tokens.next();
        self.ops.push_back((token, op));
        token
    }

    /// Starts a try of the first run (when connected): a read, or the one write of the
    /// operations that need no read.
    fn try_now(&mut self, now: Instant) {
        let link = self.link;
        let path = self.path.clone();
        let Some(run) = self.runs.front_mut() else {
            return;
        };
        let ready = link.is_connected() && (!run.reconnect || link.ready_after(run.sent_epoch));
        if !ready || !matches!(run.phase, Phase::Idle) {
            return;
        }
        run.reconnect = false;
        run.sent_epoch = link.epoch();
        run.started.get_or_insert(now);
        run.tries += 1;
        let op = match &run.op {
            AtomicOp::Initialize(value) => {
                run.post = Some(value.clone());
                create(path, value)
            }
            AtomicOp::ForceSet(value) => {
                run.post = Some(value.clone());
                Op::SetData {
                    path,
                    data: value.encode(),
                    version: None,
                }
            }
            _ => Op::GetData { path, watch: false },
        };
        if matches!(op, Op::GetData { .. }) {
            let token = self.send(op);
            self.runs.front_mut().expect("the run").phase = Phase::Reading(token);
        } else {
            self.write(op);
        }
    }

    fn on_read(&mut self, result: &Reply) {
        let path = self.path.clone();
        let (pre, version) = match result {
            Ok(OpResult::Data { data, stat }) => match T::decode(&path, data) {
                Ok(value) => (value, Some(stat.version)),
                Err(e) => return self.finish(Err(e)),
            },
            Err(Error::NoNode) => match T::decode(&path, &[]) {
                Ok(zero) => (zero, None),
                Err(e) => return self.finish(Err(e)),
            },
            // Nothing was written: read again once connected.
            Err(e) if e.is_retryable() => {
                let run = self.runs.front_mut().expect("the run");
                run.tries -= 1;
                run.reconnect = true;
                run.phase = Phase::Idle;
                return;
            }
            Err(e) => return self.finish(Err(e.clone())),
            Ok(other) => return self.finish(Err(Error::unexpected_reply(&path, "getData", other))),
        };
        let run = self.runs.front_mut().expect("the run");
        run.pre = Some(pre.clone());
        let post = match &run.op {
            AtomicOp::Get => None,
            AtomicOp::Add(delta) => pre.plus(delta),
            AtomicOp::Set(value) => Some(value.clone()),
            AtomicOp::CompareAndSet { expected, new } => (*expected == pre).then(|| new.clone()),
            AtomicOp::Initialize(_) | AtomicOp::ForceSet(_) => unreachable!("no read"),
        };
        let Some(post) = post else {
            let status = match run.op {
                AtomicOp::Get => AtomicStatus::Succeeded,
                _ => AtomicStatus::Failed,
            };
            return self.finish_with(status);
        };
        run.post = Some(post.clone());
        let op = match version.map(expected_version).transpose() {
            Ok(Some(version)) => Op::SetData {
                path,
                data: post.encode(),
                version,
            },
            Ok(None) => create(path, &post),
            Err(e) => return self.finish(Err(e)),
        };
        self.write(op);
    }

    fn on_write(&mut self, now: Instant, created: bool, result: &Reply) {
        let run = self.runs.front_mut().expect("the run");
        let once = matches!(
            run.op,
            AtomicOp::CompareAndSet { .. } | AtomicOp::Initialize(_)
        );
        let force = matches!(run.op, AtomicOp::ForceSet(_));
        match result {
            Ok(OpResult::Stat(_) | OpResult::Created { .. }) => {
                self.finish_with(AtomicStatus::Succeeded)
            }
            Err(e) if maybe_applied(e) => self.finish_with(AtomicStatus::Unknown),
            // A create under a missing parent: make the parents, then try again at once.
            Err(Error::NoNode) if created && run.parent_rounds < PARENT_ROUNDS => {
                run.parent_rounds += 1;
                run.tries -= 1;
                run.phase = Phase::Idle;
                let parents: Vec<Op> = path::ancestors(&self.path).map(container).collect();
                for op in parents {
                    self.send(op);
                }
                self.try_now(now);
            }
            Err(Error::NodeExists | Error::BadVersion) if once => {
                self.finish_with(AtomicStatus::Failed)
            }
            // An unconditional write found the node gone (or just created): the other way.
            Err(Error::NoNode | Error::NodeExists) if force => {
                let value = run.post.clone().expect("the value");
                let path = self.path.clone();
                let op = if created {
                    Op::SetData {
                        path,
                        data: value.encode(),
                        version: None,
                    }
                } else {
                    create(path, &value)
                };
                self.write(op);
            }
            // Someone wrote in between (or the write was never sent).
            Err(Error::BadVersion | Error::NodeExists | Error::NoNode | Error::NotConnected) => {
                self.again(now)
            }
            Err(e) => self.finish(Err(e.clone())),
            Ok(other) => {
                let e = Error::unexpected_reply(&self.path, "write", other);
                self.finish(Err(e))
            }
        }
    }

    fn write(&mut self, op: Op) {
        let created = matches!(op, Op::Create { .. });
        let token = self.send(op);
        self.runs.front_mut().expect("the run").phase = Phase::Writing { token, created };
    }

    /// Tries again after the policy's sleep, or ends as `Failed` when it gives up.
    fn again(&mut self, now: Instant) {
        let run = self.runs.front_mut().expect("the run");
        let elapsed = now - run.started.unwrap_or(now);
        match run.retry.next_delay(run.tries - 1, elapsed, &mut self.rng) {
            Some(delay) => run.phase = Phase::Sleeping(now + delay),
            None => self.finish_with(AtomicStatus::Failed),
        }
    }

    fn finish_with(&mut self, status: AtomicStatus) {
        let run = self.runs.front().expect("the run");
        let pre = run
            .pre
            .clone()
            .or_else(|| run.post.clone())
            .expect("a value");
        let post = run.post.clone().unwrap_or_else(|| pre.clone());
        let result = AtomicResult {
            status,
            pre,
            post,
            tries: run.tries,
            promoted: false,
        };
        self.finish(Ok(result));
    }

    fn finish(&mut self, result: Result<AtomicResult<T>, Error>) {
        let run = self.runs.pop_front().expect("the run");
        let id = run.id;
        self.events.push_back(AtomicEvent::Done { id, result });
    }
}

fn create<T: AtomicData>(path: String, value: &T) -> Op {
    Op::Create {
        path,
        data: value.encode(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    }
}

fn container(path: &str) -> Op {
    Op::Create {
        path: path.to_owned(),
        data: Vec::new(),
        acl: Acl::open(),
        mode: CreateMode::Container,
    }
}

impl<T: AtomicData> Machine for AtomicMachine<T> {
    type Command = AtomicCommand<T>;
    type Event = AtomicEvent<T>;

    fn handle(&mut self, now: Instant, input: Input<AtomicCommand<T>>) {
        match input {
            Input::OpDone { token, result } => match self.runs.front().map(|r| r.phase) {
                Some(Phase::Reading(t)) if t == token => self.on_read(&result),
                Some(Phase::Writing { token: t, created }) if t == token => {
                    self.on_write(now, created, &result)
                }
                _ => {} // a parent's create
            },
            Input::Watch { .. } => {}
            Input::Connection { state, session_id } => {
                self.link.handle(state, session_id);
            }
            Input::Timeout => {
                if let Some(run) = self.runs.front_mut() {
                    if matches!(run.phase, Phase::Sleeping(at) if now >= at) {
                        run.phase = Phase::Idle;
                    }
                }
            }
            Input::Command(AtomicCommand::Run { id, op, retry }) => {
                self.runs.push_back(Run {
                    id,
                    op,
                    retry,
                    started: None,
                    tries: 0,
                    parent_rounds: 0,
                    sent_epoch: 0,
                    reconnect: false,
                    phase: Phase::Idle,
                    pre: None,
                    post: None,
                });
            }
            Input::Command(AtomicCommand::Close) => {
                self.closed = true;
                while !self.runs.is_empty() {
                    self.finish(Err(Error::Closed));
                }
            }
        }
        // The next run starts once the one before it ended.
        self.try_now(now);
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<AtomicEvent<T>> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match self.runs.front()?.phase {
            Phase::Sleeping(at) => Some(at),
            _ => None,
        }
    }

    fn is_done(&self) -> bool {
        self.closed
    }
}
