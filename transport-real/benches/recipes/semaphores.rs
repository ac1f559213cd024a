//! Semaphores beside Curator's `InterProcessSemaphoreV2` and `InterProcessSemaphoreMutex`: 2
//! leases among 6 contenders on separate clients (lease cycles/s, acquire p50/p99), and the
//! semaphore mutex uncontended.

use std::time::Instant;

use docent::recipes::semaphore::{
    Semaphore, SemaphoreGuard, SemaphoreMutex, SemaphoreMutexOptions, SemaphoreOptions,
};

use crate::support::{client, join_all, measure, on_thread, pct, scaled, Round, Row, Start};

/// The rows both sides measure.
pub const ROWS: [Row; 4] = [
    (
        "semaphore 2 leases, 6 contenders (lease cycles/s)",
        "sem_contended_cycles_per_s",
        true,
    ),
    ("  acquire p50", "sem_contended_acquire_p50_us", false),
    ("  acquire p99", "sem_contended_acquire_p99_us", false),
    (
        "semaphore mutex uncontended (cycles/s)",
        "sem_mutex_cycles_per_s",
        true,
    ),
];

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>) {
    let (cs, base, scale) = (r.cs, r.base.clone(), r.scale);
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
    let rate = n as f64 / t.elapsed().as_secs_f64();
    r.put("sem_mutex_cycles_per_s", rate);
    lock.close().await.unwrap();
    c.close().await.unwrap();

    let measure = measure(scale);
    let start = Start::new(6, measure);
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (cs, path) = (cs.to_owned(), format!("{base}/semaphore"));
            let start = start.clone();
            on_thread(move || async move {
                let c = client(&cs).await;
                let options = SemaphoreOptions::max_leases(2);
                let semaphore = Semaphore::start(&c, &path, options).await.unwrap();
                let window = start.window().await;
                let waits = window
                    .cycles(|| semaphore.acquire(), SemaphoreGuard::release)
                    .await;
                semaphore.close().await.unwrap();
                c.close().await.unwrap();
                waits
            })
        })
        .collect();
    start.window().await;
    let waits: Vec<f64> = join_all(threads).into_iter().flatten().collect();
    let rate = waits.len() as f64 / measure.as_secs_f64();
    r.put("sem_contended_cycles_per_s", rate);
    r.put("sem_contended_acquire_p50_us", pct(&waits, 0.50));
    r.put("sem_contended_acquire_p99_us", pct(&waits, 0.99));
}
