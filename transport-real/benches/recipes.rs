//! The recipes on a real session, beside Apache Curator 5.4 on the same server.
//!
//! ```text
//! cargo bench -p docent-zk --bench recipes      # RECIPES_SCALE=1.0, RECIPES_BIG=1 by default
//! RECIPES_RUNTIME=multi cargo bench -p docent-zk --bench recipes   # on tokio's 2-worker runtime
//! RECIPES_ROUNDS=5 …        # rounds of the figures both sides measure (3 by default)
//! RECIPES_ZK_JVM="-Xlog:gc:file=/tmp/gc.log" …   # extra JVM arguments for the server
//! ```
//!
//! Against one local [`TestingServer`] (full JIT) it measures, for docent:
//! the floor (sequential `exists` RTT, median, as in `floor.rs`); Mutex acquire+release cycles
//! uncontended and with 4 contenders on separate clients (cycles/s, acquire p50/p99);
//! LeaderLatch failover after close (leader closes → the next leader's `IsLeader`); cache
//! propagation (a create or set by one client → the event in another's `TreeCache`, peer
//! `CuratorCache`, and `PathChildrenCache`, peer Curator's `PathChildrenCache`); both caches'
//! initial load of 10,000 and 100,000 children (peer: `CuratorCache`); discovery's uncached
//! `query_for_instances` over 100 instances and provider picks from the cache. The lock,
//! failover and cache figures are also taken with Curator 5.4 in Java
//! (`tests/interop/CuratorBench.java`, compiled with `javac`, one JVM for the whole run). Those
//! figures are taken in alternating rounds (docent first, then Curator first, …) so both sides
//! see the same drift of the VM and the server; the table gives each side's median over the
//! rounds and how many rounds docent won. Every figure is printed with its ratio to the floor
//! RTT. It reports; it asserts nothing about timing.

#[path = "../tests/interop/java.rs"]
mod java;
#[path = "recipes/table.rs"]
mod table;
#[path = "recipes/trace.rs"]
mod trace;

use table::Table;
use trace::Trace;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use docent::discovery::{ServiceDiscovery, ServiceInstance, ServiceProvider};
use docent::recipes::cache::{ChildrenEvent, ChildrenOptions, PathChildrenCache, StartMode};
use docent::recipes::latch::{LatchEvent, LatchOptions, LeaderLatch};
use docent::recipes::lock::{Mutex, MutexOptions};
use docent::recipes::semaphore::{
    Semaphore, SemaphoreMutex, SemaphoreMutexOptions, SemaphoreOptions,
};
use docent::{Acl, Client, Coordinator, CreateMode, Op};
use docent_zk::testing::{ServerOptions, TestingServer};
use docent_zk::{ZkCoordinator, ZkOptions};
use futures::stream::{FuturesUnordered, StreamExt};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("recipes: a benchmark; run it with `cargo bench -p docent-zk --bench recipes`");
        return;
    }
    let scale: f64 = env("RECIPES_SCALE").unwrap_or(1.0);
    let big = env::<u8>("RECIPES_BIG").unwrap_or(1) != 0;
    // RECIPES_RUNTIME=multi: tokio's 2-worker runtime. The default, one current-thread
    // runtime, is what we recommend for latency: on a VM, waking an idle worker thread costs
    // ~40 µs of the waker's time (an IPI to a halted vCPU), and a multi-thread runtime does
    // that on nearly every hand-off between the caller, the driver and the session task.
    let multi = std::env::var("RECIPES_RUNTIME").is_ok_and(|r| r == "multi");
    let runtime = if multi {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    println!(
        "docent on a {} tokio runtime",
        if multi { "2-worker" } else { "current-thread" }
    );
    runtime.expect("runtime").block_on(bench(scale, big));
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale) as usize).max(10)
}

