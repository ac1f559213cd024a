//! Protected creates (Curator's `.withProtection()`) as a composable sans-IO sub-machine.
//!
//! The node is created as `<parent>/_c_<uuid>-<name>`, one UUID per create call, so that after
//! an unknown outcome the creator can find out by looking whether its create was applied.
//!
//! ```text
//!  start ─► CREATE ──ok──────────────────────────────────────────────► SETTLE ─► Ok(created)
//!            │ NoNode (parents): containers, CREATE again                 ▲
//!            │ unknown outcome                                            │ ours
//!            ▼                                                            │
//!          WAIT (connected again) ─► LOOKUP (getChildren parent) ─found─► STAT ─foreign session─┐
//!            ▲                         │ not found                        │ gone               │
//!            │                         ▼                                  ▼                    │
//!            └──── lost reply ──── CREATE (same UUID) ◄───────────────────┘   guaranteed delete│
//!                                      ▲                                      + fresh UUID ────┘
//!  LOST / final error ─► CLEANUP (list parent, guaranteed-delete every node of our UUID) ─► Err
//! ```
//!
//! A failure before any unknown outcome needs no cleanup and is reported at once.
//!
//! # Composing
//! The parent machine owns the [`Tokens`], forwards every op result and connection change, and
//! sends whatever [`ProtectedCreate::poll_op`] yields, in order:
//!
//! ```
//! use docent::framework::ProtectedCreate;
//! use docent::rng::Rng;
//! use docent::{Acl, ConnectionState, CreateMode, Error, Instant, Op, OpResult, Stat, Tokens};
//!
//! let mut tokens = Tokens::default();
//! let mut rng = Rng::new(1, 0);
//! let mut create = ProtectedCreate::new(
//!     "/latch/latch-", b"id".to_vec(), Acl::open(), CreateMode::EphemeralSequential, false, &mut rng);
//! create.handle_connection(ConnectionState::Connected, 7, &mut tokens);
//! create.start(&mut tokens);
//! let (token, op) = create.poll_op().unwrap();
//! let Op::Create { path, .. } = op else { unreachable!() };
//! assert!(path.starts_with("/latch/_c_") && path.ends_with("-latch-"));
//! let created = format!("{path}0000000000");
//! let stat = Stat { czxid: 42, ephemeral_owner: 7, ..Stat::default() };
//! let result = Ok(OpResult::Created { path: created.clone(), stat });
//! assert!(create.handle_op_done(Instant::ZERO, token, &result, &mut tokens));
//! let done = create.poll_outcome().unwrap().unwrap();
//! assert_eq!((done.path, done.stat.czxid), (created, 42));
//! ```

use std::collections::{BTreeSet, VecDeque};

use crate::coverage;
use crate::framework::guaranteed::{is_timeout, waits_for_connection, GuaranteedDelete};
use crate::framework::link::Link;
use crate::framework::sub::{Children, Reply, Sub};
use crate::framework::ConnectionState;
use crate::machine::{Token, Tokens};
use crate::op::{Op, OpResult};
use crate::path;
use crate::rng::{is_uuid, Rng};
use crate::time::Instant;
use crate::types::{Acl, CreateMode, Stat};
use crate::Error;

/// The protected prefix `_c_`.
pub const PREFIX: &str = "_c_";
/// Length of `_c_<uuid>-`.
pub const PREFIX_LEN: usize = 40;
/// How many times in a row the parents are created after NoNode before giving up.
const MAX_PARENT_ROUNDS: u32 = 3;

/// True when `name` (a node name, not a path) carries a protected prefix.
pub fn is_protected(name: &str) -> bool {
    uuid_of(name).is_some()
}

/// The UUID of a protected name.
pub fn uuid_of(name: &str) -> Option<&str> {
    let ok = name.len() > PREFIX_LEN
        && name.starts_with(PREFIX)
        && name.as_bytes()[PREFIX_LEN - 1] == b'-'
        && name.get(3..PREFIX_LEN - 1).is_some_and(is_uuid);
    ok.then(|| &name[3..PREFIX_LEN - 1])
}

/// `name` without its protected prefix (unchanged when it has none).
pub fn strip(name: &str) -> &str {
    if is_protected(name) {
        &name[PREFIX_LEN..]
    } else {
        name
    }
}

/// A node made by a [`ProtectedCreate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// Its full path (with the sequence suffix for sequential modes).
    pub path: String,
    /// Its stat; `czxid` is the recipes' fencing token.
    pub stat: Stat,
}

