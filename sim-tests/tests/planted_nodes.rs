//! The planted persistent-node bug: a naive ephemeral node that trusts NodeExists from an
//! old session (see `planted_nodes`), caught by the node suite's owner check within 300 seeds;
//! the test prints how many seeds it took. The control runs docent's `PersistentNode` through
//! the same checks.
#![cfg(madsim)]

use std::any::Any;
use std::time::Duration;

use docent::framework::{spawn_machine, StateWatch};
use docent::recipes::nodes::{NodeOptions, NodeState, PersistentNode};
use docent::CreateMode;
use docent_sim::check::converge;
use docent_sim::{harness, Harness, Sim};
use docent_sim_tests::nodes::{shown_owner, OwnerCheck, NODES};
use docent_sim_tests::planted_nodes::NaiveNode;
use docent_sim_tests::workload::{ensure_dir, SETTLE};

const BUDGET: u64 = 300;

/// Every client keeps an ephemeral node at `/nodes/<who>`, started by `start` (which returns
/// the node's state watch and the handle that keeps it running); the owner check runs throughout, and after healing every live
/// client's node shows itself present with a node of its current session.
async fn suite<F, Fut>(sim: Sim, start: F) -> Result<(), String>
where
    F: Fn(Sim, String) -> Fut,
    Fut: std::future::Future<Output = (StateWatch<NodeState>, Box<dyn Any + Send>)>,
{
    // The naive node creates no parents.
    ensure_dir(&sim, NODES).await;
    let owners = OwnerCheck::default();
    let mut states = Vec::new();
    // The recipes run as long as their handles live.
    let mut handles = Vec::new();
    for who in sim.names() {
        let (states_of, handle) = start(sim.clone(), who.clone()).await;
        owners.watch(&sim, who, states_of.clone(), shown_owner);
        states.push((who.clone(), states_of));
        handles.push(handle);
    }
    sim.sleep_until(sim.healed_at()).await;
    let converged = converge(&sim, sim.healed_at() + SETTLE, || {
        states
            .iter()
            .filter(|(who, _)| !sim.crashed(who))
            .filter(|(who, s)| shown_owner(&s.get()) != Some(sim.client(who).session_id()))
            .map(|(who, s)| format!("{who}: {:?}", s.get()))
            .collect()
    })
    .await;
    owners.check()?;
    converged
}

fn ephemeral_swarm(name: &str) -> Harness {
    harness!(name)
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .seeds(0..BUDGET)
}

#[test]
fn planted_node_trusting_node_exists_is_caught() {
    let name = "planted_node_trusting_node_exists_is_caught";
    let failure = ephemeral_swarm(name).quiet().first_failure(|sim| {
        suite(sim, |sim, who| async move {
            let data = who.clone().into_bytes();
            let node = NaiveNode::new(&format!("{NODES}/{who}"), data);
            let states = node.watch();
            let driven = spawn_machine(&sim.client(&who), node);
            (states, Box::new(driven) as Box<dyn Any + Send>)
        })
    });
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

/// The control: docent's persistent node passes the same checks on the same seeds.
#[test]
fn the_persistent_node_passes_the_planted_suite() {
    ephemeral_swarm("the_persistent_node_passes_the_planted_suite").run(|sim| {
        suite(sim, |sim, who| async move {
            let options = NodeOptions::default()
                .mode(CreateMode::Ephemeral)
                .data(who.clone().into_bytes());
            let path = format!("{NODES}/{who}");
            let node = PersistentNode::start(&sim.client(&who), &path, options)
                .await
                .expect("valid options");
            (node.watch_state(), Box::new(node) as Box<dyn Any + Send>)
        })
    });
}
