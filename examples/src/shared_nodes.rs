//! The persistent node part of the `shared` walk-through: a node kept present (recreated after
//! a delete, data replaced), a protected sequential node, a TTL node, and a group whose members
//! see each other's payloads.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;

use docent::recipes::nodes::{
    GroupMember, GroupOptions, NodeOptions, NodeState, PersistentNode, PersistentTtlNode,
    TtlOptions,
};
use docent::{Client, CreateMode, Error};

const WAIT: Duration = Duration::from_secs(10);

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn show(members: &BTreeMap<String, Vec<u8>>) -> String {
    let list: Vec<String> = members
        .iter()
        .map(|(id, data)| format!("{id}={}", text(data)))
        .collect();
    list.join(" ")
}

/// Waits until `member` sees exactly `n` members whose payloads `ok` accepts.
async fn members_until(
    member: &GroupMember,
    n: usize,
    ok: impl Fn(&BTreeMap<String, Vec<u8>>) -> bool,
) -> BTreeMap<String, Vec<u8>> {
    let mut events = member.events();
    loop {
        let members = member.current_members();
        if members.len() == n && ok(&members) {
            return members;
        }
        if events.next().await.is_none() {
            return members;
        }
    }
}

/// Walks through PersistentNode, PersistentTtlNode and GroupMember under `/walk/nodes`,
/// printing what happens.
pub async fn walk_nodes(client: &Client) -> Result<(), Error> {
    println!("== persistent node ==");
    let options = NodeOptions::default()
        .mode(CreateMode::Ephemeral)
        .data(b"v1".to_vec());
    let node = PersistentNode::start(client, "/walk/nodes/service", options).await?;
    if !node.await_initial_create(WAIT).await? {
        return Err(Error::Timeout);
    }
    let path = node.actual_path().unwrap_or_default();
    println!(
        "created {path} holding {:?}",
        text(&client.get_data().at(&path).await?.0)
    );
    node.set_data(b"v2".to_vec()).await?;
    println!(
        "set_data: {path} holds {:?}",
        text(&client.get_data().at(&path).await?.0)
    );
    let NodeState::Present { stat, .. } = node.state() else {
        return Err(Error::NotConnected);
    };
    client.delete().at(&path).await?;
    println!("deleted {path} behind the recipe's back");
    let mut states = node.watch_state();
    states
        .wait_for(|s| matches!(s, NodeState::Present { stat: new, .. } if new.czxid != stat.czxid))
        .await;
    println!(
        "recreated {path} holding {:?} (the newest data)",
        text(&client.get_data().at(&path).await?.0)
    );
    node.close().await?;
    println!(
        "closed: {path} exists: {}",
        client.exists().at(&path).await?.0.is_some()
    );

    println!("== protected sequential node ==");
    let options = NodeOptions::default().mode(CreateMode::EphemeralSequential);
    let sequential = PersistentNode::start(client, "/walk/nodes/worker-", options).await?;
    sequential.await_initial_create(WAIT).await?;
    println!("created {}", sequential.actual_path().unwrap_or_default());
    sequential.close().await?;

    println!("== TTL node ==");
    let options = TtlOptions::new(Duration::from_secs(30)).data(b"alive".to_vec());
    let ttl = PersistentTtlNode::start(client, "/walk/nodes/heartbeat", options).await?;
    ttl.await_initial_create(WAIT).await?;
    // The child is a TTL node: a server without `zookeeper.extendedTypesEnabled` refuses it.
    let mut children = Vec::new();
    for _ in 0..100 {
        children = client.get_children().at("/walk/nodes/heartbeat").await?.0;
        if !children.is_empty() {
            break;
        }
        crate::sleep(client, Duration::from_millis(50)).await;
    }
    println!("/walk/nodes/heartbeat (a container) keeps its TTL children {children:?} touched");
    ttl.close().await?;
    println!("closed: the child expires after its TTL, then the container is reaped");

    println!("== group member ==");
    let join = |id: &str, data: &str| {
        GroupOptions::default()
            .id(id)
            .data(data.as_bytes().to_vec())
    };
    let a = GroupMember::start(client, "/walk/nodes/group", join("a", "a-1")).await?;
    let b = GroupMember::start(client, "/walk/nodes/group", join("b", "b-1")).await?;
    let seen = members_until(&a, 2, |_| true).await;
    println!("a sees {}", show(&seen));
    b.set_data(b"b-2".to_vec()).await?;
    let seen = members_until(&a, 2, |m| m.get("b").map(Vec::as_slice) == Some(b"b-2")).await;
    println!("b set its payload: a sees {}", show(&seen));
    b.close().await?;
    let seen = members_until(&a, 1, |_| true).await;
    println!("b left: a sees {}", show(&seen));
    a.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "current_thread")]
    async fn the_walk_through_runs_on_the_embedded_ensemble() {
        let ensemble = docent_sim::EmbeddedEnsemble::start(1);
        let client = docent::Client::builder(ensemble.connect()).build().unwrap();
        super::walk_nodes(&client).await.unwrap();
    }
}
