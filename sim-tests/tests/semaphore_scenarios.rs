//! The named semaphore scenarios, each a scripted fault schedule (or a fault injected at the
//! step it aims at) swept over a few seeds.
#![cfg(madsim)]

use std::time::Duration;

use docent::recipes::semaphore::{
    Semaphore, SemaphoreMutex, SemaphoreMutexOptions, SemaphoreOptions,
};
use docent_sim::check::{FenceLog, Holds};
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule, Sim};
use docent_sim_tests::fence::write_ops;
use docent_sim_tests::semaphores::{
    check_no_leaked_leases, spawn_semaphore_worker, SemaphoreRecord, SEMAPHORE,
};
use docent_sim_tests::workload::{create_data_node, SETTLE};

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

/// Ground truth: the nodes under `<SEMAPHORE>/<sub>` owned by `name`'s current session.
fn nodes_of(sim: &Sim, name: &str, sub: &str) -> Vec<String> {
    let id = docent::Coordinator::session_id(&*sim.session(name));
    let dir = format!("{SEMAPHORE}/{sub}");
    sim.inspect(|m| {
        let Some((_, _, children)) = m.node(None, &dir) else {
            return Vec::new();
        };
        children
            .into_iter()
            .filter(|c| {
                m.node(None, &format!("{dir}/{c}"))
                    .is_some_and(|(_, stat, _)| stat.ephemeral_owner == id)
            })
            .collect()
    })
}

