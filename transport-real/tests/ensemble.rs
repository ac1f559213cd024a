//! Ensemble providers against real ZooKeeper: a session follows a server list that changes
//! while it runs, keeping its session, its watches and its chroot.

mod common;

use std::time::Duration;

use common::*;
use docent::ensemble::{ConnectString, EnsembleProvider};
use docent::{Coordinator, CreateMode, EventType, Op, SessionState};
use docent_zk::testing::{ServerOptions, TestingCluster};
use docent_zk::ZkCoordinator;

const SESSION: Duration = Duration::from_secs(4);

fn connected_id(state: &SessionState) -> Option<i64> {
    match state {
        SessionState::Connected { session_id, .. } => Some(*session_id),
        _ => None,
    }
}

fn servers(cluster: &TestingCluster, members: &[usize]) -> Vec<(String, u16)> {
    members
        .iter()
        .map(|&i| {
            let cs = ConnectString::parse(&cluster.member_connect_string(i).unwrap()).unwrap();
            cs.hosts()[0].clone()
        })
        .collect()
}

fn sorted_servers(cluster: &TestingCluster, members: &[usize]) -> Vec<(String, u16)> {
    let mut servers = servers(cluster, members);
    servers.sort();
    servers
}

/// A client that starts knowing only `members` of `cluster`, under `chroot`.
async fn client_on(
    cluster: &TestingCluster,
    members: &[usize],
    chroot: &str,
) -> (ZkCoordinator, EnsembleProvider) {
    let first = ConnectString::parse(&format!(
        "{}{chroot}",
        cluster.member_connect_string(members[0]).unwrap()
    ))
    .unwrap();
    let provider = EnsembleProvider::polled(&first.with_hosts(servers(cluster, members)).unwrap());
    let zk =
        ZkCoordinator::connect(options(first.to_string()).with_ensemble_provider(provider.clone()))
            .await
            .expect("connect");
    (zk, provider)
}

/// The server list grows while the client runs; its only original server dies; the same session
/// carries on at another member, with its ephemeral, its chroot and a watch set before the move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_follows_its_provider_to_servers_learned_later() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    let admin = connect(cluster.connect_string()).await;
    create(&admin, "/app", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let (zk, provider) = client_on(&cluster, &[0], "/app").await;
    let id = zk.session_id();
    assert_eq!(cluster.member_serving(id).await, Some(0));
    create(&zk, "/eph", b"mine", CreateMode::Ephemeral)
        .await
        .unwrap();
    create(&zk, "/watched", b"v1", CreateMode::Persistent)
        .await
        .unwrap();
    let reply = zk
        .submit(Op::GetData {
            path: "/watched".into(),
            watch: true,
        })
        .await
        .unwrap();
    let fired = one_shot(reply);
    let mut states = zk.session_states();
    states_until(&mut states, SESSION, |_| true).await;

    provider.set(servers(&cluster, &[0, 1, 2])).unwrap();
    // Still listed: the session stays where it is.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cluster.member_serving(id).await, Some(0));

    cluster.kill(0);
    let seen = states_until(&mut states, SESSION * 3, |s| connected_id(s).is_some()).await;
    assert!(
        !seen.contains(&SessionState::Expired),
        "a move alone never loses the session: {seen:?}"
    );
    assert_eq!(seen.last().and_then(connected_id), Some(id), "{seen:?}");
    let serving = cluster
        .member_serving(id)
        .await
        .expect("a member serves it");
    assert!(serving == 1 || serving == 2, "{serving}");

    // The ephemeral is still there, under the chroot, with its data.
    assert_eq!(get_data(&admin, "/app/eph").await.unwrap(), b"mine");
    assert_eq!(get_data(&zk, "/eph").await.unwrap(), b"mine");
    // The watch set before the move fires for a change made after it.
    admin
        .submit(Op::SetData {
            path: "/app/watched".into(),
            data: b"v2".to_vec(),
            version: None,
        })
        .await
        .unwrap();
    let event = tokio::time::timeout(SESSION, fired)
        .await
        .expect("watch fired");
    assert_eq!(event.kind, EventType::NodeDataChanged);
    assert_eq!(event.path, "/watched");
    assert_eq!(get_data(&zk, "/watched").await.unwrap(), b"v2");
}

