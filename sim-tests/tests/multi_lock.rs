//! The multi-lock under the swarm fault mix (all or nothing on every attempt, per-lock
//! exclusivity and token order, liveness after healing), the named scenario
//! `multi_lock_fails_on_third_lock`, and the planted naive multi-lock that keeps what it took.
#![cfg(madsim)]

use std::time::Duration;

use docent::recipes::lock::{Mutex, MutexOptions};
use docent::recipes::multi::{Lockable, MultiLock};
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule, Sim};
use docent_sim_tests::multi::{multi_lock, spawn_multi_worker, subset, MultiRecord, LOCKS};
use docent_sim_tests::planted::KeepingMultiLock;
use docent_sim_tests::workload::SETTLE;

/// Three workers on overlapping subsets of the locks under `harness`, then the checks.
async fn workers(sim: Sim, naive: bool) -> Result<(), String> {
    let record = MultiRecord::new();
    let stop = sim.healed_at() + SETTLE;
    for who in sim.names() {
        let client = sim.client(who);
        let index = sim.index(who);
        if naive {
            let mut locks: Vec<Box<dyn Lockable>> = Vec::new();
            for path in subset(index) {
                let mutex = Mutex::start(&client, path, MutexOptions::default()).await;
                locks.push(Box::new(mutex.map_err(|e| e.to_string())?));
            }
            spawn_multi_worker(
                &sim,
                who,
                KeepingMultiLock::new(&client, locks),
                &record,
                stop,
            );
        } else {
            let multi = multi_lock(&client, index)
                .await
                .map_err(|e| e.to_string())?;
            spawn_multi_worker(&sim, who, multi, &record, stop);
        }
    }
    sim.sleep_until(stop).await;
    record.check(&sim)?;
    record.check_everyone_acquired_after(&sim, sim.healed_at())
}

#[test]
fn multi_lock_all_or_nothing_under_swarm() {
    harness!("multi_lock_all_or_nothing_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .run(|sim| workers(sim, false));
}

/// The naive multi-lock that keeps the locks it took when a later one times out must be
/// caught within 300 seeds; prints the count.
#[test]
fn planted_multi_lock_keeping_what_it_took_is_caught() {
    const BUDGET: u64 = 300;
    let failure = harness!("planted_multi_lock_keeping_what_it_took_is_caught")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
        .quiet()
        .first_failure(|sim| workers(sim, true));
    let Some(failure) = failure else {
        panic!("planted multi-lock keeping what it took was not caught in {BUDGET} seeds");
    };
    eprintln!(
        "planted bug multi-lock keeps what it took: caught after {} seed(s) (seed {}): {}",
        failure.seeds_run, failure.seed, failure.message
    );
    assert!(failure.seeds_run <= BUDGET);
}

/// The lock nodes under `dir` owned by `name`'s current session (ground truth).
fn nodes_of(sim: &Sim, name: &str, dir: &str) -> usize {
    let id = docent::Coordinator::session_id(&*sim.session(name));
    sim.inspect(|m| {
        let Some((_, _, children)) = m.node(None, dir) else {
            return 0;
        };
        children
            .iter()
            .filter(|c| {
                m.node(None, &format!("{dir}/{c}"))
                    .is_some_and(|(_, stat, _)| stat.ephemeral_owner == id)
            })
            .count()
    })
}

/// A multi-lock that fails on its third lock (held by `c`): the first two are released, on
/// the ensemble too, and `b` takes them. Plain, and with `a` cut off from the ensemble as
/// its time runs out (the rollback's deletes wait for the connection).
#[test]
fn multi_lock_fails_on_third_lock() {
    let cut = Fault::Partition {
        client: 0,
        server: None,
        direction: Direction::ToServer,
        duration: Duration::from_secs(3),
    };
    for (test, schedule) in [
        ("multi_lock_fails_on_third_lock", FaultSchedule::new()),
        (
            "multi_lock_fails_on_third_lock (cut off)",
            FaultSchedule::new().at(Duration::from_millis(2900), cut),
        ),
    ] {
        harness!(test)
            .clients(["a", "b", "c"])
            .schedule(schedule)
            .default_seeds(0..16)
            .run(|sim| async move {
                let c = sim.client("c");
                let third = Mutex::start(&c, LOCKS[2], MutexOptions::default()).await?;
                let blocker = third.acquire().await?;
                let a = MultiLock::start(&sim.client("a"), &LOCKS, MutexOptions::default()).await?;
                let got = a.try_acquire(Duration::from_secs(3)).await;
                match got {
                    Ok(None) | Err(docent::Error::LockFailed { index: 2, .. }) => {}
                    other => return Err(format!("a's attempt: {other:?}").into()),
                }
                if let Some(i) = a.locks().iter().position(|l| l.held().is_some()) {
                    return Err(format!("a still holds lock {i} after failing").into());
                }
                let b_client = sim.client("b");
                let b = MultiLock::start(&b_client, &LOCKS[..2], MutexOptions::default()).await?;
                let taken = b.acquire().await?;
                if nodes_of(&sim, "a", LOCKS[0]) + nodes_of(&sim, "a", LOCKS[1]) != 0 {
                    return Err("a's nodes outlived its failed attempt".into());
                }
                drop((taken, blocker));
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}
