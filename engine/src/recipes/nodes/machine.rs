//! The sans-IO core of the persistent node (Curator's `PersistentNode`).
//!
//! ```text
//!  new ──► CREATE ──created──────────────────────► CHECK (exists, watch) ──present, ours──► WATCHING
//!   ▲        │ NoNode: container parents, CREATE      │  ▲                                   │
//!   │        │ NodeExists ───────────────────────────►┘  └──── watch fired, (re)connected ───┘
//!   │        │ unknown outcome: CREATE again once         │ absent
//!   │        ▼ connected (NodeExists → CHECK)             ▼
//!   └────────────────────────────────────────────── CREATE again
//!     CHECK, ephemeral, owner an earlier session of ours ─► RECLAIM (delete at its version) ─► CREATE
//!     CHECK, ephemeral, owner a foreign session ─► WATCHING it (created again once it is gone)
//!  sequential modes: CREATE is a protected create (`_c_<uuid>-` names, found again after a
//!  lost reply), so a lost reply never leaves a second node.
//!  set_data ─► the data of every later create; SET (unversioned) whenever the node is present
//!              and the newest data is not known written (resent after a reconnection)
//!  close ─► an in-flight create is let finish; then a guaranteed delete of what it made
//! ```
//!
//! Every (re)connection checks the node again: after a new session, watches are gone, and in
//! ephemeral modes the node went (or will go) with the old session. A node found whose
//! ephemeral owner is not the current session is never taken for ours (CURATOR-696's lesson):
//! an earlier session's node is deleted at the version read and created again; a foreign
//! session's node is watched until it goes.

use std::collections::{BTreeSet, VecDeque};

use crate::framework::guaranteed::{is_timeout, waits_for_connection, GuaranteedDelete};
use crate::framework::link::Link;
use crate::framework::protected::ProtectedCreate;
use crate::framework::sub::{Children, Reply, Sub};
use crate::framework::{ConnectionState, StateCell, StateWatch};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::path;
use crate::recipes::nodes::touch::Touch;
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{Acl, CreateMode, Stat};
use crate::Error;

/// Commands for the persistent node.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeCommand {
    /// New data: written now if the node is present, and used by every later create.
    SetData(Vec<u8>),
    /// Stop: delete the node (unless the machine keeps it) and finish.
    Close,
}

/// What the persistent node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// The node was created (or found and taken over) at `path`.
    Created {
        /// The node's path (with its sequence suffix in sequential modes).
        path: String,
    },
    /// The data of `generation` (the count of data values given so far, the initial data
    /// being 1) is known written to the node.
    Written {
        /// Its generation.
        generation: u64,
    },
    /// A request failed for a reason a retry will not fix; the recipe tries again on the
    /// next reconnection or change.
    Error(Error),
}

/// The persistent node as its users see it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeState {
    /// Not known to be present: being created, waiting for a connection, or waiting for a
    /// foreign session's node at the path to go.
    Creating,
    /// Our node is present at `path`, with `stat` as last read or written.
    Present {
        /// The node's path.
        path: String,
        /// Its stat.
        stat: Stat,
    },
    /// Closed.
    Closed,
}

/// What to do once connected again.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Next {
    Create,
    Check(String),
}

#[derive(Debug)]
enum Step {
    /// A plain create in flight, with the generation of its data.
    Creating { token: Token, epoch: u64, gen: u64 },
    /// A protected (sequential) create running.
    Protected {
        create: Box<ProtectedCreate>,
        gen: u64,
    },
    /// An exists check (leaving a watch) of `path` in flight.
    Checking {
        token: Token,
        epoch: u64,
        path: String,
    },
    /// The node at `path` is watched; a fired watch checks it again.
    Watching { path: String },
    /// A node of an earlier session of ours is being deleted; then create.
    Reclaiming,
    /// Waiting for a (re)connection.
    Waiting(Next),
    /// Closed (a guaranteed delete may still run).
    Closed,
}

/// A setData in flight.
#[derive(Debug, Clone, Copy)]
struct Set {
    token: Token,
    gen: u64,
    epoch: u64,
}

/// Why a guaranteed delete runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Reclaim,
    Close,
}

/// The persistent node machine.
#[derive(Debug)]
pub struct NodeMachine {
    base: String,
    mode: CreateMode,
    data: Vec<u8>,
    /// The generation of `data` (1 for the initial data).
    gen: u64,
    /// The newest generation known written to the node.
    written: u64,
    /// Whether close deletes the node.
    delete_on_close: bool,
    link: Link,
    /// Every session this machine was connected with.
    sessions: BTreeSet<i64>,
    tokens: Tokens,
    rng: Rng,
    step: Step,
    /// Our node while present.
    node: Option<(String, Stat)>,
    /// A plain create's outcome was unknown: the base path may hold our node.
    maybe_applied: bool,
    set: Option<Set>,
    /// A set failed for want of a connection sent at this epoch.
    set_blocked: Option<u64>,
    deletes: Children<GuaranteedDelete, Purpose>,
    touch: Option<Touch>,
    closing: bool,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<NodeEvent>,
    state: StateCell<NodeState>,
}