/// The server the session is on leaves the list: the session moves to a listed server at once,
/// keeping its id (ZooKeeper's `updateServerList`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_leaves_a_server_dropped_from_the_list() {
    let cluster = TestingCluster::start(3).await.unwrap();
    let (zk, provider) = client_on(&cluster, &[0], "").await;
    let id = zk.session_id();
    create(&zk, "/moving", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    let mut states = zk.session_states();
    states_until(&mut states, SESSION, |_| true).await;

    provider.set(servers(&cluster, &[1, 2])).unwrap();
    let seen = states_until(&mut states, SESSION * 2, |s| connected_id(s).is_some()).await;
    assert_eq!(seen.last().and_then(connected_id), Some(id), "{seen:?}");
    let serving = cluster
        .member_serving(id)
        .await
        .expect("a member serves it");
    assert!(serving == 1 || serving == 2, "{serving}");
    assert!(exists(&zk, "/moving").await);
    // Its writes go through at the new server.
    create(&zk, "/after-move", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let other = connect(cluster.member_connect_string(0).unwrap()).await;
    assert!(exists(&other, "/after-move").await);
    assert!(exists(&other, "/moving").await);
}

/// A bad list from a provider changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_server_list_is_refused_and_the_session_stays() {
    let cluster = TestingCluster::start(1).await.unwrap();
    let (zk, provider) = client_on(&cluster, &[0], "").await;
    let id = zk.session_id();
    assert!(provider.set(vec![]).is_err());
    assert!(provider.set(vec![("bad host".into(), 1)]).is_err());
    assert_eq!(provider.servers(), servers(&cluster, &[0]));
    create(&zk, "/still", b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(zk.session_id(), id);
}

/// The ensemble tracker on a reconfigurable ensemble: the client starts knowing one member,
/// learns the others from `/zookeeper/config`, follows a growth from 3 to 5 servers, and when
/// the server it is on is removed its session moves, with its chroot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracker_follows_reconfiguration_and_the_session_survives_its_server_leaving() {
    let server = ServerOptions {
        reconfig: true,
        ..ServerOptions::default()
    };
    let mut cluster = TestingCluster::start_with(3, server).await.unwrap();
    let admin = connect(cluster.connect_string()).await;
    create(&admin, "/tracked", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let first = format!("{}/tracked", cluster.member_connect_string(0).unwrap());
    let zk = ZkCoordinator::connect(options(first).with_ensemble_tracker(true))
        .await
        .expect("connect");
    let id = zk.session_id();
    let provider = zk.ensemble_provider();
    let mut changes = provider.watch();
    let sorted = |s: &Vec<(String, u16)>| {
        let mut s = s.clone();
        s.sort();
        s
    };
    let three = sorted_servers(&cluster, &[0, 1, 2]);
    tokio::time::timeout(SESSION * 2, changes.wait_for(|s| sorted(s) == three))
        .await
        .expect("the tracker reads the ensemble's configuration")
        .unwrap();

    let fourth = cluster.add_member().await.unwrap();
    let fifth = cluster.add_member().await.unwrap();
    cluster.reconfigure(&[fourth, fifth], &[]).await.unwrap();
    let five = sorted_servers(&cluster, &[0, 1, 2, 3, 4]);
    tokio::time::timeout(SESSION * 2, changes.wait_for(|s| sorted(s) == five))
        .await
        .expect("the tracker follows the growth to five")
        .unwrap();

    create(&zk, "/mine", b"kept", CreateMode::Ephemeral)
        .await
        .unwrap();
    let mut states = zk.session_states();
    states_until(&mut states, SESSION, |_| true).await;
    let serving = cluster
        .member_serving(id)
        .await
        .expect("a member serves it");
    cluster.reconfigure(&[], &[serving]).await.unwrap();
    let rest: Vec<usize> = (0..5).filter(|&i| i != serving).collect();
    let four = sorted_servers(&cluster, &rest);
    tokio::time::timeout(SESSION * 2, changes.wait_for(|s| sorted(s) == four))
        .await
        .expect("the tracker follows the removal")
        .unwrap();
    // Wait (bounded) for the session to be served by a member still in the ensemble.
    let deadline = tokio::time::Instant::now() + SESSION * 3;
    let now_serving = loop {
        match cluster.member_serving(id).await {
            Some(i) if i != serving => break i,
            _ if tokio::time::Instant::now() > deadline => panic!("the session did not move"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    assert!(rest.contains(&now_serving));
    assert_eq!(zk.session_id(), id, "the same session");
    let seen = states_until(&mut states, Duration::from_millis(200), |_| false).await;
    assert!(!seen.contains(&SessionState::Expired), "{seen:?}");
    // The chroot is intact: writes land under /tracked, the ephemeral is still there.
    create(&zk, "/after", b"", CreateMode::Persistent)
        .await
        .unwrap();
    assert!(exists(&admin, "/tracked/after").await);
    assert_eq!(get_data(&admin, "/tracked/mine").await.unwrap(), b"kept");
}
