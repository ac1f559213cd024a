//! The planted double barrier bug (Curator GH 1290): `enter` passes on any wake-up, a
//! session event included. The double barrier suite's checks must catch it within 300 seeds;
//! the test prints how many it took. The control, the same rounds with docent's own machine
//! (which this bug wraps), is `tests/barrier.rs`.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use docent_sim::{harness, Sim};
use docent_sim_tests::barriers::{spawn_member, DoubleRecord, MakeMember, Member, SLOT};
use docent_sim_tests::planted_barrier::SpuriousMember;

const BUDGET: u64 = 300;
const QTY: usize = 3;

async fn spurious_rounds(sim: Sim) -> Result<(), String> {
    let make: MakeMember = Arc::new(|client, dir| {
        async move { Ok(Box::new(SpuriousMember::start(&client, &dir, QTY)) as Box<dyn Member>) }
            .boxed()
    });
    let record = DoubleRecord::new(QTY);
    let stop = sim.healed_at() + SLOT * 3;
    for who in sim.names() {
        spawn_member(&sim, who, make.clone(), &record, stop);
    }
    sim.sleep_until(stop + SLOT).await;
    record.check_safety()?;
    record.check_liveness(&sim, stop)
}

#[test]
fn planted_spurious_wakeup_enter_is_caught() {
    let failure = harness!("planted_spurious_wakeup_enter_is_caught")
        .clients(["a", "b", "c", "d"])
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
        .quiet()
        .first_failure(spurious_rounds);
    let Some(failure) = failure else {
        panic!("the planted spurious wake-up was not caught in {BUDGET} seeds");
    };
    eprintln!(
        "planted bug spurious_wakeup_enter: caught after {} seed(s) (seed {}): {}",
        failure.seeds_run, failure.seed, failure.message
    );
    eprintln!(
        "planted bug spurious_wakeup_enter: {}",
        failure.shrink_summary()
    );
    assert!(failure.seeds_run <= BUDGET);
    assert!(
        failure.message.contains("passed enter"),
        "caught for another reason than an early enter: {}",
        failure.message
    );
}
