//! Partitions, session expiry, server crashes and cluster member loss, made with real servers
//! and the chaos proxy.

mod common;

use std::time::Duration;

use common::*;
use docent::{Coordinator, CreateMode, Error, EventType, Op, SessionState};
use docent_zk::testing::{ChaosProxy, TestingCluster, TestingServer};
use docent_zk::ZkCoordinator;

const SESSION: Duration = Duration::from_secs(4);

fn is_connected(state: &SessionState) -> bool {
    matches!(state, SessionState::Connected { .. })
}

fn connected_id(state: &SessionState) -> i64 {
    match state {
        SessionState::Connected { session_id, .. } => *session_id,
        other => panic!("not connected: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_cut_disconnects_and_reconnects_the_same_session() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let zk = connect(proxy.connect_string()).await;
    let id = zk.session_id();
    let mut states = zk.session_states();
    assert_eq!(
        connected_id(&states_until(&mut states, SESSION, |_| true).await[0]),
        id
    );
    create(&zk, "/cut-eph", b"", CreateMode::Ephemeral)
        .await
        .unwrap();

    proxy.cut();
    assert_eq!(
        states_until(&mut states, SESSION, |s| *s == SessionState::Disconnected).await,
        vec![SessionState::Disconnected]
    );
    tokio::time::sleep(SESSION / 4).await;
    proxy.heal();
    let seen = states_until(&mut states, SESSION * 2, is_connected).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(connected_id(&seen[0]), id);
    assert!(exists(&zk, "/cut-eph").await);

    // A delayed link is slow, not broken.
    proxy.delay(Duration::from_millis(30));
    assert!(exists(&zk, "/cut-eph").await);
    proxy.heal();
    assert_eq!(zk.session_id(), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_blackhole_keeps_the_session() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let zk = connect(proxy.connect_string()).await;
    let id = zk.session_id();
    let mut states = zk.session_states();
    states_until(&mut states, SESSION, |_| true).await;

    proxy.blackhole();
    let submitted = zk.submit(Op::Exists {
        path: "/".into(),
        watch: false,
    });
    assert_eq!(
        states_until(&mut states, SESSION, |s| *s == SessionState::Disconnected).await,
        vec![SessionState::Disconnected]
    );
    // The request was on the dead connection: its outcome is unknown.
    assert_eq!(
        within(SESSION, submitted).await.map(|r| r.result),
        Err(Error::ConnectionLoss)
    );
    proxy.heal();
    let seen = states_until(&mut states, SESSION * 2, is_connected).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(connected_id(&seen[0]), id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_cut_expires_the_session_and_a_new_one_opens() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let zk = ZkCoordinator::connect(
        options(proxy.connect_string())
            .with_session_timeout(Duration::from_secs(2))
            .with_connection_timeout(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let old = zk.session_id();
    let observer = connect(server.connect_string()).await;
    create(&zk, "/expiring", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let watch = one_shot(
        zk.submit(Op::Exists {
            path: "/expiring-watch".into(),
            watch: true,
        })
        .await
        .unwrap(),
    );
    let mut states = zk.session_states();
    states_until(&mut states, SESSION, |_| true).await;

    proxy.cut();
    let seen = states_until(&mut states, SESSION * 3, |s| *s == SessionState::Expired).await;
    assert_eq!(
        seen,
        vec![SessionState::Disconnected, SessionState::Expired]
    );
    // While no session exists, every op fails the same way.
    assert_eq!(
        run(
            &zk,
            Op::Exists {
                path: "/".into(),
                watch: false
            }
        )
        .await,
        Err(Error::SessionExpired)
    );
    assert_eq!(
        within(SESSION, watch).await.kind,
        EventType::Session(SessionState::Expired)
    );
    // The ensemble dropped the old session's ephemeral.
    let gone = async {
        while exists(&observer, "/expiring").await {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    within(SESSION * 3, gone).await;

    proxy.heal();
    let seen = states_until(&mut states, SESSION * 3, is_connected).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    let new = connected_id(&seen[0]);
    assert_ne!(new, old);
    assert_eq!(zk.session_id(), new);
    create(&zk, "/expiring", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    match run(
        &observer,
        Op::Exists {
            path: "/expiring".into(),
            watch: false,
        },
    )
    .await
    {
        Ok(docent::OpResult::Exists(Some(stat))) => assert_eq!(stat.ephemeral_owner, new),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_restarted_server_keeps_the_session() {
    let mut server = TestingServer::start().await.unwrap();
    let zk = connect(server.connect_string()).await;
    let id = zk.session_id();
    create(&zk, "/survivor", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let mut states = zk.session_states();
    states_until(&mut states, SESSION, |_| true).await;
    let pid = server.pid().unwrap();

    server.kill();
    assert_eq!(server.pid(), None);
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still alive"
    );
    assert_eq!(
        states_until(&mut states, SESSION, |s| *s == SessionState::Disconnected).await,
        vec![SessionState::Disconnected]
    );
    server.restart().await.unwrap();
    let seen = states_until(&mut states, SESSION * 3, is_connected).await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(connected_id(&seen[0]), id);
    assert!(exists(&zk, "/survivor").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_member_loss_moves_the_session() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    assert_eq!(cluster.len(), 3);
    assert!(cluster.leader().await.is_some());
    let zk = connect(cluster.connect_string()).await;
    let id = zk.session_id();
    create(&zk, "/cluster-eph", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let mut states = zk.session_states();
    states_until(&mut states, SESSION, |_| true).await;

    let serving = cluster
        .member_serving(id)
        .await
        .expect("a member serves the session");
    cluster.kill(serving);
    assert_eq!(cluster.pid(serving), None);
    let seen = states_until(&mut states, SESSION * 3, is_connected).await;
    assert_eq!(seen.first(), Some(&SessionState::Disconnected), "{seen:?}");
    assert_eq!(connected_id(seen.last().unwrap()), id);
    assert!(exists(&zk, "/cluster-eph").await);
    let now_serving = cluster
        .member_serving(id)
        .await
        .expect("another member serves it");
    assert_ne!(now_serving, serving);
    create(&zk, "/cluster-after", b"", CreateMode::Persistent)
        .await
        .unwrap();

    cluster.restart(serving).await.unwrap();
    let member = connect(cluster.member_connect_string(serving).unwrap()).await;
    assert!(exists(&member, "/cluster-after").await);
}

/// `abandon_session` (what the framework does on LOST, as Curator injects an expiration): an
/// op in flight ends with ConnectionLoss, a watch with Expired, the states show Expired then a
/// new session, and the old session's ephemeral goes (closed once the link is back, or
/// expired).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_session_ends_its_work_and_a_new_session_opens() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let zk = connect(proxy.connect_string()).await;
    let observer = connect(server.connect_string()).await;
    create(&zk, "/abandon-eph", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let old = zk.session_id();
    let mut states = zk.session_states();
    states_until(&mut states, SESSION, is_connected).await;
    let watched = zk
        .submit(Op::GetData {
            path: "/abandon-eph".into(),
            watch: true,
        })
        .await
        .unwrap();
    let Some(docent::Watch::OneShot(watch)) = watched.watch else {
        panic!("no watch");
    };
    proxy.blackhole();
    let in_flight = zk.submit(Op::Exists {
        path: "/".into(),
        watch: false,
    });
    zk.abandon_session();
    let result = tokio::time::timeout(SESSION, in_flight)
        .await
        .expect("ends");
    assert_eq!(result.err(), Some(Error::ConnectionLoss));
    let event = tokio::time::timeout(SESSION, watch).await.expect("fires");
    assert_eq!(event.kind, EventType::Session(SessionState::Expired));
    proxy.heal();
    let seen = states_until(&mut states, SESSION * 2, is_connected).await;
    assert_eq!(seen[0], SessionState::Expired, "{seen:?}");
    let new = connected_id(seen.last().unwrap());
    assert!(new != old && new == zk.session_id());
    create(&zk, "/abandon-new", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + SESSION * 3;
    while exists(&observer, "/abandon-eph").await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old ephemeral stays"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
