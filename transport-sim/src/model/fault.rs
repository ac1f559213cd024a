//! Faults as data: what can go wrong, when, drawn per seed (swarm style) or scripted. A
//! [`FaultSchedule`] prints one fault per line, so a failure report can show it first.

use std::fmt;
use std::time::Duration;

use docent::Instant;

use super::exhibitor::ExhibitorAnswer;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Which way a partition cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Nothing gets through.
    Both,
    /// Client → server packets are lost (the server stops hearing pings).
    ToServer,
    /// Server → client packets are lost (the server keeps the session alive, the client
    /// hears nothing).
    ToClient,
}

/// One fault. Durations say when it heals by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Cut `client` from `server` (`None`: from every server) for `duration`.
    Partition {
        /// The client.
        client: u32,
        /// The server, or every server.
        server: Option<usize>,
        /// Which way.
        direction: Direction,
        /// How long.
        duration: Duration,
    },
    /// Add `extra` one-way latency to `client`'s packets for `duration` (FIFO is kept).
    Delay {
        /// The client.
        client: u32,
        /// Extra latency.
        extra: Duration,
        /// How long.
        duration: Duration,
    },
    /// Crash `server` and restart it after `downtime` (it syncs with the leader on return).
    CrashServer {
        /// The server.
        server: usize,
        /// How long it stays down.
        downtime: Duration,
    },
    /// The leader steps down: every connection drops and an election runs.
    LeaderChange,
    /// A majority of servers crash for `duration`.
    QuorumLoss {
        /// How long.
        duration: Duration,
    },
    /// `server` applies committed txns `lag` late for `duration` (ignored while it leads).
    FollowerLag {
        /// The server.
        server: usize,
        /// How late.
        lag: Duration,
        /// How long.
        duration: Duration,
    },
    /// The next write (any mutation or multi) of `client` is applied, then its reply is lost
    /// with the connection.
    LoseReply {
        /// The client.
        client: u32,
    },
    /// Freeze `client`'s process (a GC pause) for `duration`.
    PauseClient {
        /// The client.
        client: u32,
        /// How long.
        duration: Duration,
    },
    /// `client`'s process dies (its session lives on until the ensemble expires it).
    CrashClient {
        /// The client.
        client: u32,
    },
    /// The leader expires `client`'s session now.
    ExpireSession {
        /// The client.
        client: u32,
    },
    /// Shift `client`'s wall clock by `offset_ms`.
    ClockDrift {
        /// The client.
        client: u32,
        /// Milliseconds added to its wall clock.
        offset_ms: i64,
    },
    /// Test hook, never drawn by the swarm: the leader sets the data version of the node at
    /// `path` to `version` through the log, as if that many writes had been made (to reach a
    /// version near `i32::MAX` without 2^31 writes: CURATOR-688). No watch fires.
    AgeVersion {
        /// The node.
        path: String,
        /// Its new data version.
        version: i32,
    },
    /// Reconfigure the ensemble: `joining` servers become members (an index past the last
    /// server adds a new one), `leaving` ones stop being members. Tried again every 500 ms
    /// while ZooKeeper refuses it (no leader, one in progress, no quorum in the new
    /// configuration), as an operator would.
    Reconfig {
        /// Servers that join.
        joining: Vec<usize>,
        /// Servers that leave.
        leaving: Vec<usize>,
    },
    /// The Exhibitors answer `answer` for `duration`, then list the members again (unless a
    /// later `Exhibitor` fault struck meanwhile: the latest answer holds until it heals).
    Exhibitor {
        /// Their answer.
        answer: ExhibitorAnswer,
        /// How long.
        duration: Duration,
    },
}

impl Fault {
    /// The coverage point counted when a fault of this kind strikes (see
    /// [`docent::coverage::POINTS`]).
    pub fn coverage_point(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "fault.partition",
            Fault::Delay { .. } => "fault.delay",
            Fault::CrashServer { .. } => "fault.crash_server",
            Fault::LeaderChange => "fault.leader_change",
            Fault::QuorumLoss { .. } => "fault.quorum_loss",
            Fault::FollowerLag { .. } => "fault.follower_lag",
            Fault::LoseReply { .. } => "fault.lose_reply",
            Fault::PauseClient { .. } => "fault.pause_client",
            Fault::CrashClient { .. } => "fault.crash_client",
            Fault::ExpireSession { .. } => "fault.expire_session",
            Fault::ClockDrift { .. } => "fault.clock_drift",
            Fault::AgeVersion { .. } => "fault.age_version",
            Fault::Reconfig { .. } => "fault.reconfig",
            Fault::Exhibitor { .. } => "fault.exhibitor",
        }
    }
}

/// A fault and when it strikes (from the start of the run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledFault {
    /// When.
    pub at: Duration,
    /// What.
    pub fault: Fault,
}

/// A run's faults: a value that is printed with a failure and can be shrunk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultSchedule {
    /// The faults, in time order.
    pub faults: Vec<ScheduledFault>,
}

/// What a swarm draw may produce.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SwarmConfig {
    /// Servers in the ensemble.
    pub servers: usize,
    /// Clients in the run.
    pub clients: u32,
    /// The run's length.
    pub horizon: Duration,
    /// The clients' session timeout (partition and pause lengths scale with it).
    pub session_timeout: Duration,
    /// Membership faults too (off by default, so existing suites keep their seeds' runs):
    /// a rolling replacement of every server by reconfiguration, one step of it during a
    /// partition of a client, and Exhibitor answers (down, count 0, stale, garbage). See
    /// [`FaultSchedule::membership`].
    pub membership: bool,
}

