//! RECIPES_CENSUS=1: what is left alive between rows, to catch a row that outlives its round.
//!
//! After each row (and each of Curator's rounds) it prints the row's wall time and the CPU the
//! bench, CuratorBench's JVM, the server and everything else on the machine used during it,
//! with the requests the server received and its CPU per request (which the rest of the
//! machine's load hardly changes, unlike the row's figures);
//! then the threads of the bench and of the JVM, the server's live connections, watches and
//! ephemeral nodes (`mntr`), and the CPU each of the three processes burns during one idle
//! second that follows: with nothing left over, the idle second costs next to nothing and the
//! connection and thread counts return to where they started.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;

/// The processes and server a census looks at; `None` when RECIPES_CENSUS is not set.
pub struct Census {
    server: SocketAddr,
    server_pid: Option<u32>,
    since: std::sync::Mutex<Mark>,
}

/// When a row began, and the CPU ticks then: of the bench, the peer, the server, the machine.
#[derive(Clone, Copy)]
struct Mark {
    at: Instant,
    ticks: [Option<u64>; 4],
    /// Requests the server has received so far (`zk_packets_received`).
    packets: Option<u64>,
}

impl Census {
    /// A census of `server` (its JVM's pid `server_pid`), if RECIPES_CENSUS=1.
    pub fn from_env(server: SocketAddr, server_pid: Option<u32>) -> Option<Census> {
        let on = crate::support::env::<u8>("RECIPES_CENSUS").unwrap_or(0) != 0;
        on.then(|| Census {
            server,
            server_pid,
            since: std::sync::Mutex::new(Mark::now(server_pid, None)),
        })
    }

    /// Restarts the clocks of the next row.
    pub async fn reset(&self) {
        let packets = packets(self.server).await;
        *self.since.lock().unwrap() = Mark::now(self.server_pid, packets);
    }

    /// Prints the census after `row`, then restarts the row clocks.
    pub async fn after(&self, row: &str) {
        let since = *self.since.lock().unwrap();
        let now = Mark::now(self.server_pid, packets(self.server).await);
        let used = |i: usize| match (since.ticks[i], now.ticks[i]) {
            (Some(b), Some(a)) => (a - b) as f64 / TICKS * 1000.0,
            _ => f64::NAN,
        };
        let ours = used(0) + used(1).max(0.0) + used(2).max(0.0);
        // Less the census's own `mntr` at the start of the row.
        let requests = match (since.packets, now.packets) {
            (Some(b), Some(a)) => a.saturating_sub(b + 1) as f64,
            _ => f64::NAN,
        };
        println!(
            "census {row}: {:.1} s; CPU ms bench {:.0} peer {:.0} server {:.0} others {:.0}; \
             {requests} requests, server CPU {:.0} µs per request",
            (now.at - since.at).as_secs_f64(),
            used(0),
            used(1),
            used(2),
            used(3) - ours,
            used(2) * 1000.0 / requests,
        );
        println!("census {row}: at once {}", self.left().await);
        let idle = Mark::now(self.server_pid, None);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = Mark::now(self.server_pid, None);
        let burnt = |i: usize| match (idle.ticks[i], after.ticks[i]) {
            (Some(b), Some(a)) => format!("{:.0}", (a - b) as f64 / TICKS * 1000.0),
            _ => "-".into(),
        };
        println!(
            "census {row}: 1 s on {}; idle CPU ms bench {} peer {} server {}",
            self.left().await,
            burnt(0),
            burnt(1),
            burnt(2),
        );
        self.reset().await;
    }

    /// What is alive now: threads of the bench and the peer, and on the server; "LEFT OVER"
    /// when the server still has a session or connection (a row's client not closed).
    async fn left(&self) -> String {
        let mntr = mntr(self.server).await;
        let stat = |key: &str| {
            mntr.iter()
                .find(|(k, _)| k == key)
                .map_or("?", |(_, v)| v.as_str())
        };
        let count = |key: &str| stat(key).parse::<i64>().ok();
        let sessions = count("zk_global_sessions");
        // Less the census's own connection.
        let conns = count("zk_num_alive_connections").map(|n| n - 1);
        let left = sessions.unwrap_or(0) > 0 || conns.unwrap_or(0) > 0;
        format!(
            "threads bench {} peer {}; server sessions {} conns {} watches {} ephemerals {} \
             znodes {}, fsync ms avg {} max {}{}",
            threads(Some(std::process::id())),
            threads(peer_pid()),
            sessions.map_or("?".into(), |n| n.to_string()),
            conns.map_or("?".into(), |n| n.to_string()),
            stat("zk_watch_count"),
            stat("zk_ephemerals_count"),
            stat("zk_znode_count"),
            stat("zk_avg_fsynctime"),
            stat("zk_max_fsynctime"),
            if left { "  LEFT OVER" } else { "" },
        )
    }
}

impl Mark {
    fn now(server_pid: Option<u32>, packets: Option<u64>) -> Mark {
        let pids = [Some(std::process::id()), peer_pid(), server_pid];
        let [bench, peer, server] = pids.map(cpu_ticks);
        Mark {
            at: Instant::now(),
            ticks: [bench, peer, server, machine_ticks()],
            packets,
        }
    }
}

/// Busy CPU ticks of the whole machine so far (every state of `/proc/stat`'s `cpu` line but
/// idle and iowait).
fn machine_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    let (idle, iowait) = (*ticks.get(3)?, *ticks.get(4)?);
    // guest time is counted in user time already.
    Some(ticks.iter().take(8).sum::<u64>() - idle - iowait)
}

/// CuratorBench's JVM: a child of this process whose command line names it.
fn peer_pid() -> Option<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let ppid: u32 = stat_fields(&stat).get(1)?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let named = String::from_utf8_lossy(&cmdline).contains("CuratorBench");
        (ppid == me && named).then_some(pid)
    })
}

/// The fields of `/proc/<pid>/stat` after the command name: state, ppid, … (field 3 on).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect())
}

/// User + system CPU ticks of `pid` so far.
fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    let fields = stat_fields(&stat);
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the command name.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

fn threads(pid: Option<u32>) -> String {
    pid.and_then(|pid| std::fs::read_dir(format!("/proc/{pid}/task")).ok())
        .map_or("-".into(), |tasks| tasks.count().to_string())
}

/// The requests the server has received so far.
async fn packets(server: SocketAddr) -> Option<u64> {
    let mntr = mntr(server).await;
    let (_, v) = mntr.iter().find(|(k, _)| k == "zk_packets_received")?;
    v.parse().ok()
}

/// The server's `mntr` four-letter word: (key, value) pairs; empty if it does not answer.
async fn mntr(server: SocketAddr) -> Vec<(String, String)> {
    let ask = async {
        let mut stream = tokio::net::TcpStream::connect(server).await.ok()?;
        stream.write_all(b"mntr").await.ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).await.ok()?;
        Some(text)
    };
    let text = tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
