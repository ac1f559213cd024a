//! The multi-lock on real ZooKeeper: all or nothing on a test server (a lock another session
//! holds makes it time out, a lock that fails makes it fail; what it took is released in
//! reverse order and nothing is left on the server), mixed kinds (mutex, semaphore,
//! semaphore-mutex), a 3-server cluster losing the holder's member, and a holder cut off
//! through the chaos proxy until its session expires (its holds report lost, it is fenced out).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::fencing;
use docent::recipes::lock::{Mutex, MutexOptions};
use docent::recipes::multi::{Lockable, MultiGuard, MultiLock};
use docent::recipes::semaphore::{
    Semaphore, SemaphoreMutex, SemaphoreMutexOptions, SemaphoreOptions,
};
use docent::{Client, MultiOp};
use docent_zk::testing::{ChaosProxy, TestingCluster};

const WAIT: Duration = Duration::from_secs(15);
const SHORT: Duration = Duration::from_millis(300);

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

/// The directory's children, once it has exactly `n` (bounded wait: deletes may still be on
/// their way), and its pzxid then (the zxid of the last child created or deleted).
async fn settled(c: &Client, dir: &str, n: usize) -> (Vec<String>, i64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (nodes, stat, _) = c.get_children().at(dir).await.unwrap();
        if nodes.len() == n {
            return (nodes, stat.pzxid);
        }
        assert!(tokio::time::Instant::now() < deadline, "{dir}: {nodes:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every directory empty; their last deletes in the order given (zxids rising).
async fn emptied_in_order(c: &Client, dirs: &[&str]) {
    let mut last = Vec::new();
    for dir in dirs {
        last.push(settled(c, dir, 0).await.1);
    }
    assert!(last.windows(2).all(|w| w[0] < w[1]), "{dirs:?}: {last:?}");
}

/// The guard's holds exist on the server, owned by `owner`, each token its node's czxid, and
/// each node in its lock's directory, named as Curator names it.
async fn on_server(c: &Client, guard: &MultiGuard, owner: &Client, layout: &[(&str, &str)]) {
    assert_eq!(guard.holds().len(), layout.len());
    for (hold, (dir, name)) in guard.holds().iter().zip(layout) {
        let (_, stat, _) = c.get_data().at(hold.node()).await.unwrap();
        assert_eq!(stat.ephemeral_owner, owner.session_id());
        assert_eq!(stat.czxid, hold.token());
        let node = hold.node().strip_prefix(&format!("{dir}/_c_")).unwrap();
        assert_eq!(&node[36..37 + name.len()], format!("-{name}"), "{node}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_kinds_all_or_nothing_released_in_reverse() {
    let server = shared_server().await;
    let cs = server.connect_string();
    let (a, b) = (client(&cs).await, client(&cs).await);
    let (mutex, sem, smutex) = ("/real/multi/mutex", "/real/multi/sem", "/real/multi/smutex");
    let (sem_leases, smutex_leases) = ("/real/multi/sem/leases", "/real/multi/smutex/leases");
    let options = MutexOptions::default;
    let two = || SemaphoreOptions::max_leases(2);
    let mine = SemaphoreMutex::start(&a, smutex, SemaphoreMutexOptions::default())
        .await
        .unwrap();
    let locks: Vec<Box<dyn Lockable + '_>> = vec![
        Box::new(Mutex::start(&a, mutex, options()).await.unwrap()),
        Box::new(Semaphore::start(&a, sem, two()).await.unwrap()),
        Box::new(&mine),
    ];
    let multi = MultiLock::of(&a, locks).unwrap();
    let theirs = SemaphoreMutex::start(&b, smutex, SemaphoreMutexOptions::default())
        .await
        .unwrap();

    // Another session holds the third lock: the multi-lock times out and gives back the
    // first two, the semaphore's lease before the mutex.
    let held = theirs.acquire().await.unwrap();
    assert!(multi
        .try_acquire(Duration::from_millis(500))
        .await
        .unwrap()
        .is_none());
    assert!(multi.locks().iter().all(|l| l.held().is_none()));
    emptied_in_order(&b, &[sem_leases, mutex]).await;
    assert_eq!(settled(&b, smutex_leases, 1).await.0.len(), 1);
    held.release().await.unwrap();

    // The third lock fails (this handle's semaphore-mutex is taken and not re-entrant): the
    // multi-lock says which, and gives back the first two in reverse.
    let own = mine.acquire().await.unwrap();
    match multi.acquire().await {
        Err(docent::Error::LockFailed { index, path, error }) => {
            assert_eq!((index, path.as_str()), (2, smutex));
            assert!(
                matches!(*error, docent::Error::InvalidArgument(_)),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    emptied_in_order(&b, &[sem_leases, mutex]).await;
    own.release().await.unwrap();

    // All three, each on Curator's layout; the others see each lock taken as its kind says.
    let guard = within(WAIT, multi.acquire()).await.unwrap();
    let layout = [
        (mutex, "lock-"),
        (sem_leases, "lease-"),
        (smutex_leases, "lease-"),
    ];
    on_server(&b, &guard, &a, &layout).await;
    assert_eq!(guard.tokens().len(), 3);
    let other_mutex = Mutex::start(&b, mutex, options()).await.unwrap();
    assert!(other_mutex.try_acquire(SHORT).await.unwrap().is_none());
    assert!(theirs.try_acquire(SHORT).await.unwrap().is_none());
    let other_sem = Semaphore::start(&b, sem, two()).await.unwrap();
    let second_lease = other_sem.acquire().await.unwrap();
    assert!(other_sem.try_acquire(SHORT).await.unwrap().is_none());
    second_lease.release().await.unwrap();

    // Released: every lock, the last first (the others' timed-out nodes gone first, so that
    // each directory's last change is the multi-lock's delete).
    for dir in [mutex, sem_leases, smutex_leases] {
        settled(&b, dir, 1).await;
    }
    guard.release().await.unwrap();
    emptied_in_order(&b, &[smutex_leases, sem_leases, mutex]).await;
    assert!(multi.locks().iter().all(|l| l.held().is_none()));
    multi.close().await.unwrap();
    mine.close().await.unwrap();
    for closed in [
        other_mutex.close().await,
        other_sem.close().await,
        theirs.close().await,
    ] {
        closed.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_multi_lock_gets_every_lock_when_the_other_session_lets_go() {
    let server = shared_server().await;
    let cs = server.connect_string();
    let (a, b) = (client(&cs).await, client(&cs).await);
    let paths = ["/real/multiwait/x", "/real/multiwait/y"];
    let multi = Arc::new(
        MultiLock::start(&a, &paths, MutexOptions::default())
            .await
            .unwrap(),
    );
    let other = Mutex::start(&b, paths[1], MutexOptions::default())
        .await
        .unwrap();
    let held = other.acquire().await.unwrap();
    let waiting = {
        let multi = multi.clone();
        tokio::spawn(async move { multi.acquire().await })
    };
    // It takes the first lock and waits for the second.
    settled(&b, paths[1], 2).await;
    assert_eq!(settled(&b, paths[0], 1).await.0.len(), 1);
    assert!(!waiting.is_finished());
    let other_token = held.token();
    held.release().await.unwrap();
    let guard = within(WAIT, waiting).await.unwrap().unwrap();
    assert!(guard.tokens()[1] > other_token);
    on_server(&b, &guard, &a, &[(paths[0], "lock-"), (paths[1], "lock-")]).await;
    guard.release().await.unwrap();
    emptied_in_order(&b, &[paths[1], paths[0]]).await;
    Arc::try_unwrap(multi).unwrap().close().await.unwrap();
    other.close().await.unwrap();
}

/// The first node of `dir` in sequence order.
async fn first_node(c: &Client, dir: &str) -> String {
    let (nodes, _, _) = c.get_children().at(dir).await.unwrap();
    let first = nodes
        .into_iter()
        .min_by_key(|n| n[n.len() - 10..].to_owned());
    format!("{dir}/{}", first.expect("a node"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_lock_survives_the_loss_of_the_holders_member() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    let cs = cluster.connect_string();
    let (a, b) = (client(&cs).await, client(&cs).await);
    let paths = ["/real/clustermulti/x", "/real/clustermulti/y"];
    let start = |c| MultiLock::start(c, &paths, MutexOptions::default());
    let (ma, mb) = (start(&a).await.unwrap(), Arc::new(start(&b).await.unwrap()));

    let first = ma.acquire().await.unwrap();
    let first_tokens = first.tokens();
    let waiting = {
        let mb = mb.clone();
        tokio::spawn(async move { mb.acquire().await })
    };
    settled(&b, paths[0], 2).await;
    let member = cluster
        .member_serving(a.session_id())
        .await
        .expect("the holder's member");
    cluster.kill(member);
    within(WAIT, first.lost()).await;
    // The holder's session moves to another member or expires; either way it lets go and
    // the waiter takes both locks, each the first node of its directory on the server.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = first.release().await;
    let second = within(Duration::from_secs(30), waiting)
        .await
        .unwrap()
        .unwrap();
    for (i, hold) in second.holds().iter().enumerate() {
        assert!(hold.token() > first_tokens[i]);
        assert_eq!(first_node(&b, paths[i]).await, hold.node());
    }
    assert!(ma.try_acquire(SHORT).await.unwrap().is_none());
    let second_tokens = second.tokens();
    second.release().await.unwrap();

    // The holder whose member died takes both again.
    let third = within(Duration::from_secs(30), ma.acquire()).await.unwrap();
    assert!(third
        .tokens()
        .iter()
        .zip(&second_tokens)
        .all(|(t, s)| t > s));
    third.release().await.unwrap();
    let _ = ma.close().await;
    Arc::try_unwrap(mb).unwrap().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_multi_lock_holder_reports_lost_and_is_fenced_out() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;
    let data = "/real/multifenced";
    other.create().parents().at(data).await.ok();
    let (mutex, smutex) = ("/real/multiexpiry/mutex", "/real/multiexpiry/smutex");
    let of = |c: &Client| {
        let c = c.clone();
        async move {
            let locks: Vec<Box<dyn Lockable>> = vec![
                Box::new(
                    Mutex::start(&c, mutex, MutexOptions::default())
                        .await
                        .unwrap(),
                ),
                Box::new(
                    SemaphoreMutex::start(&c, smutex, SemaphoreMutexOptions::default())
                        .await
                        .unwrap(),
                ),
            ];
            MultiLock::of(&c, locks).unwrap()
        }
    };
    let (stale, fresh) = (of(&behind).await, of(&other).await);

    let first = stale.acquire().await.unwrap();
    let lost: Vec<_> = first.holds().iter().map(|h| h.lost()).collect();
    let any_lost = first.lost();
    proxy.cut();
    let second = within(WAIT, fresh.acquire()).await.unwrap();
    for (new, old) in second.tokens().iter().zip(first.tokens()) {
        assert!(*new > old);
    }
    within(Duration::from_secs(5), any_lost).await;
    for hold_lost in lost {
        within(Duration::from_secs(5), hold_lost).await;
    }
    assert!(stale.locks().iter().all(|l| l.held().is_none()));

    // The stale holds' nodes, written down, are refused by the server; the new holder writes.
    proxy.heal();
    let write = |text: &str| {
        vec![MultiOp::SetData {
            path: data.into(),
            data: text.as_bytes().to_vec(),
            version: None,
        }]
    };
    for hold in first.holds() {
        let mut refused = Err(docent::Error::SessionExpired);
        for _ in 0..100 {
            refused = fencing::guarded_on(&behind, hold.node(), write("stale")).await;
            if !refused.as_ref().is_err_and(docent::Error::is_retryable) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            refused.as_ref().is_err_and(fencing::is_fenced_out),
            "{refused:?}"
        );
    }
    for hold in second.holds() {
        fencing::guarded_on(&other, hold.node(), write("fresh"))
            .await
            .unwrap();
    }
    assert_eq!(other.get_data().at(data).await.unwrap().0, b"fresh");
    drop(first);

    // The stale handle takes both again with its new session once the new holder is done.
    let second_tokens = second.tokens();
    second.release().await.unwrap();
    let again = within(WAIT, stale.acquire()).await.unwrap();
    assert!(again
        .tokens()
        .iter()
        .zip(&second_tokens)
        .all(|(t, s)| t > s));
    on_server(
        &other,
        &again,
        &behind,
        &[
            (mutex, "lock-"),
            ("/real/multiexpiry/smutex/leases", "lease-"),
        ],
    )
    .await;
    again.release().await.unwrap();
    stale.close().await.unwrap();
    fresh.close().await.unwrap();
}
