//! The multi-lock on the embedded ensemble: all or nothing, in order, released in reverse,
//! the failing lock named.

use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

use docent::op::{Op, OpResult};
use docent::recipes::lock::{Mutex, MutexOptions};
use docent::recipes::multi::{Hold, Lockable, MultiLock};
use docent::{Client, Error};
use docent_sim::EmbeddedEnsemble;

fn client(ensemble: &EmbeddedEnsemble) -> Client {
    Client::builder(ensemble.connect()).build().expect("client")
}

async fn children(client: &Client, path: &str) -> Vec<String> {
    let op = Op::GetChildren {
        path: path.into(),
        watch: false,
    };
    match client.submit(op).await.map(|r| r.result) {
        Ok(OpResult::Children { children, .. }) => children,
        Err(Error::NoNode) => Vec::new(),
        other => panic!("{other:?}"),
    }
}

type Log = Arc<StdMutex<Vec<String>>>;

/// A lock that logs its grants and releases; `fail` makes its acquire fail with NoAuth.
#[derive(Debug)]
struct Logged {
    mutex: Mutex,
    log: Log,
    fail: bool,
}

#[derive(Debug)]
struct LoggedHold {
    hold: Option<Box<dyn Hold>>,
    path: String,
    log: Log,
}

impl Lockable for Logged {
    fn path(&self) -> &str {
        self.mutex.path()
    }

    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Hold>, Error>> {
        async move {
            let got = self.try_acquire(Duration::from_secs(3600)).await?;
            got.ok_or(Error::Timeout)
        }
        .boxed()
    }

    fn try_acquire(
        &self,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Option<Box<dyn Hold>>, Error>> {
        async move {
            if self.fail {
                return Err(Error::NoAuth);
            }
            let Some(hold) = Lockable::try_acquire(&self.mutex, timeout).await? else {
                return Ok(None);
            };
            let path = self.path().to_owned();
            self.log.lock().unwrap().push(format!("took {path}"));
            let log = self.log.clone();
            let hold = Some(hold);
            Ok(Some(
                Box::new(LoggedHold { hold, path, log }) as Box<dyn Hold>
            ))
        }
        .boxed()
    }

    fn held(&self) -> Option<i64> {
        self.mutex.held()
    }

    fn close<'a>(self: Box<Self>) -> BoxFuture<'a, Result<(), Error>>
    where
        Self: 'a,
    {
        Box::new(self.mutex).close()
    }
}

impl Hold for LoggedHold {
    fn token(&self) -> i64 {
        self.inner().token()
    }

    fn node(&self) -> &str {
        self.inner().node()
    }

    fn lost(&self) -> BoxFuture<'static, ()> {
        self.inner().lost()
    }

    fn release(mut self: Box<Self>) -> BoxFuture<'static, Result<(), Error>> {
        self.log
            .lock()
            .unwrap()
            .push(format!("released {}", self.path));
        self.hold.take().expect("held").release()
    }
}

impl LoggedHold {
    fn inner(&self) -> &dyn Hold {
        self.hold.as_deref().expect("held")
    }
}

impl Drop for LoggedHold {
    fn drop(&mut self) {
        if self.hold.is_some() {
            self.log
                .lock()
                .unwrap()
                .push(format!("dropped {}", self.path));
        }
    }
}

async fn logged(
    client: &Client,
    paths: &[&str],
    failing: Option<usize>,
    log: &Log,
) -> MultiLock<'static> {
    let mut locks: Vec<Box<dyn Lockable>> = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let mutex = Mutex::start(client, path, MutexOptions::default())
            .await
            .unwrap();
        let log = log.clone();
        locks.push(Box::new(Logged {
            mutex,
            log,
            fail: failing == Some(i),
        }));
    }
    MultiLock::of(client, locks).unwrap()
}

fn entries(log: &Log) -> Vec<String> {
    let entries = log.lock().unwrap().clone();
    entries
        .into_iter()
        .filter(|e| !e.starts_with("dropped"))
        .collect()
}

const PATHS: [&str; 3] = ["/m/a", "/m/b", "/m/c"];

