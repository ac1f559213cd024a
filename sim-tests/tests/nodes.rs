//! Persistent nodes and group members under the swarm fault mix.
//!
//! - Persistent nodes, one per client in every create mode (ephemeral, persistent, their
//!   sequential kinds, TTL), each given new data now and then: never shown present with a node
//!   of another session (ephemeral modes); after healing, each node exists exactly once (no
//!   orphan sequential node from a lost reply) with its newest data; once closed, it is gone.
//! - Group members, each giving itself a new payload now and then: after healing, every
//!   member's view is the live members with their newest payloads.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use docent::recipes::nodes::{GroupMember, GroupOptions, NodeOptions, PersistentNode};
use docent_sim::{harness, Sim};
use docent_sim_tests::nodes::{
    converge, members_mismatch, mode_of, node_mismatch, node_path, nodes_of, shown_owner,
    spawn_updates, Latest, OwnerCheck, GROUP,
};
use docent_sim_tests::workload::SETTLE;

type R = Result<(), Box<dyn std::error::Error>>;

async fn persistent_nodes(sim: Sim) -> R {
    let latest = Latest::default();
    let owners = OwnerCheck::default();
    let mut nodes = Vec::new();
    for (i, who) in sim.names().iter().enumerate() {
        let mode = mode_of(i);
        let data = format!("{who}-1").into_bytes();
        let options = NodeOptions::default().mode(mode).data(data);
        let node = PersistentNode::start(&sim.client(who), &node_path(who, mode), options).await?;
        let node = Arc::new(node);
        if mode.is_ephemeral() {
            owners.watch(&sim, who, node.watch_state(), shown_owner);
        }
        let n = node.clone();
        let updates = spawn_updates(&sim, who, &latest, sim.healed_at(), move |data| {
            let n = n.clone();
            async move { n.set_data(data).await }
        });
        nodes.push((who.clone(), mode, node, updates));
    }
    sim.sleep_until(sim.healed_at()).await;
    converge(&sim, sim.healed_at() + SETTLE, || {
        nodes
            .iter()
            .filter(|(who, ..)| !sim.crashed(who))
            .filter_map(|(who, mode, node, _)| node_mismatch(&sim, who, node, *mode, &latest))
            .collect()
    })
    .await?;
    owners.check()?;
    for (who, mode, node, updates) in nodes {
        if sim.crashed(&who) {
            continue;
        }
        // The last update may still wait for its reply (a live client gets it).
        let _ = updates.await;
        let node = Arc::try_unwrap(node).map_err(|_| format!("{who}: updates still running"))?;
        node.close().await?;
        let left = nodes_of(&sim, &node_path(&who, mode), mode);
        if !left.is_empty() {
            return Err(format!("{who}: closed, yet {left:?} remain").into());
        }
    }
    Ok(())
}

#[test]
fn persistent_nodes_under_swarm() {
    harness!("persistent_nodes_under_swarm")
        .clients(["a", "b", "c", "d", "e"])
        .swarm(Duration::from_secs(60))
        .run(persistent_nodes);
}

async fn group_members(sim: Sim) -> R {
    let latest = Latest::default();
    let owners = OwnerCheck::default();
    let mut members = Vec::new();
    for who in sim.names() {
        let options = GroupOptions::default()
            .id(who)
            .data(format!("{who}-1").into_bytes());
        let member = Arc::new(GroupMember::start(&sim.client(who), GROUP, options).await?);
        owners.watch(&sim, who, member.watch_state(), shown_owner);
        let m = member.clone();
        // Members are not closed here: the updates are let run out on their own.
        let _updates = spawn_updates(&sim, who, &latest, sim.healed_at(), move |data| {
            let m = m.clone();
            async move { m.set_data(data).await }
        });
        members.push((who.clone(), member));
    }
    sim.sleep_until(sim.healed_at()).await;
    converge(&sim, sim.healed_at() + SETTLE, || {
        let live: Vec<String> = sim
            .names()
            .iter()
            .filter(|who| !sim.crashed(who))
            .cloned()
            .collect();
        members
            .iter()
            .filter(|(who, _)| !sim.crashed(who))
            .filter_map(|(_, member)| members_mismatch(member, &live, &latest))
            .collect()
    })
    .await?;
    owners.check()?;
    Ok(())
}

#[test]
fn group_members_under_swarm() {
    harness!("group_members_under_swarm")
        .clients(["a", "b", "c", "d"])
        .swarm(Duration::from_secs(60))
        .run(group_members);
}
