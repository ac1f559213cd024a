//! The `shared` example: counters (and, later, queues) shared by processes, and a walk-through
//! of each recipe.
//!
//! - `counter`: a process adds one to a distributed `AtomicLong` `--increments` times, then
//!   prints `counted ID ok=A unknown=U` (an increment whose reply was lost is counted as
//!   unknown, never retried: it may or may not have been applied);
//! - `read`: prints the counter's value as `value V`;
//! - the walk-through: one part per recipe family, in [`walkthrough`]'s order.

use std::time::Duration;

use docent::recipes::atomic::{AtomicLong, AtomicOptions, AtomicStatus};
use docent::recipes::shared::{SharedCount, SharedOptions, SharedState};
use docent::{Error, RetryPolicy};

use crate::leader::Out;
use crate::Backend;

/// How a counter process runs.
#[derive(Debug, Clone)]
pub struct CounterConfig {
    /// The counter's path.
    pub path: String,
    /// How many increments.
    pub increments: u64,
    /// The process's id, printed with its tally.
    pub id: String,
}

/// Optimistic retries patient enough for a few processes contending on one counter.
fn contended() -> AtomicOptions {
    AtomicOptions::default().retry(RetryPolicy::n_times(1000, Duration::from_millis(5)))
}

/// Increments the `AtomicLong` at `config.path` `config.increments` times on a new session,
/// then prints `counted ID ok=A unknown=U`; returns `(ok, unknown)`.
pub async fn counter(
    backend: &Backend,
    config: &CounterConfig,
    out: &Out,
) -> Result<(u64, u64), Error> {
    let client = backend.client().await?;
    let counter = AtomicLong::start(&client, &config.path, contended()).await?;
    let (mut ok, mut unknown) = (0, 0);
    for _ in 0..config.increments {
        match counter.increment().await?.status {
            AtomicStatus::Succeeded => ok += 1,
            AtomicStatus::Unknown => unknown += 1,
            _ => {}
        }
    }
    out(format!("counted {} ok={ok} unknown={unknown}", config.id));
    counter.close().await?;
    client.close().await?;
    Ok((ok, unknown))
}

/// Prints the value of the `AtomicLong` at `path` as `value V` (0 when it does not exist).
pub async fn read(backend: &Backend, path: &str, out: &Out) -> Result<i64, Error> {
    let client = backend.client().await?;
    let counter = AtomicLong::start(&client, path, AtomicOptions::default()).await?;
    let value = counter.get().await?.post;
    out(format!("value {value}"));
    counter.close().await?;
    client.close().await?;
    Ok(value)
}

/// The walk-through: each recipe family's part in turn, under `path`.
pub async fn walkthrough(backend: &Backend, path: &str, out: Out) -> Result<(), Error> {
    counters(backend, &format!("{path}/counters"), &out).await?;
    crate::shared_barriers::walk_barriers(backend, &format!("{path}/barriers"), out.clone())
        .await?;
    let client = backend.client().await?;
    crate::shared_nodes::walk_nodes(&client, &format!("{path}/nodes"), out.clone()).await?;
    crate::shared_queue::walk_queues(&client, &format!("{path}/queues"), out).await?;
    client.close().await
}

/// Three processes increment one `AtomicLong` at once; a `SharedCount` compare-and-set on a
/// stale version fails.
async fn counters(backend: &Backend, path: &str, out: &Out) -> Result<(), Error> {
    out("-- three processes increment one AtomicLong 10 times each".into());
    let counter_path = format!("{path}/hits");
    let configs: Vec<CounterConfig> = (1..=3)
        .map(|i| CounterConfig {
            path: counter_path.clone(),
            increments: 10,
            id: format!("c-{i}"),
        })
        .collect();
    let runs = configs.iter().map(|c| counter(backend, c, out));
    for result in futures::future::join_all(runs).await {
        result?;
    }
    read(backend, &counter_path, out).await?;
    out("-- a SharedCount: a compare-and-set on a stale version fails".into());
    let (a, b) = (backend.client().await?, backend.client().await?);
    let count_path = format!("{path}/count");
    let ca = SharedCount::start(&a, &count_path, SharedOptions::seed(0)).await?;
    let cb = SharedCount::start(&b, &count_path, SharedOptions::seed(0)).await?;
    let seen = cb.get()?;
    out(format!("b sees {} at version {}", seen.value, seen.version));
    let now = ca.get()?;
    let set = ca.try_set(&now, now.value + 5).await?;
    out(format!(
        "a try_set {} -> {}: {set}",
        now.value,
        now.value + 5
    ));
    let stale = cb.try_set(&seen, seen.value + 1).await?;
    out(format!("b try_set on version {}: {stale}", seen.version));
    let target = now.value + 5;
    let mut states = cb.watch_state();
    states
        .wait_for(|s| matches!(s, SharedState::Value(v) if v.value == target))
        .await;
    let fresh = cb.get()?;
    out(format!(
        "b sees {} at version {}",
        fresh.value, fresh.version
    ));
    ca.close().await?;
    cb.close().await?;
    a.close().await?;
    b.close().await
}
