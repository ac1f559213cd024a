//! The barriers part of the `shared` example's walk-through: a [`Barrier`] that holds two
//! waiters until it is removed, and a [`DoubleBarrier`] of three members that enter together
//! and leave together.

use std::time::Duration;

use docent::recipes::barrier::{Barrier, BarrierOptions, DoubleBarrier, DoubleBarrierOptions};
use docent::Error;

use crate::leader::Out;
use crate::Backend;

/// Members of the walk-through's double barrier.
const MEMBERS: usize = 3;

/// Walks through both barriers under `path`, printing what happens to `out`.
pub async fn walk_barriers(backend: &Backend, path: &str, out: Out) -> Result<(), Error> {
    walk_barrier(backend, &format!("{path}/gate"), &out).await?;
    walk_double_barrier(backend, &format!("{path}/double"), &out).await
}

/// A controller puts a barrier up, two waiters wait on it, the controller takes it down.
async fn walk_barrier(backend: &Backend, path: &str, out: &Out) -> Result<(), Error> {
    out(format!(
        "-- barrier at {path}: two waiters, held until the barrier is removed"
    ));
    let controller =
        Barrier::start(&backend.client().await?, path, BarrierOptions::default()).await?;
    controller.set_barrier().await?;
    out("barrier set".into());
    let mut waits = Vec::new();
    for i in 1..=2 {
        let mut waiter = Barrier::start(
            &backend.client().await?,
            path,
            BarrierOptions::default().id(format!("w-{i}")),
        )
        .await?;
        let out = out.clone();
        waits.push(async move {
            let short = waiter
                .wait_on_barrier(Some(Duration::from_millis(200)))
                .await?;
            out(format!("w-{i} waited 200 ms: passed={short}"));
            let passed = waiter.wait_on_barrier(None).await?;
            out(format!("w-{i} passed={passed}"));
            waiter.close().await
        });
    }
    let remove = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        out("removing the barrier".into());
        controller.remove_barrier().await
    };
    let (waited, removed) = futures::join!(futures::future::try_join_all(waits), remove);
    waited?;
    removed?;
    controller.close().await
}

/// Three members enter a double barrier one after the other and leave at different times.
async fn walk_double_barrier(backend: &Backend, path: &str, out: &Out) -> Result<(), Error> {
    out(format!(
        "-- double barrier at {path}: {MEMBERS} members enter together, leave together"
    ));
    let mut members = Vec::new();
    for i in 1..=MEMBERS {
        let client = backend.client().await?;
        let options = DoubleBarrierOptions::member_qty(MEMBERS).id(format!("m-{i}"));
        let member = DoubleBarrier::start(&client, path, options).await?;
        members.push((i, member));
    }
    let runs = members.into_iter().map(|(i, mut member)| {
        let out = out.clone();
        async move {
            // Staggered arrivals and work: the first arrivals wait for the last.
            tokio::time::sleep(Duration::from_millis(150 * i as u64)).await;
            out(format!("m-{i} arrives"));
            let entered = member.enter(Some(Duration::from_secs(30))).await?;
            out(format!("m-{i} entered={entered}"));
            tokio::time::sleep(Duration::from_millis(100 * (MEMBERS + 1 - i) as u64)).await;
            out(format!("m-{i} done, leaving"));
            let left = member.leave(Some(Duration::from_secs(30))).await?;
            out(format!("m-{i} left={left}"));
            member.close().await
        }
    });
    futures::future::try_join_all(runs).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_walk_through_lets_waiters_through_and_members_in_and_out_together() {
        let backend = Backend::Embedded(docent_sim::EmbeddedEnsemble::start(3));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let out: Out = Arc::new(move |line| sink.lock().unwrap().push(line));
        walk_barriers(&backend, "/walk/barriers", out)
            .await
            .unwrap();
        let lines = lines.lock().unwrap().clone();
        let at = |line: &str| {
            lines
                .iter()
                .position(|l| l == line)
                .unwrap_or_else(|| panic!("no {line:?} in {lines:#?}"))
        };
        for i in 1..=2 {
            assert!(at(&format!("w-{i} waited 200 ms: passed=false")) < at("removing the barrier"));
            assert!(at(&format!("w-{i} passed=true")) > at("removing the barrier"));
        }
        let last_arrival = (1..=MEMBERS)
            .map(|i| at(&format!("m-{i} arrives")))
            .max()
            .unwrap();
        let last_leaving = (1..=MEMBERS)
            .map(|i| at(&format!("m-{i} done, leaving")))
            .max()
            .unwrap();
        for i in 1..=MEMBERS {
            assert!(
                at(&format!("m-{i} entered=true")) > last_arrival,
                "{lines:#?}"
            );
            assert!(at(&format!("m-{i} left=true")) > last_leaving, "{lines:#?}");
        }
    }
}