/// CURATOR-315/462/595/335: orphaned lease nodes exhausted the permits, and LOST did not
/// give them back. Loss storms (disconnects and expiries between a lease's create and its
/// listing, or while it waits), lost create replies and cancelled (timed-out) acquires, on a
/// two-lease semaphore: no lease node outlives its session, every worker acquires after.
#[test]
fn semaphore_orphan_leases() {
    let mut schedule = FaultSchedule::new();
    for i in 0..12 {
        let t = 1.0 + 2.5 * i as f64;
        let client = (i % 4) as u32;
        schedule = schedule
            .at(s(t), Fault::LoseReply { client })
            .at(s(t + 0.3), partition((client + 1) % 4, 0.8));
        if i % 3 == 0 {
            schedule = schedule.at(
                s(t + 1.0),
                Fault::ExpireSession {
                    client: (client + 2) % 4,
                },
            );
        }
    }
    harness!("semaphore_orphan_leases")
        .clients(["a", "b", "c", "d"])
        .schedule(schedule)
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let record = SemaphoreRecord::default();
            create_data_node(&sim).await;
            let stop = sim.healed_at() + SETTLE;
            for who in sim.names() {
                let options = SemaphoreOptions::max_leases(2);
                let semaphore = Semaphore::start(&sim.client(who), SEMAPHORE, options).await?;
                spawn_semaphore_worker(&sim, who, semaphore, &record, stop);
            }
            // Short acquires that time out while waiting: cancelled leases must go too.
            let cancel =
                Semaphore::start(&sim.client("a"), SEMAPHORE, SemaphoreOptions::max_leases(2))
                    .await?;
            for _ in 0..10 {
                let _ = cancel.try_acquire(Duration::from_millis(300)).await;
                sim.sleep(Duration::from_millis(700)).await;
            }
            cancel.close().await?;
            sim.sleep_until(stop).await;
            record.holds.timeline.check_at_most(&sim, 2)?;
            record.granted.check_tokens(&sim)?;
            record
                .holds
                .check_everyone_acquired_after(&sim, sim.healed_at())?;
            check_no_leaked_leases(&sim, SEMAPHORE, false)?;
            sim.sleep_until(stop + s(35.0) + sim.session_timeout() * 2)
                .await;
            check_no_leaked_leases(&sim, SEMAPHORE, true)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// The reply of a lease create is lost (the create applied): the protected create finds the
/// node again by its name; exactly one lease node is ours, and once it is given back the
/// permit is free for another.
#[test]
fn semaphore_lease_create_lost_reply() {
    harness!("semaphore_lease_create_lost_reply")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let options = || SemaphoreOptions::max_leases(1);
            let a = Semaphore::start(&sim.client("a"), SEMAPHORE, options()).await?;
            let b = Semaphore::start(&sim.client("b"), SEMAPHORE, options()).await?;
            let acquiring = {
                let sim = sim.clone();
                async move {
                    // Lose the reply of a's next write once its creation mutex exists: the
                    // lease create.
                    while nodes_of(&sim, "a", "locks").is_empty() {
                        sim.sleep(Duration::from_millis(1)).await;
                    }
                    sim.inject(Fault::LoseReply { client: 0 });
                }
            };
            sim.spawn(acquiring);
            let lease = a.acquire().await?;
            let mine = nodes_of(&sim, "a", "leases");
            if mine.len() != 1 || !lease.node().ends_with(&mine[0]) {
                return Err(format!("a holds {} but owns {mine:?}", lease.node()).into());
            }
            lease.release().await?;
            match b.try_acquire(SETTLE).await? {
                Some(_) => {}
                None => {
                    let left = nodes_of(&sim, "a", "leases");
                    return Err(format!("b blocked: a leaked {left:?}").into());
                }
            }
            if !nodes_of(&sim, "a", "leases").is_empty() {
                return Err(format!("orphans of a: {:?}", nodes_of(&sim, "a", "leases")).into());
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// The lease holder is cut off past its session timeout: its guard's `lost()` fires, another
/// process takes the lease (only after the holder's session could expire), and the stale
/// holder's guarded write is refused.
#[test]
fn semaphore_holder_expired_while_cut_off() {
    harness!("semaphore_holder_expired_while_cut_off")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new().at(s(2.0), partition(0, 15.0)))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            create_data_node(&sim).await;
            let a = SemaphoreMutex::start(
                &sim.client("a"),
                SEMAPHORE,
                SemaphoreMutexOptions::default(),
            )
            .await?;
            let b = SemaphoreMutex::start(
                &sim.client("b"),
                SEMAPHORE,
                SemaphoreMutexOptions::default(),
            )
            .await?;
            let fence = FenceLog::new();
            let lease = a.acquire().await?;
            let lost = lease.lost();
            let b_task = {
                let (sim, fence) = (sim.clone(), fence.clone());
                async move {
                    let lease = b.acquire().await?;
                    let at = sim.now();
                    let result = lease.guarded(write_ops("b", lease.token())).await;
                    fence.record("b", lease.token(), &result);
                    result?;
                    Ok::<_, docent::Error>((at, lease.token()))
                }
            };
            let (granted, token) = b_task.await?;
            if granted < s(2.0) + sim.session_timeout() {
                return Err(
                    format!("b acquired at {granted:?}, before a's session could expire").into(),
                );
            }
            if token <= lease.token() {
                return Err(format!("b's token {token} not above a's {}", lease.token()).into());
            }
            // a's guard learnt it lost the lease (by b's grant at the latest).
            lost.await;
            let late = lease.guarded(write_ops("a", lease.token())).await;
            fence.record("a", lease.token(), &late);
            if late.is_ok() {
                return Err("a stale holder's guarded write landed".into());
            }
            if a.is_held() {
                return Err("a still claims the lease after b took it".into());
            }
            fence.check()?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// The max leases, read from a count node, go from 3 to 1 while three leases are held: no
/// new lease is granted until the holders are down to zero, then
/// the waiter gets its lease; never more holders than the max in force at a grant.
#[test]
fn semaphore_max_leases_lowered_while_held() {
    harness!("semaphore_max_leases_lowered_while_held")
        .clients(["a", "b", "c", "d"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let count = "/semaphores/count";
            let client = sim.client("a");
            client
                .create()
                .parents()
                .data(3i32.to_be_bytes().to_vec())
                .at(count)
                .await?;
            let from = || SemaphoreOptions::max_leases_from(count);
            let mut handles = Vec::new();
            for who in ["a", "b", "c", "d"] {
                handles.push(Semaphore::start(&sim.client(who), SEMAPHORE, from()).await?);
            }
            let timeline = Holds::new();
            let mut guards = Vec::new();
            for (who, h) in ["a", "b", "c"].iter().zip(&handles) {
                let g = h.acquire().await?;
                timeline.set(who, Some(g.token()), sim.now());
                guards.push(g);
            }
            client
                .set_data()
                .at(count, 1i32.to_be_bytes().to_vec())
                .await?;
            sim.sleep(s(1.0)).await;
            let waiter = {
                let (sim, timeline) = (sim.clone(), timeline.clone());
                let d = handles.pop().expect("d");
                async move {
                    let g = d.acquire().await?;
                    timeline.set("d", Some(g.token()), sim.now());
                    Ok::<_, docent::Error>((sim.now(), g))
                }
            };
            let releases = {
                let (sim, timeline) = (sim.clone(), timeline.clone());
                async move {
                    for (who, g) in ["a", "b", "c"].iter().zip(guards) {
                        sim.sleep(s(1.0)).await;
                        timeline.set(who, None, sim.now());
                        g.release().await?;
                    }
                    Ok::<_, docent::Error>(sim.now())
                }
            };
            let (got, released) = futures::join!(waiter, releases);
            let ((granted, _guard), last) = (got?, released?);
            if granted < last {
                return Err(format!(
                    "d granted at {granted:?}, before the last release at {last:?}"
                )
                .into());
            }
            timeline.check_tokens(&sim)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
