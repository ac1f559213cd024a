//! The planted counter bug: an increment that retries a lost versioned write blindly must be
//! caught by the counter checks within 300 seeds (the test prints how many it took); the same
//! increment without the flaw passes them.
#![cfg(madsim)]

use std::time::Duration;

use docent::rng::Rng;
use docent_sim::{harness, Sim};
use docent_sim_tests::atomic::{long_of, CounterRecord, COUNTER};
use docent_sim_tests::planted_counter::{naive_increment, CounterFlaw};
use docent_sim_tests::workload::{ensure_dir, SETTLE};

const BUDGET: u64 = 300;

/// Naive increments on every client until the faults healed and settled, then the totals.
async fn naive_suite(sim: Sim, flaw: CounterFlaw) -> Result<(), String> {
    ensure_dir(&sim, "/counters").await;
    let record = CounterRecord::default();
    let stop = sim.healed_at() + SETTLE;
    for who in sim.names() {
        let (sim, who, record) = (sim.clone(), who.clone(), record.clone());
        let mut rng = Rng::new(sim.seed(), 0xc3 + sim.index(&who) as u64);
        sim.clone().spawn(async move {
            let client = sim.client(&who);
            while sim.now() < stop {
                record.begin(&who, 1);
                let outcome = naive_increment(&client, COUNTER, flaw).await;
                record.end(&who, outcome, sim.now());
                sim.sleep(Duration::from_millis(rng.below(300))).await;
            }
        });
    }
    sim.sleep_until(stop + Duration::from_secs(35)).await;
    record.check(&sim, COUNTER, long_of)
}

#[test]
fn planted_counter_blind_retry_is_caught() {
    let name = "planted_counter_blind_retry_is_caught";
    let failure = harness!(name)
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
        .quiet()
        .first_failure(|sim| naive_suite(sim, CounterFlaw::BlindRetry));
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

/// The control: the naive increment that reports a lost reply as unknown passes.
#[test]
fn the_naive_counter_without_a_flaw_passes() {
    harness!("the_naive_counter_without_a_flaw_passes")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
        .run(|sim| naive_suite(sim, CounterFlaw::None));
}
