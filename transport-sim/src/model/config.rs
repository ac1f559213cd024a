//! How the ensemble is built and how each client behaves: plain values, set before a run.

use std::time::Duration;

use docent::AuthInfo;

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
    /// Whether `/zookeeper/config` gives each server's client address as `0.0.0.0`
    /// (ZooKeeper's default `clientPortAddress`; clients must use the server's host instead,
    /// CURATOR-593/611) rather than its host.
    pub wildcard_client_address: bool,
    /// Keep a readable event log (see [`Ensemble::event_log`](super::Ensemble::event_log)); a hash is always kept.
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
            wildcard_client_address: true,
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
    /// ([`Ensemble::abandon_session`](super::Ensemble::abandon_session), Curator's injected expiration). `false`: it keeps
    /// trying the old session until the ensemble says it expired, as a handle that cannot
    /// abandon does. The harness picks either per client and seed, so suites see both.
    pub abandons: bool,
    /// The chroot of the client's connect string (`None`: the root). As ZooKeeper's client
    /// does, it prefixes every path sent and strips it from every path received; it stays
    /// when the server list changes.
    pub chroot: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            session_timeout: Duration::from_secs(10),
            servers: None,
            auth: Vec::new(),
            abandons: true,
            chroot: None,
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

    /// Under this chroot (see [`ClientOptions::chroot`]; `/` is none).
    pub fn chroot(mut self, chroot: impl Into<String>) -> Self {
        let chroot = chroot.into();
        self.chroot = (chroot != "/").then_some(chroot);
        self
    }

    /// Whether the client gives its session up when asked (see [`ClientOptions::abandons`]).
    pub fn abandons(mut self, abandons: bool) -> Self {
        self.abandons = abandons;
        self
    }
}
