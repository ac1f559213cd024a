//! The lease queue: one participant's place in a lock-style queue (Curator's `LockInternals`),
//! as a sub-machine. The mutex, the leader selector (through the lock core) and the leader
//! latch are built on it; a [`GrantRule`] says who holds.
//!
//! ```text
//!  join ──► Enrolling ──(created; listing pipelined)──► Checking ◄──────────────────┐
//!              │ failed: Failed(e), Idle                 │   │                      │ watch fired,
//!              │ session lost                            │   │ rule: wait           │ NoNode, a
//!              ▼                                         │   ▼                      │ reply lost
//!           Rejoining ──connected──► Enrolling           │  Watching(predecessor) ──┘ (reconnect)
//!              ▲                                         │
//!              └─── node missing, not of our session, ◄──┤
//!                   parent gone (the new node first,     │ rule: holds, and the node's
//!                   the old one deleted behind it)       │ ephemeral owner is our session
//!                                                        ▼
//!                                                     Holding (Latch mode: our own node watched)
//!
//!  Rule says Full (the semaphore): Checking ─► Listening (a watched listing; while still full,
//!  wait for its watch, then list again with a watch); a new rule (max leases changed) lists
//!  again at once
//!
//!  Lock mode, LOST or a new session: Holding ─► Idle (Lost); Checking, Watching ─► Rejoining
//!  Latch mode, every (re)connection: Checking, Watching, Holding ─► Checking
//!  leave: Idle; our node (or the create in flight, then its node) is deleted in the background
//! ```
//!
//! Every listing is our own session's word: a predecessor's deletion, a lost watch or a
//! reconnection is always followed by a new listing before any grant, never taken as a grant
//! on its own (an event proves nothing about our own session, whose requests may no longer
//! reach the ensemble while events still come in). A node is held only when the listing puts
//! it among the holders **and** its ephemeral owner is the current session: a node left by an
//! expired session, still listed by a lagging follower, is never held (CURATOR-696).
//!
//! Rejoining creates the new node first and deletes the old one right behind it (guaranteed,
//! in the background: a deletion that finds nothing costs one op), so that a rejoin costs no
//! extra round trip. Nothing given up ever blocks the queue.

mod discard;

use std::collections::VecDeque;

use crate::framework::guaranteed::GuaranteedDelete;
use crate::framework::link::Link;
use crate::framework::protected::Created;
use crate::framework::sub::{Children, Reply, Sub};
use crate::machine::{Token, Tokens};
use crate::op::{Op, OpResult};
use crate::recipes::enroll::{Enroll, Listing};
use crate::recipes::lease::discard::{Discard, Stage};
use crate::recipes::order::{GrantRule, Position};
use crate::rng::Rng;
use crate::types::CreateMode;
use crate::{path, Error};

/// How a queue treats its node once it holds, and when the session is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Locks: a lease is kept until given back. A LOST or a new session ends it
    /// ([`Turn::Lost`]) and gives a waiting node up to join again: LOST may be declared
    /// client-side while the session lives on, and the node must not block the others for as
    /// long as it does.
    Lock,
    /// Leader latch: the holder watches its own node, and every (re)connection lists again
    /// (the same session may come back with its node; a new session fails the owner check).
    Latch,
}

/// What the queue reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Our node holds (reported after every listing that says so).
    Holds(Created),
    /// Our node does not hold: it waits for a predecessor, or is joining again.
    Waits,
    /// The held lease is gone with the session ([`Mode::Lock`]); the queue is idle.
    Lost,
    /// Joining failed for a reason a retry will not fix; the queue is idle.
    Failed(Error),
}

#[derive(Debug)]
enum State {
    Idle,
    Enrolling(Box<Enroll>),
    /// Our node exists; the listing under `pending` is in flight (or, when `None`, to be sent
    /// once the connection is back after `epoch`, the link epoch of the last attempt).
    Checking {
        node: Created,
        pending: Option<Token>,
        epoch: u64,
    },
    /// Waiting for the predecessor; `pending` is the getData watch op, sent at `epoch`.
    Watching {
        node: Created,
        pending: Token,
        epoch: u64,
    },
    /// The directory is full ([`Position::Full`]): `pending` is a watched listing, sent at
    /// `epoch`; once its reply says still full (`armed`), its watch is awaited.
    Listening {
        node: Created,
        pending: Token,
        epoch: u64,
        armed: bool,
    },
    /// Holding; `watch` is the getData watch on our own node and its epoch ([`Mode::Latch`]).
    Holding {
        node: Created,
        watch: Option<(Token, u64)>,
    },
    /// To join again once connected.
    Rejoining,
}

