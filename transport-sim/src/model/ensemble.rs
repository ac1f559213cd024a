//! The world, as an orchestrator: it owns the actors (servers, clients), the leader's
//! [`Quorum`] and the [`Ctx`] they share, routes each due happening to the actor it is for, and
//! fires the faults. Actors never reach into each other: they talk through the context.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use docent::ensemble::config::CONFIG_PATH;
use docent::{Error, Instant, Op};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::client::Client;
use super::config::{ClientOptions, SimConfig};
use super::ctx::{Ctx, Ev};
use super::exhibitor::{self, ExhibitorAnswer};
use super::fault::{Fault, FaultSchedule};
use super::history::{self, NodeHistory};
use super::msg::{ClientId, OpId, Output, ToClient};
use super::quorum::Quorum;
use super::reconfig;
use super::server::Server;
use super::tree::Node;
use super::txn::TxnBody;

/// How long after a refused reconfiguration fault it is tried again.
const RECONFIG_RETRY: Duration = Duration::from_millis(500);

/// The simulated ensemble and its clients, sans-IO. See the [module docs](super).
#[derive(Debug)]
pub struct Ensemble {
    cfg: SimConfig,
    ctx: Ctx,
    quorum: Quorum,
    servers: Vec<Server>,
    clients: Vec<Client>,
    /// Every fault installed or injected, by index (scheduled events name them so).
    faults: Vec<Fault>,
    /// The servers each quorum-loss fault took down.
    quorum_victims: BTreeMap<usize, Vec<usize>>,
    /// Reconfiguration faults not carried out yet, in the order they struck (an operator
    /// runs them one after the other, retrying each until ZooKeeper accepts it).
    reconfigs: VecDeque<usize>,
    /// How the Exhibitors answer now, and the fault that made them (a later one overrides).
    exhibitor: (ExhibitorAnswer, Option<usize>),
    next_op: u64,
}

