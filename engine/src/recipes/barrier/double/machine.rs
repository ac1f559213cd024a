//! The sans-IO core of the [`DoubleBarrier`](super::DoubleBarrier) (Curator's
//! `DistributedDoubleBarrier`, same nodes, same protocol).
//!
//! Members are `<dir>/<uuid>` EPHEMERAL nodes (one name per handle, kept across sessions);
//! the member that counts enough members creates `<dir>/ready` (PERSISTENT), whose creation
//! every other member watches for.
//!
//! ```text
//!            enter                                  leave
//!  Outside ─────────► Entering ───────────► Inside ─────────► Leaving ──────────► Outside
//!     ▲  look: exists(ready, watch),  passed         look: delete our node,  passed
//!     │        create our node,                            sync, list dir
//!     │        list dir                                    │
//!     │  ready there ─────────────────► passed             no member left ──► passed,
//!     │  members >= qty ─► create ready ► passed            delete ready
//!     │  else: wait for the ready watch,                   else: exists(last member,
//!     │        look again                                        watch), look again
//!     └──── deadline (our node deleted), close ◄────────────── deadline, close
//! ```
//!
//! **Nothing passes on an event alone.** A watch event (the ready node's creation, the watched
//! member's deletion, a session event) only makes the machine look again; it passes on what
//! the replies of that look say (Curator GH 1290: `enter` passed on any wake-up, a session
//! event included). A look that failed for want of a connection goes again once the
//! connection came back after it; a new session re-creates our node under the same name (so
//! a member is never counted twice) if we are still entering. A create that hits our own name
//! checks its owner: a node left by an earlier session of ours is deleted and made again, one
//! of another process (two clients that drew the same UUID from the same seed) fails the call. Both
//! calls honour their deadlines (CURATOR-233/536: `leave` ignored its timeout); an `enter`
//! that runs out of time takes its node away again.

use std::collections::{BTreeMap, VecDeque};

use crate::framework::guaranteed::waits_for_connection;
use crate::framework::link::Link;
use crate::framework::sub::Sub;
use crate::framework::{ConnectionState, GuaranteedDelete, StateCell, StateWatch};
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::path;
use crate::recipes::barrier::BarrierEvent;
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{Acl, CreateMode};
use crate::Error;

/// Curator's ready node name.
pub const READY_NODE: &str = "ready";

/// Where a [`DoubleBarrier`](super::DoubleBarrier) member stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DoubleBarrierState {
    /// Not in the barrier.
    Outside,
    /// `enter` in progress: waiting for enough members.
    Entering,
    /// Entered (passed `enter`), not leaving yet.
    Inside,
    /// `leave` in progress: waiting for every member to leave.
    Leaving,
}

/// Commands for the double barrier machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DoubleBarrierCommand {
    /// Enter; call number `call`, give up at `deadline`.
    Enter {
        /// Names the call in its outcome.
        call: u64,
        /// When to give up (`None`: never).
        deadline: Option<Instant>,
    },
    /// Leave; call number `call`, give up at `deadline`.
    Leave {
        /// Names the call in its outcome.
        call: u64,
        /// When to give up (`None`: never).
        deadline: Option<Instant>,
    },
    /// Stop for good (our node is deleted).
    Close,
}

/// What an op in flight asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ask {
    /// `exists(ready)` with a watch.
    Ready,
    /// The create of our node.
    Create,
    /// The listing of the directory.
    List,
    /// A container create of a missing parent.
    Parent,
    /// `exists(our node)` after NodeExists: whose is it?
    Owner,
    /// The delete of our node left by an earlier session.
    Stale,
    /// The create of the ready node.
    CreateReady,
    /// `exists(last member)` with a watch.
    Last,
}

/// What the replies of the current look said.
#[derive(Debug, Default)]
struct Seen {
    ready: bool,
    /// Members listed (the ready node left out).
    members: Option<Vec<String>>,
    parents_missing: bool,
    name_taken: bool,
    last_present: bool,
    offline: bool,
    failed: Option<Error>,
}

/// A call in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Call {
    call: u64,
    deadline: Option<Instant>,
    entering: bool,
}

