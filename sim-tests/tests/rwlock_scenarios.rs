//! The named read–write lock scenarios: `rwlock_downgrade_overtaken` (SCENARIOS.md,
//! CURATOR-276/621) and a writer queued behind readers on a lagging follower (issue 15).
#![cfg(madsim)]

use std::time::Duration;

use docent::recipes::lock::{LockGuard, Mutex};
use docent::recipes::rwlock::{ReadWriteLock, ReadWriteLockOptions};
use docent_sim::check::Holds;
use docent_sim::{harness, Fault, FaultSchedule, Sim};
use docent_sim_tests::rwlock::RWLOCK;

const SEEDS: u64 = 16;

fn s(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

async fn start(sim: &Sim, who: &str) -> Result<ReadWriteLock, docent::Error> {
    ReadWriteLock::start(&sim.client(who), RWLOCK, ReadWriteLockOptions::default()).await
}

/// Ground truth: how many nodes under the lock carry `marker`.
fn nodes(sim: &Sim, marker: &str) -> usize {
    sim.inspect(|m| {
        let children = m.node(None, RWLOCK).map(|n| n.2).unwrap_or_default();
        children.iter().filter(|c| c.contains(marker)).count()
    })
}

/// Polls (every 50 ms) until `f` holds.
async fn until(sim: &Sim, f: impl Fn() -> bool) {
    while !f() {
        sim.sleep(Duration::from_millis(50)).await;
    }
}

/// Acquires `side` in the background, records the hold in `timeline`, holds `hold`, releases.
fn hold_later(sim: &Sim, who: &str, lock: ReadWriteLock, write: bool, t: &Holds, hold: f64) {
    let (sim2, who, t) = (sim.clone(), who.to_owned(), t.clone());
    sim.spawn(async move {
        let side: &Mutex = if write { lock.write() } else { lock.read() };
        let guard: LockGuard = side.acquire().await.expect("acquire");
        t.set(&who, Some(guard.token()), sim2.now());
        sim2.sleep(s(hold)).await;
        t.set(&who, None, sim2.now());
        guard.release().await.expect("release");
        lock.close().await.expect("close");
    });
}

/// A write holder `a` downgrades (takes the read lock, releases the write lock) while `b`
/// waits for the write lock: `b` must not hold while `a` reads (Curator 5.4 let it: its
/// downgrade read node sorted after `b`'s). `a`'s read node carries its write sequence.
#[test]
fn rwlock_downgrade_overtaken() {
    harness!("rwlock_downgrade_overtaken")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let (writes, reads) = (Holds::new(), Holds::new());
            let a = start(&sim, "a").await?;
            let write = a.write().acquire().await?;
            writes.set("a", Some(write.token()), sim.now());
            hold_later(&sim, "b", start(&sim, "b").await?, true, &writes, 0.5);
            until(&sim, || nodes(&sim, "__WRIT__") == 2).await;
            let read = a.read().acquire().await?;
            reads.set("a", Some(read.token()), sim.now());
            let seq = |node: &str| node[node.len() - 10..].to_owned();
            if seq(read.node()) != seq(write.node()) {
                return Err(format!(
                    "downgrade node {} not named after {}",
                    read.node(),
                    write.node()
                )
                .into());
            }
            writes.set("a", None, sim.now());
            write.release().await?;
            sim.sleep(s(3.0)).await;
            reads.set("a", None, sim.now());
            read.release().await?;
            until(&sim, || writes.holds().iter().any(|h| h.who == "b")).await;
            writes.check_exclusive_of(&reads, &sim)?;
            writes.check_tokens(&sim)?;
            a.close().await?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// Readers `a` and `b` hold; writer `c` queues behind them, then reader `d` behind `c`, with
/// both followers lagging 3 s: `c` holds only once the readers' nodes are gone on the
/// ensemble, `d` only after `c`; no reader overlaps the writer; everyone gets its lease.
#[test]
fn rwlock_writer_behind_readers_on_lagging_follower() {
    let lag = |server| Fault::FollowerLag {
        server,
        lag: s(3.0),
        duration: s(40.0),
    };
    harness!("rwlock_writer_behind_readers_on_lagging_follower")
        .clients(["a", "b", "c", "d"])
        .schedule(FaultSchedule::new().at(s(0.5), lag(1)).at(s(0.5), lag(2)))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let (writes, reads) = (Holds::new(), Holds::new());
            sim.sleep(s(1.0)).await;
            hold_later(&sim, "a", start(&sim, "a").await?, false, &reads, 2.0);
            hold_later(&sim, "b", start(&sim, "b").await?, false, &reads, 2.5);
            until(&sim, || reads.holds().len() == 2).await;
            let c = start(&sim, "c").await?;
            let c_task = {
                let (sim, writes) = (sim.clone(), writes.clone());
                async move {
                    let guard = c.write().acquire().await?;
                    let readers_left = nodes(&sim, "__READ__");
                    writes.set("c", Some(guard.token()), sim.now());
                    sim.sleep(s(1.0)).await;
                    writes.set("c", None, sim.now());
                    guard.release().await?;
                    c.close().await?;
                    Ok::<_, docent::Error>(readers_left)
                }
            };
            let (tx, rx) = futures::channel::oneshot::channel();
            sim.spawn(async move {
                let _ = tx.send(c_task.await);
            });
            until(&sim, || nodes(&sim, "__WRIT__") == 1).await;
            hold_later(&sim, "d", start(&sim, "d").await?, false, &reads, 0.5);
            let readers_left = rx.await??;
            if readers_left > 1 {
                return Err(format!(
                    "c held with {readers_left} read nodes on the ensemble (only d's may be)"
                )
                .into());
            }
            until(&sim, || reads.holds().iter().any(|h| h.who == "d")).await;
            let d = reads.holds().into_iter().find(|h| h.who == "d").expect("d");
            let c = writes
                .holds()
                .into_iter()
                .find(|h| h.who == "c")
                .expect("c");
            if d.from < c.to.unwrap_or(Duration::MAX) {
                return Err(
                    format!("d ({d:?}) read before the writer queued ahead of it ({c:?})").into(),
                );
            }
            writes.check_exclusive_of(&reads, &sim)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