/// Creates one protected node, resolving unknown outcomes by looking.
#[derive(Debug, Clone)]
pub struct ProtectedCreate {
    parent: String,
    name: String,
    data: Vec<u8>,
    acl: Vec<Acl>,
    mode: CreateMode,
    parents: bool,
    rng: Rng,
    uuid: String,
    link: Link,
    step: Step,
    queue: VecDeque<(Token, Op)>,
    /// Every token sent and not answered yet (stale answers are recognised and ignored).
    mine: BTreeSet<Token>,
    /// The node the last lookup found.
    found: String,
    /// Nodes of ours being deleted (a foreign session's find, or the clean-up's).
    deletes: Children<GuaranteedDelete>,
    /// The current UUID may have a node on the server (an attempt's outcome is unknown).
    maybe_applied: bool,
    unknown_outcomes: u32,
    parent_rounds: u32,
    /// What to report once the guaranteed deletes are done.
    result: Option<Result<Created, Error>>,
    outcome: Option<Result<Created, Error>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Create,
    Lookup,
    Cleanup,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Idle,
    Sent {
        next: Next,
        token: Token,
        epoch: u64,
    },
    Stat {
        token: Token,
        epoch: u64,
    },
    Waiting(Next),
    Settling,
    Done,
}

impl ProtectedCreate {
    /// A protected create of `path` (for sequential modes, the name prefix, e.g.
    /// `/latch/latch-`). `parents`: create missing parents as containers. The UUID, and any
    /// fresh one needed later, come from `rng`.
    pub fn new(
        path: &str,
        data: Vec<u8>,
        acl: Vec<Acl>,
        mode: CreateMode,
        parents: bool,
        rng: &mut Rng,
    ) -> Self {
        let mut own = Rng::new(rng.next_u64(), 0);
        let uuid = own.uuid();
        ProtectedCreate {
            parent: path::parent(path).unwrap_or("/").to_owned(),
            name: path::name(path).to_owned(),
            data,
            acl,
            mode,
            parents,
            rng: own,
            uuid,
            link: Link::default(),
            step: Step::Idle,
            queue: VecDeque::new(),
            mine: BTreeSet::new(),
            found: String::new(),
            deletes: Children::default(),
            maybe_applied: false,
            unknown_outcomes: 0,
            parent_rounds: 0,
            result: None,
            outcome: None,
        }
    }

    /// The UUID in use now.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// The path sent with the create: `<parent>/_c_<uuid>-<name>`.
    pub fn protected_path(&self) -> String {
        path::join(
            &self.parent,
            &format!("{PREFIX}{}-{}", self.uuid, self.name),
        )
    }

    /// How many attempts ended with an unknown outcome so far (for a retry policy).
    pub fn unknown_outcomes(&self) -> u32 {
        self.unknown_outcomes
    }

    /// Sends the first create.
    pub fn start(&mut self, tokens: &mut Tokens) {
        if self.step == Step::Idle {
            self.send_create(tokens);
        }
    }

