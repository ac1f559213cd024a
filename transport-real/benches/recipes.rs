//! The recipes on a real session, beside Apache Curator 5.4 on the same server.
//!
//! ```text
//! cargo bench -p docent-zk --bench recipes      # RECIPES_SCALE=1.0, RECIPES_BIG=1 by default
//! RECIPES_RUNTIME=multi cargo bench -p docent-zk --bench recipes   # on tokio's 2-worker runtime
//! RECIPES_ROUNDS=5 …        # rounds of the figures both sides measure (3 by default)
//! RECIPES_ZK_JVM="-Xlog:gc:file=/tmp/gc.log" …   # extra JVM arguments for the server
//! RECIPES_SCALE=0.05 RECIPES_BIG=0 RECIPES_ROUNDS=1 …   # a quick check that every row runs
//! RECIPES_CENSUS=1 …        # after each row: what it left alive, and who used the CPU
//! RECIPES_WARM=0 …          # no untimed warm-up pass before the rounds
//! RECIPES_ONLY=counters,queue …  # only these families of rounds (locks latch caches
//!                           # semaphores rwlock counters queue barrier expiry; "extras" for
//!                           # the loads, reads and discovery after the rounds)
//! ```
//!
//! Against one local [`TestingServer`] (full JIT) it measures, for docent:
//! the floor (sequential `exists` RTT, median, as in `floor.rs`); Mutex acquire+release cycles
//! uncontended and with 4 contenders on separate clients (cycles/s, acquire p50/p99);
//! LeaderLatch failover after close (leader closes → the next leader's `IsLeader`); cache
//! propagation (a create or set by one client → the event in another's `TreeCache`, peer
//! `CuratorCache`, and `PathChildrenCache`, peer Curator's `PathChildrenCache`); semaphores (2
//! leases among 6 contenders, the semaphore mutex uncontended); a read–write lock with 4
//! readers and 1 writer; AtomicLong increments with 1 and 4 clients and SharedCount's
//! `try_set` (`counters.rs`); queue puts and takes, one and 100 items per node (`queue.rs`);
//! the double barrier's enter with 5 members (`barrier.rs`); Mutex failover after the holder's
//! session expires (`expiry.rs`); both caches' initial load of 10,000 and 100,000 children
//! (peer: `CuratorCache`); discovery's uncached `query_for_instances` over 100 instances and
//! provider picks from the cache. The lock, failover, cache, counter, queue and barrier
//! figures are also taken with Curator 5.4 in Java (`tests/interop/CuratorBench.java`,
//! compiled with `javac`, one JVM for the whole run). Those figures are taken in alternating
//! rounds (docent first, then Curator first, …) so both sides see the same drift of the VM and
//! the server; the table gives each side's median over the rounds and how many rounds docent
//! won. Every figure is printed with its ratio to the floor RTT. It reports; it asserts
//! nothing about timing.
//!
//! This file is the driver and the table; each row's measurement is a module of `recipes/`.

#[path = "recipes/barrier.rs"]
mod barrier;
#[path = "recipes/caches.rs"]
mod caches;
#[path = "recipes/census.rs"]
mod census;
#[path = "recipes/counters.rs"]
mod counters;
#[path = "recipes/discovery.rs"]
mod discovery;
#[path = "recipes/expiry.rs"]
mod expiry;
#[path = "recipes/floor.rs"]
mod floor;
#[path = "../tests/interop/java.rs"]
mod java;
#[path = "recipes/latch.rs"]
mod latch;
#[path = "recipes/locks.rs"]
mod locks;
#[path = "recipes/queue.rs"]
mod queue;
#[path = "recipes/rwlock.rs"]
mod rwlock;
#[path = "recipes/semaphores.rs"]
mod semaphores;
#[path = "recipes/support.rs"]
mod support;
#[path = "recipes/table.rs"]
mod table;
#[path = "recipes/trace.rs"]
mod trace;

use std::sync::Arc;
use std::time::Duration;

use docent_zk::testing::{ServerOptions, TestingServer};

use census::Census;
use expiry::Proxy;
use support::{env, scaled, Figures, Round, Row, Timeline};
use table::Table;
use trace::Trace;

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

