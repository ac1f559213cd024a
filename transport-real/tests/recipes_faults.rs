//! Election and lock recipes under real faults: a partition through the chaos proxy (short:
//! suspended then back; long: the session expires and another participant takes over) and a
//! 3-server cluster losing the member a leader is connected to.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::fencing;
use docent::recipes::latch::{LatchEvent, LatchOptions, LeaderLatch};
use docent::recipes::lock::{LockEvent, Mutex, MutexOptions};
use docent::{Client, MultiOp};
use docent_zk::testing::{ChaosProxy, TestingCluster};
use futures::StreamExt;

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

/// Waits up to `limit` for `f` to hold.
async fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = tokio::time::Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

async fn next_latch_event(
    events: &mut (impl futures::Stream<Item = LatchEvent> + Unpin),
) -> LatchEvent {
    tokio::time::timeout(Duration::from_secs(15), events.next())
        .await
        .expect("an event within 15 s")
        .expect("the latch is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_latch_leader_steps_down_and_is_replaced_only_after_expiry() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;

    let id = |id: &str| LatchOptions::default().id(id);
    let a = LeaderLatch::start(&behind, "/faults/latch", id("a"))
        .await
        .unwrap();
    let token_a = a.await_leadership().await.unwrap().token();
    let b = LeaderLatch::start(&other, "/faults/latch", id("b"))
        .await
        .unwrap();
    let mut a_events = a.events();
    let mut b_events = b.events();
    // a's stream starts with the snapshot: it leads.
    assert_eq!(
        next_latch_event(&mut a_events).await,
        LatchEvent::IsLeader { token: token_a }
    );

    // A short cut: a is suspended (not leader), then leads again with the same node.
    proxy.cut();
    assert_eq!(next_latch_event(&mut a_events).await, LatchEvent::NotLeader);
    proxy.heal();
    assert_eq!(
        next_latch_event(&mut a_events).await,
        LatchEvent::IsLeader { token: token_a }
    );
    assert!(!b.has_leadership());

    // A cut longer than the session: a steps down first; b leads once the session expired.
    proxy.cut();
    assert_eq!(next_latch_event(&mut a_events).await, LatchEvent::NotLeader);
    let LatchEvent::IsLeader { token: token_b } = next_latch_event(&mut b_events).await else {
        panic!("b should lead");
    };
    assert!(!a.has_leadership(), "a must not lead while b does");
    assert!(
        token_b > token_a,
        "fencing tokens rise: {token_b} after {token_a}"
    );
    proxy.heal();
    // a comes back with a new session and queues behind b.
    let mut rejoined = false;
    for _ in 0..100 {
        if a.participants().await.is_ok_and(|p| p.len() == 2) {
            rejoined = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rejoined, "a rejoins the election with its new session");
    assert!(!a.has_leadership() && b.has_leadership());
    b.close().await.unwrap();
    let LatchEvent::IsLeader { token } = next_latch_event(&mut a_events).await else {
        panic!("a should lead after b leaves");
    };
    assert!(token > token_b);
    a.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_lock_holder_is_fenced_out() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;
    other.create().parents().at("/faults/data").await.ok();

    let options = MutexOptions::default;
    let stale = Mutex::start(&behind, "/faults/mutex", options())
        .await
        .unwrap();
    let first = stale.acquire().await.unwrap();
    let mut events = stale.events();
    // The stream starts with the snapshot: the lock is held.
    let Some(LockEvent::Acquired(lease)) = events.next().await else {
        panic!("no snapshot of the held lock");
    };
    assert_eq!(lease.token, first.token());
    let fresh = Mutex::start(&other, "/faults/mutex", options())
        .await
        .unwrap();

    proxy.cut();
    let second = tokio::time::timeout(Duration::from_secs(15), fresh.acquire())
        .await
        .expect("the other client acquires once the holder's session expired")
        .unwrap();
    assert!(second.token() > first.token());
    let seen = tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(seen, LockEvent::Suspended | LockEvent::Lost),
        "{seen:?}"
    );
    assert!(!stale.is_held());

    // The stale holder's guarded write, made with its old node, is refused.
    proxy.heal();
    let write = vec![MultiOp::SetData {
        path: "/faults/data".into(),
        data: b"stale".to_vec(),
        version: None,
    }];
    // Until the stale client has its new session, writes fail with SessionExpired (also a
    // refusal, but not the one we are after).
    let mut refused = Err(docent::Error::SessionExpired);
    for _ in 0..100 {
        refused = fencing::guarded_on(&behind, first.node(), write.clone()).await;
        if !refused.as_ref().is_err_and(docent::Error::is_retryable) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        refused.as_ref().is_err_and(fencing::is_fenced_out),
        "{refused:?}"
    );
    second.guarded(write).await.unwrap();
    second.release().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_survives_the_loss_of_its_cluster_member() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    let clients = [
        client(&cluster.member_connect_string(0).unwrap()).await,
        client(&cluster.member_connect_string(1).unwrap()).await,
        client(&cluster.connect_string()).await,
    ];
    let mut latches = Vec::new();
    for (i, c) in clients.iter().enumerate() {
        let options = LatchOptions::default().id(format!("p{i}"));
        latches.push(
            LeaderLatch::start(c, "/faults/cluster", options)
                .await
                .unwrap(),
        );
    }
    let leaders = || latches.iter().filter(|l| l.has_leadership()).count();
    assert!(eventually(Duration::from_secs(10), || leaders() == 1).await);
    let leader = latches.iter().position(|l| l.has_leadership()).unwrap();
    let member = cluster
        .member_serving(clients[leader].session_id())
        .await
        .expect("the leader's member");
    cluster.kill(member);
    // The session moves to another member; afterwards exactly one leads again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(eventually(Duration::from_secs(20), || leaders() == 1).await);
    for latch in latches {
        // A client whose member died may not finish deleting its node within a session
        // timeout: close says so (the delete goes on in the background).
        let closed = latch.close().await;
        assert!(
            matches!(closed, Ok(()) | Err(docent::Error::Timeout)),
            "{closed:?}"
        );
    }
}
