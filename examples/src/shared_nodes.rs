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

use crate::leader::Out;

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

/// Walks through PersistentNode, PersistentTtlNode and GroupMember under `dir`, printing what
/// happens to `out`.
pub async fn walk_nodes(client: &Client, dir: &str, out: Out) -> Result<(), Error> {
    let (heartbeat, group) = (format!("{dir}/heartbeat"), format!("{dir}/group"));
    out("-- persistent node: kept present, recreated, its data replaced".into());
    let options = NodeOptions::default()
        .mode(CreateMode::Ephemeral)
        .data(b"v1".to_vec());
    let node = PersistentNode::start(client, &format!("{dir}/service"), options).await?;
    if !node.await_initial_create(WAIT).await? {
        return Err(Error::Timeout);
    }
    let path = node.actual_path().unwrap_or_default();
    out(format!(
        "created {path} holding {:?}",
        text(&client.get_data().at(&path).await?.0)
    ));
    node.set_data(b"v2".to_vec()).await?;
    out(format!(
        "set_data: {path} holds {:?}",
        text(&client.get_data().at(&path).await?.0)
    ));
    let NodeState::Present { stat, .. } = node.state() else {
        return Err(Error::NotConnected);
    };
    client.delete().at(&path).await?;
    out(format!("deleted {path} behind the recipe's back"));
    let mut states = node.watch_state();
    states
        .wait_for(|s| matches!(s, NodeState::Present { stat: new, .. } if new.czxid != stat.czxid))
        .await;
    out(format!(
        "recreated {path} holding {:?} (the newest data)",
        text(&client.get_data().at(&path).await?.0)
    ));
    node.close().await?;
    out(format!(
        "closed: {path} exists: {}",
        client.exists().at(&path).await?.0.is_some()
    ));

    out("-- protected sequential node".into());
    let options = NodeOptions::default().mode(CreateMode::EphemeralSequential);
    let sequential = PersistentNode::start(client, &format!("{dir}/worker-"), options).await?;
    sequential.await_initial_create(WAIT).await?;
    out(format!(
        "created {}",
        sequential.actual_path().unwrap_or_default()
    ));
    sequential.close().await?;

    out("-- TTL node".into());
    let options = TtlOptions::new(Duration::from_secs(30)).data(b"alive".to_vec());
    let ttl = PersistentTtlNode::start(client, &heartbeat, options).await?;
    ttl.await_initial_create(WAIT).await?;
    // The child is a TTL node: a server without `zookeeper.extendedTypesEnabled` refuses it.
    let mut children = Vec::new();
    for _ in 0..100 {
        children = client.get_children().at(&heartbeat).await?.0;
        if !children.is_empty() {
            break;
        }
        crate::sleep(client, Duration::from_millis(50)).await;
    }
    out(format!(
        "{heartbeat} (a container) keeps its TTL children {children:?} touched"
    ));
    ttl.close().await?;
    out("closed: the child expires after its TTL, then the container is reaped".into());

    out("-- group members see each other's payloads".into());
    let join = |id: &str, data: &str| {
        GroupOptions::default()
            .id(id)
            .data(data.as_bytes().to_vec())
    };
    let a = GroupMember::start(client, &group, join("a", "a-1")).await?;
    let b = GroupMember::start(client, &group, join("b", "b-1")).await?;
    let seen = members_until(&a, 2, |_| true).await;
    out(format!("a sees {}", show(&seen)));
    b.set_data(b"b-2".to_vec()).await?;
    let seen = members_until(&a, 2, |m| m.get("b").map(Vec::as_slice) == Some(b"b-2")).await;
    out(format!("b set its payload: a sees {}", show(&seen)));
    b.close().await?;
    let seen = members_until(&a, 1, |_| true).await;
    out(format!("b left: a sees {}", show(&seen)));
    a.close().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "current_thread")]
    async fn the_walk_through_runs_on_the_embedded_ensemble() {
        let ensemble = docent_sim::EmbeddedEnsemble::start(1);
        let client = docent::Client::builder(ensemble.connect()).build().unwrap();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let out: crate::leader::Out = std::sync::Arc::new(move |l| sink.lock().unwrap().push(l));
        super::walk_nodes(&client, "/walk/nodes", out)
            .await
            .unwrap();
        let lines = lines.lock().unwrap().clone();
        assert_eq!(
            lines[0],
            "-- persistent node: kept present, recreated, its data replaced"
        );
        assert_eq!(lines[1], r#"created /walk/nodes/service holding "v1""#);
        assert_eq!(lines[2], r#"set_data: /walk/nodes/service holds "v2""#);
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("recreated /walk/nodes/service holding \"v2\"")),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"closed: /walk/nodes/service exists: false".to_string()),
            "{lines:?}"
        );
        // A protected name: `_c_<uuid>-worker-<10 digits>` under the walk's directory.
        let protected = lines.iter().any(|l| {
            l.strip_prefix("created /walk/nodes/_c_")
                .and_then(|rest| rest.split_once("-worker-"))
                .is_some_and(|(uuid, seq)| {
                    uuid.len() == 36 && seq.len() == 10 && seq.bytes().all(|b| b.is_ascii_digit())
                })
        });
        assert!(protected, "{lines:?}");
        assert_eq!(lines.last().unwrap(), "b left: a sees a=a-1");
    }
}
