//! The leader's side of the ensemble: the committed log, how far each server has applied it,
//! the session tracker, and who leads (elections, quorum).
//!
//! ```text
//!  serving ──quorum lost / leader down / LeaderChange──► electing ──election_time──► serving
//!     ▲                                                   │ no quorum: wait for one   (new epoch)
//!     └───────────────────────────────────────────────────┘
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use docent::{Id, Instant};

use super::config::SimConfig;
use super::ctx::{Ctx, Ev};
use super::txn::{Entry, Txn, TxnBody};

/// The leader's view of a live session.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub(crate) passwd: u64,
    pub(crate) timeout: Duration,
    expires_at: Instant,
}

/// How far one server has got with the log, and whether it runs.
#[derive(Debug)]
struct Replica {
    applied: usize,
    apply_at: Option<Instant>,
    up: bool,
    lag: Duration,
}

/// See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Quorum {
    log: Vec<Entry>,
    replicas: Vec<Replica>,
    leader: usize,
    serving: bool,
    electing: bool,
    epoch: i64,
    counter: i64,
    tracker: BTreeMap<i64, Tracked>,
    next_session: i64,
    tick: Duration,
    commit_delay: Duration,
    election_time: Duration,
    /// The servers of the current configuration (quorums count among them).
    members: BTreeSet<usize>,
    /// A reconfiguration is in the log and the leader has not applied it yet.
    reconfiguring: bool,
    /// Membership the leader just activated, `(joined, left)`, for the ensemble to act on.
    activated: Option<(Vec<usize>, Vec<usize>)>,
}

/// A replica that runs and has applied nothing.
fn fresh_replica() -> Replica {
    Replica {
        applied: 0,
        apply_at: None,
        up: true,
        lag: Duration::ZERO,
    }
}

impl Quorum {
    /// Every server up, server 0 leading, an empty log; session ids count from `next_session`.
    pub(crate) fn new(cfg: &SimConfig, next_session: i64) -> Quorum {
        let replicas = (0..cfg.servers).map(|_| fresh_replica()).collect();
        Quorum {
            log: Vec::new(),
            replicas,
            leader: 0,
            serving: true,
            electing: false,
            epoch: 1,
            counter: 0,
            tracker: BTreeMap::new(),
            next_session,
            tick: cfg.tick,
            commit_delay: cfg.commit_delay,
            election_time: cfg.election_time,
            members: (0..cfg.servers).collect(),
            reconfiguring: false,
            activated: None,
        }
    }

    // ---- membership ----

    /// The servers of the current configuration.
    pub(crate) fn members(&self) -> &BTreeSet<usize> {
        &self.members
    }

    pub(crate) fn member(&self, s: usize) -> bool {
        self.members.contains(&s)
    }

    /// Whether a reconfiguration waits in the log for the leader.
    pub(crate) fn reconfiguring(&self) -> bool {
        self.reconfiguring
    }

    /// A new server, not a member yet: its index.
    pub(crate) fn add_replica(&mut self) -> usize {
        self.replicas.push(fresh_replica());
        self.replicas.len() - 1
    }

    /// Orders a reconfiguration to `members` (checked by the caller).
    pub(crate) fn propose_reconfig(
        &mut self,
        ctx: &mut Ctx,
        members: BTreeSet<usize>,
        wildcard: bool,
    ) {
        self.reconfiguring = true;
        let body = TxnBody::Reconfig { members, wildcard };
        self.propose(ctx, 0, Arc::from(Vec::new()), body);
    }

    /// The leader applied a reconfiguration: `members` are the configuration from now on.
    pub(crate) fn activate(&mut self, members: &BTreeSet<usize>) {
        let joined = members.difference(&self.members).copied().collect();
        let left = self.members.difference(members).copied().collect();
        self.members = members.clone();
        self.reconfiguring = false;
        self.activated = Some((joined, left));
    }

    /// The membership change the leader activated since the last call, `(joined, left)`.
    pub(crate) fn take_activated(&mut self) -> Option<(Vec<usize>, Vec<usize>)> {
        self.activated.take()
    }

