//! The named barrier scenarios, each a fault injected at the step it aims at, swept over a
//! few seeds.
#![cfg(madsim)]

use std::time::Duration;

use futures::channel::oneshot;

use docent::recipes::barrier::double::READY_NODE;
use docent::recipes::barrier::{Barrier, BarrierOptions, DoubleBarrier, DoubleBarrierOptions};
use docent::Error;
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule, Sim};

const SEEDS: u64 = 8;

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

type Outcome = (Result<bool, Error>, Duration, DoubleBarrier);

/// Starts `who`'s member of the 3-member barrier in `dir`.
async fn member(sim: &Sim, dir: &str, who: &str) -> Result<DoubleBarrier, Error> {
    let options = DoubleBarrierOptions::member_qty(3).id(who);
    DoubleBarrier::start(&sim.client(who), dir, options).await
}

/// Runs `member.enter` (or `leave`) in a task; the outcome comes with the instant it came.
fn call(sim: &Sim, mut member: DoubleBarrier, enter: bool) -> oneshot::Receiver<Outcome> {
    let (tx, rx) = oneshot::channel();
    let sim2 = sim.clone();
    sim.spawn(async move {
        let outcome = match enter {
            true => member.enter(None).await,
            false => member.leave(None).await,
        };
        let _ = tx.send((outcome, sim2.now(), member));
    });
    rx
}

/// Ground truth: the member nodes under `dir` (the ready node left out), and whether the
/// ready node exists.
fn members(sim: &Sim, dir: &str) -> (Vec<String>, bool) {
    sim.inspect(|m| {
        let children = m.node(None, dir).map(|(_, _, c)| c).unwrap_or_default();
        let ready = children.iter().any(|c| c == READY_NODE);
        (
            children.into_iter().filter(|c| c != READY_NODE).collect(),
            ready,
        )
    })
}

async fn passed(
    rx: oneshot::Receiver<Outcome>,
    who: &str,
) -> Result<(Duration, DoubleBarrier), String> {
    match rx.await {
        Ok((Ok(true), at, member)) => Ok((at, member)),
        Ok((other, at, _)) => Err(format!("{who}: {other:?} at {at:?}")),
        Err(_) => Err(format!("{who}'s call task died")),
    }
}

