//! Barriers under the swarm fault mix. Double barrier: nobody passes `enter` before `qty`
//! members are in, nobody passes `leave` before every member that entered has left, no call
//! outlives its deadline, and after healing every round lets every live member in and out.
//! Barrier: no waiter passes while the barrier is up; after healing every waiter passes.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;

use docent::recipes::barrier::{Barrier, BarrierOptions, DoubleBarrier, DoubleBarrierOptions};
use docent_sim::{harness, Sim};
use docent_sim_tests::barriers::{
    spawn_controller, spawn_member, spawn_waiter, DoubleRecord, MakeMember, Member, WaitRecord,
    SINGLE, SLOT,
};

/// Members needed of the four: one may crash and the rounds still fill.
const QTY: usize = 3;

/// Docent's double barrier members.
pub fn docent_members() -> MakeMember {
    Arc::new(|client, dir| {
        async move {
            let options = DoubleBarrierOptions::member_qty(QTY);
            let member = DoubleBarrier::start(&client, &dir, options).await?;
            Ok(Box::new(member) as Box<dyn Member>)
        }
        .boxed()
    })
}

async fn barrier(sim: &Sim, who: &str) -> Result<Barrier, docent::Error> {
    let client = sim.client(who);
    Barrier::start(&client, SINGLE, BarrierOptions::default().id(who)).await
}

async fn run_rounds(sim: Sim) -> Result<(), String> {
    let record = DoubleRecord::new(QTY);
    let stop = sim.healed_at() + SLOT * 3;
    for who in sim.names() {
        spawn_member(&sim, who, docent_members(), &record, stop);
    }
    sim.sleep_until(stop + SLOT).await;
    record.check_safety()?;
    record.check_liveness(&sim, stop)
}

#[test]
fn double_barrier_safety_and_liveness_under_swarm() {
    harness!("double_barrier_safety_and_liveness_under_swarm")
        .clients(["a", "b", "c", "d"])
        .swarm(Duration::from_secs(60))
        .run(run_rounds);
}

#[test]
fn barrier_waiters_never_pass_while_up_under_swarm() {
    harness!("barrier_waiters_never_pass_while_up_under_swarm")
        .clients(["ctl", "w1", "w2", "w3"])
        .swarm(Duration::from_secs(60))
        .run(|sim| async move {
            let record = WaitRecord::default();
            let stop = sim.healed_at() + Duration::from_secs(30);
            spawn_controller(&sim, "ctl", barrier(&sim, "ctl").await?, &record, stop);
            for who in &sim.names()[1..] {
                spawn_waiter(&sim, who, barrier(&sim, who).await?, &record, stop);
            }
            sim.sleep_until(stop + Duration::from_secs(15)).await;
            record.check_never_passed_while_up()?;
            if !sim.crashed("ctl") {
                record
                    .check_everyone_passed_after(&sim, sim.healed_at() + Duration::from_secs(5))?;
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