impl SwarmConfig {
    /// A swarm over `servers` servers and `clients` clients for `horizon`.
    pub fn new(servers: usize, clients: u32, horizon: Duration) -> SwarmConfig {
        SwarmConfig {
            servers,
            clients,
            horizon,
            session_timeout: Duration::from_secs(10),
            membership: false,
        }
    }
}

impl FaultSchedule {
    /// No faults.
    pub fn new() -> FaultSchedule {
        FaultSchedule::default()
    }

    /// Adds `fault` at `at`.
    pub fn at(mut self, at: Duration, fault: Fault) -> FaultSchedule {
        self.faults.push(ScheduledFault { at, fault });
        self.faults.sort_by_key(|f| f.at);
        self
    }

    /// Swarm testing: the seed picks which fault kinds are on (each with probability 1/2) and
    /// how often each strikes, then draws the faults.
    pub fn swarm(seed: u64, cfg: &SwarmConfig) -> FaultSchedule {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(0x5eed);
        let mut below = |n: u64| {
            if n == 0 {
                0
            } else {
                ((rng.next_u64() as u128 * n as u128) >> 64) as u64
            }
        };
        let ms = |x: u64| Duration::from_millis(x);
        let st = cfg.session_timeout.as_millis() as u64;
        let mut out = FaultSchedule::new();
        for kind in 0..11u64 {
            if below(2) == 0 {
                continue;
            }
            let mean = 5_000 + below(25_000);
            let mut t = below(mean);
            while t < cfg.horizon.as_millis() as u64 {
                let client = below(cfg.clients.max(1) as u64) as u32;
                let server = below(cfg.servers.max(1) as u64) as usize;
                let fault = match kind {
                    0 => Fault::Partition {
                        client,
                        server: if below(2) == 0 { None } else { Some(server) },
                        direction: [Direction::Both, Direction::ToServer, Direction::ToClient]
                            [below(3) as usize],
                        duration: ms(200 + below(st * 2)),
                    },
                    1 => Fault::Delay {
                        client,
                        extra: ms(1 + below(st / 4)),
                        duration: ms(500 + below(st)),
                    },
                    2 => Fault::CrashServer {
                        server,
                        downtime: ms(100 + below(st)),
                    },
                    3 => Fault::LeaderChange,
                    4 => Fault::QuorumLoss {
                        duration: ms(200 + below(st * 2)),
                    },
                    5 => Fault::FollowerLag {
                        server,
                        lag: ms(1 + below(2_000)),
                        duration: ms(1_000 + below(st * 2)),
                    },
                    6 => Fault::LoseReply { client },
                    7 => Fault::PauseClient {
                        client,
                        duration: ms(100 + below(st * 2)),
                    },
                    8 => Fault::CrashClient { client },
                    9 => Fault::ExpireSession { client },
                    _ => Fault::ClockDrift {
                        client,
                        offset_ms: below(20_000) as i64 - 10_000,
                    },
                };
                out.faults.push(ScheduledFault { at: ms(t), fault });
                t += mean / 2 + below(mean);
            }
        }
        if cfg.membership {
            out.faults
                .extend(FaultSchedule::membership(seed, cfg).faults);
        }
        out.faults.sort_by_key(|f| f.at);
        out
    }

    /// The membership faults of a swarm draw (their own random stream): every server `s` of
    /// `cfg.servers` is replaced by server `servers + s`, one at a time (the new one joins,
    /// then the old one leaves, the steps 15 to 25 s apart), starting in the first sixth of
    /// the horizon; a client is cut
    /// off from every server across one of the steps; and the Exhibitors now and then answer
    /// wrongly for a while.
    pub fn membership(seed: u64, cfg: &SwarmConfig) -> FaultSchedule {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(0x7ec0);
        let mut below = |n: u64| ((rng.next_u64() as u128 * n.max(1) as u128) >> 64) as u64;
        let ms = |x: u64| Duration::from_millis(x);
        let horizon = cfg.horizon.as_millis() as u64;
        let st = cfg.session_timeout.as_millis() as u64;
        let n = cfg.servers;
        let mut out = FaultSchedule::new();
        let mut t = below(horizon / 6);
        let cut_step = below(n as u64) as usize;
        for s in 0..n {
            let join = Fault::Reconfig {
                joining: vec![n + s],
                leaving: vec![],
            };
            let gap = 500 + below(3_000);
            if s == cut_step {
                out = out.at(
                    ms(t),
                    Fault::Partition {
                        client: below(cfg.clients.max(1) as u64) as u32,
                        server: None,
                        direction: Direction::Both,
                        duration: ms(gap + 200 + below(st)),
                    },
                );
            }
            let leave = Fault::Reconfig {
                joining: vec![],
                leaving: vec![s],
            };
            out = out.at(ms(t + 100), join).at(ms(t + 100 + gap), leave);
            // Steps far enough apart that no single pause or partition spans them all: a
            // client away for the whole replacement could never find the new servers.
            t += 100 + gap + 15_000 + below(10_000);
        }
        let mut t = below(horizon);
        while t < horizon {
            let answer = match below(4) {
                0 => ExhibitorAnswer::Down,
                1 => ExhibitorAnswer::CountZero,
                2 => ExhibitorAnswer::Garbage,
                _ => ExhibitorAnswer::Stale(vec![below(2 * n as u64) as usize]),
            };
            let duration = ms(1_000 + below(st));
            out = out.at(ms(t), Fault::Exhibitor { answer, duration });
            t += 10_000 + below(20_000);
        }
        out
    }
}

impl fmt::Display for FaultSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.faults.is_empty() {
            return writeln!(f, "(no faults)");
        }
        for s in &self.faults {
            writeln!(f, "{:?} {:?}", Instant::from_epoch(s.at), s.fault)?;
        }
        Ok(())
    }
}
