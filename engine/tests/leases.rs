//! The lease recipes' handles on the embedded ensemble: guards, `lost`, `guarded`, state
//! watches, event snapshots and `close`.

use std::time::Duration;

use docent_sim::{ClientOptions, EmbeddedEnsemble, Fault, SimConfig};
use futures::StreamExt;

use docent::op::{MultiOp, Op, OpResult};
use docent::recipes::fencing::is_fenced_out;
use docent::recipes::latch::{LatchEvent, LatchOptions, LeaderLatch, LeaderState};
use docent::recipes::lock::{LockEvent, LockState, Mutex, MutexOptions};
use docent::recipes::selector::LeaderSelector;
use docent::{Acl, Client, CreateMode, Error, MultiResult};

/// A one-server ensemble with short ticks, so that SUSPENDED and timeouts come quickly.
fn ensemble() -> EmbeddedEnsemble {
    let mut config = SimConfig::new(0).servers(1);
    config.tick = Duration::from_millis(100);
    EmbeddedEnsemble::with_config(config)
}

fn client(ensemble: &EmbeddedEnsemble) -> Client {
    let options = ClientOptions::default().session_timeout(Duration::from_millis(1000));
    Client::builder(ensemble.connect_with(options))
        .build()
        .expect("client")
}

async fn mutex(client: &Client) -> Mutex {
    Mutex::start(client, "/lock", MutexOptions::default())
        .await
        .expect("mutex")
}

async fn exists(client: &Client, path: &str) -> bool {
    let op = Op::Exists {
        path: path.into(),
        watch: false,
    };
    let reply = client.submit(op).await.expect("exists");
    matches!(reply.result, OpResult::Exists(Some(_)))
}