impl Ensemble {
    /// A fresh ensemble: every server up, server 0 leading, an empty tree.
    pub fn new(cfg: SimConfig) -> Ensemble {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let next_session = (1i64 << 56) | ((rng.next_u64() as i64 & 0xFFFF) << 24);
        let mut sim = Ensemble {
            ctx: Ctx::new(&cfg, rng),
            quorum: Quorum::new(&cfg, next_session),
            servers: (0..cfg.servers).map(Server::new).collect(),
            clients: Vec::new(),
            faults: Vec::new(),
            quorum_victims: BTreeMap::new(),
            reconfigs: VecDeque::new(),
            exhibitor: (ExhibitorAnswer::Members, None),
            next_op: 0,
            cfg,
        };
        sim.ctx
            .schedule(Instant::ZERO + sim.cfg.tick, Ev::LeaderTick);
        sim.ctx
            .schedule(Instant::ZERO + sim.cfg.container_interval, Ev::Reap);
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
                let j = (self.ctx.next_u64() % (i as u64 + 1)) as usize;
                order.swap(i, j);
            }
        }
        let mut client = Client::new(id, options, order, now);
        client.tick(&mut self.ctx);
        self.clients.push(client);
        id
    }

    /// Sends `op` from `client` now (queued while the client is connecting). The result comes
    /// back as [`Output::OpDone`] with the returned id.
    pub fn submit(&mut self, now: Instant, client: ClientId, op: Op) -> OpId {
        self.advance(now);
        let id = self.new_op_id();
        self.clients[client.0 as usize].submit(&mut self.ctx, id, op, true);
        id
    }

    /// ZooKeeper's `getConfig`: reads `/zookeeper/config` for `client` whatever its chroot,
    /// leaving a data watch if `watch`. Answered as [`Output::OpDone`] like any read.
    pub fn get_config(&mut self, now: Instant, client: ClientId, watch: bool) -> OpId {
        self.advance(now);
        let id = self.new_op_id();
        let op = Op::GetData {
            path: CONFIG_PATH.into(),
            watch,
        };
        self.clients[client.0 as usize].submit(&mut self.ctx, id, op, false);
        id
    }

    /// `client`'s server list changes to `servers` (ZooKeeper's `updateServerList`): it stays
    /// if its server is listed, otherwise it moves to a listed one keeping its session.
    pub fn update_server_list(&mut self, now: Instant, client: ClientId, servers: Vec<usize>) {
        self.advance(now);
        self.clients[client.0 as usize].update_servers(&mut self.ctx, servers);
    }

    /// Closes `client`'s session (the ensemble deletes its ephemerals at once).
    pub fn close_client(&mut self, now: Instant, client: ClientId) -> OpId {
        self.advance(now);
        let id = self.new_op_id();
        self.clients[client.0 as usize].close(&mut self.ctx, id);
        id
    }

    /// `client` gives up its session without closing it (Curator's injected expiration): it
    /// reports Expired and opens a new session; the ensemble keeps the old one until the
    /// leader expires it. Nothing happens before the first session or after a close.
    pub fn abandon_session(&mut self, now: Instant, client: ClientId) {
        self.advance(now);
        self.clients[client.0 as usize].abandon(&mut self.ctx);
    }

    /// Runs everything due at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// When something is next due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ctx.next_due()
    }

    /// The next output for the client processes. Call until `None` after every mutation.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        let out = self.ctx.pop_output()?;
        self.ctx.record(|| format!("{out:?}"), out_tag(&out));
        Some(out)
    }

    /// Runs the model until `deadline` (inclusive), collecting outputs for `poll_output`.
    pub fn run_until(&mut self, deadline: Instant) {
        self.advance(deadline);
    }

    /// The model's current time.
    pub fn now(&self) -> Instant {
        self.ctx.now()
    }

    /// The simulated wall clock, in Unix milliseconds.
    pub fn wall_ms(&self) -> i64 {
        self.ctx.wall_ms()
    }

    /// `client`'s wall clock (the ensemble's, shifted by any clock-drift fault).
    pub fn client_wall_ms(&self, client: ClientId) -> i64 {
        self.wall_ms() + self.clients[client.0 as usize].clock_offset_ms()
    }

    /// Ground truth: the node at `path` as `server` (or, for `None`, the leader having applied
    /// every committed txn) sees it: `(data, stat, children)`.
    pub fn node(
        &self,
        server: Option<usize>,
        path: &str,
    ) -> Option<(Vec<u8>, docent::Stat, Vec<String>)> {
        let tree = self.servers[server.unwrap_or(self.quorum.leader())].tree();
        tree.node(path).map(|n: &Node| {
            let children = n.children.iter().cloned().collect();
            (n.data.clone(), n.client_stat(), children)
        })
    }

    /// Ground truth: every path on `server` (`None`: the leader).
    pub fn paths(&self, server: Option<usize>) -> Vec<String> {
        self.servers[server.unwrap_or(self.quorum.leader())]
            .tree()
            .nodes()
            .keys()
            .cloned()
            .collect()
    }

    /// Ground truth: true while the leader tracks `session` as alive.
    pub fn session_alive(&self, session: i64) -> bool {
        self.quorum.tracked(session).is_some()
    }

    /// Reconfigures the ensemble now (ZooKeeper's incremental `reconfig`): `joining` servers
    /// become members (an index past the last server adds a new one, `zk{n+1}`), `leaving`
    /// ones stop being members. Committed through the log; takes effect when the leader
    /// applies it. Fails like ZooKeeper: [`Error::ConnectionLoss`] without a leader,
    /// [`Error::ReconfigInProgress`] while one is pending, [`Error::NewConfigNoQuorum`] when
    /// a majority of the new configuration is not up, [`Error::BadArguments`] for a server
    /// index that skips ahead.
    pub fn reconfig(
        &mut self,
        now: Instant,
        joining: &[usize],
        leaving: &[usize],
    ) -> Result<(), Error> {
        self.advance(now);
        if !self.quorum.serving() {
            return Err(Error::ConnectionLoss);
        }
        if self.quorum.reconfiguring() {
            return Err(Error::ReconfigInProgress);
        }
        let members = reconfig::next_members(
            self.quorum.members(),
            self.servers.len(),
            joining,
            leaving,
            |s| self.quorum.up(s),
        )?;
        while self.servers.len() <= members.last().copied().unwrap_or(0) {
            self.servers.push(Server::new(self.quorum.add_replica()));
        }
        let wildcard = self.cfg.wildcard_client_address;
        self.quorum
            .propose_reconfig(&mut self.ctx, members, wildcard);
        Ok(())
    }

    /// What the Exhibitor on `host` answers to a cluster-list request (`None`: no answer: no
    /// such server, the server is down, or the Exhibitors are down).
    pub fn exhibitor_answer(&self, host: &str) -> Option<Vec<u8>> {
        let s = reconfig::server_at(host, reconfig::CLIENT_PORT)?;
        if s >= self.servers.len() || !self.quorum.up(s) {
            return None;
        }
        exhibitor::body(&self.exhibitor.0, self.quorum.members())
    }

    /// The servers of the current configuration.
    pub fn members(&self) -> Vec<usize> {
        self.quorum.members().iter().copied().collect()
    }

    /// Ground truth: whether `server` runs (members or not).
    pub fn server_up(&self, server: usize) -> bool {
        server < self.servers.len() && self.quorum.up(server)
    }

    /// How many servers exist, members or not.
    pub fn servers(&self) -> usize {
        self.servers.len()
    }

    /// The current leader.
    pub fn leader(&self) -> usize {
        self.quorum.leader()
    }

    /// Ground truth: whether the leader serves (`false` during an election or without a
    /// quorum).
    pub fn serving(&self) -> bool {
        self.quorum.serving()
    }

    /// Ground truth: how late `server` applies committed txns (`FollowerLag` faults; ignored
    /// while it leads).
    pub fn server_lag(&self, server: usize) -> Duration {
        self.quorum.apply_lag(server)
    }

    /// The number of committed txns.
    pub fn committed(&self) -> usize {
        self.quorum.committed().len()
    }

    /// How many txns `server` has applied.
    pub fn applied(&self, server: usize) -> usize {
        self.quorum.applied(server)
    }

    /// The session `client` currently holds (0 before its first session).
    pub fn session_id(&self, client: ClientId) -> i64 {
        self.clients[client.0 as usize].session()
    }

    /// The session timeout `client` negotiated (the requested one before connecting).
    pub fn session_timeout(&self, client: ClientId) -> Duration {
        self.clients[client.0 as usize].timeout()
    }

    /// Ground truth: every state that `prefix` and the nodes below it ever had, as a client
    /// read could have returned it (data and client stat), replayed from the txns committed
    /// so far on a fresh tree. Only states between txns appear: the steps inside a multi are
    /// never visible to a read, and are not listed.
    pub fn history(&self, prefix: &str) -> NodeHistory {
        history::replay(self.quorum.committed(), self.ctx.now(), prefix)
    }

    /// Ground truth: how many ops `client` has submitted, and how many of them await an answer
    /// (sent, or queued while it connects). For checks that retries stay bounded.
    pub fn client_ops(&self, client: ClientId) -> (u64, usize) {
        self.clients[client.0 as usize].ops()
    }

    /// Ground truth: `client`'s process is frozen at `now` (a `PauseClient` fault).
    pub(crate) fn paused(&self, client: ClientId, now: Instant) -> bool {
        self.clients[client.0 as usize].paused_at(now)
    }

    /// Ground truth: `client`'s process crashed (a `CrashClient` fault).
    pub(crate) fn crashed(&self, client: ClientId) -> bool {
        self.clients[client.0 as usize].crashed()
    }

    /// A hash of everything that happened so far (outputs, faults); equal seeds give equal
    /// hashes.
    pub fn event_hash(&self) -> u64 {
        self.ctx.hash()
    }

    /// The readable event log (empty unless [`SimConfig::record_log`]).
    pub fn event_log(&self) -> &[String] {
        self.ctx.lines()
    }

    /// Schedules every fault of `schedule` (times count from the start of the run).
    pub fn install(&mut self, schedule: &FaultSchedule) {
        for s in &schedule.faults {
            let i = self.faults.len();
            self.faults.push(s.fault.clone());
            self.ctx.schedule(Instant::from_epoch(s.at), Ev::Fault(i));
        }
    }

    /// Injects `fault` now.
    pub fn inject(&mut self, now: Instant, fault: Fault) {
        self.handle_timeout(now);
        let i = self.faults.len();
        self.faults.push(fault);
        self.fire_fault(i);
    }

    // ---- routing ----

    fn new_op_id(&mut self) -> OpId {
        self.next_op += 1;
        OpId(self.next_op)
    }

    fn advance(&mut self, now: Instant) {
        while let Some(ev) = self.ctx.pop_due(now) {
            self.dispatch(ev);
        }
        self.ctx.advance_to(now);
    }

    fn dispatch(&mut self, ev: Ev) {
        let ctx = &mut self.ctx;
        match ev {
            Ev::ToServer(conn, pkt) => {
                let Some((_, s)) = ctx.ends(conn) else {
                    return;
                };
                if s >= self.servers.len() {
                    // No such server (yet): the connection is refused.
                    return ctx.send_to_client(conn, ToClient::Fin);
                }
                if let Some(attach) = self.servers[s].handle(ctx, &mut self.quorum, conn, pkt) {
                    // The session moves here: any older connection of it is closed.
                    for server in &mut self.servers {
                        server.close_session(ctx, attach.session);
                    }
                    self.servers[s].attach(ctx, &mut self.quorum, attach);
                }
            }
            Ev::ToClient(conn, pkt) => {
                if let Some((c, _)) = ctx.ends(conn) {
                    self.clients[c.0 as usize].handle(ctx, conn, pkt);
                }
            }
            Ev::Apply(s) => {
                self.servers[s].apply_due(ctx, &mut self.quorum);
                self.membership_changed();
            }
            Ev::ClientTick(c) => self.clients[c.0 as usize].tick(ctx),
            Ev::LeaderTick => self.quorum.tick(ctx),
            Ev::Reap => self.reap(),
            Ev::ElectionDone => self.election_done(),
            Ev::Fault(i) => self.fire_fault(i),
            Ev::Heal(i) => self.heal_fault(i),
            Ev::RetryReconfig => self.run_reconfigs(),
        }
    }

    // ---- the leader's service ----

    fn reap(&mut self) {
        let ctx = &mut self.ctx;
        ctx.schedule(ctx.now() + self.cfg.container_interval, Ev::Reap);
        if !self.quorum.serving() {
            return;
        }
        let leader = &self.servers[self.quorum.leader()];
        for path in leader.tree().reap_candidates(ctx.wall_ms()) {
            let body = TxnBody::DeleteContainer(path);
            self.quorum.propose(ctx, 0, Vec::new().into(), body);
        }
    }

    /// Loses the leader's service: every client connection drops and an election starts (or,
    /// without a quorum, waits for one).
    fn start_election(&mut self) {
        self.quorum.stop_serving();
        for server in &mut self.servers {
            server.drop_conns(&mut self.ctx);
        }
        self.quorum.call_election(&mut self.ctx);
    }

    fn election_done(&mut self) {
        let Some(up) = self.quorum.elect(&mut self.ctx) else {
            return;
        };
        // Recovery: every server up syncs with the new leader before serving.
        for s in up {
            self.servers[s].catch_up(&mut self.ctx, &mut self.quorum);
        }
        self.quorum.start_serving(&mut self.ctx);
        self.membership_changed();
    }

    /// Acts on a configuration the leader just activated: servers that left drop their
    /// clients, servers that joined sync before serving, and quorum is re-checked.
    fn membership_changed(&mut self) {
        let Some((joined, left)) = self.quorum.take_activated() else {
            return;
        };
        let members = self.quorum.members().clone();
        self.ctx.record(
            || format!("members {members:?}"),
            0x60 ^ members.len() as u64,
        );
        for s in left {
            self.servers[s].drop_conns(&mut self.ctx);
        }
        for s in joined {
            if self.quorum.up(s) {
                self.servers[s].catch_up(&mut self.ctx, &mut self.quorum);
                self.quorum.schedule_apply(&mut self.ctx, s);
            }
        }
        self.check_quorum();
    }

    /// Re-checks quorum after a server went down or came up.
    fn check_quorum(&mut self) {
        if self.quorum.must_step_down() {
            self.start_election();
        } else if !self.quorum.serving() {
            self.quorum.call_election(&mut self.ctx);
        }
    }

    fn crash_server(&mut self, s: usize) {
        self.quorum.set_up(s, false);
        self.servers[s].drop_conns(&mut self.ctx);
    }

    fn restart_server(&mut self, s: usize) {
        if self.quorum.up(s) {
            return;
        }
        self.quorum.set_up(s, true);
        if self.quorum.serving() && self.quorum.member(s) {
            self.servers[s].catch_up(&mut self.ctx, &mut self.quorum);
        }
        self.check_quorum();
        self.membership_changed();
        self.quorum.schedule_apply(&mut self.ctx, s);
    }

    // ---- faults ----

    fn fire_fault(&mut self, i: usize) {
        let fault = self.faults[i].clone();
        self.ctx
            .record(|| format!("fault {fault:?}"), 0x40 ^ i as u64);
        let now = self.ctx.now();
        let mut heal_after = None;
        match fault {
            Fault::Partition {
                client,
                server,
                direction,
                duration,
            } => {
                self.ctx.faults.cut(client, server, direction, true);
                heal_after = Some(duration);
            }
            Fault::Delay {
                client,
                extra,
                duration,
            } => {
                self.ctx.faults.delay(client, extra, true);
                heal_after = Some(duration);
            }
            Fault::CrashServer { server, downtime }
                if server < self.servers.len() && self.quorum.up(server) =>
            {
                self.crash_server(server);
                self.check_quorum();
                heal_after = Some(downtime);
            }
            Fault::LeaderChange if self.quorum.serving() => self.start_election(),
            Fault::QuorumLoss { duration } => {
                let members = self.quorum.members();
                let victims: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|s| self.quorum.up(*s))
                    .take(members.len() / 2 + 1)
                    .collect();
                for &s in &victims {
                    self.crash_server(s);
                }
                self.check_quorum();
                self.quorum_victims.insert(i, victims);
                heal_after = Some(duration);
            }
            Fault::FollowerLag {
                server,
                lag,
                duration,
            } if server < self.servers.len() => {
                self.quorum.lag(server, lag, true);
                heal_after = Some(duration);
            }
            Fault::LoseReply { client } => self.ctx.faults.lose_reply(client),
            Fault::PauseClient { client, duration } => {
                if let Some(c) = self.clients.get_mut(client as usize) {
                    c.pause(now + duration);
                }
            }
            Fault::CrashClient { client } => {
                if let Some(c) = self.clients.get_mut(client as usize) {
                    c.crash(&mut self.ctx);
                }
            }
            Fault::ExpireSession { client } => {
                let session = self.clients.get(client as usize).map_or(0, |c| c.session());
                if self.quorum.serving() && session != 0 {
                    self.quorum.expire(&mut self.ctx, session);
                }
            }
            Fault::ClockDrift { client, offset_ms } => {
                if let Some(c) = self.clients.get_mut(client as usize) {
                    c.drift(offset_ms);
                }
            }
            Fault::AgeVersion { path, version } if self.quorum.serving() => {
                let body = TxnBody::AgeVersion { path, version };
                self.quorum
                    .propose(&mut self.ctx, 0, Vec::new().into(), body);
            }
            Fault::Reconfig { .. } => {
                self.reconfigs.push_back(i);
                if self.reconfigs.len() == 1 {
                    self.run_reconfigs();
                }
            }
            Fault::Exhibitor { answer, duration } => {
                self.exhibitor = (answer, Some(i));
                heal_after = Some(duration);
            }
            _ => return, // nothing to act on (no such server, no leader): it did not strike
        }
        docent::coverage::hit(self.faults[i].coverage_point());
        if let Some(d) = heal_after {
            self.ctx.schedule(now + d, Ev::Heal(i));
        }
    }

    /// Carries out the queued reconfiguration faults in order; one that ZooKeeper refuses for
    /// now (no leader, one in progress, no quorum yet) is tried again [`RECONFIG_RETRY`] later
    /// and holds back the ones behind it; one that can never succeed is dropped.
    fn run_reconfigs(&mut self) {
        while let Some(&i) = self.reconfigs.front() {
            let Fault::Reconfig { joining, leaving } = self.faults[i].clone() else {
                unreachable!("only reconfigurations are queued");
            };
            let now = self.ctx.now();
            match self.reconfig(now, &joining, &leaving) {
                Err(err) if err != Error::BadArguments => {
                    self.ctx
                        .record(|| format!("reconfig refused: {err}"), 0x61 ^ i as u64);
                    self.ctx.schedule(now + RECONFIG_RETRY, Ev::RetryReconfig);
                    return;
                }
                _ => {
                    self.reconfigs.pop_front();
                }
            }
        }
    }

    fn heal_fault(&mut self, i: usize) {
        let fault = self.faults[i].clone();
        self.ctx
            .record(|| format!("heal {fault:?}"), 0x50 ^ i as u64);
        match fault {
            Fault::Partition {
                client,
                server,
                direction,
                ..
            } => self.ctx.faults.cut(client, server, direction, false),
            Fault::Delay { client, extra, .. } => self.ctx.faults.delay(client, extra, false),
            Fault::CrashServer { server, .. } => self.restart_server(server),
            Fault::QuorumLoss { .. } => {
                for s in self.quorum_victims.remove(&i).unwrap_or_default() {
                    self.restart_server(s);
                }
            }
            Fault::FollowerLag { server, lag, .. } => {
                self.quorum.lag(server, lag, false);
                self.quorum.schedule_apply(&mut self.ctx, server);
            }
            Fault::Exhibitor { .. } if self.exhibitor.1 == Some(i) => {
                self.exhibitor = (ExhibitorAnswer::Members, None);
            }
            _ => {}
        }
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