    pub(crate) fn leader(&self) -> usize {
        self.leader
    }

    pub(crate) fn serving(&self) -> bool {
        self.serving
    }

    pub(crate) fn committed(&self) -> &[Entry] {
        &self.log
    }

    pub(crate) fn up(&self, s: usize) -> bool {
        self.replicas[s].up
    }

    pub(crate) fn set_up(&mut self, s: usize, up: bool) {
        self.replicas[s].up = up;
    }

    /// How many txns server `s` has applied.
    pub(crate) fn applied(&self, s: usize) -> usize {
        self.replicas[s].applied
    }

    /// The next txn server `s` is to apply, when due by `now` (`None`: nothing due).
    pub(crate) fn due(&self, s: usize, now: Instant) -> Option<&Txn> {
        let r = &self.replicas[s];
        let lag = if s == self.leader {
            Duration::ZERO
        } else {
            r.lag
        };
        let entry = self.log.get(r.applied)?;
        (entry.commit_at + lag <= now).then_some(&entry.txn)
    }

    /// The next committed txn server `s` has not applied yet.
    pub(crate) fn next_txn(&self, s: usize) -> Option<&Txn> {
        self.log.get(self.replicas[s].applied).map(|e| &e.txn)
    }

    pub(crate) fn mark_applied(&mut self, s: usize) {
        self.replicas[s].applied += 1;
    }

    /// Server `s` runs its apply step now: nothing is scheduled for it any more.
    pub(crate) fn apply_started(&mut self, s: usize) {
        self.replicas[s].apply_at = None;
    }

    /// Server `s` applies `lag` later (`add == false`: `lag` sooner again).
    pub(crate) fn lag(&mut self, s: usize, lag: Duration, add: bool) {
        let r = &mut self.replicas[s];
        r.lag = if add {
            r.lag + lag
        } else {
            r.lag.saturating_sub(lag)
        };
    }

    // ---- the log ----

    /// Orders a txn; it commits `commit_delay` from now. Returns its log index.
    pub(crate) fn propose(
        &mut self,
        ctx: &mut Ctx,
        session: i64,
        ids: Arc<[Id]>,
        body: TxnBody,
    ) -> usize {
        self.counter += 1;
        let zxid = self.epoch << 32 | self.counter;
        let commit_at = ctx.now() + self.commit_delay;
        let txn = Txn {
            zxid,
            time: ctx.wall_ms(),
            session,
            ids,
            body,
        };
        self.log.push(Entry { txn, commit_at });
        for s in 0..self.replicas.len() {
            self.schedule_apply(ctx, s);
        }
        self.log.len() - 1
    }

    /// Schedules server `s`'s next apply step, if it has something to apply.
    pub(crate) fn schedule_apply(&mut self, ctx: &mut Ctx, s: usize) {
        let r = &self.replicas[s];
        if !r.up || r.applied >= self.log.len() || !self.members.contains(&s) {
            return;
        }
        let lag = if s == self.leader {
            Duration::ZERO
        } else {
            r.lag
        };
        let at = self.log[r.applied].commit_at + lag;
        if r.apply_at.is_some_and(|t| t <= at) {
            return;
        }
        self.replicas[s].apply_at = Some(at);
        ctx.schedule(at, Ev::Apply(s));
    }

    // ---- sessions ----

    /// A new session asking for `timeout`: its id, password and negotiated timeout.
    pub(crate) fn open_session(
        &mut self,
        ctx: &mut Ctx,
        timeout: Duration,
    ) -> (i64, u64, Duration) {
        let timeout = timeout.clamp(self.tick * 2, self.tick * 20);
        self.next_session += 1;
        let (session, passwd) = (self.next_session, ctx.next_u64());
        let expires_at = self.expiry_for(ctx.now(), timeout);
        self.tracker.insert(
            session,
            Tracked {
                passwd,
                timeout,
                expires_at,
            },
        );
        (session, passwd, timeout)
    }

    /// The live session `session`, if the leader tracks it.
    pub(crate) fn tracked(&self, session: i64) -> Option<&Tracked> {
        self.tracker.get(&session)
    }

