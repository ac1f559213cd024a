//! Planted bugs: naive latch variants that the checkers must catch within 500 seeds. Each test
//! prints how many seeds it took (the simulator's figure of merit).
#![cfg(madsim)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use docent::framework::{spawn_machine, Driven};
use docent::recipes::latch::{LatchEvent, LatchMachine};
use docent::{Client, Machine};
use docent_sim::check::Holds;
use docent_sim::{harness, Failure, Harness, Sim};
use docent_sim_tests::counting::Counting;
use docent_sim_tests::planted::{Flaw, NaiveLatch, SuspendBlind};
use docent_sim_tests::workload::{
    await_one_leader, check_election, ensure_dir, observe_latch, start_machines, ELECTION,
};

const BUDGET: u64 = 500;

/// Runs `body` over seeds `0..500` and requires a failure; prints the count.
fn hunt<F, Fut>(name: &str, harness: Harness, body: F) -> Failure
where
    F: Fn(Sim) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let failure = harness.seeds(0..BUDGET).quiet().first_failure(body);
    let Some(failure) = failure else {
        panic!("planted bug {name} was not caught in {BUDGET} seeds");
    };
    eprintln!(
        "planted bug {name}: caught after {} seed(s) (seed {}): {}",
        failure.seeds_run, failure.seed, failure.message
    );
    eprintln!("planted bug {name}: {}", failure.shrink_summary());
    assert!(failure.seeds_run <= BUDGET);
    failure
}

/// The latch suite's checks over a naive machine.
async fn election<M>(
    sim: Sim,
    make: impl Fn(&Client, &str) -> M,
    leading: fn(&M) -> Option<i64>,
) -> Result<(), String>
where
    M: Machine<Event = LatchEvent>,
{
    let timeline = Holds::new();
    let machines = start_machines(&sim, &timeline, make).await;
    let leaders = || {
        machines
            .iter()
            .filter(|(_, d)| d.inspect(leading).is_some())
            .map(|(w, _)| w.clone())
            .collect()
    };
    let result = check_election(&sim, &timeline, leaders).await.map(|_| ());
    result.map_err(|e| {
        let states: Vec<String> = machines
            .iter()
            .map(|(w, d)| d.inspect(|m| format!("{w}: {m:?}")))
            .collect();
        format!("{e}\nmachines:\n{}", states.join("\n"))
    })
}

#[test]
fn planted_unprotected_create_is_caught() {
    hunt(
        "unprotected create",
        harness!("planted_unprotected_create_is_caught").swarm(Duration::from_secs(60)),
        |sim| {
            election(
                sim,
                |c, who| NaiveLatch::new(ELECTION, who, Flaw::UnprotectedCreate, c.next_rng()),
                NaiveLatch::leadership,
            )
        },
    );
}

/// CURATOR-696: after LOST the client abandons its session and the latch joins again under a
/// new one, while the ensemble still holds the old session's node, with the same protected
/// prefix, first in line. Without the ephemeralOwner check the latch leads on that node; when
/// the old session expires, the next participant leads too.
#[test]
fn planted_no_owner_check_is_caught() {
    hunt(
        "no ephemeralOwner check",
        harness!("planted_no_owner_check_is_caught").swarm(Duration::from_secs(60)),
        |sim| {
            election(
                sim,
                |c, who| NaiveLatch::new(ELECTION, who, Flaw::NoOwnerCheck, c.next_rng()),
                NaiveLatch::leadership,
            )
        },
    );
}

#[test]
fn planted_leadership_kept_while_suspended_is_caught() {
    hunt(
        "leadership kept while SUSPENDED",
        harness!("planted_leadership_kept_while_suspended_is_caught")
            .swarm(Duration::from_secs(60)),
        |sim| {
            election(
                sim,
                |c, who| {
                    SuspendBlind(LatchMachine::new(
                        ELECTION.into(),
                        who,
                        c.error_policy(),
                        c.next_rng(),
                    ))
                },
                |m: &SuspendBlind| m.0.leadership(),
            )
        },
    );
}

/// Herd check: with five participants, the leader's session closes; the waiters may send
/// at most two `getChildren` in the next two seconds (only the successor needs to look).
async fn handover_reads<M>(
    sim: Sim,
    make: impl Fn(&Client, &str) -> M,
    leading: fn(&M) -> Option<i64>,
) -> Result<(), String>
where
    M: Machine<Event = LatchEvent>,
{
    ensure_dir(&sim, ELECTION).await;
    let timeline = Holds::new();
    let mut all: Vec<(String, Counting<docent_sim::SimSession>, Driven<M>)> = Vec::new();
    for who in sim.names() {
        let counting = Counting::new(sim.session(who));
        let client = Client::builder(Arc::new(counting.clone()))
            .build()
            .map_err(|e| e.to_string())?;
        let driven = spawn_machine(&client, make(&client, who));
        observe_latch(&sim, &timeline, who, driven.subscribe());
        all.push((who.clone(), counting, driven));
    }
    let leading_now = || {
        all.iter()
            .filter(|(_, _, d)| d.inspect(leading).is_some())
            .map(|(w, _, _)| w.clone())
            .collect::<Vec<_>>()
    };
    let leader = await_one_leader(
        &sim,
        ELECTION,
        sim.now() + Duration::from_secs(10),
        leading_now,
    )
    .await?;
    sim.sleep(Duration::from_secs(1)).await;
    let waiters = || -> u64 {
        all.iter()
            .filter(|(w, _, _)| *w != leader)
            .map(|(_, c, _)| c.lists())
            .sum()
    };
    let before = waiters();
    use docent::Coordinator;
    let _ = sim.session(&leader).close().await;
    sim.sleep(Duration::from_secs(2)).await;
    let lists = waiters() - before;
    if lists > 2 {
        return Err(format!(
            "herd: {lists} getChildren from {} waiters after one handover",
            all.len() - 1
        ));
    }
    Ok(())
}

