//! The caches against a real ZooKeeper: each cache follows writes; a children cache behind a
//! cut connection reports a child deleted and re-created while it was away (by czxid), and
//! fills once the connection is back.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::cache::{
    ChildrenEvent, ChildrenOptions, NodeCache, NodeEvent, PathChildrenCache, StartMode, TreeCache,
    TreeEvent, TreeOptions,
};
use docent::Client;
use docent_zk::testing::ChaosProxy;
use futures::{Stream, StreamExt};

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

async fn next<E>(events: &mut (impl Stream<Item = E> + Unpin)) -> E {
    tokio::time::timeout(Duration::from_secs(15), events.next())
        .await
        .expect("an event within 15 s")
        .expect("the cache is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_and_tree_caches_follow_writes() {
    let server = shared_server().await;
    let writer = client(&server.connect_string()).await;
    let reader = client(&server.connect_string()).await;

    let node = NodeCache::start(&reader, "/caches/node").unwrap();
    node.await_initialized().await.unwrap();
    let mut node_events = node.events();
    writer
        .create()
        .parents()
        .data(b"v1".to_vec())
        .at("/caches/node")
        .await
        .unwrap();
    match next(&mut node_events).await {
        NodeEvent::Created(d) => assert_eq!(d.data.as_deref(), Some(&b"v1"[..])),
        other => panic!("{other:?}"),
    }

    writer
        .create()
        .parents()
        .at("/caches/tree/a/b")
        .await
        .unwrap();
    let tree = TreeCache::start(&reader, "/caches/tree", TreeOptions::default()).unwrap();
    tree.await_initialized().await.unwrap();
    assert!(tree.current_data("/caches/tree/a/b").is_some());
    let mut tree_events = tree.events();
    writer
        .set_data()
        .at("/caches/tree/a", b"x".to_vec())
        .await
        .unwrap();
    match next(&mut tree_events).await {
        TreeEvent::NodeChanged(d) => {
            assert_eq!(
                (d.path.as_str(), d.data.as_deref()),
                ("/caches/tree/a", Some(&b"x"[..]))
            )
        }
        other => panic!("{other:?}"),
    }
    writer.delete().at("/caches/tree/a/b").await.unwrap();
    match next(&mut tree_events).await {
        TreeEvent::NodeDeleted(d) => assert_eq!(d.path, "/caches/tree/a/b"),
        other => panic!("{other:?}"),
    }
    node.close().await;
    tree.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_cache_sees_a_recreate_made_while_it_was_cut_off() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let writer = client(&server.connect_string()).await;
    let reader = client(&proxy.connect_string()).await;
    for name in ["a", "b"] {
        writer
            .create()
            .parents()
            .data(name.as_bytes().to_vec())
            .at(&format!("/caches/children/{name}"))
            .await
            .unwrap();
    }
    let cache = PathChildrenCache::start(
        &reader,
        "/caches/children",
        ChildrenOptions::default().mode(StartMode::BuildInitial),
    )
    .await
    .unwrap();
    assert_eq!(cache.snapshot().len(), 2);
    let before = cache.current_data("a").unwrap().stat.czxid;
    let mut events = cache.events();

    // While the reader is cut off: a is deleted and created again with the same data.
    proxy.cut();
    assert_eq!(next(&mut events).await, ChildrenEvent::ConnectionSuspended);
    writer.delete().at("/caches/children/a").await.unwrap();
    writer
        .create()
        .data(b"a".to_vec())
        .at("/caches/children/a")
        .await
        .unwrap();
    writer
        .create()
        .data(b"c".to_vec())
        .at("/caches/children/c")
        .await
        .unwrap();
    proxy.heal();

    let mut seen = Vec::new();
    while cache.current_data("c").is_none()
        || cache
            .current_data("a")
            .is_none_or(|d| d.stat.czxid == before)
    {
        seen.push(next(&mut events).await);
    }
    assert!(
        seen.contains(&ChildrenEvent::ConnectionReconnected),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|e| matches!(e, ChildrenEvent::ChildRemoved(d) if d.path.ends_with("/a"))),
        "the re-create is reported as a removal and an addition: {seen:?}"
    );
    assert!(cache.current_data("a").unwrap().stat.czxid > before);
    assert_eq!(cache.snapshot().len(), 3);
    cache.close().await;
}