/// One participant of a lock-style queue.
#[derive(Debug)]
pub(crate) struct LeaseQueue {
    dir: String,
    /// The name of our nodes (`<name><seq>`, protected).
    base_name: String,
    /// The name and create mode of the next join: the base name, ephemeral-sequential, but
    /// for a read–write lock's downgrade ([`LeaseQueue::name_next`]).
    name: String,
    create_mode: CreateMode,
    data: Vec<u8>,
    rule: Box<dyn GrantRule>,
    mode: Mode,
    rng: Rng,
    link: Link,
    state: State,
    /// Nodes given up, being deleted in the background.
    cleanup: Children<Discard>,
    ops: VecDeque<(Token, Op)>,
    turns: VecDeque<Turn>,
}

impl LeaseQueue {
    /// A queue in `dir` whose nodes are named `<name><seq>` (protected) and carry `data`.
    pub(crate) fn new(
        dir: String,
        name: &str,
        data: Vec<u8>,
        rule: Box<dyn GrantRule>,
        mode: Mode,
        rng: Rng,
    ) -> LeaseQueue {
        LeaseQueue {
            dir,
            base_name: name.to_owned(),
            name: name.to_owned(),
            create_mode: CreateMode::EphemeralSequential,
            data,
            rule,
            mode,
            rng,
            link: Link::default(),
            state: State::Idle,
            cleanup: Children::default(),
            ops: VecDeque::new(),
            turns: VecDeque::new(),
        }
    }

    /// Our node, once created (while checking, waiting or holding).
    pub(crate) fn node(&self) -> Option<&Created> {
        match &self.state {
            State::Checking { node, .. }
            | State::Watching { node, .. }
            | State::Listening { node, .. }
            | State::Holding { node, .. } => Some(node),
            _ => None,
        }
    }

    /// True when the queue is not in line (never joined, left, lost or failed).
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// True while in line and not holding.
    pub(crate) fn is_waiting(&self) -> bool {
        !matches!(self.state, State::Idle | State::Holding { .. })
    }

    /// Names the node of the next join `<name>`, created with `mode` (a read–write lock's
    /// downgrade: an ephemeral read node named with its write node's sequence, so that it
    /// sorts ahead of any writer queued behind that write node). Any join after that, and any
    /// rejoin, uses the base name again: a downgrade whose node or session was lost is no
    /// longer one (its write lease may be gone, and its name would jump the queue).
    pub(crate) fn name_next(&mut self, name: &str, mode: CreateMode) {
        self.name = name.to_owned();
        self.create_mode = mode;
    }

    /// Joins the queue: the create and the listing behind it go out at once.
    pub(crate) fn join(&mut self, tokens: &mut Tokens) {
        let enroll = Enroll::start(
            &self.dir,
            &self.name,
            self.create_mode,
            self.data.clone(),
            &self.link,
            &mut self.rng,
            tokens,
        );
        self.state = State::Enrolling(Box::new(enroll));
        self.name = self.base_name.clone();
        self.create_mode = CreateMode::EphemeralSequential;
        self.after_enroll(tokens);
    }

    /// Gives our place up; the node goes in the background.
    pub(crate) fn leave(&mut self, tokens: &mut Tokens) {
        let old = std::mem::replace(&mut self.state, State::Idle);
        self.discard(old, tokens);
    }

    /// Joins again after a failure: now if connected, else once connected.
    pub(crate) fn join_when_connected(&mut self, tokens: &mut Tokens) {
        self.state = State::Rejoining;
        self.resume(tokens);
    }

    /// Our node is gone or unusable: join again, and delete it behind the new create.
    fn rejoin(&mut self, node: Created, tokens: &mut Tokens) {
        self.join_when_connected(tokens);
        self.forget(node, tokens);
        self.turns.push_back(Turn::Waits);
    }

    /// Deletes `node` in the background (guaranteed).
    fn forget(&mut self, node: Created, tokens: &mut Tokens) {
        let delete = GuaranteedDelete::started(node.path, &self.link, tokens);
        self.background(Stage::Delete(delete));
    }

    fn background(&mut self, stage: Stage) {
        self.cleanup.push((), Discard::new(stage, self.link));
        self.cleanup.drain(&mut self.ops);
    }

    /// Gives up what `state` has: its node, or the create in flight (then its node).
    fn discard(&mut self, state: State, tokens: &mut Tokens) {
        match state {
            State::Enrolling(enroll) => self.background(Stage::Create(enroll)),
            State::Checking { node, .. }
            | State::Watching { node, .. }
            | State::Listening { node, .. }
            | State::Holding { node, .. } => self.forget(node, tokens),
            State::Idle | State::Rejoining => {}
        }
    }