async fn bench(scale: f64, big: bool) {
    let compile = std::thread::spawn(|| java::JavaBuild::compile(&["CuratorBench.java"]));
    // RECIPES_ZK_JVM: extra JVM arguments for the server, space-separated (GC logging, say).
    let mut jvm_args = vec!["-XX:TieredStopAtLevel=4".to_string()];
    jvm_args.extend(
        std::env::var("RECIPES_ZK_JVM")
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from),
    );
    let options = ServerOptions {
        jvm_args,
        ..ServerOptions::default()
    };
    let server = TestingServer::start_with(options).await.expect("ZooKeeper");
    let cs = server.connect_string();
    let mut table = Table::default();
    let mut traces = Vec::new();

    let floor = floor(&cs, scaled(20_000, scale)).await;
    table.floor = floor.read;
    table.latency("reference: sequential setData RTT p50", "", floor.write);
    table.latency("reference: sequential setData RTT p99", "", floor.write_p99);
    table.latency(
        "reference: 100 getData pipelined p50",
        "batch_getdata_100_p50_us",
        floor.batch,
    );
    table.latency(
        "reference: 100 getData in one multiRead p50",
        "",
        floor.multi,
    );
    println!("floor measured; docent recipes…");

    // The figures both sides measure, in alternating rounds (docent first, then Curator first,
    // …) so that both see the same drift of this VM and server; the table shows each side's
    // median over the rounds and how many rounds docent won.
    let rounds = env("RECIPES_ROUNDS").unwrap_or(3usize).max(1);
    let mut peer = match compile.join().expect("javac thread") {
        Ok(build) => Some(
            Arc::new(build)
                .spawn("CuratorBench", &[&cs, "/curator-bench", &scale.to_string()])
                .expect("java"),
        ),
        Err(e) => {
            println!("Curator side not run: {e}");
            None
        }
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        println!("round {} of {rounds}…", round + 1);
        let curator_first = round % 2 == 1;
        if let (true, Some(peer)) = (curator_first, peer.as_mut()) {
            theirs.push(ask(peer, &format!("duel {round}")).await);
        }
        let (figures, round_traces) = duel(&cs, scale, round).await;
        ours.push(figures);
        traces = round_traces;
        if let (false, Some(peer)) = (curator_first, peer.as_mut()) {
            theirs.push(ask(peer, &format!("duel {round}")).await);
        }
    }
    for &(name, key, rate) in DUEL.iter().chain(SEMAPHORE_DUEL.iter()) {
        let side = |maps: &[BTreeMap<String, f64>]| -> Vec<f64> {
            maps.iter().filter_map(|m| m.get(key).copied()).collect()
        };
        table.rounds(name, rate, &side(&ours), &side(&theirs));
    }
    let loads: Vec<usize> = [10_000, 100_000]
        .into_iter()
        .filter(|&n| big || n <= 10_000)
        .collect();
    for &n in &loads {
        let dir = create_children(&cs, n).await;
        for kind in [CacheKind::Tree, CacheKind::Children] {
            let (took, bytes) = initial_load(&cs, &dir, n, kind).await;
            table.size(
                &format!("{} memory per cached node, {n}", kind.name()),
                bytes as f64 / n as f64,
            );
            let key = match (kind, n) {
                (CacheKind::Tree, 10_000) => "load_10000_us",
                (CacheKind::Tree, _) => "load_100000_us",
                _ => "",
            };
            table.latency(
                &format!("{} initial load, {n}", kind.name()),
                key,
                micros(took),
            );
        }
    }
    let (queries, picks, trace) =
        discovery(&cs, scaled(300, scale), scaled(2_000_000, scale)).await;
    traces.push(("one uncached query_for_instances (100 instances)", trace));
    table.latency(
        "discovery query, 100 instances p50",
        "discovery_query_p50_us",
        pct(&queries, 0.50),
    );
    table.latency(
        "discovery query, 100 instances p99",
        "discovery_query_p99_us",
        pct(&queries, 0.99),
    );
    table.rate(
        "provider get_instance (picks/s)",
        "provider_picks_per_s",
        picks,
    );

    println!("docent done; Curator's loads, reads and discovery…");
    if let Some(peer) = peer.as_mut() {
        let dirs: Vec<String> = loads
            .iter()
            .map(|n| format!("/docent-bench/load{n}"))
            .collect();
        table.curator = ask(peer, &format!("extras {}", dirs.join(","))).await;
    }
    table.print();
    for (title, (origin, entries)) in traces {
        Trace::print(title, origin, &entries);
    }
}

