//! The world: servers, the leader's log and session tracker, clients, the network, and the
//! event queue that moves them all in virtual time.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use docent::{Id, Instant, Op};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::client::{Client, ToClient};
use super::fault::Faults;
use super::server::{Server, ToServer};
use super::tree::{DataTree, Node};
use super::txn::{Txn, TxnBody};
use super::{ClientId, ClientOptions, ConnId, OpId, Output, SimConfig};

/// A scheduled happening.
#[derive(Debug)]
pub(crate) enum Ev {
    ToServer(ConnId, ToServer),
    ToClient(ConnId, ToClient),
    Apply(usize),
    ClientTick(ClientId),
    LeaderTick,
    Reap,
    ElectionDone,
    Fault(usize),
    Heal(usize),
}

#[derive(Debug)]
struct Scheduled {
    at: Instant,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// A committed log entry and when the leader committed it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) txn: Txn,
    pub(crate) commit_at: Instant,
}

/// The leader's view of a live session.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub(crate) passwd: u64,
    pub(crate) timeout: Duration,
    pub(crate) expires_at: Instant,
}

/// One TCP connection and its two directions.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) client: ClientId,
    pub(crate) server: usize,
    pub(crate) last_up: Instant,
    pub(crate) last_down: Instant,
    pub(crate) broken_up: bool,
    pub(crate) broken_down: bool,
}

/// The simulated ensemble and its clients, sans-IO. See the [module docs](super).
#[derive(Debug)]
pub struct Ensemble {
    pub(crate) cfg: SimConfig,
    pub(crate) now: Instant,
    pub(crate) rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    pub(crate) log: Vec<Entry>,
    pub(crate) servers: Vec<Server>,
    pub(crate) leader: usize,
    pub(crate) serving: bool,
    pub(crate) electing: bool,
    epoch: i64,
    counter: i64,
    pub(crate) tracker: BTreeMap<i64, Tracked>,
    next_session: i64,
    pub(crate) clients: Vec<Client>,
    pub(crate) conns: BTreeMap<ConnId, Conn>,
    next_conn: u64,
    pub(crate) faults: Faults,
    pub(crate) quorum_victims: BTreeMap<usize, Vec<usize>>,
    pub(crate) outputs: VecDeque<Output>,
    next_op: u64,
    pub(crate) next_watch: u64,
    hash: u64,
    lines: Vec<String>,
}

