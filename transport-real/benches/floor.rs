//! The floor: what a real session costs before any recipe runs.
//!
//! ```text
//! cargo bench -p docent-zk --bench floor            # FLOOR_OPS=20000 by default
//! ```
//!
//! Against a local [`TestingServer`] (full JIT), it reports
//! 1. sequential `exists` round trips per second and the median RTT, through
//!    [`ZkCoordinator`] and through `zookeeper-client` directly, interleaved in rounds so both see
//!    the same machine, and their ratio (docent's overhead; the target is ≤ 1.05);
//! 2. the same through the ensemble relay (a session that follows a changing server list:
//!    [`ZkOptions::with_ensemble_tracker`]), whose extra loopback hop is the price of following;
//! 3. pipelined throughput with 64 `exists` outstanding, both ways.
//!
//! It reports figures and asserts nothing about timing.

use std::time::{Duration, Instant};

use docent::{Coordinator, Op};
use docent_zk::testing::{ServerOptions, TestingServer};
use docent_zk::{ZkCoordinator, ZkOptions};
use futures::stream::{FuturesUnordered, StreamExt};
use zookeeper_client as zk;

const ROUNDS: usize = 5;
const WINDOW: usize = 64;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("floor: a benchmark; run it with `cargo bench -p docent-zk --bench floor`");
        return;
    }
    let ops: usize = std::env::var("FLOOR_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(ops));
}

async fn bench(ops: usize) {
    let options = ServerOptions {
        jvm_args: vec!["-XX:TieredStopAtLevel=4".into()],
        ..ServerOptions::default()
    };
    let server = TestingServer::start_with(options).await.expect("ZooKeeper");
    let docent = ZkCoordinator::connect(ZkOptions::new(server.connect_string()))
        .await
        .expect("connect");
    let relayed =
        ZkCoordinator::connect(ZkOptions::new(server.connect_string()).with_ensemble_tracker(true))
            .await
            .expect("connect");
    let direct = zk::Client::connect(&server.connect_string())
        .await
        .expect("connect");
    direct
        .create(
            "/bench",
            b"",
            &zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all()),
        )
        .await
        .expect("create /bench");

    // Warm both paths (and the server's JIT).
    sequential_docent(&docent, ops / 2).await;
    sequential_docent(&relayed, ops / 2).await;
    sequential_direct(&direct, ops / 2).await;

    let per_round = (ops / ROUNDS).max(1);
    let (mut via_docent, mut via_relay, mut via_direct) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        via_docent.extend(sequential_docent(&docent, per_round).await);
        via_relay.extend(sequential_docent(&relayed, per_round).await);
        via_direct.extend(sequential_direct(&direct, per_round).await);
    }
    let d = Summary::of(&mut via_docent);
    let r = Summary::of(&mut via_relay);
    let z = Summary::of(&mut via_direct);
    println!(
        "sequential exists, {} ops each, {ROUNDS} interleaved rounds:",
        d.n
    );
    d.print("  docent Coordinator");
    r.print("  docent, relayed   ");
    z.print("  zookeeper-client  ");
    println!(
        "  overhead ratio (docent / direct): mean {:.3}, median {:.3}",
        d.mean.as_secs_f64() / z.mean.as_secs_f64(),
        d.median.as_secs_f64() / z.median.as_secs_f64()
    );
    println!(
        "  relay cost (relayed / docent): mean {:.3}, median {:.3}",
        r.mean.as_secs_f64() / d.mean.as_secs_f64(),
        r.median.as_secs_f64() / d.median.as_secs_f64()
    );

    let total = ops * 5;
    let (mut docent_time, mut direct_time) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        docent_time += pipelined_docent(&docent, total / ROUNDS).await;
        direct_time += pipelined_direct(&direct, total / ROUNDS).await;
    }
    let docent_rate = total as f64 / docent_time.as_secs_f64();
    let direct_rate = total as f64 / direct_time.as_secs_f64();
    println!(
        "pipelined exists, {WINDOW} outstanding, {total} ops each, {ROUNDS} interleaved rounds:"
    );
    println!("  docent Coordinator   {docent_rate:>10.0} ops/s");
    println!("  zookeeper-client     {direct_rate:>10.0} ops/s");
    println!(
        "  ratio (direct / docent): {:.3}",
        direct_rate / docent_rate
    );
    docent.close().await.expect("close");
    relayed.close().await.expect("close");
}

async fn sequential_docent(zk: &ZkCoordinator, n: usize) -> Vec<Duration> {
    let mut rtts = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let reply = zk
            .submit(Op::Exists {
                path: "/bench".into(),
                watch: false,
            })
            .await;
        rtts.push(started.elapsed());
        reply.expect("exists");
    }
    rtts
}

async fn sequential_direct(zk: &zk::Client, n: usize) -> Vec<Duration> {
    let mut rtts = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let stat = zk.check_stat("/bench").await;
        rtts.push(started.elapsed());
        stat.expect("exists");
    }
    rtts
}

async fn pipelined_docent(zk: &ZkCoordinator, n: usize) -> Duration {
    let started = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut sent = 0;
    while sent < n || !in_flight.is_empty() {
        while sent < n && in_flight.len() < WINDOW {
            in_flight.push(zk.submit(Op::Exists {
                path: "/bench".into(),
                watch: false,
            }));
            sent += 1;
        }
        in_flight.next().await.expect("in flight").expect("exists");
    }
    started.elapsed()
}

async fn pipelined_direct(zk: &zk::Client, n: usize) -> Duration {
    let started = Instant::now();
    let mut in_flight = FuturesUnordered::new();
    let mut sent = 0;
    while sent < n || !in_flight.is_empty() {
        while sent < n && in_flight.len() < WINDOW {
            in_flight.push(zk.check_stat("/bench"));
            sent += 1;
        }
        in_flight.next().await.expect("in flight").expect("exists");
    }
    started.elapsed()
}

struct Summary {
    n: usize,
    mean: Duration,
    median: Duration,
    p99: Duration,
}

impl Summary {
    fn of(rtts: &mut [Duration]) -> Summary {
        rtts.sort();
        let n = rtts.len();
        Summary {
            n,
            mean: rtts.iter().sum::<Duration>() / n as u32,
            median: rtts[n / 2],
            p99: rtts[(n * 99 / 100).min(n - 1)],
        }
    }

    fn print(&self, label: &str) {
        println!(
            "{label} {:>8.0} round trips/s   median {:>6.1} µs   p99 {:>7.1} µs",
            1.0 / self.mean.as_secs_f64(),
            self.median.as_secs_f64() * 1e6,
            self.p99.as_secs_f64() * 1e6
        );
    }
}