struct Floor {
    /// Sequential `exists` RTT median, µs.
    read: f64,
    /// Sequential `setData` RTT median, µs.
    write: f64,
    /// … and its 99th percentile.
    write_p99: f64,
    /// 100 `getData` submitted at once, all replies, median µs.
    batch: f64,
    /// The same 100 reads in one multiRead, median µs.
    multi: f64,
}

/// Sequential `exists` and `setData` round trips, and a pipelined batch of reads: medians.
async fn floor(cs: &str, n: usize) -> Floor {
    let zk = ZkCoordinator::connect(ZkOptions::new(cs))
        .await
        .expect("connect");
    zk.submit(create_op("/floor")).await.expect("create /floor");
    let exists = || {
        zk.submit(Op::Exists {
            path: "/floor".into(),
            watch: false,
        })
    };
    for _ in 0..n / 2 {
        exists().await.expect("exists");
    }
    let mut reads = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        exists().await.expect("exists");
        reads.push(micros(t.elapsed()));
    }
    let mut writes = Vec::new();
    for _ in 0..n / 10 {
        let t = Instant::now();
        zk.submit(Op::SetData {
            path: "/floor".into(),
            data: vec![1],
            version: None,
        })
        .await
        .expect("setData");
        writes.push(micros(t.elapsed()));
    }
    let mut batches = Vec::new();
    for _ in 0..(n / 100).max(10) {
        let t = Instant::now();
        let reads: Vec<_> = (0..100)
            .map(|_| {
                zk.submit(Op::GetData {
                    path: "/floor".into(),
                    watch: false,
                })
            })
            .collect();
        for r in futures::future::join_all(reads).await {
            r.expect("getData");
        }
        batches.push(micros(t.elapsed()));
    }
    zk.close().await.expect("close");
    // The same 100 reads as one multiRead request (ZooKeeper 3.6+), straight on
    // zookeeper-client: what batching the reads into one packet would cost.
    let direct = zookeeper_client::Client::connect(cs)
        .await
        .expect("connect");
    let mut multi = Vec::new();
    for _ in 0..(n / 100).max(10) {
        let t = Instant::now();
        let mut reader = direct.new_multi_reader();
        for _ in 0..100 {
            reader.add_get_data("/floor").expect("add");
        }
        assert_eq!(reader.commit().await.expect("multiRead").len(), 100);
        multi.push(micros(t.elapsed()));
    }
    Floor {
        read: pct(&reads, 0.5),
        write: pct(&writes, 0.5),
        write_p99: pct(&writes, 0.99),
        batch: pct(&batches, 0.5),
        multi: pct(&multi, 0.5),
    }
}

type Traced = (Instant, Vec<trace::Entry>);

/// The figures docent and Curator both measure: name, CuratorBench's key, and whether it is a
/// rate (else a latency in µs).
const DUEL: [(&str, &str, bool); 12] = [
    (
        "mutex uncontended (cycles/s)",
        "uncontended_cycles_per_s",
        true,
    ),
    (
        "mutex 4 contenders (total cycles/s)",
        "contended_cycles_per_s",
        true,
    ),
    ("  acquire p50", "contended_acquire_p50_us", false),
    ("  acquire p99", "contended_acquire_p99_us", false),
    ("latch failover p50", "failover_p50_us", false),
    ("latch failover p99", "failover_p99_us", false),
    (
        "tree cache create → event p50",
        "cache_create_p50_us",
        false,
    ),
    ("tree cache create/set → event p50", "cache_p50_us", false),
    ("tree cache create/set → event p99", "cache_p99_us", false),
    (
        "children cache create → event p50",
        "pcc_create_p50_us",
        false,
    ),
    ("children cache create/set → event p50", "pcc_p50_us", false),
    ("children cache create/set → event p99", "pcc_p99_us", false),
];