    fn send(&mut self, op: Op, tokens: &mut Tokens) -> Token {
        let token = tokens.next();
        self.ops.push_back((token, op));
        token
    }

    /// Lists the directory (once connected) to see where `node` stands.
    fn check(&mut self, node: Created, tokens: &mut Tokens) {
        let epoch = self.link.epoch();
        let pending = self.link.is_connected().then(|| {
            let path = self.dir.clone();
            self.send(Op::GetChildren { path, watch: false }, tokens)
        });
        self.state = State::Checking {
            node,
            pending,
            epoch,
        };
    }

    /// Replaces the grant rule (a semaphore's max leases changed); a full queue counts again.
    pub(crate) fn set_rule(&mut self, rule: Box<dyn GrantRule>, tokens: &mut Tokens) {
        self.rule = rule;
        if let State::Listening { node, .. } = &self.state {
            let node = node.clone();
            self.listen(node, tokens);
        }
    }

    /// Lists the directory with a watch (the directory was full): any change wakes us.
    fn listen(&mut self, node: Created, tokens: &mut Tokens) {
        let path = self.dir.clone();
        let pending = self.send(Op::GetChildren { path, watch: true }, tokens);
        self.state = State::Listening {
            node,
            pending,
            epoch: self.link.epoch(),
            armed: false,
        };
    }

    /// The enrolment may have finished: move on.
    fn after_enroll(&mut self, tokens: &mut Tokens) {
        let State::Enrolling(enroll) = &mut self.state else {
            return;
        };
        enroll.drain_ops(&mut self.ops);
        match enroll.poll_outcome() {
            None => {}
            Some(Ok((node, Listing::Ready { result, epoch }))) => {
                self.on_listing(node, epoch, result, tokens)
            }
            Some(Ok((node, Listing::InFlight { token, epoch }))) => {
                self.state = State::Checking {
                    node,
                    pending: Some(token),
                    epoch,
                }
            }
            Some(Ok((node, Listing::Needed))) => self.check(node, tokens),
            Some(Err(e)) if e.is_session_lost() => self.join_when_connected(tokens),
            Some(Err(e)) => {
                self.state = State::Idle;
                self.turns.push_back(Turn::Failed(e));
            }
        }
    }

    fn on_listing(&mut self, node: Created, epoch: u64, result: Reply, tokens: &mut Tokens) {
        let children = match result {
            Ok(OpResult::Children { children, .. }) => children,
            // The directory itself vanished (a reaped container): our node went with it.
            Err(Error::NoNode) => return self.rejoin(node, tokens),
            Err(_) => {
                self.state = State::Checking {
                    node,
                    pending: None,
                    epoch,
                };
                return self.resume(tokens);
            }
            Ok(other) => {
                self.state = State::Idle;
                self.forget(node, tokens);
                let error = Error::unexpected_reply(&self.dir, "getChildren", &other);
                return self.turns.push_back(Turn::Failed(error));
            }
        };
        match self.rule.position(children, path::name(&node.path)) {
            Position::Holds if node.stat.ephemeral_owner == self.link.session_id() => {
                let watch = (self.mode == Mode::Latch).then(|| {
                    let op = Op::GetData {
                        path: node.path.clone(),
                        watch: true,
                    };
                    (self.send(op, tokens), self.link.epoch())
                });
                self.turns.push_back(Turn::Holds(node.clone()));
                self.state = State::Holding { node, watch };
            }
            // Missing (deleted by someone, or the session died), or first but left by an
            // earlier session: never hold on it.
            Position::Holds | Position::Missing => self.rejoin(node, tokens),
            Position::Full => {
                self.turns.push_back(Turn::Waits);
                match &mut self.state {
                    // Our own watched listing: its watch is armed; wait for it.
                    State::Listening { armed, .. } => *armed = true,
                    _ => self.listen(node, tokens),
                }
            }
            Position::Waits { predecessor } => {
                let epoch = self.link.epoch();
                let path = path::join(&self.dir, &predecessor);
                let pending = self.send(Op::GetData { path, watch: true }, tokens);
                self.turns.push_back(Turn::Waits);
                self.state = State::Watching {
                    node,
                    pending,
                    epoch,
                };
            }
        }
    }

