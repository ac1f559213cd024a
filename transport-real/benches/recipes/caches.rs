//! Caches beside Curator's: propagation (a create or set by one client → the event in another
//! client's cache) and the initial load of a large directory, with the heap it holds.

use std::time::{Duration, Instant};

use docent::recipes::cache::{ChildrenEvent, ChildrenOptions, PathChildrenCache, StartMode};
use docent::{Client, Coordinator};
use docent_zk::{ZkCoordinator, ZkOptions};
use futures::stream::{FuturesUnordered, StreamExt};

use crate::support::{
    client, create_op, micros, on_thread, pct, scaled, traced, Round, Row, Timeline,
};
use crate::table::Table;
use crate::trace::Trace;

/// The propagation rows both sides measure.
pub const ROWS: [Row; 6] = [
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

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>) {
    for kind in [CacheKind::Tree, CacheKind::Children] {
        let n = scaled(1000, r.scale);
        let (creates, all, trace) = propagation(r.cs, &r.base, n, kind).await;
        r.trace(kind.trace_title(), trace);
        let [create_p50, p50, p99] = kind.keys();
        r.put(create_p50, pct(&creates, 0.50));
        r.put(p50, pct(&all, 0.50));
        r.put(p99, pct(&all, 0.99));
    }
}

/// Each cache's initial load of `n` children (10,000, and 100,000 when `big`), and the heap
/// per cached node, into `table`; the directories loaded, for Curator's side.
pub async fn loads(cs: &str, big: bool, table: &mut Table) -> Vec<String> {
    let mut dirs = Vec::new();
    for n in [10_000, 100_000]
        .into_iter()
        .filter(|&n| big || n <= 10_000)
    {
        let dir = create_children(cs, n).await;
        for kind in [CacheKind::Tree, CacheKind::Children] {
            let (took, bytes) = initial_load(cs, &dir, n, kind).await;
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
        dirs.push(dir);
    }
    dirs
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
) -> (Vec<f64>, Vec<f64>, Timeline) {
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
    writer.close().await.unwrap();
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
        let thread = on_thread(move || async move {
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
    zk.close().await.expect("close");
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
