//! A read–write lock beside Curator's `InterProcessReadWriteLock`: 4 readers and 1 writer, each
//! on a client, thread and runtime of its own, cycling acquire and release on their side of the
//! lock (total cycles/s of all five, and the writer's acquire p50/p99).

use std::time::Duration;

use docent::recipes::lock::LockGuard;
use docent::recipes::rwlock::{ReadWriteLock, ReadWriteLockOptions};

use crate::support::{join_all, measure, on_thread, pct, traced, Round, Row, Start};
use crate::trace::Trace;

/// The rows both sides measure.
pub const ROWS: [Row; 3] = [
    (
        "rw lock 4 readers, 1 writer (cycles/s)",
        "rw_cycles_per_s",
        true,
    ),
    ("  writer acquire p50", "rw_writer_acquire_p50_us", false),
    ("  writer acquire p99", "rw_writer_acquire_p99_us", false),
];

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>) {
    // The writer first, then the readers.
    const NAMES: [&str; 5] = ["w", "r1", "r2", "r3", "r4"];
    let measure = measure(r.scale);
    let start = Start::new(NAMES.len(), measure);
    let trace = Trace::default();
    let threads: Vec<_> = NAMES
        .into_iter()
        .map(|name| {
            let (cs, path, writer) = (r.cs.to_owned(), format!("{}/rwlock", r.base), name == "w");
            let (start, trace) = (start.clone(), trace.clone());
            on_thread(move || async move {
                let c = traced(&cs, &trace, name).await;
                let rw = ReadWriteLock::start(&c, &path, ReadWriteLockOptions::default())
                    .await
                    .unwrap();
                let side = if writer { rw.write() } else { rw.read() };
                let window = start.window().await;
                let waits = window.cycles(|| side.acquire(), LockGuard::release).await;
                rw.close().await.unwrap();
                c.close().await.unwrap();
                waits
            })
        })
        .collect();
    let window = start.window().await;
    let timeline = window.trace_middle(&trace, Duration::from_millis(20)).await;
    r.trace(
        "20 ms of the read–write lock (writer w, readers r1…r4)",
        timeline,
    );
    let waits = join_all(threads);
    let cycles: usize = waits.iter().map(Vec::len).sum();
    let rate = cycles as f64 / measure.as_secs_f64();
    r.put("rw_cycles_per_s", rate);
    r.put("rw_writer_acquire_p50_us", pct(&waits[0], 0.50));
    r.put("rw_writer_acquire_p99_us", pct(&waits[0], 0.99));
}