    /// The session is closing: the leader stops tracking it.
    pub(crate) fn forget(&mut self, session: i64) {
        self.tracker.remove(&session);
    }

    /// Expiry deadline for a touch now: rounded up to the next tick, as ZooKeeper's
    /// `ExpiryQueue` does.
    fn expiry_for(&self, now: Instant, timeout: Duration) -> Instant {
        let t = (now + timeout).since_epoch().as_nanos();
        let tick = self.tick.as_nanos().max(1);
        Instant::from_epoch(Duration::from_nanos(((t / tick + 1) * tick) as u64))
    }

    pub(crate) fn touch(&mut self, now: Instant, session: i64) {
        if !self.serving {
            return;
        }
        if let Some(timeout) = self.tracker.get(&session).map(|t| t.timeout) {
            let at = self.expiry_for(now, timeout);
            self.tracker.get_mut(&session).expect("tracked").expires_at = at;
        }
    }

    /// The leader's tick: expires every session not heard of in time.
    pub(crate) fn tick(&mut self, ctx: &mut Ctx) {
        ctx.schedule(ctx.now() + self.tick, Ev::LeaderTick);
        if !self.serving {
            return;
        }
        let now = ctx.now();
        let expired: Vec<i64> = self
            .tracker
            .iter()
            .filter(|(_, t)| t.expires_at <= now)
            .map(|(s, _)| *s)
            .collect();
        for s in expired {
            self.expire(ctx, s);
        }
    }

    /// The leader expires `session`: a close-session txn that every server applies.
    pub(crate) fn expire(&mut self, ctx: &mut Ctx, session: i64) {
        if self.tracker.remove(&session).is_some() {
            ctx.record(
                || format!("expire session {session:#x}"),
                0x10 ^ session as u64,
            );
            self.propose(ctx, session, Arc::from(Vec::new()), TxnBody::CloseSession);
        }
    }

    // ---- elections ----

    /// The members that run.
    fn up_members(&self) -> Vec<usize> {
        self.members
            .iter()
            .copied()
            .filter(|&s| self.replicas[s].up)
            .collect()
    }

    fn has_quorum(&self) -> bool {
        self.up_members().len() * 2 > self.members.len()
    }

    /// True when the leader must step down (serving without a quorum, or itself down).
    pub(crate) fn must_step_down(&self) -> bool {
        self.serving
            && (!self.has_quorum() || !self.replicas[self.leader].up || !self.member(self.leader))
    }

    /// Service stops (the ensemble drops every connection next).
    pub(crate) fn stop_serving(&mut self) {
        self.serving = false;
    }

    /// Starts an election unless one runs or there is no quorum to hold one.
    pub(crate) fn call_election(&mut self, ctx: &mut Ctx) {
        if self.has_quorum() && !self.electing {
            self.electing = true;
            ctx.schedule(ctx.now() + self.election_time, Ev::ElectionDone);
        }
    }

    /// The election ends: a new leader and epoch if a quorum is up. Returns the servers up,
    /// which sync with the new leader before [`Quorum::start_serving`].
    pub(crate) fn elect(&mut self, ctx: &mut Ctx) -> Option<Vec<usize>> {
        self.electing = false;
        let up = self.up_members();
        if up.len() * 2 <= self.members.len() {
            return None;
        }
        let others: Vec<usize> = up.iter().copied().filter(|&s| s != self.leader).collect();
        let pool = if others.is_empty() { &up } else { &others };
        self.leader = pool[ctx.random_below(pool.len() as u64) as usize];
        self.epoch += 1;
        self.counter = 0;
        Some(up)
    }

    /// Service resumes under the new leader: every session's clock restarts.
    pub(crate) fn start_serving(&mut self, ctx: &mut Ctx) {
        self.serving = true;
        let sessions: Vec<i64> = self.tracker.keys().copied().collect();
        for s in sessions {
            self.touch(ctx.now(), s);
        }
        let leader = self.leader;
        ctx.record(|| format!("leader {leader}"), 0x20 ^ leader as u64);
    }
}