/// One round of docent's side of [`DUEL`], under its own base path, and its traces.
async fn duel(
    cs: &str,
    scale: f64,
    round: usize,
) -> (BTreeMap<String, f64>, Vec<(&'static str, Traced)>) {
    let base = format!("/docent-bench/r{round}");
    let mut figures = BTreeMap::new();
    let mut put = |key: &str, v: f64| {
        figures.insert(key.to_owned(), v);
    };
    let mut traces = Vec::new();
    let (up, trace) = uncontended(cs, &base, scaled(3000, scale)).await;
    traces.push(("three uncontended Mutex cycles (acquire + release)", trace));
    put("uncontended_cycles_per_s", up);
    let measure = Duration::from_secs_f64(4.0 * scale.max(0.25));
    let (rate, waits, trace) = contended(cs, &base, measure).await;
    traces.push(("8 ms of 4 contenders (c0…c3) on one Mutex", trace));
    put("contended_cycles_per_s", rate);
    put("contended_acquire_p50_us", pct(&waits, 0.50));
    put("contended_acquire_p99_us", pct(&waits, 0.99));
    let (failovers, trace) = failover(cs, &base, scaled(300, scale)).await;
    traces.push((
        "one LeaderLatch failover (leader closes → follower's IsLeader)",
        trace,
    ));
    put("failover_p50_us", pct(&failovers, 0.50));
    put("failover_p99_us", pct(&failovers, 0.99));
    for kind in [CacheKind::Tree, CacheKind::Children] {
        let (creates, all, trace) = propagation(cs, &base, scaled(1000, scale), kind).await;
        traces.push((kind.trace_title(), trace));
        let [create_p50, p50, p99] = kind.keys();
        put(create_p50, pct(&creates, 0.50));
        put(p50, pct(&all, 0.50));
        put(p99, pct(&all, 0.99));
    }
    semaphore_duel(cs, &base, scale, &mut put).await;
    (figures, traces)
}

// ---- Semaphores (InterProcessSemaphoreV2 / InterProcessSemaphoreMutex) beside Curator ----

/// The semaphore figures both sides measure (see [`DUEL`]).
const SEMAPHORE_DUEL: [(&str, &str, bool); 3] = [
    (
        "semaphore 2 leases, 6 contenders (lease cycles/s)",
        "sem_contended_cycles_per_s",
        true,
    ),
    ("  acquire p99", "sem_contended_acquire_p99_us", false),
    (
        "semaphore mutex uncontended (cycles/s)",
        "sem_mutex_cycles_per_s",
        true,
    ),
];

/// One round of docent's side of [`SEMAPHORE_DUEL`].
async fn semaphore_duel(cs: &str, base: &str, scale: f64, put: &mut impl FnMut(&str, f64)) {
    let c = client(cs).await;
    let path = format!("{base}/semaphore-mutex");
    let lock = SemaphoreMutex::start(&c, &path, SemaphoreMutexOptions::default())
        .await
        .unwrap();
    let n = scaled(3000, scale);
    for _ in 0..n / 3 {
        lock.acquire().await.unwrap().release().await.unwrap();
    }
    let t = Instant::now();
    for _ in 0..n {
        lock.acquire().await.unwrap().release().await.unwrap();
    }
    put(
        "sem_mutex_cycles_per_s",
        n as f64 / t.elapsed().as_secs_f64(),
    );
    lock.close().await.unwrap();
    c.close().await.unwrap();

    let measure = Duration::from_secs_f64(4.0 * scale.max(0.25));
    let warm_end = Instant::now() + Duration::from_secs(2);
    let end = warm_end + measure;
    // Each contender on a thread and runtime of its own, as separate processes would be.
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (cs, path) = (cs.to_owned(), format!("{base}/semaphore"));
            std::thread::spawn(move || {
                own_runtime().block_on(async move {
                    let c = client(&cs).await;
                    let options = SemaphoreOptions::max_leases(2);
                    let sem = Semaphore::start(&c, &path, options).await.unwrap();
                    let mut waits = Vec::new();
                    loop {
                        let a = Instant::now();
                        if a >= end {
                            break;
                        }
                        let lease = sem.acquire().await.unwrap();
                        let b = Instant::now();
                        lease.release().await.unwrap();
                        if a >= warm_end {
                            waits.push(micros(b - a));
                        }
                    }
                    sem.close().await.unwrap();
                    c.close().await.unwrap();
                    waits
                })
            })
        })
        .collect();
    let waits: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("contender"))
        .collect();
    put(
        "sem_contended_cycles_per_s",
        waits.len() as f64 / measure.as_secs_f64(),
    );
    put("sem_contended_acquire_p99_us", pct(&waits, 0.99));
}

