//! Persistent nodes, TTL nodes and group members on real ZooKeeper: every create mode on a test
//! server (created, data replaced, recreated after another session deletes it, deleted on
//! close), a TTL node whose touched child keeps it and then lets it go, a group on a 3-server
//! cluster losing the member one member is connected to, and an ephemeral node cut off through
//! the chaos proxy until its session expires (it comes back, owned by the new session, with the
//! data given meanwhile).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::nodes::{
    GroupMember, GroupOptions, NodeOptions, NodeState, PersistentNode, PersistentTtlNode,
    TtlOptions,
};
use docent::{Client, CreateMode};
use docent_zk::testing::{ChaosProxy, ServerOptions, TestingCluster, TestingServer};

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(30);

/// Polls `f` every 50 ms until it returns `Some`, for at most [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(t) = f().await {
            return t;
        }
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `path`'s data and ephemeral owner as `client` reads them, if it exists.
async fn read(client: &Client, path: &str) -> Option<(Vec<u8>, i64)> {
    let (data, stat, _) = client.get_data().at(path).await.ok()?;
    Some((data, stat.ephemeral_owner))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_created_updated_recreated_and_deleted() {
    let server = shared_server().await;
    let (a, b) = (
        client(&server.connect_string()).await,
        client(&server.connect_string()).await,
    );
    let modes = [
        CreateMode::Ephemeral,
        CreateMode::Persistent,
        CreateMode::EphemeralSequential,
        CreateMode::PersistentSequential,
        CreateMode::Container,
        CreateMode::PersistentWithTtl(Duration::from_secs(60)),
    ];
    for (i, mode) in modes.into_iter().enumerate() {
        let base = format!("/real/nodes/m{i}");
        let options = NodeOptions::default().mode(mode).data(b"one".to_vec());
        let node = PersistentNode::start(&a, &base, options).await.unwrap();
        assert!(node.await_initial_create(WAIT).await.unwrap(), "{mode:?}");
        let path = node.actual_path().unwrap();
        if mode.is_sequential() {
            let name = docent::path::name(&path);
            assert!(name.starts_with("_c_") && name.contains("-m"), "{path}");
        } else {
            assert_eq!(path, base);
        }
        let (data, owner) = read(&b, &path).await.unwrap();
        assert_eq!(data, b"one");
        let ours = if mode.is_ephemeral() {
            a.session_id()
        } else {
            0
        };
        assert_eq!(owner, ours, "{mode:?}");
        node.set_data(b"two".to_vec()).await.unwrap();
        assert_eq!(read(&b, &path).await.unwrap().0, b"two");
        // Deleted by another session: it comes back with the newest data.
        b.delete().at(&path).await.unwrap();
        let again = eventually("recreated", || async {
            let again = node.actual_path()?;
            (read(&b, &again).await?.0 == b"two").then_some(again)
        })
        .await;
        assert_eq!(mode.is_sequential(), again != path, "{mode:?}: {again}");
        node.close().await.unwrap();
        assert!(
            read(&b, &again).await.is_none(),
            "{mode:?}: deleted on close"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ttl_node_is_kept_while_touched_then_expires() {
    // The TTL and container reaper runs every 100 ms here (default: every minute).
    let options = ServerOptions {
        jvm_args: vec!["-Dznode.container.checkIntervalMs=100".into()],
        ..ServerOptions::default()
    };
    let server = TestingServer::start_with(options).await.unwrap();
    let (a, b) = (
        client(&server.connect_string()).await,
        client(&server.connect_string()).await,
    );
    let ttl = Duration::from_secs(2);
    let path = "/real/ttl/me";
    let options = TtlOptions::new(ttl).data(b"alive".to_vec());
    let node = PersistentTtlNode::start(&a, path, options).await.unwrap();
    assert!(node.await_initial_create(WAIT).await.unwrap());
    // Several TTLs later the node and its touched child are still there.
    tokio::time::sleep(ttl * 3).await;
    assert_eq!(read(&b, path).await.unwrap().0, b"alive");
    let (children, _, _) = b.get_children().at(path).await.unwrap();
    assert_eq!(children, vec!["touch".to_string()]);
    assert!(matches!(node.state(), NodeState::Present { .. }));
    node.close().await.unwrap();
    // Untouched, the child expires, then the container is reaped.
    eventually("reaped after close", || async {
        read(&b, path).await.is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_survives_the_loss_of_a_cluster_member() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    let (a, b) = (
        client(&cluster.connect_string()).await,
        client(&cluster.connect_string()).await,
    );
    let group = "/real/group";
    let join = |id: &str| GroupOptions::default().id(id).data(id.as_bytes().to_vec());
    let ma = GroupMember::start(&a, group, join("a")).await.unwrap();
    let mb = GroupMember::start(&b, group, join("b")).await.unwrap();
    let both = |x: &str, y: &str| {
        [("a", x), ("b", y)]
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let want = both("a", "b");
    eventually("both see both", || async {
        (ma.current_members() == want && mb.current_members() == want).then_some(())
    })
    .await;
    let member = cluster
        .member_serving(a.session_id())
        .await
        .expect("a's member");
    cluster.kill(member);
    // a's session moves to another member; its new payload is seen by both.
    ma.set_data(b"a2".to_vec()).await.unwrap();
    let want = both("a2", "b");
    eventually("both see a's new payload", || async {
        (ma.current_members() == want && mb.current_members() == want).then_some(())
    })
    .await;
    ma.close().await.unwrap();
    let (left, _, _) = b.get_children().at(group).await.unwrap();
    assert_eq!(left, vec!["b".to_string()]);
    mb.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ephemeral_node_comes_back_after_its_session_expired() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;
    let path = "/real/nodes/expiring";
    let options = NodeOptions::default()
        .mode(CreateMode::Ephemeral)
        .data(b"before".to_vec());
    let node = Arc::new(PersistentNode::start(&behind, path, options).await.unwrap());
    assert!(node.await_initial_create(WAIT).await.unwrap());
    let old_session = behind.session_id();
    proxy.cut();
    // The session expires: the ensemble deletes the node.
    eventually("the node goes with the session", || async {
        read(&other, path).await.is_none().then_some(())
    })
    .await;
    // New data while cut off: written once the node is back.
    let n = node.clone();
    let set = tokio::spawn(async move { n.set_data(b"after".to_vec()).await });
    proxy.heal();
    tokio::time::timeout(WAIT, set)
        .await
        .expect("written after healing")
        .unwrap()
        .unwrap();
    let (data, owner) = eventually("recreated", || read(&other, path)).await;
    assert_eq!(data, b"after");
    assert_ne!(owner, old_session);
    assert_eq!(owner, behind.session_id(), "owned by the new session");
    Arc::try_unwrap(node).unwrap().close().await.unwrap();
    assert!(read(&other, path).await.is_none());
}
