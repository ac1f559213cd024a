//! The counters on real ZooKeeper: `SharedCount` / `SharedValue` and the atomic counters on a
//! test server (Curator's byte formats, compare-and-set, corrupt data reported, promotion to
//! the lock), on a 3-server cluster losing a member, and cut off through the chaos proxy
//! (totals account for every acknowledged change, a shared count is read again on
//! reconnection).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::atomic::{
    AtomicInteger, AtomicLong, AtomicOptions, AtomicResult, AtomicStatus, AtomicValue,
    PromotedToLock,
};
use docent::recipes::shared::{SharedCount, SharedOptions, SharedState, SharedValue, Versioned};
use docent::{Client, Error, RetryPolicy};
use docent_zk::testing::{ChaosProxy, TestingCluster};

const WAIT: Duration = Duration::from_secs(20);

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

fn patient() -> AtomicOptions {
    AtomicOptions::default().retry(RetryPolicy::n_times(200, Duration::from_millis(10)))
}

/// Waits until `count` shows `want`.
async fn shows(count: &SharedCount, want: i32) -> Versioned<i32> {
    let mut states = count.watch_state();
    let state = within(
        WAIT,
        states.wait_for(|s| matches!(s, SharedState::Value(v) if v.value == want)),
    )
    .await
    .expect("the count's state");
    let SharedState::Value(v) = state else {
        unreachable!()
    };
    v
}

/// Counts `n` increments of `counter`: (applied, unknown).
async fn increments(counter: &AtomicLong, n: usize) -> (i64, i64) {
    let (mut applied, mut unknown) = (0, 0);
    for _ in 0..n {
        match counter.increment().await {
            Ok(AtomicResult {
                status: AtomicStatus::Succeeded,
                ..
            }) => applied += 1,
            Ok(AtomicResult {
                status: AtomicStatus::Unknown,
                ..
            }) => unknown += 1,
            _ => {}
        }
    }
    (applied, unknown)
}