/// A client whose ops are recorded into `trace` (when it is on) under `name`.
async fn traced(cs: &str, trace: &Trace, name: &'static str) -> Client {
    let zk = ZkCoordinator::connect(ZkOptions::new(cs))
        .await
        .expect("connect");
    let traced = trace::Traced {
        inner: Arc::new(zk),
        trace: trace.clone(),
        client: name,
    };
    Client::builder(Arc::new(traced)).build().expect("client")
}

async fn client(cs: &str) -> Client {
    let zk = ZkCoordinator::connect(ZkOptions::new(cs))
        .await
        .expect("connect");
    Client::builder(Arc::new(zk)).build().expect("client")
}

async fn uncontended(cs: &str, base: &str, n: usize) -> (f64, Traced) {
    let trace = Trace::default();
    let c = traced(cs, &trace, "holder").await;
    let path = format!("{base}/uncontended");
    let lock = Mutex::start(&c, &path, MutexOptions::default())
        .await
        .unwrap();
    for _ in 0..n / 3 {
        lock.acquire().await.unwrap().release().await.unwrap();
    }
    let t = Instant::now();
    for _ in 0..n {
        lock.acquire().await.unwrap().release().await.unwrap();
    }
    let took = t.elapsed();
    let origin = trace.start();
    for _ in 0..3 {
        lock.acquire().await.unwrap().release().await.unwrap();
    }
    let cycle = (origin, trace.stop());
    lock.close().await.unwrap();
    (n as f64 / took.as_secs_f64(), cycle)
}

/// 4 clients cycling on one lock: total cycles/s after a second of warm-up, and acquire waits.
async fn contended(cs: &str, base: &str, measure: Duration) -> (f64, Vec<f64>, Traced) {
    const NAMES: [&str; 4] = ["c0", "c1", "c2", "c3"];
    let trace = Trace::default();
    let warm_end = Instant::now() + Duration::from_secs(2);
    let end = warm_end + measure;
    // Each contender on a thread and runtime of its own, as separate processes would be
    // (Curator's contenders have their own threads too).
    let threads: Vec<_> = NAMES
        .into_iter()
        .map(|name| {
            let (cs, trace, path) = (cs.to_owned(), trace.clone(), format!("{base}/contended"));
            std::thread::spawn(move || {
                own_runtime().block_on(async move {
                    let c = traced(&cs, &trace, name).await;
                    let lock = Mutex::start(&c, &path, MutexOptions::default())
                        .await
                        .unwrap();
                    let mut waits = Vec::new();
                    loop {
                        let a = Instant::now();
                        if a >= end {
                            break;
                        }
                        let held = lock.acquire().await.unwrap();
                        let b = Instant::now();
                        held.release().await.unwrap();
                        if a >= warm_end {
                            waits.push(micros(b - a));
                        }
                    }
                    lock.close().await.unwrap();
                    c.close().await.unwrap();
                    waits
                })
            })
        })
        .collect();
    tokio::time::sleep_until((warm_end + measure / 2).into()).await;
    let origin = trace.start();
    tokio::time::sleep(Duration::from_millis(8)).await;
    let window = (origin, trace.stop());
    tokio::time::sleep_until(end.into()).await;
    let waits: Vec<f64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("contender"))
        .collect();
    (waits.len() as f64 / measure.as_secs_f64(), waits, window)
}

