//! Read-only mode against a real 3-server cluster whose members run with
//! `readonlymode.enabled` (and local sessions, which ZooKeeper 3.7+ needs for it): when two
//! members die, the survivor serves reads, a client that allows read-only servers reaches
//! READ_ONLY, reads work and writes fail with `NotReadOnly`; when the quorum is back the client
//! gets a read-write session again.

use std::sync::Arc;
use std::time::Duration;

use docent::{Client, ConnectionState, CreateMode, Error, SessionState};
use docent_zk::testing::{ServerOptions, TestingCluster};
use docent_zk::{ZkCoordinator, ZkOptions};
use futures::{Stream, StreamExt};

/// Short sessions: a read-write session must expire before a read-only one can open.
const SESSION: Duration = Duration::from_secs(2);
/// Generous bounds for each step (they only matter when something is broken).
const STEP: Duration = Duration::from_secs(30);

fn options(connect_string: String) -> ZkOptions {
    ZkOptions::new(connect_string)
        .with_session_timeout(SESSION)
        .with_connection_timeout(Duration::from_secs(5))
        .with_read_only(true)
        .with_seed(7)
}

async fn client(zk: ZkCoordinator) -> Client {
    Client::builder(Arc::new(zk)).build().unwrap()
}

/// A read-only-capable cluster, its leader, and the member that will be left alone: a follower,
/// which notices at once that the leader died (a leader would wait for its sync limit).
async fn cluster() -> (TestingCluster, usize, usize) {
    let options = ServerOptions::default().with_read_only_mode(true);
    let cluster = TestingCluster::start_with(3, options).await.unwrap();
    let leader = cluster.leader().await.expect("a leader");
    (cluster, leader, (leader + 1) % 3)
}

/// Kills every member but `survivor` and waits until it serves read-only.
async fn lose_quorum(cluster: &mut TestingCluster, survivor: usize) {
    for i in 0..cluster.len() {
        if i != survivor {
            cluster.kill(i);
        }
    }
    let read_only = async {
        while cluster.mode(survivor).await.as_deref() != Some("read-only") {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(STEP, read_only)
        .await
        .expect("the survivor turns read-only");
}

/// The states on `states` up to the first `want` (included).
async fn states_until(
    states: &mut (impl Stream<Item = ConnectionState> + Unpin),
    want: ConnectionState,
) -> Vec<ConnectionState> {
    let mut seen = Vec::new();
    let wait = async {
        while let Some(state) = states.next().await {
            seen.push(state);
            if state == want {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(STEP, wait).await;
    seen
}

/// Reads succeed (the data written before the quorum was lost) and writes fail.
async fn reads_but_cannot_write(client: &Client) {
    let (data, _, _) = client.get_data().at("/ro").await.unwrap();
    assert_eq!(data, b"before");
    let (children, _, _) = client.get_children().at("/ro").await.unwrap();
    assert_eq!(children, vec!["child".to_owned()]);
    assert!(client.exists().at("/ro/child").await.unwrap().0.is_some());
    assert!(client.exists().at("/ro/missing").await.unwrap().0.is_none());

    assert_eq!(
        client.create().at("/ro/during").await,
        Err(Error::NotReadOnly)
    );
    assert_eq!(
        client.set_data().at("/ro", b"during".to_vec()).await,
        Err(Error::NotReadOnly)
    );
    assert_eq!(
        client.delete().at("/ro/child").await,
        Err(Error::NotReadOnly)
    );
}

/// Writes succeed, and an ephemeral node is owned by the session the client reports.
async fn writes_again(client: &Client, path: &str) {
    client
        .set_data()
        .at("/ro", b"after".to_vec())
        .await
        .unwrap();
    client
        .create()
        .mode(CreateMode::Ephemeral)
        .at(path)
        .await
        .unwrap();
    let (stat, _) = client.exists().at(path).await.unwrap();
    assert_eq!(stat.unwrap().ephemeral_owner, client.session_id());
}

async fn write_initial_data(client: &Client) {
    client
        .create()
        .data(b"before".to_vec())
        .at("/ro")
        .await
        .unwrap();
    client.create().at("/ro/child").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_loss_goes_read_only_and_back() {
    let (mut cluster, leader, survivor) = cluster().await;
    let zk = ZkCoordinator::connect(options(cluster.connect_string()))
        .await
        .unwrap();
    let client = client(zk).await;
    let mut states = client.connection_states();
    assert_eq!(
        states_until(&mut states, ConnectionState::Connected).await,
        vec![ConnectionState::Connected]
    );
    write_initial_data(&client).await;
    let read_write_session = client.session_id();

    // The read-write session cannot move to a read-only server: it is lost, then a read-only
    // session opens on the survivor.
    lose_quorum(&mut cluster, survivor).await;
    assert_eq!(
        states_until(&mut states, ConnectionState::ReadOnly).await,
        vec![
            ConnectionState::Suspended,
            ConnectionState::Lost,
            ConnectionState::ReadOnly
        ]
    );
    let read_only_session = client.session_id();
    assert_ne!(read_only_session, read_write_session);
    assert!(matches!(
        client.coordinator().session_states().next().await,
        Some(SessionState::Connected {
            read_only: true,
            ..
        })
    ));
    reads_but_cannot_write(&client).await;

    // With a quorum again the read-only session ends and a read-write one opens.
    cluster.restart(leader).await.unwrap();
    assert_eq!(
        states_until(&mut states, ConnectionState::Reconnected).await,
        vec![ConnectionState::Lost, ConnectionState::Reconnected]
    );
    assert_ne!(client.session_id(), read_only_session);
    writes_again(&client, "/ro/back").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_session_on_a_read_only_survivor() {
    let (mut cluster, leader, survivor) = cluster().await;
    let writer = client(
        ZkCoordinator::connect(options(cluster.connect_string()))
            .await
            .unwrap(),
    )
    .await;
    write_initial_data(&writer).await;
    writer.close().await.unwrap();

    lose_quorum(&mut cluster, survivor).await;
    // The survivor creates a session local to itself (a real id, not 0).
    let zk = ZkCoordinator::connect(options(cluster.connect_string()))
        .await
        .unwrap();
    let read_only_session = match zk.state() {
        SessionState::Connected {
            session_id,
            read_only: true,
            ..
        } => session_id,
        other => panic!("not connected read-only: {other:?}"),
    };
    assert_ne!(read_only_session, 0);
    let client = client(zk).await;
    let mut states = client.connection_states();
    assert_eq!(
        states_until(&mut states, ConnectionState::ReadOnly).await,
        vec![ConnectionState::ReadOnly]
    );
    reads_but_cannot_write(&client).await;

    cluster.restart(leader).await.unwrap();
    assert_eq!(
        states_until(&mut states, ConnectionState::Reconnected).await,
        vec![ConnectionState::Lost, ConnectionState::Reconnected]
    );
    assert_ne!(client.session_id(), read_only_session);
    writes_again(&client, "/ro/first").await;
}