impl NodeMachine {
    /// A node at `path` (the name prefix in sequential modes) in `mode` holding `data`;
    /// `delete_on_close`: whether close deletes it. It starts at once.
    pub fn new(
        path: String,
        mode: CreateMode,
        data: Vec<u8>,
        delete_on_close: bool,
        rng: Rng,
    ) -> NodeMachine {
        let mut m = NodeMachine {
            base: path,
            mode,
            data,
            gen: 1,
            written: 0,
            delete_on_close,
            link: Link::default(),
            sessions: BTreeSet::new(),
            tokens: Tokens::default(),
            rng,
            step: Step::Closed,
            node: None,
            maybe_applied: false,
            set: None,
            set_blocked: None,
            deletes: Children::default(),
            touch: None,
            closing: false,
            ops: VecDeque::new(),
            events: VecDeque::new(),
            state: StateCell::new(NodeState::Creating),
        };
        m.create();
        m
    }

    /// Also keeps a child `name` of the node alive, a TTL node touched every `ttl / 2`
    /// (Curator's `PersistentTtlNode`).
    pub(crate) fn with_touch(mut self, name: &str, ttl: std::time::Duration) -> NodeMachine {
        self.touch = Some(Touch::new(path::join(&self.base, name), ttl));
        self
    }

    /// Our node's path while it is present.
    pub fn actual_path(&self) -> Option<&str> {
        self.node.as_ref().map(|(path, _)| path.as_str())
    }

    /// The newest data given.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The generation of the newest data given, and the newest known written.
    pub fn generations(&self) -> (u64, u64) {
        (self.gen, self.written)
    }

    /// The state now.
    pub fn state(&self) -> NodeState {
        self.state.get()
    }

    /// A watch of the state (current value first).
    pub fn watch(&self) -> StateWatch<NodeState> {
        self.state.watch()
    }

    fn send(&mut self, op: Op) -> Token {
        let token = self.tokens.next();
        self.ops.push_back((token, op));
        token
    }

    fn create(&mut self) {
        self.node = None;
        let gen = self.gen;
        if self.mode.is_sequential() {
            let mut create = Box::new(ProtectedCreate::new(
                &self.base,
                self.data.clone(),
                Acl::open(),
                self.mode,
                true,
                &mut self.rng,
            ));
            create.handle_link(&self.link, &mut self.tokens);
            create.start(&mut self.tokens);
            create.drain_ops(&mut self.ops);
            self.step = Step::Protected { create, gen };
            return;
        }
        let token = self.send(Op::Create {
            path: self.base.clone(),
            data: self.data.clone(),
            acl: Acl::open(),
            mode: self.mode,
        });
        let epoch = self.link.epoch();
        self.step = Step::Creating { token, epoch, gen };
    }

    fn check(&mut self, path: String) {
        let token = self.send(Op::Exists {
            path: path.clone(),
            watch: true,
        });
        let epoch = self.link.epoch();
        self.step = Step::Checking { token, epoch, path };
    }

    fn run(&mut self, next: Next) {
        match next {
            Next::Create => self.create(),
            Next::Check(path) => self.check(path),
        }
    }

    /// Runs `next` now if the failed op may be retried at once, else once connected again.
    fn retry(&mut self, next: Next, sent_epoch: u64, error: &Error) {
        if (is_timeout(error) && self.link.is_connected()) || self.link.ready_after(sent_epoch) {
            self.run(next);
        } else {
            self.step = Step::Waiting(next);
        }
    }

    fn delete(&mut self, path: String, version: Option<i32>, purpose: Purpose) {
        let mut delete = GuaranteedDelete::new(path, version);
        delete.handle_link(&self.link, &mut self.tokens);
        delete.start(&mut self.tokens);
        self.deletes.push(purpose, delete);
    }

    /// Our node exists at `path` (created, or found ours).
    fn present(&mut self, path: String, stat: Stat) {
        self.events
            .push_back(NodeEvent::Created { path: path.clone() });
        self.node = Some((path.clone(), stat));
        self.step = Step::Watching { path };
    }

    fn on_created(&mut self, path: String, stat: Stat, gen: u64) {
        self.maybe_applied = false;
        if self.closing {
            self.delete_at_close(Some(path));
            return;
        }
        self.wrote(gen);
        self.present(path.clone(), stat);
        // Arm the watch (a round trip also proves the node is still there).
        self.check(path);
    }

