//! How fast a session follows a changing ensemble, beside Curator 5.4 with its EnsembleTracker on
//! the same 3-server cluster (`reconfigEnabled=true`, 200 ms ticks, 4 s sessions).
//!
//! ```text
//! cargo bench -p docent-zk --bench ensemble          # ENSEMBLE_MOVES=20 moves per row and side
//! ```
//!
//! Rows (p50 and p99 over the moves, in ms and in server ticks):
//! - **list**: docent's provider drops the server the session is on → the same session
//!   connected at a listed server (ZooKeeper's `updateServerList`; Curator has no such call).
//! - **kill**: the server the session is on is killed (SIGKILL) → the same session connected at
//!   another member, docent and Curator in turn.
//! - **reconfig**: the server the session is on is removed by a reconfiguration → the tracker's
//!   provider lists the new configuration (the ensemble watch: one `getConfig` with a watch per
//!   change on both sides) and the session is connected at a remaining member; docent and
//!   Curator in turn. The removed server is then killed and a fresh one added, so every round
//!   starts from three voters.
//!
//! Times are taken from the wall clock in microseconds since the Unix epoch: the bench stamps
//! docent's events as its tasks see them, the Java peer (`tests/interop/EnsembleBench.java`)
//! stamps Curator's. It reports; it asserts nothing about timing.

#[path = "../tests/interop/java.rs"]
mod java;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use docent::ensemble::{ConnectString, EnsembleProvider};
use docent::{Coordinator, Op, OpResult, SessionState};
use docent_zk::testing::{ServerOptions, TestingCluster};
use docent_zk::{ZkCoordinator, ZkOptions};
use futures::StreamExt;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

const SESSION: Duration = Duration::from_secs(4);
/// How long a move may take before the round counts as "did not move".
const LIMIT: Duration = Duration::from_secs(12);

/// What a client did, stamped in µs since the epoch.
#[derive(Debug, Clone)]
enum Seen {
    /// Connected (again) with this session id (0 when the peer does not say).
    Connected(i64),
    /// The provider's connection string changed to these servers.
    Ensemble(String),
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after the epoch")
        .as_micros() as i64
}

/// One client under test: its session id and its stamped events.
struct Subject {
    name: &'static str,
    session: i64,
    events: UnboundedReceiver<(i64, Seen)>,
}

impl Subject {
    /// After `since`, within [`LIMIT`]: when the provider first listed servers `ensemble`
    /// accepts (if asked), and when this session first connected again.
    async fn after(
        &mut self,
        since: i64,
        ensemble: Option<&dyn Fn(&str) -> bool>,
    ) -> (Option<i64>, Option<i64>) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        let (mut learned, mut moved) = (None, None);
        while (ensemble.is_some() && learned.is_none()) || moved.is_none() {
            let (at, seen) = match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(event)) => event,
                Ok(None) | Err(_) => break,
            };
            if at < since {
                continue;
            }
            match seen {
                Seen::Connected(id) if id == self.session || id == 0 => {
                    moved = moved.or(Some(at));
                }
                Seen::Ensemble(cs) if ensemble.is_some_and(|want| want(&cs)) => {
                    learned = learned.or(Some(at));
                }
                _ => {}
            }
        }
        (learned, moved)
    }

    fn drain(&mut self) {
        while self.events.try_recv().is_ok() {}
    }
}

/// A docent client whose events are stamped by tasks of their own.
fn stamp_docent(zk: &ZkCoordinator, provider: &EnsembleProvider) -> UnboundedReceiver<(i64, Seen)> {
    let (tx, rx) = unbounded_channel();
    let mut states = zk.session_states();
    let states_tx = tx.clone();
    tokio::spawn(async move {
        while let Some(state) = states.next().await {
            if let SessionState::Connected { session_id, .. } = state {
                let _ = states_tx.send((now_us(), Seen::Connected(session_id)));
            }
        }
    });
    let mut watch = provider.watch();
    tokio::spawn(async move {
        while let Some(servers) = watch.next().await {
            let hosts: Vec<String> = servers.iter().map(|(h, p)| format!("{h}:{p}")).collect();
            if tx
                .send((now_us(), Seen::Ensemble(hosts.join(","))))
                .is_err()
            {
                return;
            }
        }
    });
    rx
}

