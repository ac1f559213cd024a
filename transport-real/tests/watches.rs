//! One-shot, persistent and recursive watches against a real ZooKeeper.

mod common;

use std::time::Duration;

use common::*;
use docent::{AddWatchMode, Coordinator, CreateMode, EventType, Op, Watch, WatchedEvent};
use futures::stream::{BoxStream, StreamExt};

const LIMIT: Duration = Duration::from_secs(10);

fn event(kind: EventType, path: &str) -> WatchedEvent {
    WatchedEvent {
        kind,
        path: path.into(),
    }
}

fn persistent(reply: docent::Reply) -> BoxStream<'static, WatchedEvent> {
    match reply.watch {
        Some(Watch::Persistent(stream)) => stream,
        other => panic!("expected a persistent watch, got {other:?}"),
    }
}

async fn next(stream: &mut BoxStream<'static, WatchedEvent>) -> WatchedEvent {
    within(LIMIT, stream.next()).await.expect("stream ended")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_shot_watches_fire_once() {
    let server = shared_server().await;
    let zk = connect(server.connect_string()).await;
    let other = connect(server.connect_string()).await;
    create(&zk, "/w1", b"", CreateMode::Persistent)
        .await
        .unwrap();

    let data = one_shot(
        zk.submit(Op::GetData {
            path: "/w1".into(),
            watch: true,
        })
        .await
        .unwrap(),
    );
    let kids = one_shot(
        zk.submit(Op::GetChildren {
            path: "/w1".into(),
            watch: true,
        })
        .await
        .unwrap(),
    );
    let absent = one_shot(
        zk.submit(Op::Exists {
            path: "/w1/later".into(),
            watch: true,
        })
        .await
        .unwrap(),
    );
    let plain = zk
        .submit(Op::GetData {
            path: "/w1".into(),
            watch: false,
        })
        .await
        .unwrap();
    assert!(plain.watch.is_none());

    run(
        &other,
        Op::SetData {
            path: "/w1".into(),
            data: b"x".to_vec(),
            version: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        within(LIMIT, data).await,
        event(EventType::NodeDataChanged, "/w1")
    );
    create(&other, "/w1/later", b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        within(LIMIT, absent).await,
        event(EventType::NodeCreated, "/w1/later")
    );
    assert_eq!(
        within(LIMIT, kids).await,
        event(EventType::NodeChildrenChanged, "/w1")
    );

    let deleted = one_shot(
        zk.submit(Op::Exists {
            path: "/w1/later".into(),
            watch: true,
        })
        .await
        .unwrap(),
    );
    run(
        &other,
        Op::Delete {
            path: "/w1/later".into(),
            version: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        within(LIMIT, deleted).await,
        event(EventType::NodeDeleted, "/w1/later")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_watch_sees_every_change_of_the_node() {
    let server = shared_server().await;
    let zk = connect(server.connect_string()).await;
    create(&zk, "/w2", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let mut events = persistent(
        zk.submit(Op::AddWatch {
            path: "/w2".into(),
            mode: AddWatchMode::Persistent,
        })
        .await
        .unwrap(),
    );
    for i in 0..3u8 {
        run(
            &zk,
            Op::SetData {
                path: "/w2".into(),
                data: vec![i],
                version: None,
            },
        )
        .await
        .unwrap();
    }
    create(&zk, "/w2/child", b"", CreateMode::Persistent)
        .await
        .unwrap();
    run(
        &zk,
        Op::SetData {
            path: "/w2/child".into(),
            data: vec![1],
            version: None,
        },
    )
    .await
    .unwrap();
    run(
        &zk,
        Op::Delete {
            path: "/w2/child".into(),
            version: None,
        },
    )
    .await
    .unwrap();
    run(
        &zk,
        Op::Delete {
            path: "/w2".into(),
            version: None,
        },
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        seen.push(next(&mut events).await);
    }
    assert_eq!(
        seen,
        vec![
            event(EventType::NodeDataChanged, "/w2"),
            event(EventType::NodeDataChanged, "/w2"),
            event(EventType::NodeDataChanged, "/w2"),
            event(EventType::NodeChildrenChanged, "/w2"),
            event(EventType::NodeChildrenChanged, "/w2"),
            event(EventType::NodeDeleted, "/w2"),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recursive_watch_sees_the_whole_subtree() {
    let server = shared_server().await;
    let zk = connect(server.connect_string()).await;
    create(&zk, "/w3", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let mut events = persistent(
        zk.submit(Op::AddWatch {
            path: "/w3".into(),
            mode: AddWatchMode::PersistentRecursive,
        })
        .await
        .unwrap(),
    );
    create(&zk, "/w3/a", b"", CreateMode::Persistent)
        .await
        .unwrap();
    create(&zk, "/w3/a/b", b"", CreateMode::Persistent)
        .await
        .unwrap();
    run(
        &zk,
        Op::SetData {
            path: "/w3/a/b".into(),
            data: vec![1],
            version: None,
        },
    )
    .await
    .unwrap();
    run(
        &zk,
        Op::Delete {
            path: "/w3/a/b".into(),
            version: None,
        },
    )
    .await
    .unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(next(&mut events).await);
    }
    // Recursive watches report no child events, only what happens to each node.
    assert_eq!(
        seen,
        vec![
            event(EventType::NodeCreated, "/w3/a"),
            event(EventType::NodeCreated, "/w3/a/b"),
            event(EventType::NodeDataChanged, "/w3/a/b"),
            event(EventType::NodeDeleted, "/w3/a/b"),
        ]
    );
}