fn create(path: &str) -> MultiOp {
    MultiOp::Create {
        path: path.into(),
        data: Vec::new(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    }
}

#[tokio::test]
async fn dropping_a_guard_releases_the_lock() {
    let ensemble = ensemble();
    let (a, b) = (
        mutex(&client(&ensemble)).await,
        mutex(&client(&ensemble)).await,
    );
    let guard = a.acquire().await.unwrap();
    let again = a.acquire().await.unwrap(); // re-entrant: a second hold of the same lease
    assert_eq!(again.token(), guard.token());
    drop(guard);
    assert_eq!(
        a.state(),
        LockState::Held {
            token: again.token()
        }
    );
    drop(again);
    let taken = b.acquire().await.unwrap();
    assert!(taken.token() > 0);
    assert_eq!(a.state(), LockState::Idle);
}

#[tokio::test]
async fn watch_state_yields_the_current_value_first() {
    let ensemble = ensemble();
    let lock = mutex(&client(&ensemble)).await;
    let mut states = lock.watch_state();
    assert_eq!(states.next().await, Some(LockState::Idle));
    let guard = lock.acquire().await.unwrap();
    let mut late = lock.watch_state();
    assert_eq!(
        late.next().await,
        Some(LockState::Held {
            token: guard.token()
        })
    );
    // The early watch skips to the latest value: held.
    assert_eq!(
        states.next().await,
        Some(LockState::Held {
            token: guard.token()
        })
    );
    guard.release().await.unwrap();
    assert_eq!(late.next().await, Some(LockState::Idle));
}

#[tokio::test]
async fn lost_fires_on_suspended() {
    // Default ticks and session timeout: the session outlives the fault by far.
    let ensemble = EmbeddedEnsemble::start(1);
    let c = Client::builder(ensemble.connect()).build().unwrap();
    let lock = mutex(&c).await;
    let guard = lock.acquire().await.unwrap();
    let token = guard.token();
    let mut events = lock.events();
    assert!(matches!(events.next().await, Some(LockEvent::Acquired(_))));
    let lost = guard.lost();
    // Every connection drops; the same session comes back (SUSPENDED, then RECONNECTED).
    ensemble.inject(Fault::LeaderChange);
    lost.await;
    assert_eq!(events.next().await, Some(LockEvent::Suspended));
    // The lock itself survived the suspension: the same lease is held again, and a loss
    // already over still counts for a `lost` asked for now.
    let mut states = lock.watch_state();
    let held = states.wait_for(|s| *s == LockState::Held { token }).await;
    assert_eq!(held, Some(LockState::Held { token }));
    guard.lost().await;
}

#[tokio::test]
async fn lost_fires_when_the_node_is_deleted() {
    let ensemble = ensemble();
    let (lock, janitor) = (mutex(&client(&ensemble)).await, client(&ensemble));
    let guard = lock.acquire().await.unwrap();
    let lost = guard.lost();
    janitor.delete().at(guard.node()).await.unwrap();
    lost.await;
}

#[tokio::test]
async fn guarded_results_and_error_indices_leave_out_the_check() {
    let ensemble = ensemble();
    let lock = mutex(&client(&ensemble)).await;
    let guard = lock.acquire().await.unwrap();
    let results = guard.guarded(vec![create("/a"), create("/b")]).await;
    assert!(matches!(
        results.as_deref(),
        Ok([MultiResult::Created { .. }, MultiResult::Created { .. }])
    ));
    let failed = guard.guarded(vec![create("/c"), create("/a")]).await;
    assert!(
        matches!(&failed, Err(Error::MultiFailed { index: 1, error }) if **error == Error::NodeExists),
        "{failed:?}"
    );
}

#[tokio::test]
async fn guarded_by_a_holder_that_no_longer_holds_is_not_held() {
    let ensemble = ensemble();
    let (lock, janitor) = (mutex(&client(&ensemble)).await, client(&ensemble));
    let guard = lock.acquire().await.unwrap();
    // The ensemble's account: our node is gone, though the handle still believes it holds.
    janitor.delete().at(guard.node()).await.unwrap();
    let refused = guard.guarded(vec![create("/x")]).await;
    assert_eq!(
        refused,
        Err(Error::NotHeld {
            path: guard.node().to_owned()
        })
    );
    assert!(is_fenced_out(&refused.unwrap_err()));
    assert!(!exists(&janitor, "/x").await);
}

#[tokio::test]
async fn a_stale_guard_is_refused_here() {
    let ensemble = ensemble();
    let lock = mutex(&client(&ensemble)).await;
    let first = lock.acquire().await.unwrap();
    let node = first.node().to_owned();
    let stale = lock.acquire().await.unwrap();
    drop(first);
    lock.close().await.unwrap();
    // The handle no longer holds: the guard is refused without a round trip.
    assert_eq!(
        stale.guarded(vec![create("/y")]).await,
        Err(Error::NotHeld { path: node })
    );
}

#[tokio::test]
async fn close_reports_that_the_nodes_are_deleted() {
    let ensemble = ensemble();
    let (c, observer) = (client(&ensemble), client(&ensemble));
    let lock = mutex(&c).await;
    let guard = lock.acquire().await.unwrap();
    let node = guard.node().to_owned();
    // A guard may outlive its handle's close: the close releases every hold.
    lock.close().await.unwrap();
    assert!(!exists(&observer, &node).await);
    drop(guard);

    let latch = LeaderLatch::start(&c, "/latch", LatchOptions::default().id("a"))
        .await
        .unwrap();
    let node = latch.await_leadership().await.unwrap().node().to_owned();
    latch.close().await.unwrap();
    assert!(!exists(&observer, &node).await);
}

#[tokio::test]
async fn latch_leadership_is_a_lease_and_events_start_with_a_snapshot() {
    let ensemble = ensemble();
    let (c, janitor) = (client(&ensemble), client(&ensemble));
    let latch = LeaderLatch::start(&c, "/latch", LatchOptions::default().id("a"))
        .await
        .unwrap();
    let leadership = latch.await_leadership().await.unwrap();
    assert_eq!(leadership.id(), "a");
    let token = leadership.token();
    assert_eq!(latch.state(), LeaderState::Leader { token });
    let mut events = latch.events();
    assert_eq!(events.next().await, Some(LatchEvent::IsLeader { token }));
    let mut states = latch.watch_state();
    assert_eq!(states.next().await, Some(LeaderState::Leader { token }));
    assert_eq!(
        leadership
            .guarded(vec![create("/led")])
            .await
            .map(|r| r.len()),
        Ok(1)
    );
    // Deleting our node ends the leadership; the latch joins again with a new node.
    let lost = leadership.lost();
    janitor.delete().at(leadership.node()).await.unwrap();
    lost.await;
    assert!(matches!(
        leadership.guarded(vec![create("/stale")]).await,
        Err(Error::NotHeld { .. })
    ));
    let again = latch.await_leadership().await.unwrap();
    assert!(again.token() > token);
    latch.close().await.unwrap();
}

#[tokio::test]
async fn lock_events_start_with_a_snapshot() {
    let ensemble = ensemble();
    let lock = mutex(&client(&ensemble)).await;
    let guard = lock.acquire().await.unwrap();
    let mut events = lock.events();
    let Some(LockEvent::Acquired(lease)) = events.next().await else {
        panic!("no snapshot");
    };
    assert_eq!(
        (lease.token, lease.node.as_str()),
        (guard.token(), guard.node())
    );
    guard.release().await.unwrap();
    assert_eq!(events.next().await, Some(LockEvent::Released));
}

#[tokio::test]
async fn selector_state_follows_its_leadership_function() {
    let ensemble = ensemble();
    let (started, mut leaderships) = futures::channel::mpsc::unbounded();
    let selector = LeaderSelector::builder(&client(&ensemble), "/selector", move |leadership| {
        let started = started.clone();
        async move {
            let token = leadership.token();
            let _ = started.unbounded_send(token);
            leadership.lost().await; // lead until interrupted
        }
    })
    .id("s")
    .start()
    .await
    .unwrap();
    let token = leaderships.next().await.unwrap();
    let mut states = selector.watch_state();
    assert_eq!(states.next().await, Some(LeaderState::Leader { token }));
    selector.interrupt_leadership().unwrap();
    assert_eq!(
        states.wait_for(|s| *s == LeaderState::NotLeader).await,
        Some(LeaderState::NotLeader)
    );
    selector.close().await.unwrap();
}

#[tokio::test]
async fn close_after_a_timed_out_try_acquire_finishes_its_clean_up() {
    let ensemble = ensemble();
    let (a, probe) = (
        mutex(&client(&ensemble)).await,
        mutex(&client(&ensemble)).await,
    );
    let _held = a.acquire().await.unwrap();
    let tried = probe.try_acquire(Duration::from_millis(300)).await;
    assert!(matches!(tried, Ok(None)), "{tried:?}");
    assert_eq!(probe.close().await, Ok(()));
}

#[tokio::test]
async fn a_cancelled_acquire_gives_its_node_up() {
    let ensemble = ensemble();
    let (a, b) = (
        mutex(&client(&ensemble)).await,
        mutex(&client(&ensemble)).await,
    );
    let held = a.acquire().await.unwrap();
    // b's acquire is dropped while it waits, then a lets go: b's node must not take the lock.
    let waiting = tokio::time::timeout(Duration::from_millis(200), b.acquire()).await;
    assert!(waiting.is_err());
    held.release().await.unwrap();
    let again = a.acquire().await.unwrap();
    assert_eq!(b.state(), LockState::Idle);
    again.release().await.unwrap();
}
