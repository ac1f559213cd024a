//! Mutex cycles beside Curator's `InterProcessMutex`: uncontended, and 4 contenders on
//! separate clients (cycles/s, acquire p50/p99).

use std::time::{Duration, Instant};

use docent::recipes::lock::{LockGuard, Mutex, MutexOptions};

use crate::support::{
    join_all, measure, on_thread, pct, scaled, traced, Round, Row, Start, Timeline,
};
use crate::trace::Trace;

/// The rows both sides measure.
pub const ROWS: [Row; 4] = [
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
];

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>) {
    let (up, trace) = uncontended(r.cs, &r.base, scaled(3000, r.scale)).await;
    r.trace("three uncontended Mutex cycles (acquire + release)", trace);
    r.put("uncontended_cycles_per_s", up);
    let (rate, waits, trace) = contended(r.cs, &r.base, measure(r.scale)).await;
    r.trace("8 ms of 4 contenders (c0…c3) on one Mutex", trace);
    r.put("contended_cycles_per_s", rate);
    r.put("contended_acquire_p50_us", pct(&waits, 0.50));
    r.put("contended_acquire_p99_us", pct(&waits, 0.99));
}

async fn uncontended(cs: &str, base: &str, n: usize) -> (f64, Timeline) {
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
    c.close().await.unwrap();
    (n as f64 / took.as_secs_f64(), cycle)
}

/// 4 clients cycling on one lock: total cycles/s after the warm-up, and acquire waits.
async fn contended(cs: &str, base: &str, measure: Duration) -> (f64, Vec<f64>, Timeline) {
    const NAMES: [&str; 4] = ["c0", "c1", "c2", "c3"];
    let trace = Trace::default();
    let start = Start::new(NAMES.len(), measure);
    let threads: Vec<_> = NAMES
        .into_iter()
        .map(|name| {
            let (cs, trace, path) = (cs.to_owned(), trace.clone(), format!("{base}/contended"));
            let start = start.clone();
            on_thread(move || async move {
                let c = traced(&cs, &trace, name).await;
                let lock = Mutex::start(&c, &path, MutexOptions::default())
                    .await
                    .unwrap();
                let window = start.window().await;
                let waits = window.cycles(|| lock.acquire(), LockGuard::release).await;
                lock.close().await.unwrap();
                c.close().await.unwrap();
                waits
            })
        })
        .collect();
    let window = start.window().await;
    let timeline = window.trace_middle(&trace, Duration::from_millis(8)).await;
    let waits: Vec<f64> = join_all(threads).into_iter().flatten().collect();
    (waits.len() as f64 / measure.as_secs_f64(), waits, timeline)
}