async fn long_at(client: &Client, path: &str) -> i64 {
    let (data, _, _) = client.get_data().at(path).await.unwrap();
    i64::from_be_bytes(data.try_into().expect("8 bytes"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_count_and_value_on_a_test_server() {
    let server = shared_server().await;
    let (a, b) = (
        client(&server.connect_string()).await,
        client(&server.connect_string()).await,
    );
    let path = "/real/shared/count";
    let ca = SharedCount::start(&a, path, SharedOptions::seed(5))
        .await
        .unwrap();
    let cb = SharedCount::start(&b, path, SharedOptions::seed(99))
        .await
        .unwrap();
    let seen = cb.get().unwrap();
    assert_eq!(seen.value, 5, "the first seed wins");
    let (data, stat, _) = a.get_data().at(path).await.unwrap();
    assert_eq!(
        (data, stat.version),
        (5i32.to_be_bytes().to_vec(), seen.version)
    );
    assert!(ca.try_set(&ca.get().unwrap(), 6).await.unwrap());
    let now = shows(&cb, 6).await;
    assert_eq!(now.version, seen.version + 1);
    assert!(!cb.try_set(&seen, 7).await.unwrap(), "stale version");
    cb.set(8).await.unwrap();
    shows(&ca, 8).await;
    // Three bytes are no count: shown as corrupt, never misread; a set repairs it.
    a.set_data().at(path, vec![1, 2, 3]).await.unwrap();
    let mut states = cb.watch_state();
    within(
        WAIT,
        states.wait_for(|s| matches!(s, SharedState::Corrupt { .. })),
    )
    .await
    .unwrap();
    assert!(matches!(cb.get(), Err(Error::CorruptData { .. })));
    cb.set(9).await.unwrap();
    shows(&ca, 9).await;
    // A SharedValue: raw bytes.
    let va = SharedValue::start(
        &a,
        "/real/shared/value",
        SharedOptions::seed(b"v1".to_vec()),
    )
    .await
    .unwrap();
    let seen = va.get().unwrap();
    assert!(va.try_set(&seen, b"v2".to_vec()).await.unwrap());
    let (data, _, _) = b.get_data().at("/real/shared/value").await.unwrap();
    assert_eq!(data, b"v2");
    for handle in [ca, cb] {
        handle.close().await.unwrap();
    }
    va.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_counters_on_a_test_server() {
    let server = shared_server().await;
    let (a, b) = (
        client(&server.connect_string()).await,
        client(&server.connect_string()).await,
    );
    let path = "/real/atomic/long";
    let la = Arc::new(AtomicLong::start(&a, path, patient()).await.unwrap());
    // The other one is promoted to a lock after a single optimistic try.
    let promoted = AtomicOptions::default()
        .retry(RetryPolicy::Never)
        .promote_to_lock(
            PromotedToLock::new("/real/atomic/lock")
                .retry(RetryPolicy::n_times(200, Duration::from_millis(10))),
        );
    let lb = Arc::new(AtomicLong::start(&b, path, promoted).await.unwrap());
    let spawn =
        |counter: Arc<AtomicLong>| tokio::spawn(async move { increments(&counter, 50).await });
    let (ta, tb) = (spawn(la.clone()), spawn(lb.clone()));
    let ((aa, ua), (ab, ub)) = (ta.await.unwrap(), tb.await.unwrap());
    assert_eq!(
        (aa + ab, ua + ub),
        (100, 0),
        "no faults: every increment applied"
    );
    assert_eq!(long_at(&a, path).await, 100);
    assert_eq!(la.get().await.unwrap().post, 100);
    assert_eq!(la.subtract(30).await.unwrap().post, 70);
    assert_eq!(lb.decrement().await.unwrap().post, 69);
    let cas = la.compare_and_set(69, 1000).await.unwrap();
    assert!(cas.succeeded() && cas.pre == 69 && cas.post == 1000);
    assert!(!la.compare_and_set(69, 1).await.unwrap().succeeded());
    // Curator's formats: 4 bytes for an int, raw bytes for a value.
    let int = AtomicInteger::start(&a, "/real/atomic/int", patient())
        .await
        .unwrap();
    assert!(int.initialize(41).await.unwrap());
    assert!(!int.initialize(0).await.unwrap(), "already there");
    assert_eq!(int.increment().await.unwrap().post, 42);
    let (data, _, _) = a.get_data().at("/real/atomic/int").await.unwrap();
    assert_eq!(data, 42i32.to_be_bytes());
    let value = AtomicValue::start(&a, "/real/atomic/value", patient())
        .await
        .unwrap();
    value.force_set(b"one".to_vec()).await.unwrap();
    let cas = value
        .compare_and_set(b"one".to_vec(), b"two".to_vec())
        .await
        .unwrap();
    assert!(cas.succeeded());
    assert_eq!(value.get().await.unwrap().post, b"two");
    // A long node of 4 bytes is corrupt: reported, nothing written.
    a.set_data().at(path, vec![0, 0, 0, 1]).await.unwrap();
    assert!(matches!(
        la.increment().await,
        Err(Error::CorruptData { .. })
    ));
    let (data, _, _) = a.get_data().at(path).await.unwrap();
    assert_eq!(data, [0, 0, 0, 1]);
    for counter in [la, lb] {
        Arc::into_inner(counter).unwrap().close().await.unwrap();
    }
    int.close().await.unwrap();
    value.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_survive_the_loss_of_their_cluster_member() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    let a = client(&cluster.connect_string()).await;
    let b = client(&cluster.connect_string()).await;
    let path = "/real/clustercounter";
    let counter = AtomicLong::start(&a, path, patient()).await.unwrap();
    let count = SharedCount::start(&a, "/real/clustercount", SharedOptions::seed(0))
        .await
        .unwrap();
    let watcher = SharedCount::start(&b, "/real/clustercount", SharedOptions::seed(0))
        .await
        .unwrap();
    let (first, _) = increments(&counter, 10).await;
    assert_eq!(first, 10);
    let member = cluster
        .member_serving(a.session_id())
        .await
        .expect("a's member");
    cluster.kill(member);
    // a's session moves to another member: the counters keep working.
    let (applied, unknown) = within(Duration::from_secs(60), increments(&counter, 10)).await;
    let value = long_at(&b, path).await;
    assert!(
        (first + applied..=first + applied + unknown).contains(&value),
        "{value}: {applied} applied, {unknown} unknown after the loss"
    );
    let seen = within(WAIT, async {
        loop {
            if let Ok(seen) = count.get() {
                if count.try_set(&seen, seen.value + 1).await == Ok(true) {
                    return seen;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    shows(&watcher, seen.value + 1).await;
    counter.close().await.unwrap();
    count.close().await.unwrap();
    watcher.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_cut_off_through_the_chaos_proxy() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;
    let path = "/real/chaoscounter";
    let counter = Arc::new(AtomicLong::start(&behind, path, patient()).await.unwrap());
    let count = SharedCount::start(&behind, "/real/chaoscount", SharedOptions::seed(0))
        .await
        .unwrap();
    let writer = SharedCount::start(&other, "/real/chaoscount", SharedOptions::seed(0))
        .await
        .unwrap();
    let running = {
        let counter = counter.clone();
        tokio::spawn(async move { increments(&counter, 40).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.cut();
    // While cut off the count changes; the handle cannot know.
    writer.set(17).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.heal();
    let (applied, unknown) = within(Duration::from_secs(60), running).await.unwrap();
    let value = long_at(&other, path).await;
    assert!(
        (applied..=applied + unknown).contains(&value),
        "{value}: {applied} applied, {unknown} unknown"
    );
    // Reconnected (or a new session): the count is read again.
    shows(&count, 17).await;
    Arc::into_inner(counter).unwrap().close().await.unwrap();
    count.close().await.unwrap();
    writer.close().await.unwrap();
}
