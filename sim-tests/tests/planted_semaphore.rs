//! Planted semaphore bugs: naive semaphores the semaphore checks (at most `max` holders,
//! liveness after healing, no permit leaks) must catch within 300 seeds each. Each test prints
//! how many seeds it took.
#![cfg(madsim)]

use std::time::Duration;

use futures::StreamExt;

use docent::framework::spawn_machine;
use docent::rng::Rng;
use docent_sim::{harness, Sim};
use docent_sim_tests::planted_semaphore::{NaiveCommand, NaiveEvent, NaiveSemaphore, SemFlaw};
use docent_sim_tests::semaphores::{check_no_leaked_leases, SEMAPHORE};
use docent_sim_tests::workload::{ensure_dir, MutexRecord, SETTLE};

const BUDGET: u64 = 300;
const MAX: usize = 1;

/// Naive semaphore workers on every client (acquire within 30 s or give up, hold 50–1500
/// ms, release), then the semaphore suite's checks.
async fn naive_suite(sim: Sim, flaw: SemFlaw) -> Result<(), String> {
    ensure_dir(&sim, &format!("{SEMAPHORE}/leases")).await;
    ensure_dir(&sim, &format!("{SEMAPHORE}/locks")).await;
    let record = MutexRecord::default();
    let stop = sim.healed_at() + SETTLE;
    for who in sim.names() {
        let client = sim.client(who);
        let driven = spawn_machine(
            &client,
            NaiveSemaphore::new(SEMAPHORE, MAX, flaw, client.next_rng()),
        );
        let (sim, who, record) = (sim.clone(), who.clone(), record.clone());
        let mut rng = Rng::new(sim.seed(), 0x9a00 + sim.index(&who) as u64);
        sim.clone().spawn(async move {
            let mut events = driven.subscribe();
            while sim.now() < stop {
                let _ = driven.command(NaiveCommand::Acquire);
                let deadline = sim.sleep(Duration::from_secs(30));
                let granted = futures::future::select(
                    Box::pin(async {
                        loop {
                            match events.next().await {
                                Some(NaiveEvent::Acquired(token)) => return Some(token),
                                Some(_) => {}
                                None => return None,
                            }
                        }
                    }),
                    deadline,
                )
                .await;
                if let futures::future::Either::Left((Some(token), _)) = granted {
                    record.timeline.set(&who, Some(token), sim.now());
                    record
                        .grants
                        .lock()
                        .expect("poisoned")
                        .entry(who.clone())
                        .or_default()
                        .push(sim.now());
                    sim.sleep(Duration::from_millis(50 + rng.below(1450))).await;
                    record.timeline.set(&who, None, sim.now());
                }
                let _ = driven.command(NaiveCommand::Release);
                sim.sleep(Duration::from_millis(rng.below(500))).await;
            }
        });
    }
    sim.sleep_until(stop).await;
    record.timeline.check_at_most(&sim, MAX)?;
    record.check_everyone_acquired_after(&sim, sim.healed_at())?;
    check_no_leaked_leases(&sim, SEMAPHORE, false)
}

fn hunt(name: &str, flaw: SemFlaw) {
    let failure = harness!(name)
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
        .quiet()
        .first_failure(move |sim| naive_suite(sim, flaw));
    let Some(failure) = failure else {
        panic!("planted bug {name} was not caught in {BUDGET} seeds");
    };
    eprintln!(
        "planted bug {name}: caught after {} seed(s) (seed {}): {}",
        failure.seeds_run, failure.seed, failure.message
    );
    eprintln!("planted bug {name}: {}", failure.shrink_summary());
    assert!(failure.seeds_run <= BUDGET);
}

/// Without the creation mutex waiters block each other: a liveness failure.
#[test]
fn planted_semaphore_without_creation_mutex_is_caught() {
    hunt(
        "planted_semaphore_without_creation_mutex_is_caught",
        SemFlaw::NoCreationMutex,
    );
}

/// An unprotected lease create leaves an orphan after a lost reply: a leaked permit.
#[test]
fn planted_semaphore_unprotected_create_is_caught() {
    hunt(
        "planted_semaphore_unprotected_create_is_caught",
        SemFlaw::UnprotectedCreate,
    );
}

/// The control: the naive semaphore without a flaw passes the same checks.
#[test]
fn the_naive_semaphore_without_a_flaw_passes() {
    harness!("the_naive_semaphore_without_a_flaw_passes")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
        .run(|sim| naive_suite(sim, SemFlaw::None));
}