    /// The watch op on `token` (predecessor, or our own node while holding), if pending.
    fn watched(&self, token: Token) -> Option<(&Created, u64)> {
        match &self.state {
            State::Watching {
                node,
                pending,
                epoch,
            } if *pending == token => Some((node, *epoch)),
            State::Holding {
                node,
                watch: Some((pending, epoch)),
            } if *pending == token => Some((node, *epoch)),
            State::Listening {
                node,
                pending,
                epoch,
                armed: true,
            } if *pending == token => Some((node, *epoch)),
            _ => None,
        }
    }

    /// Sends what a state waits for once the connection is back.
    fn resume(&mut self, tokens: &mut Tokens) {
        match &self.state {
            State::Rejoining if self.link.is_connected() => self.join(tokens),
            State::Checking {
                node,
                pending: None,
                epoch,
            } if self.link.ready_after(*epoch) => {
                let node = node.clone();
                self.check(node, tokens);
            }
            _ => {}
        }
    }

    /// The session is gone, or must be presumed gone ([`Mode::Lock`]).
    fn on_session_lost(&mut self, tokens: &mut Tokens) {
        match self.state {
            State::Holding { .. } => {
                self.leave(tokens);
                self.turns.push_back(Turn::Lost);
            }
            State::Checking { .. } | State::Watching { .. } | State::Listening { .. } => {
                // Our node may outlive the LOST: delete it, and join again once connected.
                let old = std::mem::replace(&mut self.state, State::Rejoining);
                self.discard(old, tokens);
            }
            _ => {}
        }
    }
}

impl Sub for LeaseQueue {
    type Outcome = Turn;

    fn handle_op(&mut self, token: Token, result: &Reply, tokens: &mut Tokens) -> bool {
        if self.cleanup.handle_op(token, result, tokens) {
            self.cleanup.drain(&mut self.ops);
            return true;
        }
        if let State::Enrolling(enroll) = &mut self.state {
            let mine = enroll.handle_op(token, result, tokens);
            self.after_enroll(tokens);
            return mine;
        }
        if let State::Checking {
            node,
            pending: Some(pending),
            epoch,
        } = &self.state
        {
            if *pending != token {
                return false;
            }
            let (node, epoch) = (node.clone(), *epoch);
            self.on_listing(node, epoch, result.clone(), tokens);
            return true;
        }
        if let State::Listening {
            node,
            pending,
            epoch,
            armed: false,
        } = &self.state
        {
            if *pending != token {
                return false;
            }
            let (node, epoch) = (node.clone(), *epoch);
            self.on_listing(node, epoch, result.clone(), tokens);
            return true;
        }
        let Some((node, epoch)) = self.watched(token) else {
            return false; // a reply to an op of an earlier state
        };
        let node = node.clone();
        match result {
            Ok(_) => {} // the watch is armed; wait for it
            Err(Error::NoNode) => self.check(node, tokens),
            Err(_) => {
                // Lost in flight: list again once the connection is back.
                self.state = State::Checking {
                    node,
                    pending: None,
                    epoch,
                };
                self.resume(tokens);
            }
        }
        true
    }

    /// The predecessor (or, holding, our own node) was deleted or changed, or the full
    /// directory changed: list again.
    fn handle_watch(&mut self, token: Token, tokens: &mut Tokens) -> bool {
        let Some((node, _)) = self.watched(token) else {
            return false;
        };
        let node = node.clone();
        if matches!(self.state, State::Listening { .. }) {
            self.listen(node, tokens);
        } else {
            self.check(node, tokens);
        }
        true
    }

    fn handle_link(&mut self, link: &Link, tokens: &mut Tokens) {
        let old = self.link.session_id();
        let new_session = link.session_id() != old && old != 0;
        self.link = *link;
        self.cleanup.handle_link(link, tokens);
        self.cleanup.drain(&mut self.ops);
        if let State::Enrolling(enroll) = &mut self.state {
            enroll.handle_link(link, tokens);
            return self.after_enroll(tokens);
        }
        let connected = link.is_connected();
        match self.mode {
            Mode::Lock if link.is_lost() || (connected && new_session) => {
                self.on_session_lost(tokens)
            }
            // RECONNECTED (or a new session): read the children again and re-check.
            Mode::Latch if connected => {
                if let Some(node) = self.node().cloned() {
                    self.check(node, tokens);
                }
            }
            _ => {}
        }
        self.resume(tokens);
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_outcome(&mut self) -> Option<Turn> {
        self.turns.pop_front()
    }

    /// Idle, and nothing left to delete or send.
    fn is_done(&self) -> bool {
        self.is_idle() && self.cleanup.is_empty() && self.ops.is_empty()
    }
}

#[cfg(test)]
mod tests;
