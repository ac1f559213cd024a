//! The planted naive queue consumer (no lock path, deletes after processing) must be caught
//! by the at-most-once check within 300 seeds; the test prints how many seeds it took.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use docent_sim::{harness, Sim};
use docent_sim_tests::planted_queue::spawn_naive_consumer;
use docent_sim_tests::queues::{spawn_producer, try_start_queue, QueueRecord};
use docent_sim_tests::workload::SETTLE;

const BUDGET: u64 = 300;

/// The queue suite without a lock path, with naive consumers.
async fn naive_suite(sim: Sim) -> Result<(), String> {
    let record = QueueRecord::default();
    let produce_until = sim.healed_at().max(Duration::from_secs(20));
    for who in sim.names() {
        let Some(queue) = try_start_queue(&sim, who, false).await else {
            continue;
        };
        let queue = Arc::new(queue);
        spawn_producer(&sim, who, queue, &record, produce_until);
        spawn_naive_consumer(&sim, who, &record);
    }
    sim.sleep_until(produce_until + SETTLE).await;
    record.check_content()?;
    record.check_never_twice()
}

#[test]
fn planted_queue_delete_after_processing_is_caught() {
    let name = "planted_queue_delete_after_processing_is_caught";
    let failure = harness!(name)
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
        .quiet()
        .first_failure(naive_suite);
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