/// Curator GH 1290, CURATOR-233/536: session events during a double barrier wait (an expiry,
/// a disconnection) never let a member in before the third arrives; the expired member
/// comes back under the same node name (counted once). Then a member dies mid-leave (it
/// calls leave and its process crashes): the others' leave passes only once its node is gone
/// with its session, and then does pass.
#[test]
fn double_barrier_spurious_wakeup() {
    harness!("double_barrier_spurious_wakeup")
        .clients(["a", "b", "c"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let dir = "/barriers/spurious";
            let a = member(&sim, dir, "a").await?;
            let a_node = a.node();
            let (mut a_rx, mut b_rx) = (
                call(&sim, a, true),
                call(&sim, member(&sim, dir, "b").await?, true),
            );
            sim.sleep(s(1.0)).await;
            sim.inject(Fault::ExpireSession { client: 0 });
            sim.sleep(s(1.0)).await;
            sim.inject(partition(1, 2.0));
            sim.sleep(s(sim.session_timeout().as_secs_f64())).await;
            if a_rx.try_recv()?.is_some() || b_rx.try_recv()?.is_some() {
                return Err("a member passed enter with 2 of 3 members in".into());
            }
            let (names, ready) = members(&sim, dir);
            if names.len() != 2 || ready || !names.iter().any(|n| a_node.ends_with(n.as_str())) {
                return Err(format!("after the events: members {names:?}, ready {ready}").into());
            }
            let c_arrived = sim.now();
            let c_rx = call(&sim, member(&sim, dir, "c").await?, true);
            let mut inside = Vec::new();
            for (rx, who) in [(a_rx, "a"), (b_rx, "b"), (c_rx, "c")] {
                let (at, m) = passed(rx, who).await?;
                if at < c_arrived {
                    return Err(format!(
                        "{who} entered at {at:?}, before c arrived at {c_arrived:?}"
                    )
                    .into());
                }
                inside.push(m);
            }
            // Everyone leaves; a dies as it does.
            let c = inside.pop().expect("c");
            let b = inside.pop().expect("b");
            let a = inside.pop().expect("a");
            let _a_rx = call(&sim, a, false);
            sim.inject(Fault::CrashClient { client: 0 });
            let crashed = sim.now();
            let (b_rx, c_rx) = (call(&sim, b, false), call(&sim, c, false));
            for (rx, who) in [(b_rx, "b"), (c_rx, "c")] {
                let (at, _) = passed(rx, who).await?;
                let (names, _) = members(&sim, dir);
                if !names.is_empty() {
                    return Err(format!("{who} left at {at:?} with {names:?} still in").into());
                }
                if at < crashed {
                    return Err(format!("{who} left at {at:?} before a died").into());
                }
            }
            sim.sleep(s(1.0)).await;
            let (names, ready) = members(&sim, dir);
            if !names.is_empty() || ready {
                return Err(format!("left behind: members {names:?}, ready {ready}").into());
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// The single barrier under the same events: a waiter whose session expires and whose
/// connection drops while the barrier is up never passes; it passes once it is removed.
#[test]
fn double_barrier_spurious_wakeup_single_barrier() {
    harness!("double_barrier_spurious_wakeup_single_barrier")
        .clients(["ctl", "w"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let path = "/barriers/gate";
            let ctl = Barrier::start(&sim.client("ctl"), path, BarrierOptions::default()).await?;
            ctl.set_barrier().await?;
            let mut w = Barrier::start(&sim.client("w"), path, BarrierOptions::default()).await?;
            let (tx, mut rx) = oneshot::channel();
            let sim2 = sim.clone();
            sim.spawn(async move {
                let _ = tx.send((w.wait_on_barrier(None).await, sim2.now()));
            });
            sim.sleep(s(1.0)).await;
            sim.inject(Fault::ExpireSession { client: 1 });
            sim.sleep(s(1.0)).await;
            sim.inject(partition(1, 2.0));
            sim.sleep(s(sim.session_timeout().as_secs_f64())).await;
            if let Some(early) = rx.try_recv()? {
                return Err(
                    format!("the waiter passed while the barrier was up: {early:?}").into(),
                );
            }
            let removed = sim.now();
            ctl.remove_barrier().await?;
            let (outcome, at) = rx.await?;
            if outcome != Ok(true) || at < removed {
                return Err(
                    format!("waiter: {outcome:?} at {at:?} (removed at {removed:?})").into(),
                );
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// A member's session expires inside the barrier (after it entered): its node goes with the
/// session, the others' leave does not wait for it, and its own leave passes too. Nothing is
/// left behind.
#[test]
fn double_barrier_member_expired_inside() {
    harness!("double_barrier_member_expired_inside")
        .clients(["a", "b", "c"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let dir = "/barriers/expired";
            let mut rxs = Vec::new();
            for who in ["a", "b", "c"] {
                rxs.push((call(&sim, member(&sim, dir, who).await?, true), who));
            }
            let mut inside = Vec::new();
            for (rx, who) in rxs {
                inside.push(passed(rx, who).await?.1);
            }
            let c = inside.pop().expect("c");
            let b = inside.pop().expect("b");
            let a = inside.pop().expect("a");
            let b_node = b.node();
            sim.inject(Fault::ExpireSession { client: 1 });
            sim.sleep(s(1.0)).await;
            let (names, _) = members(&sim, dir);
            if names.iter().any(|n| b_node.ends_with(n.as_str())) {
                return Err(format!("b's node outlived its session: {names:?}").into());
            }
            let (a_rx, c_rx) = (call(&sim, a, false), call(&sim, c, false));
            passed(a_rx, "a").await?;
            passed(c_rx, "c").await?;
            passed(call(&sim, b, false), "b").await?;
            sim.sleep(s(1.0)).await;
            let (names, ready) = members(&sim, dir);
            if !names.is_empty() || ready {
                return Err(format!("left behind: members {names:?}, ready {ready}").into());
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
