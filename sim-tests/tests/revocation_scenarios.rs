//! The named scenario `revocation_holder_partitioned`: revocation is asked while the holder is
//! cut off from the ensemble. Either the request is delivered after healing and the holder
//! lets go, or the holder's session expires and its lease with it — never both holders.
#![cfg(madsim)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use docent::recipes::lock::{LockEvent, LockState, Mutex, MutexOptions, Revoker};
use docent_sim::check::Holds;
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule};
use docent_sim_tests::workload::{trace, LOCK};

fn s(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

#[test]
fn revocation_holder_partitioned() {
    // Shorter than the session timeout (delivered after healing), and longer (expired).
    for (test, secs, expires) in [
        ("revocation_holder_partitioned", 3.0, false),
        ("revocation_holder_partitioned (expired)", 15.0, true),
    ] {
        let cut = Fault::Partition {
            client: 0,
            server: None,
            direction: Direction::Both,
            duration: s(secs),
        };
        harness!(test)
            .clients(["a", "b"])
            .schedule(FaultSchedule::new().at(s(2.0), cut))
            .default_seeds(0..16)
            .run(|sim| async move {
                let timeline = Holds::new();
                let a = Mutex::start(&sim.client("a"), LOCK, MutexOptions::default()).await?;
                a.make_revocable()?;
                let guard = a.acquire().await?;
                let node = guard.node().to_owned();
                timeline.set("a", Some(guard.token()), sim.now());
                let revoked = Arc::new(AtomicBool::new(false));
                // a stops acting when suspended or lost, and lets go when asked.
                let mut events = a.events();
                let (sim2, t, r) = (sim.clone(), timeline.clone(), revoked.clone());
                sim.spawn(async move {
                    let mut guard = Some(guard);
                    while let Some(event) = events.next().await {
                        trace(&sim2, "a", &event);
                        match event {
                            LockEvent::Suspended | LockEvent::Lost => t.set("a", None, sim2.now()),
                            LockEvent::Reconnected => {
                                if let LockState::Held { token } = a.state() {
                                    t.set("a", Some(token), sim2.now());
                                }
                            }
                            LockEvent::RevocationRequested => {
                                r.store(true, Ordering::SeqCst);
                                t.set("a", None, sim2.now());
                                if let Some(guard) = guard.take() {
                                    let _ = guard.release().await;
                                }
                            }
                            _ => {}
                        }
                    }
                });
                // b asks while a is cut off, then waits for the lock.
                sim.sleep_until(s(3.0)).await;
                let b_client = sim.client("b");
                Revoker::attempt_revoke(&b_client, &node).await?;
                let b = Mutex::start(&b_client, LOCK, MutexOptions::default()).await?;
                let Some(taken) = b.try_acquire(s(60.0)).await? else {
                    return Err("b never took the lock".into());
                };
                timeline.set("b", Some(taken.token()), sim.now());
                let asked = revoked.load(Ordering::SeqCst);
                if !expires && !asked {
                    return Err("the request was not delivered after healing".into());
                }
                if !asked && sim.now() < s(2.0) + sim.session_timeout() {
                    return Err("b took the lock before a let go or expired".into());
                }
                timeline.check_exclusive(&sim)?;
                timeline.check_tokens(&sim)?;
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}