#[tokio::test]
async fn every_lock_is_taken_in_order_and_released_in_reverse() {
    let ensemble = EmbeddedEnsemble::start(1);
    let c = client(&ensemble);
    let log = Log::default();
    let multi = logged(&c, &PATHS, None, &log).await;
    let guard = multi.acquire().await.unwrap();
    let tokens = guard.tokens();
    assert_eq!(tokens.len(), 3);
    let held: Vec<Option<i64>> = multi.locks().iter().map(|l| l.held()).collect();
    assert_eq!(held, tokens.iter().map(|t| Some(*t)).collect::<Vec<_>>());
    guard.release().await.unwrap();
    assert_eq!(
        entries(&log),
        [
            "took /m/a",
            "took /m/b",
            "took /m/c",
            "released /m/c",
            "released /m/b",
            "released /m/a"
        ]
    );
    assert!(multi.locks().iter().all(|l| l.held().is_none()));
    for path in PATHS {
        assert!(
            children(&c, path).await.is_empty(),
            "{path} still has a lock node"
        );
    }
    multi.close().await.unwrap();
}

#[tokio::test]
async fn a_dropped_guard_releases_in_reverse_order() {
    let ensemble = EmbeddedEnsemble::start(1);
    let c = client(&ensemble);
    let log = Log::default();
    let multi = logged(&c, &PATHS[..2], None, &log).await;
    drop(multi.acquire().await.unwrap());
    let dropped: Vec<String> = log
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.starts_with("dropped"))
        .cloned()
        .collect();
    assert_eq!(dropped, ["dropped /m/b", "dropped /m/a"]);
    let other = MultiLock::start(&client(&ensemble), &PATHS[..2], MutexOptions::default())
        .await
        .unwrap();
    let guard = other.acquire().await.unwrap();
    assert_eq!(guard.tokens().len(), 2);
}

#[tokio::test]
async fn a_timeout_on_the_third_lock_releases_the_first_two_in_reverse() {
    let ensemble = EmbeddedEnsemble::start(1);
    let (a, b) = (client(&ensemble), client(&ensemble));
    let third = Mutex::start(&b, PATHS[2], MutexOptions::default())
        .await
        .unwrap();
    let blocker = third.acquire().await.unwrap();
    let log = Log::default();
    let multi = logged(&a, &PATHS, None, &log).await;
    let got = multi.try_acquire(Duration::from_millis(500)).await.unwrap();
    assert!(got.is_none());
    assert_eq!(
        entries(&log),
        ["took /m/a", "took /m/b", "released /m/b", "released /m/a"]
    );
    assert!(multi.locks().iter().all(|l| l.held().is_none()));
    for path in &PATHS[..2] {
        assert!(
            children(&a, path).await.is_empty(),
            "{path} still has a lock node"
        );
    }
    assert_eq!(
        children(&a, PATHS[2]).await.len(),
        1,
        "only the blocker's node"
    );
    blocker.release().await.unwrap();
    let guard = multi.acquire().await.unwrap();
    assert_eq!(guard.tokens().len(), 3);
}

#[tokio::test]
async fn a_failing_lock_is_named_and_what_was_taken_is_released() {
    let ensemble = EmbeddedEnsemble::start(1);
    let c = client(&ensemble);
    let log = Log::default();
    let multi = logged(&c, &PATHS, Some(2), &log).await;
    let error = multi.acquire().await.unwrap_err();
    assert_eq!(
        error,
        Error::LockFailed {
            index: 2,
            path: "/m/c".into(),
            error: Box::new(Error::NoAuth)
        }
    );
    assert_eq!(error.kind(), Error::NoAuth.kind());
    assert_eq!(
        entries(&log),
        ["took /m/a", "took /m/b", "released /m/b", "released /m/a"]
    );
    for path in &PATHS[..2] {
        assert!(
            children(&c, path).await.is_empty(),
            "{path} still has a lock node"
        );
    }
}

#[tokio::test]
async fn a_multi_lock_needs_a_lock() {
    let ensemble = EmbeddedEnsemble::start(1);
    let error = MultiLock::of(&client(&ensemble), Vec::new()).unwrap_err();
    assert!(matches!(error, Error::InvalidArgument(_)));
}