/// A current-thread runtime for a thread that stands for another process.
fn own_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Leader closes → the follower's `IsLeader`, alternating between two clients.
async fn failover(cs: &str, base: &str, n: usize) -> (Vec<f64>, Traced) {
    let trace = Trace::default();
    let sides = [traced(cs, &trace, "A").await, traced(cs, &trace, "B").await];
    let mut one = None;
    let path = &format!("{base}/latch");
    let id = |id: String| LatchOptions::default().id(id);
    let mut leader = LeaderLatch::start(&sides[0], path, id("a".into()))
        .await
        .unwrap();
    leader.await_leadership().await.unwrap();
    let warm = n / 5;
    let mut times = Vec::new();
    for i in 0..n + warm {
        let follower = LeaderLatch::start(&sides[(i + 1) % 2], path, id(format!("p{i}")))
            .await
            .unwrap();
        while leader.participants().await.unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let mut events = follower.events();
        let last = i + 1 == n + warm;
        let t0 = if last { trace.start() } else { Instant::now() };
        let led = async {
            while let Some(event) = events.next().await {
                if let LatchEvent::IsLeader { .. } = event {
                    return t0.elapsed();
                }
            }
            panic!("follower's events ended");
        };
        let (closed, took) = tokio::join!(leader.close(), led);
        closed.unwrap();
        if last {
            tokio::time::sleep(Duration::from_millis(20)).await;
            one = Some((t0, trace.stop()));
        }
        if i >= warm {
            times.push(micros(took));
        }
        leader = follower;
    }
    leader.close().await.unwrap();
    (times, one.expect("traced"))
}

/// Which docent cache a figure is for, and its Curator peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheKind {
    /// `TreeCache` (persistent recursive watch), peer `CuratorCache`.
    Tree,
    /// `PathChildrenCache` (one-shot watches), peer Curator's `PathChildrenCache`.
    Children,
}

impl CacheKind {
    fn name(self) -> &'static str {
        match self {
            CacheKind::Tree => "tree cache",
            CacheKind::Children => "children cache",
        }
    }

    fn trace_title(self) -> &'static str {
        match self {
            CacheKind::Tree => "one tree cache propagation (create → reader's NodeCreated)",
            CacheKind::Children => "one children cache propagation (create → reader's ChildAdded)",
        }
    }

    /// CuratorBench's keys for create p50, create/set p50 and p99.
    fn keys(self) -> [&'static str; 3] {
        match self {
            CacheKind::Tree => ["cache_create_p50_us", "cache_p50_us", "cache_p99_us"],
            CacheKind::Children => ["pcc_create_p50_us", "pcc_p50_us", "pcc_p99_us"],
        }
    }
}

/// A started cache of either kind, its events reduced to "added" / "updated" paths.
struct AnyCache {
    close: futures::future::BoxFuture<'static, ()>,
    size: usize,
    events: futures::stream::BoxStream<'static, (bool, String)>,
}

/// Starts a `kind` cache of `dir` on `reader` and waits for its initial load.
async fn start_cache(reader: &Client, dir: &str, kind: CacheKind) -> AnyCache {
    use docent::recipes::cache::{TreeCache, TreeEvent, TreeOptions};
    match kind {
        CacheKind::Tree => {
            let cache = TreeCache::start(reader, dir, TreeOptions::default())
                .await
                .unwrap();
            cache.await_initialized().await.unwrap();
            let events = cache
                .events()
                .filter_map(|e| async move {
                    match e {
                        TreeEvent::NodeCreated(c) => Some((true, c.path)),
                        TreeEvent::NodeChanged(c) => Some((false, c.path)),
                        _ => None,
                    }
                })
                .boxed();
            AnyCache {
                size: cache.snapshot().len() - 1,
                events,
                close: futures::FutureExt::boxed(async move { cache.close().await.unwrap() }),
            }
        }
        CacheKind::Children => {
            let options = ChildrenOptions::default().mode(StartMode::BuildInitial);
            let cache = PathChildrenCache::start(reader, dir, options)
                .await
                .unwrap();
            let events = cache
                .events()
                .filter_map(|e| async move {
                    match e {
                        ChildrenEvent::ChildAdded(c) => Some((true, c.path)),
                        ChildrenEvent::ChildUpdated(c) => Some((false, c.path)),
                        _ => None,
                    }
                })
                .boxed();
            AnyCache {
                size: cache.current_data_all().len(),
                events,
                close: futures::FutureExt::boxed(async move { cache.close().await.unwrap() }),
            }
        }
    }
}