#[test]
fn planted_watch_all_children_is_caught() {
    hunt(
        "watch all children (herd)",
        harness!("planted_watch_all_children_is_caught")
            .clients(["a", "b", "c", "d", "e"])
            .no_faults(),
        |sim| {
            handover_reads(
                sim,
                |c, who| NaiveLatch::new(ELECTION, who, Flaw::WatchAllChildren, c.next_rng()),
                NaiveLatch::leadership,
            )
        },
    );
}

#[test]
fn the_real_latch_passes_the_herd_check() {
    harness!("the_real_latch_passes_the_herd_check")
        .clients(["a", "b", "c", "d", "e"])
        .no_faults()
        .limit(8)
        .run(|sim| {
            handover_reads(
                sim,
                |c, who| LatchMachine::new(ELECTION.into(), who, c.error_policy(), c.next_rng()),
                LatchMachine::leadership,
            )
        });
}

/// The control: the naive machine without a flaw passes the suite and the herd check, so
/// each planted catch is its flaw's.
#[test]
fn the_naive_latch_without_a_flaw_passes() {
    harness!("the_naive_latch_without_a_flaw_passes")
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
        .run(|sim| {
            election(
                sim,
                |c, who| NaiveLatch::new(ELECTION, who, Flaw::None, c.next_rng()),
                NaiveLatch::leadership,
            )
        });
    harness!("the_naive_latch_without_a_flaw_passes")
        .clients(["a", "b", "c", "d", "e"])
        .no_faults()
        .limit(8)
        .run(|sim| {
            handover_reads(
                sim,
                |c, who| NaiveLatch::new(ELECTION, who, Flaw::None, c.next_rng()),
                NaiveLatch::leadership,
            )
        });
}

// ---- read–write lock (issue 15) ----

/// Readers through docent's read–write lock, writers through [`unstripped_rw_writer`]; the
/// read–write checks over them.
async fn unstripped_rw(sim: Sim) -> Result<(), String> {
    use docent::recipes::lock::{LockCommand, LockEvent};
    use docent::recipes::rwlock::{ReadWriteLock, ReadWriteLockOptions};
    use docent_sim_tests::planted::unstripped_rw_writer;
    use docent_sim_tests::rwlock::RWLOCK;
    use futures::StreamExt;
    let (writes, reads) = (Holds::new(), Holds::new());
    ensure_dir(&sim, RWLOCK).await;
    let stop = sim.healed_at() + Duration::from_secs(20);
    for who in sim.names() {
        let client = sim.client(who);
        let lock = ReadWriteLock::start(&client, RWLOCK, ReadWriteLockOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let writer = spawn_machine(&client, unstripped_rw_writer(RWLOCK, &client));
        let (sim, who, writes, reads) = (sim.clone(), who.clone(), writes.clone(), reads.clone());
        let mut rng = docent::rng::Rng::new(sim.seed(), 0x6000 + sim.index(&who) as u64);
        sim.clone().spawn(async move {
            while sim.now() < stop {
                let hold = Duration::from_millis(50 + rng.below(950));
                if rng.below(3) == 0 {
                    let mut events = writer.subscribe();
                    if writer
                        .command(LockCommand::Acquire { deadline: None })
                        .is_err()
                    {
                        return;
                    }
                    while let Some(event) = events.next().await {
                        if let LockEvent::Acquired(lease) = event {
                            writes.set(&who, Some(lease.token), sim.now());
                            break;
                        }
                    }
                    sim.sleep(hold).await;
                    writes.set(&who, None, sim.now());
                    let _ = writer.command(LockCommand::Release);
                } else if let Ok(Some(read)) =
                    lock.read().try_acquire(Duration::from_secs(30)).await
                {
                    reads.set(&who, Some(read.token()), sim.now());
                    sim.sleep(hold).await;
                    reads.set(&who, None, sim.now());
                    let _ = read.release().await;
                }
                sim.sleep(Duration::from_millis(rng.below(500))).await;
            }
        });
    }
    sim.sleep_until(stop).await;
    writes.check_exclusive(&sim)?;
    writes.check_exclusive_of(&reads, &sim)
}

#[test]
fn planted_unstripped_rw_sort_is_caught() {
    let failure = hunt(
        "read–write sort without stripping the markers",
        harness!("planted_unstripped_rw_sort_is_caught").swarm(Duration::from_secs(60)),
        unstripped_rw,
    );
    assert!(
        failure.seeds_run <= 300,
        "caught only after {} seeds",
        failure.seeds_run
    );
}