impl Ensemble {
    /// A fresh ensemble: every server up, server 0 leading, an empty tree.
    pub fn new(cfg: SimConfig) -> Ensemble {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let servers = (0..cfg.servers)
            .map(|_| Server::new(DataTree::default()))
            .collect();
        let next_session = (1i64 << 56) | ((rng.next_u64() as i64 & 0xFFFF) << 24);
        let mut sim = Ensemble {
            now: Instant::ZERO,
            rng,
            queue: BinaryHeap::new(),
            seq: 0,
            log: Vec::new(),
            servers,
            leader: 0,
            serving: true,
            electing: false,
            epoch: 1,
            counter: 0,
            tracker: BTreeMap::new(),
            next_session,
            clients: Vec::new(),
            conns: BTreeMap::new(),
            next_conn: 0,
            faults: Faults::default(),
            quorum_victims: BTreeMap::new(),
            outputs: VecDeque::new(),
            next_op: 0,
            next_watch: 0,
            hash: 0xcbf2_9ce4_8422_2325,
            lines: Vec::new(),
            cfg,
        };
        let tick = sim.cfg.tick;
        sim.schedule(Instant::ZERO + tick, Ev::LeaderTick);
        let reap = sim.cfg.container_interval;
        sim.schedule(Instant::ZERO + reap, Ev::Reap);
        sim
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Adds a client process; it starts connecting at once.
    pub fn add_client(&mut self, now: Instant, options: ClientOptions) -> ClientId {
        self.advance(now);
        let id = ClientId(self.clients.len() as u32);
        let mut order: Vec<usize> = options
            .servers
            .clone()
            .unwrap_or_else(|| (0..self.servers.len()).collect());
        if options.servers.is_none() {
            for i in (1..order.len()).rev() {
                let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        self.clients.push(Client::new(options, order, now));
        self.client_tick(id);
        id
    }

    /// Sends `op` from `client` now (queued while the client is connecting). The result comes
    /// back as [`Output::OpDone`] with the returned id.
    pub fn submit(&mut self, now: Instant, client: ClientId, op: Op) -> OpId {
        self.advance(now);
        let id = self.new_op_id();
        self.client_submit(client, id, op);
        id
    }

    /// Closes `client`'s session (the ensemble deletes its ephemerals at once).
    pub fn close_client(&mut self, now: Instant, client: ClientId) -> OpId {
        self.advance(now);
        let id = self.new_op_id();
        self.client_close(client, id);
        id
    }

    /// `client` gives up its session without closing it (Curator's injected expiration): it
    /// reports Expired and opens a new session; the ensemble keeps the old one until the
    /// leader expires it. Nothing happens before the first session or after a close.
    pub fn abandon_session(&mut self, now: Instant, client: ClientId) {
        self.advance(now);
        self.client_abandon(client);
    }

    /// Runs everything due at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// When something is next due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.peek().map(|s| s.0.at)
    }

    /// The next output for the client processes. Call until `None` after every mutation.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        let out = self.outputs.pop_front()?;
        self.record(|| format!("{out:?}"), out_tag(&out));
        Some(out)
    }

    /// Runs the model until `deadline` (inclusive), collecting outputs for `poll_output`.
    pub fn run_until(&mut self, deadline: Instant) {
        self.advance(deadline);
    }

    /// The model's current time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The simulated wall clock, in Unix milliseconds.
    pub fn wall_ms(&self) -> i64 {
        self.cfg.wall_epoch_ms + self.now.since_epoch().as_millis() as i64
    }

    /// `client`'s wall clock (the ensemble's, shifted by any clock-drift fault).
    pub fn client_wall_ms(&self, client: ClientId) -> i64 {
        self.wall_ms() + self.clients[client.0 as usize].clock_offset_ms
    }

    /// Ground truth: the node at `path` as `server` (or, for `None`, the leader having applied
    /// every committed txn) sees it: `(data, stat, children)`.
    pub fn node(
        &self,
        server: Option<usize>,
        path: &str,
    ) -> Option<(Vec<u8>, docent::Stat, Vec<String>)> {
        let tree = &self.servers[server.unwrap_or(self.leader)].tree;
        tree.node(path).map(|n: &Node| {
            let children = n.children.iter().cloned().collect();
            (n.data.clone(), n.client_stat(), children)
        })
    }

    /// Ground truth: every path on `server` (`None`: the leader).
    pub fn paths(&self, server: Option<usize>) -> Vec<String> {
        self.servers[server.unwrap_or(self.leader)]
            .tree
            .nodes()
            .keys()
            .cloned()
            .collect()
    }

    /// Ground truth: true while the leader tracks `session` as alive.
    pub fn session_alive(&self, session: i64) -> bool {
        self.tracker.contains_key(&session)
    }

    /// The current leader.
    pub fn leader(&self) -> usize {
        self.leader
    }

    /// The number of committed txns.
    pub fn committed(&self) -> usize {
        self.log.len()
    }

    /// How many txns `server` has applied.
    pub fn applied(&self, server: usize) -> usize {
        self.servers[server].applied
    }

    /// The session `client` currently holds (0 before its first session).
    pub fn session_id(&self, client: ClientId) -> i64 {
        self.clients[client.0 as usize].session
    }

    /// The session timeout `client` negotiated (the requested one before connecting).
    pub fn session_timeout(&self, client: ClientId) -> Duration {
        self.clients[client.0 as usize].timeout
    }

    /// A hash of everything that happened so far (outputs, faults); equal seeds give equal
    /// hashes.
    pub fn event_hash(&self) -> u64 {
        self.hash
    }

    /// The readable event log (empty unless [`SimConfig::record_log`]).
    pub fn event_log(&self) -> &[String] {
        &self.lines
    }

    // ---- internals ----

    pub(crate) fn record(&mut self, line: impl FnOnce() -> String, tag: u64) {
        let t = self.now.since_epoch().as_nanos() as u64;
        for x in [t, tag] {
            self.hash ^= x;
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        if self.cfg.record_log {
            let l = line();
            self.lines.push(format!("{:?} {l}", self.now));
        }
    }

    fn new_op_id(&mut self) -> OpId {
        self.next_op += 1;
        OpId(self.next_op)
    }

    pub(crate) fn schedule(&mut self, at: Instant, ev: Ev) {
        self.seq += 1;
        let at = at.max(self.now);
        self.queue.push(Reverse(Scheduled {
            at,
            seq: self.seq,
            ev,
        }));
    }

    pub(crate) fn random_below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            ((self.rng.next_u64() as u128 * bound as u128) >> 64) as u64
        }
    }

