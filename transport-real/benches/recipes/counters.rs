//! Counters beside Curator's `DistributedAtomicLong` and `SharedCount`: AtomicLong increments
//! with 1 client and with 4 clients on one counter (increments/s that succeeded), and
//! SharedCount's `try_set` round trip (p50/p99).
//!
//! Both sides retry a conflicting increment at once (docent `RetryPolicy::n_times(1000, 0)`,
//! Curator `RetryNTimes(1000, 0)`), without promotion to a lock.

use std::time::{Duration, Instant};

use docent::recipes::atomic::{AtomicLong, AtomicOptions, AtomicStatus};
use docent::recipes::shared::{SharedCount, SharedOptions};
use docent::RetryPolicy;

use crate::support::{client, join_all, measure, micros, on_thread, pct, scaled, traced};
use crate::support::{Round, Row, Start, Timeline, Window};
use crate::trace::Trace;

/// The rows both sides measure.
pub const ROWS: [Row; 4] = [
    (
        "atomic long increments, 1 client (/s)",
        "atomic_1_per_s",
        true,
    ),
    (
        "atomic long increments, 4 clients (total /s)",
        "atomic_4_per_s",
        true,
    ),
    ("shared count try_set p50", "shared_try_set_p50_us", false),
    ("shared count try_set p99", "shared_try_set_p99_us", false),
];

fn options() -> AtomicOptions {
    AtomicOptions::default().retry(RetryPolicy::n_times(1000, Duration::ZERO))
}

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>) {
    let n = scaled(2000, r.scale);
    let (rate, trace) = alone(r.cs, &r.base, n).await;
    r.trace("one AtomicLong increment", trace);
    r.put("atomic_1_per_s", rate);
    let rate = contended(r.cs, &format!("{}/atomic-4", r.base), measure(r.scale)).await;
    r.put("atomic_4_per_s", rate);
    let (times, trace) = try_sets(r.cs, &r.base, n).await;
    r.trace(
        "one SharedCount try_set (and the re-read its own watch asks for)",
        trace,
    );
    r.put("shared_try_set_p50_us", pct(&times, 0.50));
    r.put("shared_try_set_p99_us", pct(&times, 0.99));
}

/// `n` sequential increments on one client (after `n / 3` to warm up): increments/s, and
/// one more traced. Checks that each succeeded and that the node counts them all.
async fn alone(cs: &str, base: &str, n: usize) -> (f64, Timeline) {
    let trace = Trace::default();
    let c = traced(cs, &trace, "counter").await;
    let counter = AtomicLong::start(&c, &format!("{base}/atomic-1"), options())
        .await
        .unwrap();
    let increment = || async {
        let result = counter.increment().await.unwrap();
        assert_eq!(result.status, AtomicStatus::Succeeded, "{result:?}");
    };
    for _ in 0..n / 3 {
        increment().await;
    }
    let t = Instant::now();
    for _ in 0..n {
        increment().await;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    let origin = trace.start();
    increment().await;
    let one = (origin, trace.stop());
    let total = (n + n / 3 + 1) as i64;
    assert_eq!(counter.get().await.unwrap().post, total, "every increment");
    counter.close().await.unwrap();
    c.close().await.unwrap();
    (rate, one)
}

/// 4 clients incrementing one counter through the window: the increments that succeeded
/// after the warm-up, per second. Checks that the node counts every success (warm-up ones
/// too) and nothing else.
async fn contended(cs: &str, path: &str, measure: Duration) -> f64 {
    let start = Start::new(4, measure);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (cs, path, start) = (cs.to_owned(), path.to_owned(), start.clone());
            on_thread(move || async move {
                let c = client(&cs).await;
                let counter = AtomicLong::start(&c, &path, options()).await.unwrap();
                let counts = increments(&counter, start.window().await).await;
                counter.close().await.unwrap();
                c.close().await.unwrap();
                counts
            })
        })
        .collect();
    start.window().await;
    let counts = join_all(threads);
    let measured: usize = counts.iter().map(|(m, _)| m).sum();
    let all: usize = counts.iter().map(|(_, a)| a).sum();
    let c = client(cs).await;
    let (data, _, _) = c.get_data().at(path).await.unwrap();
    let value = i64::from_be_bytes(data.try_into().expect("8 bytes"));
    assert_eq!(value, all as i64, "the counter holds every success");
    c.close().await.unwrap();
    measured as f64 / measure.as_secs_f64()
}

/// Increments until the window ends: (successes begun after the warm-up, all successes).
async fn increments(counter: &AtomicLong, window: Window) -> (usize, usize) {
    let (mut measured, mut all) = (0, 0);
    loop {
        let a = Instant::now();
        if a >= window.end {
            return (measured, all);
        }
        let result = counter.increment().await.unwrap();
        assert_ne!(result.status, AtomicStatus::Unknown, "no faults here");
        if result.status == AtomicStatus::Succeeded {
            all += 1;
            measured += usize::from(a >= window.warm_end);
        }
    }
}

/// `n` compare-and-sets of a SharedCount, each at the version last seen (after `n / 5` to
/// warm up): their round trips, µs, and one more traced. Each must succeed (nobody else
/// writes).
async fn try_sets(cs: &str, base: &str, n: usize) -> (Vec<f64>, Timeline) {
    let trace = Trace::default();
    let c = traced(cs, &trace, "count").await;
    let path = format!("{base}/shared-count");
    let count = SharedCount::start(&c, &path, SharedOptions::seed(0))
        .await
        .unwrap();
    let mut times = Vec::with_capacity(n);
    for i in 0..n + n / 5 {
        let seen = count.get().unwrap();
        let t = Instant::now();
        assert!(count.try_set(&seen, seen.value + 1).await.unwrap());
        if i >= n / 5 {
            times.push(micros(t.elapsed()));
        }
    }
    let origin = trace.start();
    let seen = count.get().unwrap();
    assert!(count.try_set(&seen, seen.value + 1).await.unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    let one = (origin, trace.stop());
    let (data, _, _) = c.get_data().at(&path).await.unwrap();
    assert_eq!(data, ((n + n / 5 + 1) as i32).to_be_bytes(), "every set");
    count.close().await.unwrap();
    c.close().await.unwrap();
    (times, one)
}
