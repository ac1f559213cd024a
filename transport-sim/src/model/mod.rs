//! The sans-IO ZooKeeper model: an ensemble of servers with a committed log, the clients
//! attached to it, and the network between them, all in virtual time.
//!
//! No clock, no runtime, no threads: every mutator takes `now`, and time only moves when the
//! caller says so. Randomness is ChaCha8 from [`SimConfig::seed`]. The run loop, as in str0m:
//!
//! ```
//! use std::time::Duration;
//! use docent::{Instant, Op, OpResult, CreateMode, Acl};
//! use docent_sim::model::{Ensemble, SimConfig, ClientOptions, Output};
//!
//! let mut sim = Ensemble::new(SimConfig::new(7));
//! let mut now = Instant::ZERO;
//! let c = sim.add_client(now, ClientOptions::default());
//! let op = sim.submit(now, c, Op::Create {
//!     path: "/a".into(), data: b"x".to_vec(), acl: Acl::open(), mode: CreateMode::Persistent,
//! });
//! let mut created = None;
//! while created.is_none() {
//!     while let Some(out) = sim.poll_output() {
//!         if let Output::OpDone { op: done, result, .. } = out {
//!             if done == op { created = Some(result); }
//!         }
//!     }
//!     now = sim.poll_timeout().expect("something is scheduled");
//!     sim.handle_timeout(now);
//! }
//! assert!(matches!(created, Some(Ok(OpResult::Created { .. }))));
//! ```
//!
//! Ordering guarantees kept from ZooKeeper: writes are totally ordered by the leader's log; each
//! server applies it at its own pace (a follower may lag, so its readers see stale data); one
//! session's requests are answered in order, and a read queued behind the session's own write
//! waits for it; a watch event reaches the client before any reply sent after the change.

mod acl;
mod client;
mod ensemble;
mod fault;
mod history;
mod server;
mod tree;
mod txn;
mod watches;
mod wire;

use std::time::Duration;

use docent::{AuthInfo, Error, OpResult, SessionState, WatchedEvent};

pub use acl::digest_id;
pub use ensemble::Ensemble;
pub use fault::{Direction, Fault, FaultSchedule, ScheduledFault, SwarmConfig};
pub use history::NodeHistory;

/// One simulated client process (one ZooKeeper handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u32);

/// Names one submitted op; its [`Output::OpDone`] carries the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OpId(pub u64);

/// Names one watch left by a watched read; its events carry the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatchId(pub u64);

/// One TCP connection between a client and a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ConnId(pub(crate) u64);

/// How the ensemble is built and how its network behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SimConfig {
    /// The run's seed: every random choice of the model comes from it.
    pub seed: u64,
    /// Number of servers (a majority must be up to serve).
    pub servers: usize,
    /// ZooKeeper's `tickTime`: session timeouts are clamped to `[2, 20]` ticks and expiry is
    /// checked on tick boundaries.
    pub tick: Duration,
    /// One-way network latency between a client and a server.
    pub net_delay: Duration,
    /// Extra random latency, up to this much, per packet (FIFO order is kept).
    pub net_jitter: Duration,
    /// Time from a write reaching a server until the leader has committed it.
    pub commit_delay: Duration,
    /// How long a leader election takes.
    pub election_time: Duration,
    /// How often the leader reaps empty containers and expired TTL nodes
    /// (`znode.container.checkIntervalMs`; ZooKeeper's default is 60 s).
    pub container_interval: Duration,
    /// The simulated wall clock at time zero, in Unix milliseconds (ctime / mtime).
    pub wall_epoch_ms: i64,
    /// Keep a readable event log (see [`Ensemble::event_log`]); a hash is always kept.
    pub record_log: bool,
}

impl SimConfig {
    /// Three servers, 2 s ticks, 1 ms links, for `seed`.
    pub fn new(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            servers: 3,
            tick: Duration::from_secs(2),
            net_delay: Duration::from_micros(500),
            net_jitter: Duration::from_micros(500),
            commit_delay: Duration::from_millis(2),
            election_time: Duration::from_millis(400),
            container_interval: Duration::from_secs(10),
            wall_epoch_ms: 1_700_000_000_000,
            record_log: false,
        }
    }

    /// With `n` servers.
    pub fn servers(mut self, n: usize) -> SimConfig {
        assert!(n > 0, "an ensemble needs a server");
        self.servers = n;
        self
    }
}

/// Per-client settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// The requested session timeout (the ensemble clamps it to `[2, 20]` ticks).
    pub session_timeout: Duration,
    /// The servers to try, in order (`None`: all of them, in a seeded random order).
    pub servers: Option<Vec<usize>>,
    /// Credentials sent on every connection (`addAuthInfo`).
    pub auth: Vec<AuthInfo>,
    /// Whether the client gives its session up when asked
    /// ([`Ensemble::abandon_session`], Curator's injected expiration). `false`: it keeps
    /// trying the old session until the ensemble says it expired, as a handle that cannot
    /// abandon does. The harness picks either per client and seed, so suites see both.
    pub abandons: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            session_timeout: Duration::from_secs(10),
            servers: None,
            auth: Vec::new(),
            abandons: true,
        }
    }
}

impl ClientOptions {
    /// With this requested session timeout.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// Connect to these servers only, in this order.
    pub fn servers(mut self, servers: Vec<usize>) -> Self {
        self.servers = Some(servers);
        self
    }

    /// With these credentials.
    pub fn auth(mut self, auth: AuthInfo) -> Self {
        self.auth.push(auth);
        self
    }

    /// Whether the client gives its session up when asked (see [`ClientOptions::abandons`]).
    pub fn abandons(mut self, abandons: bool) -> Self {
        self.abandons = abandons;
        self
    }
}

/// The kind of watch an op left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// Fires once.
    OneShot,
    /// Fires until the session ends (`addWatch`).
    Persistent,
}

/// What the model tells the client processes. Drain with [`Ensemble::poll_output`] after
/// every mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Output {
    /// An op finished.
    OpDone {
        /// The client.
        client: ClientId,
        /// The op.
        op: OpId,
        /// Its result.
        result: Result<OpResult, Error>,
        /// The watch it left, if it asked for one and succeeded.
        watch: Option<(WatchId, WatchKind)>,
    },
    /// A watch fired. `last` is true when no further event will come from it.
    Watch {
        /// The client.
        client: ClientId,
        /// The watch.
        watch: WatchId,
        /// The event.
        event: WatchedEvent,
        /// True for one-shot watches and for session ends.
        last: bool,
    },
    /// The client's session state changed.
    Session {
        /// The client.
        client: ClientId,
        /// The new state.
        state: SessionState,
    },
}

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod tests;