    fn advance(&mut self, now: Instant) {
        while let Some(top) = self.queue.peek() {
            if top.0.at > now {
                break;
            }
            let Reverse(s) = self.queue.pop().expect("peeked");
            self.now = s.at;
            self.dispatch(s.ev);
        }
        if now > self.now {
            self.now = now;
        }
    }

    fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::ToServer(conn, pkt) => self.server_receive(conn, pkt),
            Ev::ToClient(conn, pkt) => self.client_receive(conn, pkt),
            Ev::Apply(s) => self.server_apply(s),
            Ev::ClientTick(c) => self.client_tick(c),
            Ev::LeaderTick => self.leader_tick(),
            Ev::Reap => self.reap(),
            Ev::ElectionDone => self.election_done(),
            Ev::Fault(i) => self.fire_fault(i),
            Ev::Heal(i) => self.heal_fault(i),
        }
    }

    // ---- the leader ----

    /// Orders a txn; it commits `commit_delay` from now. Returns its log index.
    pub(crate) fn propose(&mut self, session: i64, ids: Arc<[Id]>, body: TxnBody) -> usize {
        self.counter += 1;
        let zxid = self.epoch << 32 | self.counter;
        let commit_at = self.now + self.cfg.commit_delay;
        let txn = Txn {
            zxid,
            time: self.wall_ms(),
            session,
            ids,
            body,
        };
        self.log.push(Entry { txn, commit_at });
        for s in 0..self.servers.len() {
            self.schedule_apply(s);
        }
        self.log.len() - 1
    }

    pub(crate) fn schedule_apply(&mut self, s: usize) {
        let server = &self.servers[s];
        if !server.up || server.applied >= self.log.len() {
            return;
        }
        let lag = if s == self.leader {
            Duration::ZERO
        } else {
            server.lag
        };
        let at = self.log[server.applied].commit_at + lag;
        if server.apply_at.is_some_and(|t| t <= at) {
            return;
        }
        self.servers[s].apply_at = Some(at);
        self.schedule(at, Ev::Apply(s));
    }

    pub(crate) fn new_session_id(&mut self) -> (i64, u64) {
        self.next_session += 1;
        (self.next_session, self.rng.next_u64())
    }

    /// Expiry deadline for a touch now: rounded up to the next tick, as ZooKeeper's
    /// `ExpiryQueue` does.
    pub(crate) fn expiry_for(&self, timeout: Duration) -> Instant {
        let t = (self.now + timeout).since_epoch().as_nanos();
        let tick = self.cfg.tick.as_nanos().max(1);
        Instant::from_epoch(Duration::from_nanos(((t / tick + 1) * tick) as u64))
    }

    pub(crate) fn touch(&mut self, session: i64) {
        if !self.serving {
            return;
        }
        if let Some(timeout) = self.tracker.get(&session).map(|t| t.timeout) {
            let at = self.expiry_for(timeout);
            self.tracker.get_mut(&session).expect("tracked").expires_at = at;
        }
    }

    fn leader_tick(&mut self) {
        let tick = self.cfg.tick;
        self.schedule(self.now + tick, Ev::LeaderTick);
        if !self.serving {
            return;
        }
        let now = self.now;
        let expired: Vec<i64> = self
            .tracker
            .iter()
            .filter(|(_, t)| t.expires_at <= now)
            .map(|(s, _)| *s)
            .collect();
        for s in expired {
            self.expire(s);
        }
    }

    /// The leader expires `session`: a close-session txn that every server applies.
    pub(crate) fn expire(&mut self, session: i64) {
        if self.tracker.remove(&session).is_some() {
            self.record(
                || format!("expire session {session:#x}"),
                0x10 ^ session as u64,
            );
            self.propose(session, Arc::from(Vec::new()), TxnBody::CloseSession);
        }
    }

    fn reap(&mut self) {
        let every = self.cfg.container_interval;
        self.schedule(self.now + every, Ev::Reap);
        if !self.serving {
            return;
        }
        let wall = self.wall_ms();
        for path in self.servers[self.leader].tree.reap_candidates(wall) {
            self.propose(0, Arc::from(Vec::new()), TxnBody::DeleteContainer(path));
        }
    }

    /// Loses the leader's service: every client connection drops and an election starts (or,
    /// without a quorum, waits for one).
    pub(crate) fn start_election(&mut self) {
        self.serving = false;
        for s in 0..self.servers.len() {
            self.drop_server_conns(s);
        }
        let up = self.servers.iter().filter(|s| s.up).count();
        if up * 2 > self.servers.len() && !self.electing {
            self.electing = true;
            let t = self.cfg.election_time;
            self.schedule(self.now + t, Ev::ElectionDone);
        }
    }

    fn election_done(&mut self) {
        self.electing = false;
        let up: Vec<usize> = (0..self.servers.len())
            .filter(|&s| self.servers[s].up)
            .collect();
        if up.len() * 2 <= self.servers.len() {
            return;
        }
        let others: Vec<usize> = up.iter().copied().filter(|&s| s != self.leader).collect();
        let pool = if others.is_empty() { &up } else { &others };
        self.leader = pool[self.random_below(pool.len() as u64) as usize];
        self.epoch += 1;
        self.counter = 0;
        // Recovery: every server up syncs with the new leader before serving.
        for s in up {
            self.catch_up(s);
        }
        self.serving = true;
        let sessions: Vec<i64> = self.tracker.keys().copied().collect();
        for s in sessions {
            self.touch(s);
        }
        let leader = self.leader;
        self.record(|| format!("leader {leader}"), 0x20 ^ leader as u64);
    }

    /// Re-checks quorum after a server went down or came up.
    pub(crate) fn check_quorum(&mut self) {
        let up = self.servers.iter().filter(|s| s.up).count();
        let quorum = up * 2 > self.servers.len();
        if self.serving && (!quorum || !self.servers[self.leader].up) {
            self.start_election();
        } else if !self.serving && quorum && !self.electing {
            self.electing = true;
            let t = self.cfg.election_time;
            self.schedule(self.now + t, Ev::ElectionDone);
        }
    }

    // ---- the network ----

    pub(crate) fn open_conn(&mut self, client: ClientId, server: usize) -> ConnId {
        self.next_conn += 1;
        let id = ConnId(self.next_conn);
        let now = self.now;
        self.conns.insert(
            id,
            Conn {
                client,
                server,
                last_up: now,
                last_down: now,
                broken_up: false,
                broken_down: false,
            },
        );
        id
    }

    fn delay(&mut self, client: ClientId) -> Duration {
        let jitter = self.cfg.net_jitter.as_nanos() as u64;
        let extra = self.faults.extra_delay(client);
        self.cfg.net_delay + Duration::from_nanos(self.random_below(jitter + 1)) + extra
    }

    /// Sends a packet from a client to a server over `conn` (dropped, and the direction stalled
    /// for good, while partitioned).
    pub(crate) fn send_to_server(&mut self, conn: ConnId, pkt: ToServer) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let (client, server) = (c.client, c.server);
        if c.broken_up || self.faults.blocked(client, server, true) {
            self.conns.get_mut(&conn).expect("conn").broken_up = true;
            return;
        }
        let d = self.delay(client);
        let c = self.conns.get_mut(&conn).expect("conn");
        let at = (self.now + d).max(c.last_up);
        c.last_up = at;
        self.schedule(at, Ev::ToServer(conn, pkt));
    }

    /// Sends a packet from a server to a client over `conn`.
    pub(crate) fn send_to_client(&mut self, conn: ConnId, pkt: ToClient) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let (client, server) = (c.client, c.server);
        if c.broken_down || self.faults.blocked(client, server, false) {
            self.conns.get_mut(&conn).expect("conn").broken_down = true;
            return;
        }
        let d = self.delay(client);
        let c = self.conns.get_mut(&conn).expect("conn");
        let at = (self.now + d).max(c.last_down);
        c.last_down = at;
        self.schedule(at, Ev::ToClient(conn, pkt));
    }
}

fn out_tag(out: &Output) -> u64 {
    match out {
        Output::OpDone {
            client, op, result, ..
        } => (client.0 as u64) << 48 ^ op.0 ^ (result.is_ok() as u64) << 40,
        Output::Watch {
            client,
            watch,
            last,
            ..
        } => (client.0 as u64) << 48 ^ watch.0 << 8 ^ *last as u64 ^ 1 << 41,
        Output::Session { client, state } => {
            (client.0 as u64) << 48
                ^ match state {
                    docent::SessionState::Connected { session_id, .. } => *session_id as u64,
                    docent::SessionState::Disconnected => 2,
                    docent::SessionState::Expired => 3,
                    _ => 4,
                }
                ^ 1 << 42
        }
    }
}
