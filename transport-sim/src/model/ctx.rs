//! The narrow context an actor (a client or a server) handles a message in: the clock, the
//! seeded rng, the event queue, the network between the actors and the output queue. No actor
//! reaches into another's state; they talk through [`Ctx::send_to_server`] and
//! [`Ctx::send_to_client`], and the ensemble routes what arrives to its actor.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::time::Duration;

use docent::Instant;
use rand_chacha::ChaCha8Rng;
use rand_core::RngCore;

use super::config::SimConfig;
use super::fault::Direction;
use super::msg::{ClientId, ConnId, Output, ToClient, ToServer, WatchId};

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
    /// The next refused reconfiguration fault is tried again.
    RetryReconfig,
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

/// One TCP connection and its two directions.
#[derive(Debug)]
struct Conn {
    client: ClientId,
    server: usize,
    last_up: Instant,
    last_down: Instant,
    broken_up: bool,
    broken_down: bool,
}

/// The network faults in force.
#[derive(Debug, Default)]
pub(crate) struct NetFaults {
    /// `(client, server or usize::MAX)` → (client→server cuts, server→client cuts).
    cuts: BTreeMap<(u32, usize), (u32, u32)>,
    delays: BTreeMap<u32, Duration>,
    lost_replies: BTreeMap<u32, u32>,
}

impl NetFaults {
    fn blocked(&self, client: ClientId, server: usize, to_server: bool) -> bool {
        if self.cuts.is_empty() {
            return false;
        }
        [server, usize::MAX].iter().any(|s| {
            self.cuts
                .get(&(client.0, *s))
                .is_some_and(|(up, down)| if to_server { *up > 0 } else { *down > 0 })
        })
    }

    fn extra_delay(&self, client: ClientId) -> Duration {
        self.delays.get(&client.0).copied().unwrap_or_default()
    }

    /// Cuts (or, `add == false`, heals one cut of) `client` from `server` (`None`: every one).
    pub(crate) fn cut(&mut self, client: u32, server: Option<usize>, dir: Direction, add: bool) {
        let e = self
            .cuts
            .entry((client, server.unwrap_or(usize::MAX)))
            .or_default();
        let step = |x: &mut u32| *x = if add { *x + 1 } else { x.saturating_sub(1) };
        if dir != Direction::ToClient {
            step(&mut e.0);
        }
        if dir != Direction::ToServer {
            step(&mut e.1);
        }
        if *e == (0, 0) {
            self.cuts.remove(&(client, server.unwrap_or(usize::MAX)));
        }
    }

    /// Adds `extra` latency to `client`'s packets (`add == false`: takes it away again).
    pub(crate) fn delay(&mut self, client: u32, extra: Duration, add: bool) {
        if add {
            *self.delays.entry(client).or_default() += extra;
        } else if let Some(d) = self.delays.get_mut(&client) {
            *d = d.saturating_sub(extra);
        }
    }

    /// The reply to `client`'s next write is lost with its connection.
    pub(crate) fn lose_reply(&mut self, client: u32) {
        *self.lost_replies.entry(client).or_default() += 1
    }

    fn take_lost_reply(&mut self, client: ClientId) -> bool {
        match self.lost_replies.get_mut(&client.0) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
}

/// See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Ctx {
    now: Instant,
    rng: ChaCha8Rng,
    queue: BinaryHeap<Reverse<Scheduled>>,
    seq: u64,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: u64,
    /// The network faults in force (the ensemble fires and heals them).
    pub(crate) faults: NetFaults,
    outputs: VecDeque<Output>,
    next_watch: u64,
    net_delay: Duration,
    net_jitter: Duration,
    wall_epoch_ms: i64,
    record_log: bool,
    hash: u64,
    lines: Vec<String>,
}

impl Ctx {
    pub(crate) fn new(cfg: &SimConfig, rng: ChaCha8Rng) -> Ctx {
        Ctx {
            now: Instant::ZERO,
            rng,
            queue: BinaryHeap::new(),
            seq: 0,
            conns: BTreeMap::new(),
            next_conn: 0,
            faults: NetFaults::default(),
            outputs: VecDeque::new(),
            next_watch: 0,
            net_delay: cfg.net_delay,
            net_jitter: cfg.net_jitter,
            wall_epoch_ms: cfg.wall_epoch_ms,
            record_log: cfg.record_log,
            hash: 0xcbf2_9ce4_8422_2325,
            lines: Vec::new(),
        }
    }

    // ---- the clock and the event queue ----

    /// The model's current time.
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// The simulated wall clock, in Unix milliseconds.
    pub(crate) fn wall_ms(&self) -> i64 {
        self.wall_epoch_ms + self.now.since_epoch().as_millis() as i64
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

    /// When something is next due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.queue.peek().map(|s| s.0.at)
    }

    /// The next happening due at or before `deadline`, with the clock moved to it.
    pub(crate) fn pop_due(&mut self, deadline: Instant) -> Option<Ev> {
        if self.queue.peek()?.0.at > deadline {
            return None;
        }
        let Reverse(s) = self.queue.pop().expect("peeked");
        self.now = s.at;
        Some(s.ev)
    }

    /// Moves the clock to `now` (never back).
    pub(crate) fn advance_to(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    // ---- randomness and names ----

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }

    pub(crate) fn random_below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            ((self.rng.next_u64() as u128 * bound as u128) >> 64) as u64
        }
    }

    pub(crate) fn new_watch_id(&mut self) -> WatchId {
        self.next_watch += 1;
        WatchId(self.next_watch)
    }

    // ---- outputs and the record ----

    pub(crate) fn emit(&mut self, out: Output) {
        self.outputs.push_back(out);
    }

    pub(crate) fn pop_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    pub(crate) fn record(&mut self, line: impl FnOnce() -> String, tag: u64) {
        let t = self.now.since_epoch().as_nanos() as u64;
        for x in [t, tag] {
            self.hash ^= x;
            self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
        }
        if self.record_log {
            let l = line();
            self.lines.push(format!("{:?} {l}", self.now));
        }
    }

    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    pub(crate) fn lines(&self) -> &[String] {
        &self.lines
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

    /// Forgets `conn` (its closing end has seen it go).
    pub(crate) fn drop_conn(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    /// The client and server ends of `conn`, while it exists.
    pub(crate) fn ends(&self, conn: ConnId) -> Option<(ClientId, usize)> {
        self.conns.get(&conn).map(|c| (c.client, c.server))
    }

    /// True when the reply to the write now leaving on `conn` is to be lost (a fault).
    pub(crate) fn take_lost_reply(&mut self, conn: ConnId) -> bool {
        let client = self.conns.get(&conn).map(|c| c.client);
        client.is_some_and(|c| self.faults.take_lost_reply(c))
    }

    fn delay(&mut self, client: ClientId) -> Duration {
        let jitter = self.net_jitter.as_nanos() as u64;
        let extra = self.faults.extra_delay(client);
        self.net_delay + Duration::from_nanos(self.random_below(jitter + 1)) + extra
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