    /// The next op to send. Drain after every input.
    #[must_use]
    pub fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.queue.pop_front()
    }

    /// The result, once.
    #[must_use]
    pub fn poll_outcome(&mut self) -> Option<Result<Created, Error>> {
        self.outcome.take()
    }

    /// True once finished (whether or not the outcome was polled).
    pub fn is_done(&self) -> bool {
        self.step == Step::Done
    }

    /// Gives up with `error` (e.g. the retry policy is exhausted, or the owner closes): deletes
    /// whatever may carry the UUID, then reports `error`.
    pub fn abandon(&mut self, error: Error, tokens: &mut Tokens) {
        if !matches!(self.step, Step::Done) {
            self.fail(error, tokens);
        }
    }

    /// Feeds a connection state change.
    pub fn handle_connection(
        &mut self,
        state: ConnectionState,
        session_id: i64,
        tokens: &mut Tokens,
    ) {
        let mut link = self.link;
        link.handle(state, session_id);
        self.handle_link(&link, tokens);
    }

    /// Feeds an op result; false when `token` is not this machine's.
    pub fn handle_op_done(
        &mut self,
        _now: Instant,
        token: Token,
        result: &Result<OpResult, Error>,
        tokens: &mut Tokens,
    ) -> bool {
        Sub::handle_op(self, token, result, tokens)
    }

    fn on_result(
        &mut self,
        next: Next,
        epoch: u64,
        result: &Result<OpResult, Error>,
        tokens: &mut Tokens,
    ) {
        match (next, result) {
            (Next::Create, Ok(OpResult::Created { path, stat })) => {
                self.succeed(path.clone(), *stat)
            }
            (Next::Create, Err(Error::NoNode))
                if self.parents && self.parent_rounds < MAX_PARENT_ROUNDS =>
            {
                self.parent_rounds += 1;
                for parent in path::ancestors(&self.protected_path()).collect::<Vec<_>>() {
                    let op = Op::Create {
                        path: parent.to_owned(),
                        data: Vec::new(),
                        acl: Acl::open(),
                        mode: CreateMode::Container,
                    };
                    self.send(tokens, op);
                }
                self.send_create(tokens);
            }
            (Next::Create, Err(Error::NodeExists)) if self.maybe_applied => {
                self.retry(Next::Lookup, epoch, &Error::OperationTimeout, tokens)
            }
            (Next::Create, Err(e)) if e.is_unknown_outcome() || *e == Error::SessionMoved => {
                coverage::hit("protected.unknown_outcome");
                self.unknown_outcomes += 1;
                self.maybe_applied = true;
                self.retry(Next::Lookup, epoch, e, tokens);
            }
            (Next::Lookup, Ok(OpResult::Children { children, .. })) => {
                let prefix = format!("{PREFIX}{}-", self.uuid);
                match children.iter().find(|c| c.starts_with(&prefix)) {
                    Some(child) => {
                        let path = path::join(&self.parent, child);
                        let token = self.send(tokens, Op::Exists { path, watch: false });
                        self.step = Step::Stat {
                            token,
                            epoch: self.link.epoch(),
                        };
                    }
                    None => {
                        coverage::hit("protected.recreated");
                        self.send_create(tokens)
                    }
                }
            }
            (Next::Lookup, Err(Error::NoNode)) => {
                coverage::hit("protected.recreated");
                self.send_create(tokens)
            }
            (Next::Cleanup, Ok(OpResult::Children { children, .. })) => {
                coverage::hit("protected.cleanup");
                let prefix = format!("{PREFIX}{}-", self.uuid);
                for child in children.iter().filter(|c| c.starts_with(&prefix)) {
                    self.delete(path::join(&self.parent, child), tokens);
                }
                self.step = Step::Settling;
            }
            (Next::Cleanup, Err(e)) if waits_for_connection(e) => {
                self.retry(Next::Cleanup, epoch, e, tokens)
            }
            (Next::Cleanup, _) => self.step = Step::Settling,
            (_, Err(Error::SessionExpired)) => self.fail(Error::SessionExpired, tokens),
            (_, Err(e)) if waits_for_connection(e) => self.retry(next, epoch, e, tokens),
            (_, Err(e)) => self.fail(e.clone(), tokens),
            (_, Ok(other)) => {
                let op = if next == Next::Create {
                    "create"
                } else {
                    "getChildren"
                };
                self.fail(Error::unexpected_reply(&self.parent, op, other), tokens)
            }
        }
    }

    fn on_stat(&mut self, epoch: u64, result: &Result<OpResult, Error>, tokens: &mut Tokens) {
        match result {
            Ok(OpResult::Exists(Some(stat)))
                if self.mode.is_ephemeral() && stat.ephemeral_owner != self.link.session_id() =>
            {
                // Made by an earlier session of ours: not ours any more.
                coverage::hit("protected.foreign_session");
                self.delete(self.found_path(), tokens);
                self.uuid = self.rng.uuid();
                self.maybe_applied = false;
                self.send_create(tokens);
            }
            Ok(OpResult::Exists(Some(stat))) => {
                coverage::hit("protected.found_by_lookup");
                self.succeed(self.found_path(), *stat)
            }
            Ok(OpResult::Exists(None)) => {
                coverage::hit("protected.recreated");
                self.send_create(tokens)
            }
            Err(Error::SessionExpired) => self.fail(Error::SessionExpired, tokens),
            Err(e) if waits_for_connection(e) => self.retry(Next::Lookup, epoch, e, tokens),
            Err(e) => self.fail(e.clone(), tokens),
            Ok(other) => {
                let error = Error::unexpected_reply(&self.found_path(), "exists", other);
                self.fail(error, tokens)
            }
        }
    }

    /// The node the last lookup found (the path of the pending `Exists`).
    fn found_path(&self) -> String {
        self.found.clone()
    }

    fn retry(&mut self, next: Next, sent_epoch: u64, error: &Error, tokens: &mut Tokens) {
        if (is_timeout(error) && self.link.is_connected()) || self.link.ready_after(sent_epoch) {
            self.run(next, tokens);
        } else {
            self.step = Step::Waiting(next);
        }
    }

    fn run(&mut self, next: Next, tokens: &mut Tokens) {
        match next {
            Next::Create => self.send_create(tokens),
            Next::Lookup | Next::Cleanup => {
                // After a lost reply the session may be on a follower that has not applied
                // our create yet: a sync first (its reply is ignored; ZooKeeper holds the
                // listing behind it) makes the listing see every create we sent.
                self.send(
                    tokens,
                    Op::Sync {
                        path: self.parent.clone(),
                    },
                );
                let op = Op::GetChildren {
                    path: self.parent.clone(),
                    watch: false,
                };
                let token = self.send(tokens, op);
                self.step = Step::Sent {
                    next,
                    token,
                    epoch: self.link.epoch(),
                };
            }
        }
    }

    fn send_create(&mut self, tokens: &mut Tokens) {
        let op = Op::Create {
            path: self.protected_path(),
            data: self.data.clone(),
            acl: self.acl.clone(),
            mode: self.mode,
        };
        let token = self.send(tokens, op);
        self.step = Step::Sent {
            next: Next::Create,
            token,
            epoch: self.link.epoch(),
        };
    }

    fn send(&mut self, tokens: &mut Tokens, op: Op) -> Token {
        let token = tokens.next();
        if let Op::Exists { path, .. } = &op {
            self.found = path.clone();
        }
        self.mine.insert(token);
        self.queue.push_back((token, op));
        token
    }

    fn delete(&mut self, path: String, tokens: &mut Tokens) {
        let delete = GuaranteedDelete::started(path, &self.link, tokens);
        self.deletes.push((), delete);
        self.collect_deletes();
    }

    fn succeed(&mut self, path: String, stat: Stat) {
        self.result = Some(Ok(Created { path, stat }));
        self.step = Step::Settling;
    }

    fn fail(&mut self, error: Error, tokens: &mut Tokens) {
        let needs_cleanup = self.maybe_applied || self.result.is_some();
        self.result = Some(Err(error.clone()));
        if needs_cleanup && self.link.is_connected() {
            self.run(Next::Cleanup, tokens);
        } else if needs_cleanup {
            self.step = Step::Waiting(Next::Cleanup);
        } else {
            self.step = Step::Settling;
        }
    }

    /// Moves the guaranteed deletes' ops into our queue, in order (their outcomes do not
    /// matter: a failed guaranteed delete means the session, and the node with it, is gone).
    fn collect_deletes(&mut self) {
        self.deletes.drain(&mut self.queue);
    }

    /// Reports the result once nothing is left to delete.
    fn settle(&mut self) {
        if self.step == Step::Settling && self.deletes.is_empty() {
            self.step = Step::Done;
            self.outcome = self.result.take();
        }
    }
}