#[tokio::test]
async fn borrowed_locks_take_part_and_stay_their_owners() {
    let ensemble = EmbeddedEnsemble::start(1);
    let c = client(&ensemble);
    let a = Mutex::start(&c, PATHS[0], MutexOptions::default())
        .await
        .unwrap();
    let b = Mutex::start(&c, PATHS[1], MutexOptions::default())
        .await
        .unwrap();
    let multi = MultiLock::of(&c, vec![Box::new(&a), Box::new(&b)]).unwrap();
    let guard = multi.acquire().await.unwrap();
    assert_eq!(a.held(), Some(guard.tokens()[0]));
    guard.release().await.unwrap();
    multi.close().await.unwrap();
    // Still open: the owner takes and closes them.
    let again = a.acquire().await.unwrap();
    again.release().await.unwrap();
    a.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn a_mutex_and_semaphores_taken_as_one() {
    use docent::recipes::semaphore::{
        Semaphore, SemaphoreMutex, SemaphoreMutexOptions, SemaphoreOptions,
    };
    let ensemble = EmbeddedEnsemble::start(1);
    let (c, d) = (client(&ensemble), client(&ensemble));
    let locks = |c: Client| async move {
        let m = Mutex::start(&c, "/mixed/m", MutexOptions::default())
            .await
            .unwrap();
        let s = Semaphore::start(&c, "/mixed/s", SemaphoreOptions::max_leases(1))
            .await
            .unwrap();
        let sm = SemaphoreMutex::start(&c, "/mixed/sm", SemaphoreMutexOptions::default())
            .await
            .unwrap();
        let locks: Vec<Box<dyn Lockable>> = vec![Box::new(m), Box::new(s), Box::new(sm)];
        MultiLock::of(&c, locks).unwrap()
    };
    let (first, second) = (locks(c).await, locks(d).await);
    let guard = first.acquire().await.unwrap();
    assert_eq!(guard.tokens().len(), 3);
    let held: Vec<Option<i64>> = first.locks().iter().map(|l| l.held()).collect();
    assert_eq!(
        held,
        guard.tokens().into_iter().map(Some).collect::<Vec<_>>()
    );
    assert!(second
        .try_acquire(Duration::from_millis(300))
        .await
        .unwrap()
        .is_none());
    assert!(second.locks().iter().all(|l| l.held().is_none()));
    guard.release().await.unwrap();
    let taken = second.acquire().await.unwrap();
    taken.release().await.unwrap();
    first.close().await.unwrap();
    second.close().await.unwrap();
}

/// An acquire whose future is dropped (a `select!`, an outer timeout) leaves no lease behind:
/// neither the one it was waiting with nor one granted after nobody was listening.
#[tokio::test]
async fn a_dropped_semaphore_acquire_leaves_no_lease() {
    use docent::recipes::semaphore::{Semaphore, SemaphoreOptions};
    let ensemble = EmbeddedEnsemble::start(1);
    let (c, d) = (client(&ensemble), client(&ensemble));
    let holder = Semaphore::start(&c, "/dropped", SemaphoreOptions::max_leases(1))
        .await
        .unwrap();
    let waiter = Semaphore::start(&d, "/dropped", SemaphoreOptions::max_leases(1))
        .await
        .unwrap();
    let held = holder.acquire().await.unwrap();
    let dropped = tokio::time::timeout(Duration::from_millis(300), waiter.acquire()).await;
    assert!(dropped.is_err(), "the semaphore was full");
    // Wait (bounded) for the waiter's lease node to go: only the holder's is left.
    let mut leases = children(&c, "/dropped/leases").await;
    for _ in 0..100 {
        if leases.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        leases = children(&c, "/dropped/leases").await;
    }
    assert_eq!(leases.len(), 1, "{leases:?}");
    held.release().await.unwrap();
    // The lease is free again: the waiter's handle takes it at once.
    let again = waiter.try_acquire(Duration::from_secs(5)).await.unwrap();
    assert!(again.is_some(), "a dropped acquire must not keep the lease");
    drop(again);
    holder.close().await.unwrap();
    waiter.close().await.unwrap();
}
