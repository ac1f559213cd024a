//! The named persistent node scenarios, each a scripted fault schedule swept over a few seeds
//! (the seed varies network jitter, server choice and scheduling).
//!
//! - `persistent_node_races` (CURATOR-297/53/97): close racing an in-flight create whose reply
//!   is lost (nothing may be left), a node started while its client cannot reach the ensemble
//!   (created once it can), a long outage (the node, and its watch, come back: a later delete
//!   by someone else is repaired);
//! - `persistent_node_deleted_while_cut_off`: another session deletes the node while its owner
//!   is partitioned (within its session): it is back, with the newest data, after healing;
//! - `persistent_node_across_expiry`: the session expires (followers lagging, so the old node
//!   may still be shown): the node comes back once, owned by the new session, with data given
//!   during the outage.
#![cfg(madsim)]

use std::time::Duration;

use docent::recipes::nodes::{NodeOptions, NodeState, PersistentNode};
use docent::CreateMode;
use docent_sim::check::converge;
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule, Sim};
use docent_sim_tests::nodes::{node_mismatch, node_path, nodes_of, Latest, NODES};
use docent_sim_tests::workload::{ensure_dir, SETTLE};

type R = Result<(), Box<dyn std::error::Error>>;

const SEEDS: u64 = 16;

/// The modes every scenario runs in: the plain and the protected create paths.
const MODES: [CreateMode; 3] = [
    CreateMode::Ephemeral,
    CreateMode::EphemeralSequential,
    CreateMode::PersistentSequential,
];

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

fn lag(server: usize) -> Fault {
    Fault::FollowerLag {
        server,
        lag: s(3.0),
        duration: s(40.0),
    }
}

async fn start(sim: &Sim, mode: CreateMode, data: &str) -> Result<PersistentNode, docent::Error> {
    let options = NodeOptions::default()
        .mode(mode)
        .data(data.as_bytes().to_vec());
    PersistentNode::start(&sim.client("a"), &node_path("a", mode), options).await
}

/// `a`'s node exists exactly once with `latest`'s data, within [`SETTLE`] of healing.
async fn settled(sim: &Sim, node: &PersistentNode, mode: CreateMode, latest: &Latest) -> R {
    let deadline = sim.now().max(sim.healed_at()) + SETTLE;
    converge(sim, deadline, || {
        node_mismatch(sim, "a", node, mode, latest)
            .into_iter()
            .collect()
    })
    .await?;
    Ok(())
}

/// Waits until `node` shows a node whose creation zxid is not `old`.
async fn recreated(node: &PersistentNode, old: i64) {
    let mut states = node.watch_state();
    states
        .wait_for(|s| matches!(s, NodeState::Present { stat, .. } if stat.czxid != old))
        .await;
}

fn czxid(node: &PersistentNode) -> Result<i64, String> {
    match node.state() {
        NodeState::Present { stat, .. } => Ok(stat.czxid),
        other => Err(format!("not present: {other:?}")),
    }
}

/// CURATOR-297/53: close while the create is in flight and its reply is lost: whatever the
/// create made is deleted.
#[test]
fn persistent_node_races() {
    for mode in MODES {
        harness!("persistent_node_races")
            .clients(["a", "b"])
            .no_faults()
            .default_seeds(0..SEEDS)
            .run(move |sim| async move {
                // The parent exists: the lost reply is the node's create's.
                ensure_dir(&sim, NODES).await;
                sim.sleep(s(1.0)).await;
                sim.inject(Fault::LoseReply { client: 0 });
                let node = start(&sim, mode, "a-1").await?;
                let closed = node.close().await;
                // Closing waits for the create's outcome; the delete may outlast one session
                // timeout only if the connection does not come back.
                closed?;
                // Whatever was in flight has landed by now (the session lives on).
                sim.sleep(s(5.0)).await;
                let left = nodes_of(&sim, &node_path("a", mode), mode);
                if !left.is_empty() {
                    return Err(format!("{mode:?}: closed, yet {left:?} remain").into());
                }
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}

/// CURATOR-53: started while the client cannot reach any server: created once it can.
#[test]
fn persistent_node_races_started_while_down() {
    for mode in MODES {
        harness!("persistent_node_races_started_while_down")
            .clients(["a", "b"])
            .schedule(FaultSchedule::new().at(s(0.5), partition(0, 25.0)))
            .default_seeds(0..SEEDS)
            .run(move |sim| async move {
                sim.sleep(s(1.0)).await;
                let latest = Latest::default();
                let node = start(&sim, mode, "a-1").await?;
                latest.set("a", b"a-2".to_vec());
                // Written once the node is there (it waits for the connection).
                node.set_data(b"a-2".to_vec()).await?;
                settled(&sim, &node, mode, &latest).await?;
                node.close().await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}

/// CURATOR-97: after an outage of many session timeouts the node is back, and so is its
/// watch: a later delete by another session is repaired.
#[test]
fn persistent_node_races_long_outage() {
    for mode in MODES {
        harness!("persistent_node_races_long_outage")
            .clients(["a", "b"])
            .schedule(FaultSchedule::new().at(s(3.0), partition(0, 45.0)))
            .default_seeds(0..SEEDS)
            .run(move |sim| async move {
                let latest = Latest::default();
                latest.set("a", b"a-1".to_vec());
                let node = start(&sim, mode, "a-1").await?;
                sim.sleep_until(sim.healed_at()).await;
                settled(&sim, &node, mode, &latest).await?;
                let old = czxid(&node)?;
                let path = node.actual_path().ok_or("no actual path")?;
                sim.client("b").delete().at(&path).await?;
                recreated(&node, old).await;
                settled(&sim, &node, mode, &latest).await?;
                node.close().await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}

/// Another session deletes the node while its owner is cut off (within its session); the
/// owner gives new data meanwhile. After healing the node is back with that data.
#[test]
fn persistent_node_deleted_while_cut_off() {
    for mode in MODES {
        harness!("persistent_node_deleted_while_cut_off")
            .clients(["a", "b"])
            .schedule(FaultSchedule::new().at(s(3.0), partition(0, 6.0)))
            .default_seeds(0..SEEDS)
            .run(move |sim| async move {
                let latest = Latest::default();
                let node = start(&sim, mode, "a-1").await?;
                sim.sleep(s(4.0)).await;
                let path = node
                    .actual_path()
                    .ok_or("not created before the partition")?;
                sim.client("b").delete().at(&path).await?;
                latest.set("a", b"a-2".to_vec());
                node.set_data(b"a-2".to_vec()).await?;
                settled(&sim, &node, mode, &latest).await?;
                node.close().await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}

/// The session expires while followers lag (the old session's node may still be listed when
/// the new session looks); data given during the outage is what the node holds after it.
#[test]
fn persistent_node_across_expiry() {
    for mode in MODES {
        harness!("persistent_node_across_expiry")
            .clients(["a", "b"])
            .schedule(
                FaultSchedule::new()
                    .at(s(1.0), lag(1))
                    .at(s(1.0), lag(2))
                    .at(s(3.0), partition(0, 14.0)),
            )
            .default_seeds(0..SEEDS)
            .run(move |sim| async move {
                let latest = Latest::default();
                let node = start(&sim, mode, "a-1").await?;
                sim.sleep(s(5.0)).await;
                latest.set("a", b"a-2".to_vec());
                node.set_data(b"a-2".to_vec()).await?;
                settled(&sim, &node, mode, &latest).await?;
                node.close().await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            });
    }
}