/// A create or set by one client → the event in another client's `kind` cache. The reader
/// runs on a thread and runtime of its own, as another process would (Curator's reader has
/// its own threads too); its events are stamped as they arrive there.
async fn propagation(
    cs: &str,
    base: &str,
    n: usize,
    kind: CacheKind,
) -> (Vec<f64>, Vec<f64>, Traced) {
    let trace = Trace::default();
    let writer = traced(cs, &trace, "writer").await;
    let dir = format!("{base}/cache-{}", kind.name().replace(' ', "-"));
    writer.create().parents().at(&dir).await.unwrap();
    let mut reader = Reader::start(cs, &dir, kind, &trace).await;
    let warm = n / 5;
    let (mut creates, mut sets) = (Vec::new(), Vec::new());
    for i in 0..n + warm {
        let path = format!("{dir}/n{i}");
        let t0 = Instant::now();
        writer.create().data(vec![1]).at(&path).await.unwrap();
        let created = reader.until(t0, (true, &path)).await;
        let t1 = Instant::now();
        writer.set_data().at(&path, vec![2]).await.unwrap();
        let set = reader.until(t1, (false, &path)).await;
        if i >= warm {
            creates.push(created);
            sets.push(set);
        }
    }
    let origin = trace.start();
    let path = format!("{dir}/traced");
    writer.create().data(vec![1]).at(&path).await.unwrap();
    reader.until(origin, (true, &path)).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let one = (origin, trace.stop());
    reader.stop();
    let mut all = creates.clone();
    all.extend(sets);
    (creates, all, one)
}

