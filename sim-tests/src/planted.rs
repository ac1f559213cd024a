//! Naive leader-latch variants, each with one of the bugs that users of other recipe
//! libraries hit. The suites must catch every one of them (`tests/planted.rs`).
//!
//! [`NaiveLatch`] is a small latch machine with the bug chosen by a [`Flaw`]; [`SuspendBlind`]
//! wraps docent's own [`LatchMachine`] and hides SUSPENDED from it. Both emit
//! [`LatchEvent`]s, so the same observers and checkers apply.

use std::collections::VecDeque;

use docent::recipes::latch::{LatchCommand, LatchEvent, LatchMachine};
use docent::rng::Rng;
use docent::{
    Acl, ConnectionState, CreateMode, Error, Input, Instant, Machine, Op, OpResult, Token, Tokens,
};

/// The bug a [`NaiveLatch`] carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// None: protected names, its own node first, the predecessor watched. The control: it
    /// must pass the suites, so that each flaw's catch is the flaw's.
    None,
    /// Plain ephemeral-sequential create: after a lost create reply it creates again, and the
    /// first node (applied, reply lost) is an orphan of its own live session (CURATOR-45).
    UnprotectedCreate,
    /// Protected names, but it leads whenever the first node carries its prefix, without
    /// checking that the node is its current one (no ephemeralOwner check, CURATOR-696): a
    /// node of its expired session, still listed by a lagging follower, makes it lead.
    NoOwnerCheck,
    /// Every waiter watches the whole children list instead of its predecessor: each change
    /// wakes every waiter (the herd).
    WatchAllChildren,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pending {
    Create,
    List,
    /// Stat of a node found after a lost create reply (its name).
    Adopt(String),
    Watch,
    /// Brings the server up to date before a lookup; its result does not matter.
    Sync,
}

/// A minimal leader latch with one planted [`Flaw`].
#[derive(Debug)]
pub struct NaiveLatch {
    dir: String,
    id: Vec<u8>,
    flaw: Flaw,
    prefix: String,
    tokens: Tokens,
    pending: Vec<(Token, Pending)>,
    /// Our node's name (not the path) and creation zxid.
    node: Option<(String, i64)>,
    /// A create's outcome is unknown (its reply was lost).
    unsure: bool,
    connected: bool,
    session: i64,
    leader: Option<i64>,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<LatchEvent>,
}