/// The double barrier machine.
#[derive(Debug)]
pub struct DoubleBarrierMachine {
    dir: String,
    node: String,
    ready: String,
    qty: usize,
    link: Link,
    tokens: Tokens,
    call: Option<Call>,
    /// Ops of the current look still in flight, and the link epoch they were sent at.
    asked: BTreeMap<Token, Ask>,
    sent_epoch: u64,
    seen: Seen,
    /// The watch whose event makes us look again.
    watch: Option<Token>,
    /// That watch fired, or the connection came back, while a look was in flight: look again
    /// rather than wait.
    fired: bool,
    /// The session whose node `<dir>/<uuid>` we know exists.
    member: Option<i64>,
    /// A create of our node went out and what came of it is not known yet.
    creating: bool,
    /// Every session we have had: a node under our name owned by one of them is ours.
    sessions: Vec<i64>,
    /// Waiting for a (re)connection to look again.
    offline: bool,
    deletes: Vec<GuaranteedDelete>,
    closed: bool,
    state: StateCell<DoubleBarrierState>,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<BarrierEvent>,
}

impl DoubleBarrierMachine {
    /// A member of the barrier in `dir` waiting for `qty` members; its node's name is a UUID
    /// drawn from `rng`. Idle until told to enter.
    pub fn new(dir: String, qty: usize, mut rng: Rng) -> DoubleBarrierMachine {
        DoubleBarrierMachine {
            node: path::join(&dir, &rng.uuid()),
            ready: path::join(&dir, READY_NODE),
            dir,
            qty,
            link: Link::default(),
            tokens: Tokens::default(),
            call: None,
            asked: BTreeMap::new(),
            sent_epoch: 0,
            seen: Seen::default(),
            watch: None,
            fired: false,
            member: None,
            sessions: Vec::new(),
            creating: false,
            offline: false,
            deletes: Vec::new(),
            closed: false,
            state: StateCell::new(DoubleBarrierState::Outside),
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// Our member node.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Where we stand.
    pub fn state(&self) -> DoubleBarrierState {
        self.state.get()
    }

    /// The state, now and after each change.
    pub fn watch_state(&self) -> StateWatch<DoubleBarrierState> {
        self.state.watch()
    }

    fn ask(&mut self, ask: Ask, op: Op) -> Token {
        let token = self.tokens.next();
        self.ops.push_back((token, op));
        self.asked.insert(token, ask);
        token
    }

    /// Sends the ops of one look at where the barrier stands.
    fn look(&mut self) {
        let Some(call) = self.call else { return };
        self.offline = false;
        self.watch = None;
        self.fired = false;
        self.seen = Seen::default();
        self.sent_epoch = self.link.epoch();
        let dir = self.dir.clone();
        if call.entering {
            let ready = self.ready.clone();
            self.ask(
                Ask::Ready,
                Op::Exists {
                    path: ready,
                    watch: true,
                },
            );
            if self.member != Some(self.link.session_id()) {
                let create = create(&self.node, CreateMode::Ephemeral);
                self.ask(Ask::Create, create);
                self.creating = true;
            }
        } else {
            if self.member.is_some() {
                self.delete_ours();
            }
            // Not behind a write of ours: a new session on a lagging follower could list a
            // state older than a member that entered after us.
            let path = self.dir.clone();
            self.ops.push_back((self.tokens.next(), Op::Sync { path }));
        }
        self.ask(
            Ask::List,
            Op::GetChildren {
                path: dir,
                watch: false,
            },
        );
    }

    /// Deletes our node (retrying across connections) unless that is under way.
    fn delete_ours(&mut self) {
        self.member = None;
        self.delete(self.node.clone());
    }

    /// Deletes `node` (retrying across connections and sessions) unless that is under way.
    fn delete(&mut self, node: String) {
        if !self.deleting(&node) {
            let mut delete = GuaranteedDelete::started(node, &self.link, &mut self.tokens);
            delete.drain_ops(&mut self.ops);
            self.deletes.push(delete);
        }
    }

    fn deleting(&self, node: &str) -> bool {
        self.deletes.iter().any(|d| d.path() == node)
    }

    /// Moves the deletes' ops out and forgets the finished ones.
    fn drain_deletes(&mut self) {
        for delete in &mut self.deletes {
            delete.drain_ops(&mut self.ops);
            if let Some(Err(e)) = delete.poll_outcome() {
                tracing::warn!(node = delete.path(), %e, "delete failed");
            }
        }
        self.deletes.retain(|d| !d.is_done());
    }

    fn finish(&mut self, outcome: Result<bool, Error>) {
        let Some(call) = self.call.take() else { return };
        let passed = outcome == Ok(true);
        // An enter that did not pass takes its node away again (if it may have made one).
        if call.entering && !passed && (self.member.is_some() || self.creating) {
            self.delete_ours();
        }
        self.state.set_if_changed(match (call.entering, passed) {
            (true, true) => DoubleBarrierState::Inside,
            _ => DoubleBarrierState::Outside,
        });
        self.watch = None;
        self.offline = false;
        let call = call.call;
        self.events.push_back(BarrierEvent::Done { call, outcome });
    }

    fn on_reply(&mut self, token: Token, result: &Result<OpResult, Error>) {
        let tokens = &mut self.tokens;
        if self
            .deletes
            .iter_mut()
            .any(|d| d.handle_op(token, result, tokens))
        {
            return;
        }
        let Some(ask) = self.asked.remove(&token) else {
            return;
        };
        let seen = &mut self.seen;
        match (ask, result) {
            (Ask::Ready, Ok(OpResult::Exists(stat))) => {
                seen.ready = stat.is_some();
                if stat.is_none() {
                    self.watch = Some(token);
                }
            }
            (Ask::Create, Ok(OpResult::Created { stat, .. })) => {
                self.creating = false;
                self.member = Some(stat.ephemeral_owner);
                // Created for an enter that has ended meanwhile: take it away again.
                if !self.call.is_some_and(|c| c.entering) {
                    self.delete_ours();
                }
            }
            (Ask::Create, Err(Error::NodeExists)) => seen.name_taken = true,
            (Ask::Create, Err(Error::NoNode)) => {
                self.creating = false;
                seen.parents_missing = true;
            }
            (Ask::List, Ok(OpResult::Children { children, .. })) => {
                let members = children.iter().filter(|c| c.as_str() != READY_NODE);
                seen.members = Some(members.cloned().collect());
            }
            (Ask::List, Err(Error::NoNode)) => seen.members = Some(Vec::new()),
            (Ask::Owner, Ok(OpResult::Exists(Some(stat)))) => {
                if stat.ephemeral_owner == self.link.session_id() {
                    // Ours (a create whose reply was lost): look again, now as a member.
                    self.creating = false;
                    self.member = Some(stat.ephemeral_owner);
                    self.watch = None;
                } else if self.sessions.contains(&stat.ephemeral_owner) {
                    // Left by an earlier session of ours: it goes with that session at the
                    // latest; delete it now and create ours again.
                    let stale = Op::Delete {
                        path: self.node.clone(),
                        version: Some(stat.version),
                    };
                    self.ask(Ask::Stale, stale);
                } else {
                    // Another process drew our UUID: never touch its node.
                    self.creating = false;
                    seen.failed = Some(Error::InvalidArgument(format!(
                        "member node {} belongs to session {:#x}, not to one of ours: two \
                         clients drew the same UUID (the same seed?)",
                        self.node, stat.ephemeral_owner
                    )));
                }
            }
            (Ask::Owner | Ask::Stale | Ask::Parent, _) => {}
            (Ask::CreateReady, Ok(_) | Err(Error::NodeExists)) => seen.ready = true,
            (Ask::Last, Ok(OpResult::Exists(stat))) => {
                seen.last_present = stat.is_some();
                if stat.is_some() {
                    self.watch = Some(token);
                }
            }
            (_, Err(e)) if waits_for_connection(e) => seen.offline = true,
            (_, Err(e)) => seen.failed = Some(e.clone()),
            (_, Ok(other)) => {
                let e = Error::unexpected_reply(&self.dir, "double barrier read", other);
                seen.failed = Some(e);
            }
        }
        if self.asked.is_empty() {
            self.decide();
        }
    }

    /// Every reply of the look is in: pass, wait, or look again.
    fn decide(&mut self) {
        let Some(call) = self.call else { return };
        if let Some(e) = self.seen.failed.take() {
            return self.finish(Err(e));
        }
        if self.seen.offline {
            self.watch = None;
            if self.link.ready_after(self.sent_epoch) {
                return self.look();
            }
            self.offline = true;
            return;
        }
        if call.entering {
            self.decide_enter();
        } else {
            self.decide_leave();
        }
    }

    fn decide_enter(&mut self) {
        let seen = std::mem::take(&mut self.seen);
        if seen.parents_missing {
            for parent in path::ancestors(&self.node)
                .map(str::to_owned)
                .collect::<Vec<_>>()
            {
                self.ask(Ask::Parent, create(&parent, CreateMode::Container));
            }
            return self.look();
        }
        if seen.name_taken && self.member != Some(self.link.session_id()) {
            let node = self.node.clone();
            self.ask(
                Ask::Owner,
                Op::Exists {
                    path: node,
                    watch: false,
                },
            );
            return;
        }
        if self.member != Some(self.link.session_id()) {
            return self.look();
        }
        let count = seen.members.as_ref().map_or(0, Vec::len);
        if seen.ready {
            self.finish(Ok(true));
        } else if count >= self.qty {
            let ready = create(&self.ready, CreateMode::Persistent);
            self.ask(Ask::CreateReady, ready);
        } else if self.watch.is_none() || self.fired {
            self.look();
        }
    }

    fn decide_leave(&mut self) {
        let seen = std::mem::take(&mut self.seen);
        if seen.last_present {
            if self.fired {
                self.look();
            }
            return; // wait for the watch on the last member
        }
        // The last member we watched is gone already: list again (others may remain).
        let Some(mut others) = seen.members else {
            return self.look();
        };
        let ours = path::name(&self.node).to_owned();
        if others.contains(&ours) && !self.deleting(&self.node) {
            // Ours after all (a create whose reply was lost): delete it too.
            self.delete_ours();
        }
        others.retain(|m| *m != ours);
        others.sort();
        match others.last() {
            None => {
                self.delete(self.ready.clone());
                self.finish(Ok(true));
            }
            Some(last) => {
                let last = path::join(&self.dir, last);
                self.ask(
                    Ask::Last,
                    Op::Exists {
                        path: last,
                        watch: true,
                    },
                );
            }
        }
    }

    fn on_watch(&mut self, token: Token) {
        if self.watch == Some(token) {
            self.wake();
        }
    }

    /// Looks again now, or once the look in flight is in.
    fn wake(&mut self) {
        if self.asked.is_empty() {
            self.look();
        } else {
            self.fired = true;
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        let up = self.link.handle(state, session_id);
        if up && !self.sessions.contains(&session_id) {
            self.sessions.push(session_id);
        }
        for delete in &mut self.deletes {
            delete.handle_link(&self.link, &mut self.tokens);
        }
        // The watch may have gone with the session, our node too: look again.
        if up && self.call.is_some() {
            if self.offline {
                self.look();
            } else {
                self.wake();
            }
        }
    }

    fn start(&mut self, call: u64, deadline: Option<Instant>, entering: bool) {
        // A call whose caller went away gives way to the new one.
        if self.call.is_some() {
            self.finish(Err(Error::Closed));
        }
        self.call = Some(Call {
            call,
            deadline,
            entering,
        });
        self.state.set_if_changed(if entering {
            DoubleBarrierState::Entering
        } else {
            DoubleBarrierState::Leaving
        });
        if self.asked.is_empty() {
            self.look();
        }
    }
}

/// A create of `path` with no data and an open ACL.
fn create(path: &str, mode: CreateMode) -> Op {
    Op::Create {
        path: path.to_owned(),
        data: Vec::new(),
        acl: Acl::open(),
        mode,
    }
}

impl Machine for DoubleBarrierMachine {
    type Command = DoubleBarrierCommand;
    type Event = BarrierEvent;

    fn handle(&mut self, now: Instant, input: Input<DoubleBarrierCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_reply(token, &result),
            Input::Watch { token, .. } => self.on_watch(token),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Timeout => {
                let due = self.call.and_then(|c| c.deadline);
                if due.is_some_and(|d| now >= d) {
                    self.finish(Ok(false));
                }
            }
            Input::Command(DoubleBarrierCommand::Enter { call, deadline }) => {
                self.start(call, deadline, true)
            }
            Input::Command(DoubleBarrierCommand::Leave { call, deadline }) => {
                self.start(call, deadline, false)
            }
            Input::Command(DoubleBarrierCommand::Close) => {
                self.finish(Err(Error::Closed));
                if self.member.is_some() || self.creating {
                    self.delete_ours();
                }
                self.closed = true;
            }
        }
        self.drain_deletes();
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<BarrierEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.call.and_then(|c| c.deadline)
    }

    fn is_done(&self) -> bool {
        self.closed && self.asked.is_empty() && self.deletes.is_empty()
    }
}