    fn on_create(&mut self, result: &Reply, epoch: u64, gen: u64) {
        match result {
            Ok(OpResult::Created { path, stat }) => self.on_created(path.clone(), *stat, gen),
            Err(Error::NodeExists) if self.closing => self.delete_at_close(None),
            Err(Error::NodeExists) => {
                // Ours after a lost reply, or someone else's: the check decides; its data
                // is ours to write (Curator's setData after NodeExists).
                self.written = 0;
                self.check(self.base.clone());
            }
            Err(Error::NoNode) if !self.closing => {
                let parents: Vec<String> = path::ancestors(&self.base).map(str::to_owned).collect();
                for parent in parents {
                    self.send(Op::Create {
                        path: parent,
                        data: Vec::new(),
                        acl: Acl::open(),
                        mode: CreateMode::Container,
                    });
                }
                self.create();
            }
            Err(e) if waits_for_connection(e) => {
                self.maybe_applied |= e.is_unknown_outcome() || e.is_session_lost();
                if self.closing {
                    self.delete_at_close(None);
                } else {
                    self.retry(Next::Create, epoch, e);
                }
            }
            other => self.failed(other, "create", Next::Create),
        }
    }

    fn on_check(&mut self, result: &Reply, epoch: u64, path: String) {
        match result {
            Ok(OpResult::Exists(Some(stat))) => {
                let owner = stat.ephemeral_owner;
                if !self.mode.is_ephemeral() || owner == self.link.session_id() {
                    if self.node.is_none() {
                        self.present(path, *stat);
                    } else {
                        self.node = Some((path.clone(), *stat));
                        self.step = Step::Watching { path };
                    }
                } else if self.sessions.contains(&owner) {
                    // Left by an earlier session of ours: it goes (or went) with that session.
                    self.node = None;
                    self.delete(path, Some(stat.version), Purpose::Reclaim);
                    self.step = Step::Reclaiming;
                } else {
                    // A foreign session's node: wait (watched) until it goes.
                    self.node = None;
                    self.step = Step::Watching { path };
                }
            }
            Ok(OpResult::Exists(None)) => self.create(),
            Err(e) if waits_for_connection(e) => self.retry(Next::Check(path), epoch, e),
            other => self.failed(other, "exists", Next::Check(path)),
        }
    }

    /// A reply no retry fixes (or of the wrong kind): report it, try again once reconnected.
    fn failed(&mut self, result: &Reply, op: &'static str, next: Next) {
        let error = match result {
            Err(e) => e.clone(),
            Ok(reply) => Error::unexpected_reply(&self.base, op, reply),
        };
        self.events.push_back(NodeEvent::Error(error));
        if self.closing {
            self.step = Step::Closed;
        } else {
            self.step = Step::Waiting(next);
        }
    }

    fn wrote(&mut self, gen: u64) {
        if gen > self.written {
            self.written = gen;
            self.events
                .push_back(NodeEvent::Written { generation: gen });
        }
    }

    fn on_set(&mut self, set: Set, result: &Reply) {
        match result {
            Ok(OpResult::Stat(stat)) => {
                self.wrote(set.gen);
                if let Some((_, known)) = &mut self.node {
                    *known = *stat;
                }
            }
            Err(e) if is_timeout(e) && self.link.is_connected() => {}
            Err(e) if waits_for_connection(e) => self.set_blocked = Some(set.epoch),
            // The node is gone: check it (its watch may have been lost with a session).
            Err(Error::NoNode) => {
                if let Step::Watching { path } = &self.step {
                    self.check(path.clone());
                }
            }
            Err(e) => {
                // Not fixed by sending it again: report it and leave this data unwritten.
                self.events.push_back(NodeEvent::Error(e.clone()));
                self.written = self.written.max(set.gen);
            }
            Ok(other) => {
                let error = Error::unexpected_reply(&self.base, "setData", other);
                self.events.push_back(NodeEvent::Error(error));
            }
        }
    }

    /// Sends the newest data when the node is present and it is not known written.
    fn pump(&mut self) {
        let blocked = self
            .set_blocked
            .is_some_and(|epoch| !self.link.ready_after(epoch));
        let Some((path, _)) = &self.node else {
            return;
        };
        if self.closing || self.set.is_some() || blocked || self.written >= self.gen {
            return;
        }
        if !self.link.is_connected() {
            return;
        }
        let op = Op::SetData {
            path: path.clone(),
            data: self.data.clone(),
            version: None,
        };
        let token = self.send(op);
        self.set_blocked = None;
        self.set = Some(Set {
            token,
            gen: self.gen,
            epoch: self.link.epoch(),
        });
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        let up = self.link.handle(state, session_id);
        if up {
            self.sessions.insert(session_id);
        }
        self.deletes.handle_link(&self.link, &mut self.tokens);
        if let Step::Protected { create, .. } = &mut self.step {
            create.handle_link(&self.link, &mut self.tokens);
            self.absorb_protected();
        }
        if state == ConnectionState::Lost && self.mode.is_ephemeral() {
            // The node goes with the session; a check decides once connected again.
            self.node = None;
        }
        if !up || self.closing {
            return;
        }
        match std::mem::replace(&mut self.step, Step::Reclaiming) {
            Step::Waiting(next) => self.run(next),
            Step::Watching { path } => self.check(path),
            other => self.step = other,
        }
    }