/// A `kind` cache on its own thread (and current-thread runtime): its "added" / "updated"
/// events, each with the time it arrived.
struct Reader {
    events: tokio::sync::mpsc::UnboundedReceiver<(Instant, bool, String)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reader {
    /// Starts the cache and returns once its initial load is complete.
    async fn start(cs: &str, dir: &str, kind: CacheKind, trace: &Trace) -> Reader {
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let (ready, loaded) = tokio::sync::oneshot::channel();
        let (cs, dir, trace) = (cs.to_owned(), dir.to_owned(), trace.clone());
        let thread = std::thread::spawn(move || {
            own_runtime().block_on(async move {
                let reader = traced(&cs, &trace, "reader").await;
                let mut cache = start_cache(&reader, &dir, kind).await;
                let _ = ready.send(());
                loop {
                    tokio::select! {
                        event = cache.events.next() => match event {
                            Some((added, path)) => {
                                let _ = tx.send((Instant::now(), added, path));
                            }
                            None => break,
                        },
                        _ = &mut stopped => break,
                    }
                }
                cache.close.await;
                reader.close().await.expect("close");
            });
        });
        loaded.await.expect("the reader's cache started");
        Reader {
            events,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Microseconds from `since` to the arrival of the event `want` (added?, path).
    async fn until(&mut self, since: Instant, want: (bool, &str)) -> f64 {
        while let Some((at, added, path)) = self.events.recv().await {
            if (added, path.as_str()) == want {
                return micros(at.saturating_duration_since(since));
            }
        }
        panic!("cache events ended");
    }

    /// Closes the cache and its client, and waits for its thread.
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("reader thread");
        }
    }
}

/// Creates `n` children (pipelined) under a fresh directory; returns it.
async fn create_children(cs: &str, n: usize) -> String {
    let zk = ZkCoordinator::connect(ZkOptions::new(cs))
        .await
        .expect("connect");
    let dir = format!("/docent-bench/load{n}");
    zk.submit(create_op(&dir)).await.expect("create dir");
    let mut in_flight = FuturesUnordered::new();
    let mut sent = 0;
    while sent < n || !in_flight.is_empty() {
        while sent < n && in_flight.len() < 512 {
            in_flight.push(zk.submit(create_op(&format!("{dir}/child-{sent:06}"))));
            sent += 1;
        }
        in_flight.next().await.unwrap().expect("create child");
    }
    dir
}

/// Times a fresh client's `kind` cache of `dir` until its initial load is complete; also the
/// heap bytes the loaded cache holds: what closing it frees. (Not the growth of the live heap
/// since the start: a dependency frees some grown buffers under their old size, so a process
/// counter drifts up by ~1.6 KB per request while heaptrack sees the memory returned.)
async fn initial_load(cs: &str, dir: &str, n: usize, kind: CacheKind) -> (Duration, usize) {
    let reader = client(cs).await;
    let t = Instant::now();
    let cache = start_cache(&reader, dir, kind).await;
    let took = t.elapsed();
    assert_eq!(cache.size, n, "every child loaded");
    let held = live_bytes();
    cache.close.await;
    let freed = held.saturating_sub(live_bytes());
    reader.close().await.expect("close");
    (took, freed)
}

/// Every allocation goes through a counting allocator, for [`live_bytes`].
#[global_allocator]
static HEAP: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

/// Heap bytes allocated and not yet freed, by the whole process.
fn live_bytes() -> usize {
    let s = HEAP.stats();
    (s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated) as usize
}

fn create_op(path: &str) -> Op {
    Op::Create {
        path: path.into(),
        data: b"some child data".to_vec(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    }
}

/// Uncached queries of a 100-instance service, then provider picks from its cache.
async fn discovery(cs: &str, queries: usize, picks: usize) -> (Vec<f64>, f64, Traced) {
    let trace = Trace::default();
    let registrar = client(cs).await;
    let querier = traced(cs, &trace, "querier").await;
    let base = "/docent-bench/discovery";
    let registry = ServiceDiscovery::start(&registrar, base).await.unwrap();
    for i in 0..100 {
        let instance = ServiceInstance::builder("svc")
            .id(format!("instance-{i:03}"))
            .address("10.0.0.1")
            .port(8000 + i)
            .uri_spec("{scheme}://{address}:{port}".parse().unwrap())
            .payload_string("some payload")
            .build(&registrar)
            .unwrap();
        registry.register(&instance).await.unwrap();
    }
    let discovery = ServiceDiscovery::start(&querier, base).await.unwrap();
    for _ in 0..queries / 5 {
        discovery.query_for_instances("svc").await.unwrap();
    }
    let mut times = Vec::with_capacity(queries);
    for _ in 0..queries {
        let t = Instant::now();
        let found = discovery.query_for_instances("svc").await.unwrap();
        times.push(micros(t.elapsed()));
        assert_eq!(found.instances.len(), 100);
    }
    let origin = trace.start();
    discovery.query_for_instances("svc").await.unwrap();
    let one = (origin, trace.stop());
    let provider = ServiceProvider::builder(&discovery, "svc")
        .build()
        .await
        .unwrap();
    let mut ports = 0u64;
    let t = Instant::now();
    for _ in 0..picks {
        ports += u64::from(
            provider
                .get_instance()
                .expect("an instance")
                .port
                .unwrap_or(0),
        );
    }
    let rate = picks as f64 / t.elapsed().as_secs_f64();
    assert!(ports > 0);
    provider.close().await.unwrap();
    discovery.close().await.unwrap();
    registry.close().await.unwrap();
    (times, rate, one)
}

/// Runs CuratorBench once; its `key value` lines.
/// Sends a command to CuratorBench and collects its "key value" lines until "end".
async fn ask(peer: &mut java::JavaPeer, command: &str) -> BTreeMap<String, f64> {
    peer.send(command);
    let mut figures = BTreeMap::new();
    loop {
        let line = peer.line(Duration::from_secs(600)).await;
        if line == "end" {
            return figures;
        }
        if let Some((key, value)) = line.split_once(' ') {
            if let Ok(v) = value.parse() {
                figures.insert(key.to_owned(), v);
            }
        }
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn pct(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}
