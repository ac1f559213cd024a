//! The semaphores on real ZooKeeper: Curator's layout on a test server, a lease holder cut
//! off through the chaos proxy (its session expires, another takes the lease, the stale
//! holder is fenced out), and a 3-server cluster losing the member a holder is connected to.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::semaphore::{
    Semaphore, SemaphoreMutex, SemaphoreMutexOptions, SemaphoreOptions,
};
use docent::{Client, MultiOp};
use docent_zk::testing::{ChaosProxy, TestingCluster};

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_leases_curators_layout_and_handover() {
    let server = shared_server().await;
    let (a, b) = (
        client(&server.connect_string()).await,
        client(&server.connect_string()).await,
    );
    let path = "/real/semaphore";
    let sa = Semaphore::start(&a, path, SemaphoreOptions::max_leases(2))
        .await
        .unwrap();
    let sb = Semaphore::start(&b, path, SemaphoreOptions::max_leases(2))
        .await
        .unwrap();
    let two = sa.acquire_many(2).await.unwrap();
    for lease in &two {
        let name = lease
            .node()
            .strip_prefix("/real/semaphore/leases/_c_")
            .unwrap();
        assert!(name.contains("-lease-"), "{name}");
    }
    assert_eq!(sb.participant_nodes().await.unwrap().len(), 2);
    // Full: b waits, and gets a lease as soon as one is given back.
    assert!(sb
        .try_acquire(Duration::from_millis(300))
        .await
        .unwrap()
        .is_none());
    let waiting = tokio::spawn(async move {
        let lease = sb.acquire().await.unwrap();
        (lease.token(), sb, lease)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let newest = two.iter().map(|l| l.token()).max().unwrap();
    let mut two = two.into_iter();
    two.next().unwrap().release().await.unwrap();
    let (token, sb, lease) = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    assert!(token > newest, "granted in creation order");
    // The creation mutex is not left behind. Its delete leaves with the grant (pipelined), so
    // another session may still list it for a moment: wait (bounded) until it is gone.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (locks, _, _) = a.get_children().at("/real/semaphore/locks").await.unwrap();
        if locks.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "left behind: {locks:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(lease);
    drop(two);
    sa.close().await.unwrap();
    sb.close().await.unwrap();
    let (leases, _, _) = a.get_children().at("/real/semaphore/leases").await.unwrap();
    assert!(leases.is_empty(), "{leases:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lease_holder_is_fenced_out() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;
    other.create().parents().at("/real/semdata").await.ok();
    let options = SemaphoreMutexOptions::default;
    let stale = SemaphoreMutex::start(&behind, "/real/semmutex", options())
        .await
        .unwrap();
    let fresh = SemaphoreMutex::start(&other, "/real/semmutex", options())
        .await
        .unwrap();
    let first = stale.acquire().await.unwrap();
    assert!(
        matches!(
            stale.acquire().await,
            Err(docent::Error::InvalidArgument(_))
        ),
        "not re-entrant"
    );
    let lost = first.lost();
    proxy.cut();
    let second = tokio::time::timeout(WAIT, fresh.acquire())
        .await
        .expect("the other acquires once the holder's session expired")
        .unwrap();
    assert!(second.token() > first.token());
    tokio::time::timeout(Duration::from_secs(5), lost)
        .await
        .expect("the stale guard learns it lost the lease");
    assert!(!stale.is_held());
    proxy.heal();
    let write = vec![MultiOp::SetData {
        path: "/real/semdata".into(),
        data: b"stale".to_vec(),
        version: None,
    }];
    assert!(first.guarded(write.clone()).await.is_err());
    second.guarded(write).await.unwrap();
    second.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_survives_the_loss_of_its_cluster_member() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    let a = client(&cluster.member_connect_string(0).unwrap()).await;
    let b = client(&cluster.connect_string()).await;
    let path = "/real/clustersem";
    let sa = Semaphore::start(&a, path, SemaphoreOptions::max_leases(1))
        .await
        .unwrap();
    let sb = Semaphore::start(&b, path, SemaphoreOptions::max_leases(1))
        .await
        .unwrap();
    let held = sa.acquire().await.unwrap();
    let member = cluster
        .member_serving(a.session_id())
        .await
        .expect("the holder's member");
    cluster.kill(member);
    // The holder's session moves to another member; its lease is given back there and b
    // takes it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = held.release().await;
    let lease = tokio::time::timeout(Duration::from_secs(30), sb.acquire())
        .await
        .expect("b acquires after the member's loss")
        .unwrap();
    lease.release().await.unwrap();
    sa.close().await.ok();
    sb.close().await.unwrap();
}