/// The rows both sides measure, in the table's order.
const DUEL: [&[Row]; 9] = [
    &locks::ROWS,
    &latch::ROWS,
    &caches::ROWS,
    &semaphores::ROWS,
    &rwlock::ROWS,
    &counters::ROWS,
    &queue::ROWS,
    &barrier::ROWS,
    &expiry::ROWS,
];

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
    let proxy = Proxy::start(server.addr());
    let census = Census::from_env(server.addr(), server.pid());
    let mut table = Table::default();
    let mut traces = Vec::new();

    let floor = floor::measure(&cs, scaled(20_000, scale)).await;
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
    checkpoint(census.as_ref(), "floor").await;

    // The figures both sides measure, in alternating rounds (docent first, then Curator first,
    // …) so that both see the same drift of this VM and server; the table shows each side's
    // median over the rounds and how many rounds docent won.
    let rounds = env("RECIPES_ROUNDS").unwrap_or(3usize).max(1);
    // The server's first contact with the recipes' writes costs it 1.5–3× the CPU of the same
    // rows later (its JIT still compiling them): without this untimed pass of docent's rows
    // (at a quarter of the scale, no expiry), round 0 measures a colder server than the rest.
    if env::<u8>("RECIPES_WARM").unwrap_or(1) != 0 {
        duel(&cs, &proxy, scale / 4.0, "warm", census.as_ref()).await;
    }
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
    let only = std::env::var("RECIPES_ONLY").unwrap_or_else(|_| "all".into());
    for round in 0..rounds {
        println!("round {} of {rounds}…", round + 1);
        let curator_first = round % 2 == 1;
        let command = format!("duel {round} {} {only}", proxy.connect_string());
        if let (true, Some(peer)) = (curator_first, peer.as_mut()) {
            theirs.push(ask(peer, &command, &proxy).await);
            checkpoint(census.as_ref(), &format!("r{round} curator")).await;
        }
        let pass = format!("r{round}");
        let (figures, round_traces) = duel(&cs, &proxy, scale, &pass, census.as_ref()).await;
        ours.push(figures);
        traces = round_traces;
        if let (false, Some(peer)) = (curator_first, peer.as_mut()) {
            theirs.push(ask(peer, &command, &proxy).await);
            checkpoint(census.as_ref(), &format!("r{round} curator")).await;
        }
    }
    if census.is_some() {
        for (side, rounds) in [("docent", &ours), ("curator", &theirs)] {
            for (round, figures) in rounds.iter().enumerate() {
                println!("census figures {side} r{round}: {figures:?}");
            }
        }
    }
    for &(name, key, rate) in DUEL.into_iter().flatten() {
        let side = |maps: &[Figures]| -> Vec<f64> {
            maps.iter().filter_map(|m| m.get(key).copied()).collect()
        };
        if side(&ours).is_empty() && side(&theirs).is_empty() {
            continue; // a family RECIPES_ONLY left out
        }
        table.rounds(name, rate, &side(&ours), &side(&theirs));
    }
    if wanted("extras") {
        let dirs = caches::loads(&cs, big, &mut table).await;
        let trace = discovery::rows(&cs, scale, &mut table).await;
        traces.push(("one uncached query_for_instances (100 instances)", trace));
        println!("docent done; Curator's loads, reads and discovery…");
        if let Some(peer) = peer.as_mut() {
            table.curator = ask(peer, &format!("extras {}", dirs.join(",")), &proxy).await;
        }
    }
    table.print();
    for (title, (origin, entries)) in traces {
        Trace::print(title, origin, &entries);
    }
}

/// One round of docent's side of [`DUEL`] (`pass`: "r0", "r1", …), under its own base path,
/// and its traces; the "warm" pass leaves out the expiry rows.
async fn duel(
    cs: &str,
    proxy: &Proxy,
    scale: f64,
    pass: &str,
    census: Option<&Census>,
) -> (Figures, Vec<(&'static str, Timeline)>) {
    let mut r = Round {
        cs,
        base: format!("/docent-bench/{pass}"),
        scale,
        figures: Figures::new(),
        traces: Vec::new(),
    };
    let row = |name: &str| format!("{pass} docent {name}");
    if let Some(census) = census {
        census.reset().await;
    }
    if wanted("locks") {
        locks::round(&mut r).await;
        checkpoint(census, &row("locks")).await;
    }
    if wanted("latch") {
        latch::round(&mut r).await;
        checkpoint(census, &row("latch")).await;
    }
    if wanted("caches") {
        caches::round(&mut r).await;
        checkpoint(census, &row("caches")).await;
    }
    if wanted("semaphores") {
        semaphores::round(&mut r).await;
        checkpoint(census, &row("semaphores")).await;
    }
    if wanted("rwlock") {
        rwlock::round(&mut r).await;
        checkpoint(census, &row("rwlock")).await;
    }
    if wanted("counters") {
        counters::round(&mut r).await;
        checkpoint(census, &row("counters")).await;
    }
    if wanted("queue") {
        queue::round(&mut r).await;
        checkpoint(census, &row("queue")).await;
    }
    if wanted("barrier") {
        barrier::round(&mut r).await;
        checkpoint(census, &row("barrier")).await;
    }
    if wanted("expiry") && pass != "warm" {
        expiry::round(&mut r, proxy).await;
        checkpoint(census, &row("expiry")).await;
    }
    (r.figures, r.traces)
}

/// Whether RECIPES_ONLY (a comma-separated list; all when unset) names `family`.
fn wanted(family: &str) -> bool {
    std::env::var("RECIPES_ONLY").map_or(true, |only| only.split(',').any(|f| f == family))
}

/// The census after `row`, when RECIPES_CENSUS is on.
async fn checkpoint(census: Option<&Census>, row: &str) {
    if let Some(census) = census {
        census.after(row).await;
    }
}

/// Sends a command to CuratorBench and collects its "key value" lines until "end". It may ask
/// for the proxy to be cut ("cut", answered "cut" once done) and healed ("heal" → "healed").
async fn ask(peer: &mut java::JavaPeer, command: &str, proxy: &Proxy) -> Figures {
    peer.send(command);
    let mut figures = Figures::new();
    loop {
        let line = peer.line(Duration::from_secs(600)).await;
        match line.as_str() {
            "end" => return figures,
            "cut" => {
                proxy.cut();
                peer.send("cut");
            }
            "heal" => {
                proxy.heal();
                peer.send("healed");
            }
            _ => {
                if let Some((key, value)) = line.split_once(' ') {
                    if let Ok(v) = value.parse() {
                        figures.insert(key.to_owned(), v);
                    }
                }
            }
        }
    }
}
