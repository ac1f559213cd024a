//! The named cache scenarios of SCENARIOS.md, each a scripted [`FaultSchedule`] swept over a
//! few seeds (the seed varies network jitter, server choice and scheduling). Client `w`
//! writes; the caches run on the other clients. Every scenario also runs the cache suite's
//! oracle: each state a cache showed is one the ensemble had, events come in a sane order,
//! and the caches end equal to the ensemble.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;

use docent::rng::Rng;
use docent::{Client, CreateMode};
use docent_sim::check::Seen;
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule, Sim};
use docent_sim_tests::caches::{
    check_order, children_cache, children_cache_on, converge, node_cache, node_cache_on,
    random_write, tree_cache, tree_cache_on, CacheUnderTest, NODE, ROOT,
};
use docent_sim_tests::counting::Counting;
use docent_sim_tests::history::Change;

type R = Result<(), Box<dyn std::error::Error>>;

const SEEDS: u64 = 16;

fn s(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn partition(client: u32, secs: f64) -> Fault {
    Fault::Partition {
        client,
        server: None,
        direction: Direction::Both,
        duration: s(secs),
    }
}

fn delay(client: u32, extra: f64, secs: f64) -> Fault {
    Fault::Delay {
        client,
        extra: s(extra),
        duration: s(secs),
    }
}

/// Polls (every 100 ms) until `f` holds or `deadline` passes.
async fn eventually(sim: &Sim, deadline: Duration, what: &str, f: impl Fn() -> bool) -> R {
    while !f() {
        if sim.now() >= deadline {
            return Err(format!("{what}: still not so at {:?}", sim.now()).into());
        }
        sim.sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The node, an open tree and its root's children on `who`.
async fn three_caches(
    sim: &Sim,
    seen: &Seen,
    who: &str,
    node: &str,
) -> Result<Vec<CacheUnderTest>, Box<dyn std::error::Error>> {
    Ok(vec![
        node_cache(sim, seen, who, node).await?,
        children_cache(sim, seen, who, ROOT, true).await?,
        tree_cache(sim, seen, who, ROOT, usize::MAX).await?,
    ])
}

/// The oracle's checks (on the subtree at `prefix`), convergence by `deadline` last.
async fn check_all(
    sim: &Sim,
    caches: &[CacheUnderTest],
    seen: &Seen,
    prefix: &str,
    deadline: Duration,
) -> R {
    let converged = converge(sim, caches, seen, deadline).await;
    check_order(caches)?;
    seen.check(sim, prefix)?;
    converged?;
    Ok(())
}

/// The ensemble's czxid of `path`.
fn czxid(sim: &Sim, path: &str) -> Option<i64> {
    sim.inspect(|m| m.node(None, path).map(|(_, stat, _)| stat.czxid))
}

/// `cache` reported the node `old` of `path` removed, and later the node `new` added.
fn reported_replacement(cache: &CacheUnderTest, path: &str, old: i64, new: i64) -> R {
    let mirror = cache.mirror.lock().unwrap();
    let changes = mirror.changes();
    let is = |c: &Change, removed: bool, czxid: i64| {
        let d = c.data();
        d.path == path && d.stat.czxid == czxid && matches!(c, Change::Removed(_)) == removed
    };
    let removal = changes.iter().position(|c| is(c, true, old));
    let addition = changes.iter().rposition(|c| is(c, false, new));
    match (removal, addition) {
        (Some(r), Some(a)) if r < a => Ok(()),
        _ => Err(format!(
            "{}: {path} (czxid {old:#x} → {new:#x}) not reported as a removal then an \
             addition: {changes:#?}",
            cache.label
        )
        .into()),
    }
}

/// True when some change of `cache` carried `path`.
fn ever_reported(cache: &CacheUnderTest, path: &str) -> bool {
    let mirror = cache.mirror.lock().unwrap();
    mirror.changes().iter().any(|c| c.data().path == path)
}

/// CURATOR-391/476/328: the cache's client is cut off while its node is deleted and created
/// again with the same data (so the same version): every cache reports a removal and an
/// addition, told apart by czxid.
#[test]
fn cache_missed_recreate() {
    harness!("cache_missed_recreate")
        .clients(["w", "c"])
        .schedule(FaultSchedule::new().at(s(3.0), partition(1, 6.0)))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let w = sim.client("w");
            w.create().parents().data(b"d".to_vec()).at(NODE).await?;
            w.create().data(b"e".to_vec()).at("/cache/b").await?;
            let seen = Seen::new();
            let caches = three_caches(&sim, &seen, "c", NODE).await?;
            eventually(&sim, s(2.5), "initial load", || {
                caches.iter().all(|c| c.is_initialized())
            })
            .await?;
            let old = czxid(&sim, NODE).ok_or("no node")?;
            sim.sleep_until(s(4.0)).await;
            w.delete().at(NODE).await?;
            w.create().data(b"d".to_vec()).at(NODE).await?;
            let new = czxid(&sim, NODE).ok_or("no node")?;
            check_all(&sim, &caches, &seen, ROOT, sim.healed_at() + s(30.0)).await?;
            for cache in &caches {
                reported_replacement(cache, NODE, old, new)?;
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// A child deleted between the listing and its read: the cache's packets take a second each
/// way, the child goes while the reads are on their way. It is never reported.
#[test]
fn cache_missed_recreate_deleted_between_list_and_read() {
    harness!("cache_missed_recreate_deleted_between_list_and_read")
        .clients(["w", "c"])
        .schedule(FaultSchedule::new().at(s(0.5), delay(1, 1.0, 20.0)))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let w = sim.client("w");
            for name in ["a", "b", "c"] {
                let path = format!("{ROOT}/{name}");
                w.create().parents().data(name.as_bytes()).at(&path).await?;
            }
            sim.sleep_until(s(1.0)).await;
            let seen = Seen::new();
            let caches = vec![
                children_cache(&sim, &seen, "c", ROOT, true).await?,
                tree_cache(&sim, &seen, "c", ROOT, usize::MAX).await?,
            ];
            // The listings reach the server at about 2 s and come back at 3 s; the reads they
            // lead to reach it at about 4 s.
            sim.sleep_until(s(3.0)).await;
            w.delete().at("/cache/b").await?;
            check_all(&sim, &caches, &seen, ROOT, sim.healed_at() + s(20.0)).await?;
            for cache in &caches {
                if ever_reported(cache, "/cache/b") {
                    return Err(format!("{} reported /cache/b", cache.label).into());
                }
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// A cache started while the ensemble is down sends nothing until it is back, then fills and
/// reports `Initialized` once.
#[test]
fn cache_missed_recreate_started_while_down() {
    harness!("cache_missed_recreate_started_while_down")
        .clients(["w", "c"])
        .schedule(FaultSchedule::new().at(s(2.0), Fault::QuorumLoss { duration: s(8.0) }))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let w = sim.client("w");
            for name in ["a", "b", "c"] {
                let path = format!("{ROOT}/{name}");
                w.create().parents().data(name.as_bytes()).at(&path).await?;
            }
            sim.sleep_until(s(3.0)).await;
            let counting = Counting::new(sim.session("c"));
            let client = Client::builder(Arc::new(counting.clone())).build()?;
            let seen = Seen::new();
            let caches = vec![
                node_cache_on(&sim, &seen, "c", &client, NODE).await?,
                children_cache_on(&sim, &seen, "c", &client, ROOT, true).await?,
                tree_cache_on(&sim, &seen, "c", &client, ROOT, usize::MAX).await?,
            ];
            sim.sleep_until(s(9.5)).await;
            if counting.requests() != 0 {
                return Err(format!("{} requests while down", counting.requests()).into());
            }
            if let Some(c) = caches
                .iter()
                .find(|c| c.is_initialized() || !c.snapshot().is_empty())
            {
                return Err(format!("{} filled while down", c.label).into());
            }
            check_all(&sim, &caches, &seen, ROOT, sim.healed_at() + s(20.0)).await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// Bursts of pipelined changes between watch re-arms (the cache's packets are slowed down, so
/// many changes land between a watch firing and its next read): the caches end right.
#[test]
fn cache_missed_recreate_bursts() {
    harness!("cache_missed_recreate_bursts")
        .clients(["w", "c"])
        .schedule(FaultSchedule::new().at(s(1.0), delay(1, 0.3, 10.0)))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let seen = Seen::new();
            let caches = three_caches(&sim, &seen, "c", NODE).await?;
            let w = sim.client("w");
            w.create().data(b"r".to_vec()).at(ROOT).await?;
            let mut rng = Rng::new(sim.seed(), 7);
            sim.sleep_until(s(1.5)).await;
            for _ in 0..8 {
                let burst: Vec<_> = (0..25).map(|_| random_write(&w, &mut rng)).collect();
                join_all(burst).await;
                sim.sleep(s(0.5)).await;
            }
            check_all(&sim, &caches, &seen, ROOT, sim.healed_at() + s(30.0)).await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// CURATOR-173/163: the watched parent is a container; its children go, the leader's reaper
/// deletes it, then it is created again with children. The caches report the old container
/// gone (by czxid) and the new one with its children, whether the cache's client saw the reap
/// or was cut off through it.
#[test]
fn container_reaped_under_cache() {
    for (test, schedule, sees_reap) in [
        ("container_reaped_under_cache", FaultSchedule::new(), true),
        (
            "container_reaped_under_cache (cut off)",
            FaultSchedule::new().at(s(8.0), partition(1, 6.0)),
            false,
        ),
    ] {
        harness!(test)
            .clients(["w", "c"])
            .schedule(schedule)
            .default_seeds(0..SEEDS)
            .run(|sim| async move {
                let w = sim.client("w");
                w.create().mode(CreateMode::Container).at(ROOT).await?;
                for name in ["a", "b"] {
                    w.create().at(&format!("{ROOT}/{name}")).await?;
                }
                let seen = Seen::new();
                let caches = three_caches(&sim, &seen, "c", ROOT).await?;
                eventually(&sim, s(2.5), "initial load", || {
                    caches.iter().all(|c| c.is_initialized())
                })
                .await?;
                let old = czxid(&sim, ROOT).ok_or("no container")?;
                sim.sleep_until(s(3.0)).await;
                for name in ["a", "b"] {
                    w.delete().at(&format!("{ROOT}/{name}")).await?;
                }
                let reaped = || czxid(&sim, ROOT).is_none();
                eventually(&sim, s(25.0), "the container reaped", reaped).await?;
                if sees_reap {
                    converge(&sim, &caches, &seen, s(15.0)).await?;
                }
                sim.sleep_until(sim.now().max(s(15.0))).await;
                w.transaction()
                    .create(ROOT, Vec::new(), CreateMode::Container)
                    .create("/cache/c", Vec::new(), CreateMode::Persistent)
                    .create("/cache/c/x", Vec::new(), CreateMode::Persistent)
                    .create("/cache/d", Vec::new(), CreateMode::Persistent)
                    .commit()
                    .await?;
                let new = czxid(&sim, ROOT).ok_or("no container")?;
                check_all(&sim, &caches, &seen, ROOT, sim.now() + s(30.0)).await?;
                reported_replacement(&caches[0], ROOT, old, new)?;
                reported_replacement(&caches[2], ROOT, old, new)?;
                for name in ["a", "b"] {
                    let path = format!("{ROOT}/{name}");
                    if !caches[1]
                        .mirror
                        .lock()
                        .unwrap()
                        .changes()
                        .iter()
                        .any(|c| matches!(c, Change::Removed(d) if d.path == path))
                    {
                        return Err(format!("{path}'s removal was not reported").into());
                    }
                }
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}

/// CURATOR-690: a children cache and a one-level tree cache load 100,000 children and report
/// `Initialized`; snapshot and events equal the ensemble. The children are made in 100
/// pipelined multis of 1,000 creates. (The history oracle is left to the other suites: its
/// replay would double the time.)
#[test]
fn cache_large_fanout() {
    const PARENT: &str = "/fanout";
    const CHILDREN: usize = 100_000;
    const BATCH: usize = 1_000;
    let wall = std::time::Instant::now();
    harness!("cache_large_fanout")
        .clients(["w", "c"])
        .no_faults()
        .limit(1)
        .run(|sim| async move {
            let w = sim.client("w");
            w.create().at(PARENT).await?;
            let batches = (0..CHILDREN / BATCH).map(|b| {
                (b * BATCH..(b + 1) * BATCH)
                    .fold(w.transaction(), |t, i| {
                        t.create(
                            &format!("{PARENT}/c{i:06}"),
                            Vec::new(),
                            CreateMode::Persistent,
                        )
                    })
                    .commit()
            });
            for result in join_all(batches).await {
                result?;
            }
            let made = sim.now();
            let listed = sim.inspect(|m| m.node(None, PARENT).map(|n| n.2.len()));
            if listed != Some(CHILDREN) {
                return Err(format!("the ensemble holds {listed:?} children").into());
            }
            let seen = Seen::new();
            let caches = vec![
                children_cache(&sim, &seen, "c", PARENT, true).await?,
                tree_cache(&sim, &seen, "c", PARENT, 1).await?,
            ];
            // Polled every millisecond, to tell how long the load took.
            while !caches.iter().all(|c| c.is_initialized()) {
                if sim.now() > made + s(60.0) {
                    return Err("the initial load took over a minute".into());
                }
                sim.sleep(Duration::from_millis(1)).await;
            }
            let loaded = sim.now();
            for cache in &caches {
                let n = cache.snapshot().len();
                let expected = CHILDREN + usize::from(cache.label.contains("tree"));
                if n != expected {
                    return Err(format!("{}: {n} nodes cached", cache.label).into());
                }
                if let Some(why) = cache.mismatch(&sim) {
                    return Err(format!("{}: {why}", cache.label).into());
                }
            }
            check_order(&caches)?;
            eprintln!(
                "cache_large_fanout seed {}: {CHILDREN} children made in {:?}, loaded by both \
                 caches in {:?} (simulated)",
                sim.seed(),
                made,
                loaded - made
            );
            Ok::<_, Box<dyn std::error::Error>>(())
        });
    eprintln!("cache_large_fanout: {:?} wall", wall.elapsed());
}

/// CURATOR-441/444: eight clients each with a children cache over twenty children; a leader
/// change forces a mass reconnect of the same sessions, and one child is created meanwhile.
/// Each cache re-lists once and reads only the new name: the burst is measured (printed) and
/// bounded, with no per-child re-read storm.
#[test]
fn cache_herd_on_reconnect() {
    let mut names: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
    names.push("w".into());
    harness!("cache_herd_on_reconnect")
        .clients(names)
        .schedule(FaultSchedule::new().at(s(5.0), Fault::LeaderChange))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            const PARENT: &str = "/herd";
            let w = sim.client("w");
            w.create().at(PARENT).await?;
            for i in 0..20 {
                w.create()
                    .data(vec![i])
                    .at(&format!("{PARENT}/c{i:02}"))
                    .await?;
            }
            let seen = Seen::new();
            let mut caches = Vec::new();
            let mut counters = Vec::new();
            for who in sim.names().iter().filter(|n| n.starts_with('p')) {
                let counting = Counting::new(sim.session(who));
                let client = Client::builder(Arc::new(counting.clone())).build()?;
                caches.push(children_cache_on(&sim, &seen, who, &client, PARENT, true).await?);
                counters.push(counting);
            }
            eventually(&sim, s(4.5), "initial load", || {
                caches.iter().all(|c| c.is_initialized())
            })
            .await?;
            sim.sleep_until(s(4.9)).await;
            let count = |f: fn(&Counting<docent_sim::SimSession>) -> u64| -> u64 {
                counters.iter().map(f).sum()
            };
            let (lists, requests) = (count(Counting::lists), count(Counting::requests));
            sim.sleep_until(s(5.1)).await;
            w.create().at(&format!("{PARENT}/new")).await?;
            sim.sleep_until(s(9.0)).await;
            let burst_lists = count(Counting::lists) - lists;
            let burst = count(Counting::requests) - requests;
            let reads = burst - burst_lists;
            let n = counters.len() as u64;
            eprintln!(
                "cache_herd_on_reconnect seed {}: {burst} requests ({burst_lists} getChildren, \
                 {reads} reads) from {n} children caches of 20 children after a mass \
                 reconnect and one new child",
                sim.seed()
            );
            // One listing for the reconnect and one for the new child's watch; one read of
            // the new child. A re-read storm would be 20 reads a cache.
            if burst_lists > 2 * n || reads > n + 1 {
                return Err(format!(
                    "burst of {burst} requests ({burst_lists} getChildren) from {n} caches"
                )
                .into());
            }
            check_all(&sim, &caches, &seen, PARENT, s(30.0)).await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
