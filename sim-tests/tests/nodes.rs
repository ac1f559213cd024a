//! Persistent nodes and group members under the swarm fault mix.
//!
//! - Persistent nodes, one per client in every create mode (ephemeral, persistent, their
//!   sequential kinds, TTL), each given new data now and then: never shown present with a node
//!   of another session (ephemeral modes); after healing, each node exists exactly once (no
//!   orphan sequential node from a lost reply) with its newest data; once closed, it is gone.
//! - TTL nodes: after healing each is there (again) with the newest data and its touched
//!   child; once closed, both expire and are reaped.
//! - Group members, each giving itself a new payload now and then: after healing, every
//!   member's view is the live members with their newest payloads.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use docent::recipes::nodes::{
    GroupMember, GroupOptions, NodeOptions, PersistentNode, PersistentTtlNode, TtlOptions,
};
use docent_sim::check::converge;
use docent_sim::{harness, Sim};
use docent_sim_tests::nodes::{
    members_mismatch, mode_of, node_mismatch, node_path, nodes_of, shown_owner, spawn_updates,
    Latest, OwnerCheck, GROUP, NODES,
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

/// How long a TTL node's child lives past its last touch.
const TTL: Duration = Duration::from_secs(4);

/// Why `who`'s TTL node is not as it must be (a container holding the newest data, with its
/// touched TTL child), if it is not.
fn ttl_mismatch(sim: &Sim, who: &str, latest: &Latest) -> Option<String> {
    let path = format!("{NODES}/{who}");
    let want = latest
        .get(who)
        .unwrap_or_else(|| format!("{who}-1").into_bytes());
    sim.inspect(|model| match model.node(None, &path) {
        None => Some(format!("{path} missing")),
        Some((data, _, _)) if data != want => Some(format!("{path} holds {data:?}")),
        Some((_, _, children)) if children != ["touch"] => {
            Some(format!("{path} has children {children:?}"))
        }
        Some(_) => None,
    })
}

/// TTL nodes (a container kept alive by a touched TTL child), given new data now and then:
/// after healing each is there with the newest data and its child, even if an outage let it
/// be reaped; once closed, nothing touches the child and both are reaped.
async fn ttl_nodes(sim: Sim) -> R {
    let latest = Latest::default();
    let mut nodes = Vec::new();
    for who in sim.names() {
        let options = TtlOptions::new(TTL).data(format!("{who}-1").into_bytes());
        let path = format!("{NODES}/{who}");
        let node = Arc::new(PersistentTtlNode::start(&sim.client(who), &path, options).await?);
        let n = node.clone();
        let updates = spawn_updates(&sim, who, &latest, sim.healed_at(), move |data| {
            let n = n.clone();
            async move { n.set_data(data).await }
        });
        nodes.push((who.clone(), node, updates));
    }
    sim.sleep_until(sim.healed_at()).await;
    converge(&sim, sim.healed_at() + SETTLE, || {
        nodes
            .iter()
            .filter(|(who, ..)| !sim.crashed(who))
            .filter_map(|(who, ..)| ttl_mismatch(&sim, who, &latest))
            .collect()
    })
    .await?;
    let mut closed = Vec::new();
    for (who, node, updates) in nodes {
        if sim.crashed(&who) {
            continue;
        }
        let _ = updates.await;
        let node = Arc::try_unwrap(node).map_err(|_| format!("{who}: updates still running"))?;
        node.close().await?;
        closed.push(format!("{NODES}/{who}"));
    }
    // The child expires a TTL after its last touch, its container a reaper round later.
    converge(&sim, sim.now() + SETTLE, || {
        closed
            .iter()
            .filter(|path| sim.inspect(|model| model.node(None, path).is_some()))
            .map(|path| format!("{path} still there after close"))
            .collect()
    })
    .await?;
    Ok(())
}

#[test]
fn ttl_nodes_under_swarm() {
    harness!("ttl_nodes_under_swarm")
        .clients(["a", "b", "c"])
        .swarm(Duration::from_secs(60))
        .run(ttl_nodes);
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