/// Curator's lines, parsed and forwarded; the peer lives as long as the task.
fn stamp_curator(mut peer: java::JavaPeer, tx: UnboundedSender<(i64, Seen)>) {
    tokio::spawn(async move {
        while !tx.is_closed() {
            let Some(line) = peer.try_line(Duration::from_millis(200)).await else {
                continue;
            };
            let mut words = line.split_whitespace();
            let seen = match (words.next(), words.next(), words.next()) {
                (Some("state"), Some("RECONNECTED" | "CONNECTED"), Some(at)) => {
                    at.parse().ok().map(|at| (at, Seen::Connected(0)))
                }
                (Some("ensemble"), Some(cs), Some(at)) => at
                    .parse()
                    .ok()
                    .map(|at| (at, Seen::Ensemble(cs.to_owned()))),
                _ => None,
            };
            if let Some(seen) = seen {
                let _ = tx.send(seen);
            }
        }
    });
}

/// Member `i`'s `host:port`.
fn member(cluster: &TestingCluster, i: usize) -> String {
    cluster.member_addr(i).expect("a member").to_string()
}

async fn serving(cluster: &TestingCluster, session: i64) -> Option<usize> {
    for _ in 0..100 {
        if let Some(i) = cluster.member_serving(session).await {
            return Some(i);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Whether server `id` (1-based, as in `server.N=`) is in the configuration, as a fresh client
/// of the live members other than `away` reads it.
async fn configured(cluster: &TestingCluster, away: usize, id: usize) -> Option<bool> {
    let live: Vec<String> = (0..cluster.len())
        .filter(|&i| i != away && cluster.pid(i).is_some())
        .map(|i| member(cluster, i))
        .collect();
    let options = ZkOptions::new(live.join(",")).with_session_timeout(SESSION);
    let zk = ZkCoordinator::connect(options).await.ok()?;
    let op = Op::GetData {
        path: "/zookeeper/config".into(),
        watch: false,
    };
    match zk.submit(op).await.ok()?.result {
        OpResult::Data { data, .. } => {
            let text = String::from_utf8_lossy(&data).into_owned();
            Some(
                text.lines()
                    .any(|l| l.starts_with(&format!("server.{id}="))),
            )
        }
        _ => None,
    }
}

/// Reconfigures (adding `add` or removing `away`), trying again while the change has not
/// taken (a reconfiguration can lose its connection when it moves the leader).
async fn reconfigure(cluster: &TestingCluster, add: Option<usize>, away: usize) {
    for attempt in 0..10 {
        let result = match add {
            Some(i) => cluster.reconfigure(&[i], &[]).await,
            None => cluster.reconfigure(&[], &[away]).await,
        };
        let (id, want) = match add {
            Some(i) => (i + 1, true),
            None => (away + 1, false),
        };
        if configured(cluster, away, id).await == Some(want) {
            return;
        }
        eprintln!("reconfigure (attempt {attempt}): {result:?}; trying again");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the reconfiguration (adding {add:?}, else removing {away}) did not take");
}

/// Move times in ms, with how many rounds did not move within [`LIMIT`].
#[derive(Default)]
struct Row {
    ms: Vec<f64>,
    missed: usize,
}

impl Row {
    fn add(&mut self, since: i64, at: Option<i64>) {
        match at {
            Some(at) => self.ms.push((at - since) as f64 / 1000.0),
            None => self.missed += 1,
        }
    }

    fn print(&self, label: &str, tick: Duration) {
        let mut ms = self.ms.clone();
        ms.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            if ms.is_empty() {
                return f64::NAN;
            }
            ms[((ms.len() - 1) as f64 * p).round() as usize]
        };
        let tick = tick.as_secs_f64() * 1000.0;
        let (p50, p99) = (pct(0.5), pct(0.99));
        println!(
            "{label:<34} p50 {p50:>8.1} ms ({:>5.1} ticks)  p99 {p99:>8.1} ms ({:>5.1} ticks)  \
             n={}{}",
            p50 / tick,
            p99 / tick,
            ms.len(),
            if self.missed > 0 {
                format!(", {} did not move within {LIMIT:?}", self.missed)
            } else {
                String::new()
            }
        );
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("ensemble: a benchmark; run it with `cargo bench -p docent-zk --bench ensemble`");
        return;
    }
    let moves: usize = std::env::var("ENSEMBLE_MOVES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(20);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(bench(moves));
}

async fn bench(moves: usize) {
    let compile = std::thread::spawn(|| java::JavaBuild::compile(&["EnsembleBench.java"]));
    let options = ServerOptions {
        reconfig: true,
        ..ServerOptions::default()
    };
    let tick = options.tick_time;
    let mut cluster = TestingCluster::start_with(3, options)
        .await
        .expect("a 3-server cluster");
    let build = std::sync::Arc::new(compile.join().unwrap().unwrap_or_else(|e| panic!("{e}")));

    // list: a polled provider over every member, told to drop the session's server.
    let all: Vec<(String, u16)> = (0..3).map(|i| split(&member(&cluster, i))).collect();
    let first = ConnectString::parse(&member(&cluster, 0)).unwrap();
    let provider = EnsembleProvider::polled(&first.with_hosts(all.clone()).unwrap());
    let listed = ZkCoordinator::connect(
        ZkOptions::new(first.to_string())
            .with_session_timeout(SESSION)
            .with_ensemble_provider(provider.clone()),
    )
    .await
    .expect("connect");
    let mut subject = Subject {
        name: "docent",
        session: listed.session_id(),
        events: stamp_docent(&listed, &provider),
    };
    let mut list = Row::default();
    for _ in 0..moves {
        let on = serving(&cluster, subject.session).await.expect("served");
        let rest: Vec<_> = (0..3)
            .filter(|&i| i != on)
            .map(|i| all[i].clone())
            .collect();
        subject.drain();
        let since = now_us();
        provider.set(rest).expect("a valid list");
        list.add(since, subject.after(since, None).await.1);
        provider.set(all.clone()).expect("a valid list");
    }
    drop(listed);
    println!("\nensemble moves ({moves} per row and side; tick {tick:?}, session {SESSION:?})");
    list.print("list: server dropped, docent", tick);

    // kill and reconfig: docent's tracker and Curator's, each starting at member 0.
    let zk = ZkCoordinator::connect(
        ZkOptions::new(member(&cluster, 0))
            .with_session_timeout(SESSION)
            .with_ensemble_tracker(true),
    )
    .await
    .expect("connect");
    let docent = Subject {
        name: "docent",
        session: zk.session_id(),
        events: stamp_docent(&zk, &zk.ensemble_provider()),
    };
    let mut peer = build
        .spawn(
            "EnsembleBench",
            &[&member(&cluster, 0), &SESSION.as_millis().to_string()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let line = peer.line(Duration::from_secs(60)).await;
    let session = line
        .strip_prefix("session 0x")
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| panic!("the peer said {line:?}"));
    assert_eq!(peer.line(Duration::from_secs(10)).await, "ready");
    let (tx, rx) = unbounded_channel();
    stamp_curator(peer, tx);
    let curator = Subject {
        name: "Curator",
        session,
        events: rx,
    };
    let mut subjects = [docent, curator];
    // Let both trackers learn the three members first.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut kill = [Row::default(), Row::default()];
    for round in 0..moves * 2 {
        let side = round % 2;
        let s = &mut subjects[side];
        let on = serving(&cluster, s.session).await.expect("served");
        s.drain();
        let since = now_us();
        cluster.kill(on);
        kill[side].add(since, s.after(since, None).await.1);
        cluster.restart(on).await.expect("restart");
    }
    for (side, s) in subjects.iter().enumerate() {
        kill[side].print(&format!("kill: server killed, {}", s.name), tick);
    }

    let mut watch = [Row::default(), Row::default()];
    let mut reconfig = [Row::default(), Row::default()];
    for round in 0..moves * 2 {
        let side = round % 2;
        let s = &mut subjects[side];
        let on = serving(&cluster, s.session).await.expect("served");
        let gone = member(&cluster, on);
        s.drain();
        let since = now_us();
        reconfigure(&cluster, None, on).await;
        let dropped = |cs: &str| !cs.contains(&gone);
        let (learned, moved) = s.after(since, Some(&dropped)).await;
        watch[side].add(since, learned);
        reconfig[side].add(since, moved);
        cluster.kill(on);
        let fresh = cluster.add_member().await.expect("a new member");
        reconfigure(&cluster, Some(fresh), on).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    for (side, s) in subjects.iter().enumerate() {
        watch[side].print(&format!("reconfig: provider updated, {}", s.name), tick);
        reconfig[side].print(&format!("reconfig: session moved, {}", s.name), tick);
    }
}

fn split(hostport: &str) -> (String, u16) {
    let (h, p) = hostport.rsplit_once(':').expect("host:port");
    (h.to_owned(), p.parse().expect("a port"))
}
