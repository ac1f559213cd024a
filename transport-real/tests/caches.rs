//! The caches against a real ZooKeeper: each cache follows writes; a children cache behind a
//! cut connection reports a child deleted and re-created while it was away (by czxid), and
//! fills once the connection is back; a children cache loads 100,000 children.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::cache::{
    ChildrenEvent, ChildrenOptions, NodeCache, NodeEvent, PathChildrenCache, StartMode, TreeCache,
    TreeEvent, TreeOptions,
};
use docent::{Client, CreateMode};
use docent_zk::testing::ChaosProxy;
use futures::future::join_all;
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

    let node = NodeCache::start(&reader, "/caches/node").await.unwrap();
    node.await_initialized().await.unwrap();
    let mut node_events = node.events();
    // The snapshot first: no node yet, loaded.
    assert_eq!(next(&mut node_events).await, NodeEvent::Initialized);
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
    let tree = TreeCache::start(&reader, "/caches/tree", TreeOptions::default())
        .await
        .unwrap();
    tree.await_initialized().await.unwrap();
    assert!(tree.current_data("/caches/tree/a/b").is_some());
    let mut tree_events = tree.events();
    // The snapshot first: every cached node, parents first, then Initialized.
    for path in ["/caches/tree", "/caches/tree/a", "/caches/tree/a/b"] {
        match next(&mut tree_events).await {
            TreeEvent::NodeCreated(d) => assert_eq!(d.path, path),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(next(&mut tree_events).await, TreeEvent::Initialized);
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
    node.close().await.unwrap();
    tree.close().await.unwrap();
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
    // The snapshot first: both children, then the end of the initial load.
    for name in ["a", "b"] {
        match next(&mut events).await {
            ChildrenEvent::ChildAdded(d) => assert!(d.path.ends_with(name), "{d:?}"),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(next(&mut events).await, ChildrenEvent::Initialized);

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
    cache.close().await.unwrap();
}

/// CURATOR-690: a children cache loads 100,000 children and reports `Initialized`. The
/// children are made in 100 pipelined multis of 1,000 creates; their names are short (`0` to
/// `99999`), so that the listing (about 0.9 MB) stays under `jute.maxbuffer`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_cache_loads_a_large_fanout() {
    const PARENT: &str = "/caches/fanout";
    const CHILDREN: usize = 100_000;
    const BATCH: usize = 1_000;
    let server = shared_server().await;
    let writer = client(&server.connect_string()).await;
    let reader = client(&server.connect_string()).await;
    writer.create().parents().at(PARENT).await.unwrap();
    let started = std::time::Instant::now();
    let batches = (0..CHILDREN / BATCH).map(|b| {
        (b * BATCH..(b + 1) * BATCH)
            .fold(writer.transaction(), |t, i| {
                t.create(&format!("{PARENT}/{i}"), Vec::new(), CreateMode::Persistent)
            })
            .commit()
    });
    for result in join_all(batches).await {
        result.unwrap();
    }
    let made = started.elapsed();

    let options = ChildrenOptions::default().mode(StartMode::PostInitializedEvent);
    let cache = PathChildrenCache::start(&reader, PARENT, options)
        .await
        .unwrap();
    let mut events = cache.events();
    tokio::time::timeout(Duration::from_secs(60), cache.await_initialized())
        .await
        .expect("loaded within 60 s")
        .unwrap();
    let loaded = started.elapsed() - made;
    assert_eq!(cache.snapshot().len(), CHILDREN);
    // The Initialized event comes after every child's read, long after the subscription.
    let initialized = async {
        while let Some(event) = events.next().await {
            if event == ChildrenEvent::Initialized {
                return true;
            }
        }
        false
    };
    assert!(tokio::time::timeout(Duration::from_secs(15), initialized)
        .await
        .expect("the events within 15 s"));
    eprintln!("{CHILDREN} children made in {made:?}, loaded by a children cache in {loaded:?}");
    cache.close().await.unwrap();
}