    /// Deletes what may be our node (the node, or `maybe` when a create just answered) and
    /// ends.
    fn delete_at_close(&mut self, maybe: Option<String>) {
        let target = self
            .node
            .take()
            .map(|(path, _)| path)
            .or(maybe)
            .or_else(|| self.maybe_applied.then(|| self.base.clone()));
        if let (Some(path), true) = (target, self.delete_on_close) {
            self.delete(path, None, Purpose::Close);
        }
        self.step = Step::Closed;
    }

    fn close(&mut self) {
        if self.closing {
            return;
        }
        self.closing = true;
        self.touch = None;
        match &mut self.step {
            // Let the in-flight create answer: what it made is deleted then.
            Step::Creating { .. } => {}
            Step::Protected { create, .. } => {
                create.abandon(Error::Closed, &mut self.tokens);
                self.absorb_protected();
            }
            _ => self.delete_at_close(None),
        }
    }

    fn on_op(&mut self, token: Token, result: Reply) {
        if self.deletes.handle_op(token, &result, &mut self.tokens) {
            return;
        }
        if let Some(touch) = &mut self.touch {
            if touch.handle_op(token, &result, &mut self.tokens, &mut self.ops) {
                return;
            }
        }
        if let Some(set) = self.set.filter(|s| s.token == token) {
            self.set = None;
            self.on_set(set, &result);
            return;
        }
        if let Step::Protected { create, .. } = &mut self.step {
            if create.handle_op(token, &result, &mut self.tokens) {
                self.absorb_protected();
                return;
            }
        }
        match std::mem::replace(&mut self.step, Step::Reclaiming) {
            Step::Creating {
                token: t,
                epoch,
                gen,
            } if t == token => self.on_create(&result, epoch, gen),
            Step::Checking {
                token: t,
                epoch,
                path,
            } if t == token => self.on_check(&result, epoch, path),
            // A stale reply (parent creates, or ops from before a change of plan).
            other => self.step = other,
        }
    }

    /// Takes in what the protected create did.
    fn absorb_protected(&mut self) {
        let Step::Protected { create, gen } = &mut self.step else {
            return;
        };
        create.drain_ops(&mut self.ops);
        let gen = *gen;
        match create.poll_outcome() {
            Some(Ok(done)) => self.on_created(done.path, done.stat, gen),
            Some(Err(_)) if self.closing => self.step = Step::Closed,
            Some(Err(e)) => {
                if e != Error::SessionExpired {
                    self.events.push_back(NodeEvent::Error(e.clone()));
                }
                self.step = Step::Waiting(Next::Create);
                if waits_for_connection(&e) && self.link.is_connected() {
                    self.create();
                }
            }
            None => {}
        }
    }

    fn on_watch(&mut self) {
        if self.closing {
            return;
        }
        if let Step::Watching { path } = &self.step {
            self.check(path.clone());
        }
    }

    /// Takes in the finished deletes: a reclaimed node is created again.
    fn collect(&mut self) {
        for (purpose, _) in self.deletes.drain(&mut self.ops) {
            if purpose == Purpose::Reclaim && !self.closing {
                self.create();
            }
        }
    }

    fn publish(&mut self) {
        let state = match (&self.node, self.closing) {
            (_, true) => NodeState::Closed,
            (Some((path, stat)), false) => NodeState::Present {
                path: path.clone(),
                stat: *stat,
            },
            (None, false) => NodeState::Creating,
        };
        self.state.set_if_changed(state);
    }
}

impl Machine for NodeMachine {
    type Command = NodeCommand;
    type Event = NodeEvent;

    fn handle(&mut self, now: Instant, input: Input<NodeCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_op(token, result),
            Input::Watch { .. } => self.on_watch(),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Command(NodeCommand::SetData(data)) => {
                self.data = data;
                self.gen += 1;
            }
            Input::Command(NodeCommand::Close) => self.close(),
            Input::Timeout => {}
        }
        self.collect();
        if let Some(touch) = &mut self.touch {
            let present = self.node.is_some() && self.link.is_connected();
            touch.tick(now, present, &mut self.tokens, &mut self.ops);
        }
        self.pump();
        self.publish();
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.touch.as_ref().and_then(Touch::next)
    }

    fn is_done(&self) -> bool {
        self.closing && matches!(self.step, Step::Closed) && self.deletes.is_empty()
    }
}