impl NaiveLatch {
    /// A latch in `dir` (which must exist) for `id`, with `flaw`.
    pub fn new(dir: &str, id: &str, flaw: Flaw, mut rng: Rng) -> NaiveLatch {
        let prefix = match flaw {
            Flaw::UnprotectedCreate => String::new(),
            _ => format!("_c_{}-", rng.uuid()),
        };
        NaiveLatch {
            dir: dir.to_owned(),
            id: id.as_bytes().to_vec(),
            flaw,
            prefix,
            tokens: Tokens::default(),
            pending: Vec::new(),
            node: None,
            unsure: false,
            connected: false,
            session: 0,
            leader: None,
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The fencing token while it believes it leads.
    pub fn leadership(&self) -> Option<i64> {
        self.leader
    }

    fn send(&mut self, op: Op, kind: Pending) {
        let token = self.tokens.next();
        self.pending.push((token, kind));
        self.ops.push_back((token, op));
    }

    fn busy(&self, kind: Pending) -> bool {
        self.pending.iter().any(|(_, k)| *k == kind)
    }

    fn create(&mut self) {
        if self.busy(Pending::Create) {
            return;
        }
        let op = Op::Create {
            path: format!("{}/{}latch-", self.dir, self.prefix),
            data: self.id.clone(),
            acl: Acl::open(),
            mode: CreateMode::EphemeralSequential,
        };
        self.send(op, Pending::Create);
    }

    fn list(&mut self) {
        let watch = self.flaw == Flaw::WatchAllChildren;
        let path = self.dir.clone();
        self.send(Op::GetChildren { path, watch }, Pending::List);
    }

    fn set_leader(&mut self, token: Option<i64>) {
        if self.leader != token {
            self.leader = token;
            self.events.push_back(match token {
                Some(token) => LatchEvent::IsLeader { token },
                None => LatchEvent::NotLeader,
            });
        }
    }

    /// (Re)joins: a known node is checked, an unknown outcome is looked for (protected) or
    /// simply created again (unprotected), no node is created.
    fn join(&mut self) {
        if !self.connected {
            return;
        }
        match (&self.node, self.unsure) {
            (Some(_), _) => self.list(),
            (None, true) if self.flaw != Flaw::UnprotectedCreate => {
                // The lookup must not run on a server that has not applied our create yet.
                let path = self.dir.clone();
                self.send(Op::Sync { path }, Pending::Sync);
                self.list();
            }
            (None, _) => self.create(),
        }
    }

    fn on_children(&mut self, mut children: Vec<String>) {
        children.sort_by_key(|c| c.rsplit('-').next().unwrap_or_default().to_owned());
        if self.node.is_none() {
            // Looking for a create whose reply was lost (protected names only): the newest
            // node with our prefix (an older one may be an abandoned session's).
            match children.iter().rev().find(|c| c.starts_with(&self.prefix)) {
                Some(found) => {
                    let path = format!("{}/{found}", self.dir);
                    self.send(
                        Op::Exists { path, watch: false },
                        Pending::Adopt(found.clone()),
                    );
                }
                None => {
                    self.unsure = false;
                    self.create();
                }
            }
            return;
        }
        let Some((ours, czxid)) = self.node.clone() else {
            return;
        };
        let Some(index) = children.iter().position(|c| *c == ours) else {
            // Our node is gone (its session expired): start over.
            self.node = None;
            self.set_leader(None);
            return self.create();
        };
        let first = &children[0];
        let leads = match self.flaw {
            Flaw::NoOwnerCheck => first.starts_with(&self.prefix),
            _ => index == 0,
        };
        if leads {
            return self.set_leader(Some(czxid));
        }
        self.set_leader(None);
        if self.flaw != Flaw::WatchAllChildren {
            let path = format!("{}/{}", self.dir, children[index - 1]);
            self.send(Op::Exists { path, watch: true }, Pending::Watch);
        }
    }

    fn on_op_done(&mut self, token: Token, result: Result<OpResult, Error>) {
        let Some(i) = self.pending.iter().position(|(t, _)| *t == token) else {
            return;
        };
        let (_, kind) = self.pending.remove(i);
        match (kind, result) {
            (Pending::Create, Ok(OpResult::Created { path, stat })) => {
                let name = path.rsplit('/').next().unwrap_or_default().to_owned();
                self.node = Some((name, stat.czxid));
                self.unsure = false;
                self.list();
            }
            (Pending::Create, Err(Error::ConnectionLoss)) => {
                self.unsure = true;
                self.join();
            }
            (Pending::List, Ok(OpResult::Children { children, .. })) => self.on_children(children),
            (Pending::Adopt(found), Ok(OpResult::Exists(Some(stat))))
                if stat.ephemeral_owner == self.session =>
            {
                // Our node of the lost reply: adopt it.
                self.unsure = false;
                self.node = Some((found, stat.czxid));
                self.list();
            }
            (Pending::Adopt(_), Ok(OpResult::Exists(_))) => {
                // Gone, or an earlier session's (CURATOR-498): ours was never created.
                self.unsure = false;
                self.create();
            }
            (Pending::Watch, Ok(OpResult::Exists(None))) => self.list(),
            (Pending::Watch, Ok(_)) | (Pending::Sync, _) => {}
            // The session was closed for good: nothing more to do.
            (_, Err(Error::Closed)) => self.connected = false,
            // Anything else (connection loss, expiry): look again once connected.
            _ => self.join(),
        }
    }
}

impl Machine for NaiveLatch {
    type Command = LatchCommand;
    type Event = LatchEvent;

    fn handle(&mut self, now: Instant, input: Input<LatchCommand>) {
        if std::env::var("DOCENT_TRACE").is_ok_and(|v| v == "1") {
            eprintln!("{now:?} {}: {input:?}", String::from_utf8_lossy(&self.id));
        }
        match input {
            Input::OpDone { token, result } => self.on_op_done(token, result),
            Input::Watch { .. } if self.connected => self.join(),
            Input::Connection { state, session_id } => {
                let new_session = self.session != 0 && session_id != self.session;
                self.session = session_id;
                self.connected = state.is_connected();
                match state {
                    ConnectionState::Suspended => self.set_leader(None),
                    // LOST may be injected client-side while the ensemble keeps the session:
                    // the node is forgotten only when a new session shows it died.
                    ConnectionState::Lost => self.set_leader(None),
                    _ if self.connected => {
                        if new_session {
                            self.node = None;
                            self.unsure = false;
                        }
                        self.join();
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<LatchEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}

/// docent's [`LatchMachine`] with SUSPENDED hidden from it: it keeps leading while
/// disconnected, until LOST (CURATOR-460 without fencing; `latch_ignores_disconnect`).
#[derive(Debug)]
pub struct SuspendBlind(pub LatchMachine);

impl Machine for SuspendBlind {
    type Command = LatchCommand;
    type Event = LatchEvent;

    fn handle(&mut self, now: Instant, input: Input<LatchCommand>) {
        if let Input::Connection {
            state: ConnectionState::Suspended,
            ..
        } = input
        {
            return;
        }
        self.0.handle(now, input);
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.0.poll_op()
    }

    fn poll_event(&mut self) -> Option<LatchEvent> {
        self.0.poll_event()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.0.poll_timeout()
    }

    fn is_done(&self) -> bool {
        self.0.is_done()
    }
}

/// A naive multi-lock that keeps what it took when a later lock fails or times out: the
/// locks it holds block everyone else, and its next attempt re-enters them (a mutex handle is
/// re-entrant), so they are never let go.
pub struct KeepingMultiLock {
    client: docent::Client,
    locks: Vec<Box<dyn docent::recipes::multi::Lockable>>,
    kept: std::sync::Mutex<Vec<Box<dyn docent::recipes::multi::Hold>>>,
}

impl KeepingMultiLock {
    /// The naive multi-lock over `locks`, in order.
    pub fn new(
        client: &docent::Client,
        locks: Vec<Box<dyn docent::recipes::multi::Lockable>>,
    ) -> KeepingMultiLock {
        KeepingMultiLock {
            client: client.clone(),
            locks,
            kept: std::sync::Mutex::new(Vec::new()),
        }
    }
}

impl crate::multi::TakeAll for KeepingMultiLock {
    fn locks(&self) -> &[Box<dyn docent::recipes::multi::Lockable>] {
        &self.locks
    }

    fn take(
        &self,
        timeout: std::time::Duration,
    ) -> futures::future::BoxFuture<'_, Result<Option<crate::multi::Taken>, Error>> {
        use futures::FutureExt;
        async move {
            let deadline = self.client.now() + timeout;
            let mut holds = Vec::new();
            for lock in &self.locks {
                let left = deadline.saturating_since(self.client.now());
                match lock.try_acquire(left).await {
                    Ok(Some(hold)) => holds.push(hold),
                    failed => {
                        // The flaw: what was taken is kept, not released.
                        self.kept.lock().expect("poisoned").extend(holds);
                        return failed.map(|_| None);
                    }
                }
            }
            let tokens = holds.iter().map(|h| h.token()).collect();
            let lost = futures::future::select_all(holds.iter().map(|h| h.lost())).map(|_| ());
            let release = async move {
                for hold in holds.into_iter().rev() {
                    hold.release().await?;
                }
                Ok(())
            };
            Ok(Some(crate::multi::Taken {
                tokens,
                lost: lost.boxed(),
                release: release.boxed(),
            }))
        }
        .boxed()
    }
}

// ---- read–write lock (issue 15): a sort that does not strip the markers ----

/// A naive read–write lock writer: Curator's standard mutex rule on `__WRIT__` nodes, which
/// sorts by the text after its own marker only. Read nodes keep their whole names and sort
/// after every writer, so the writer holds while earlier readers still read.
pub fn unstripped_rw_writer(
    dir: &str,
    client: &docent::Client,
) -> docent::recipes::lock::LockMachine {
    docent::recipes::lock::LockMachine::new(
        dir.to_owned(),
        docent::recipes::order::WRITE_MARKER,
        1,
        Vec::new(),
        client.error_policy(),
        client.next_rng(),
    )
}