impl Sub for ProtectedCreate {
    type Outcome = Result<Created, Error>;

    fn handle_op(&mut self, token: Token, result: &Reply, tokens: &mut Tokens) -> bool {
        if self.deletes.handle_op(token, result, tokens) {
            self.collect_deletes();
            self.settle();
            return true;
        }
        if !self.mine.remove(&token) {
            return false;
        }
        match self.step.clone() {
            Step::Sent {
                next,
                token: t,
                epoch,
            } if t == token => self.on_result(next, epoch, result, tokens),
            Step::Stat { token: t, epoch } if t == token => self.on_stat(epoch, result, tokens),
            _ => {} // a stale answer (parent creates, or ops from before a failure)
        }
        self.settle();
        true
    }

    fn handle_link(&mut self, link: &Link, tokens: &mut Tokens) {
        self.link = *link;
        let up = link.is_connected();
        self.deletes.handle_link(link, tokens);
        self.collect_deletes();
        let cleaning = self.result.as_ref().is_some_and(Result::is_err);
        let kept = !self.mode.is_ephemeral() && self.result.as_ref().is_some_and(Result::is_ok);
        if link.is_lost() && !cleaning && !kept && self.step != Step::Done {
            // Whatever was in flight may have been applied in the lost session.
            if self.step != Step::Idle {
                self.maybe_applied = true;
                self.fail(Error::SessionExpired, tokens);
            }
            return;
        }
        if let (true, Step::Waiting(next)) = (up, self.step.clone()) {
            self.run(next, tokens);
        }
        self.settle();
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        ProtectedCreate::poll_op(self)
    }

    fn poll_outcome(&mut self) -> Option<Result<Created, Error>> {
        ProtectedCreate::poll_outcome(self)
    }

    fn is_done(&self) -> bool {
        ProtectedCreate::is_done(self)
    }
}

#[cfg(test)]
mod tests;
