//! Mutex failover after the holder's session expires, beside Curator's `InterProcessMutex`.
//!
//! The holder's client (4 s session) reaches the server through a [`ChaosProxy`]; a waiter on a
//! direct client has queued its node behind the holder's; an observer (a third client) has an
//! `exists` watch on the holder's lock node. The waiter and the observer have ordinary sessions
//! (they must not expire on a loaded machine; only the holder's timeout is measured). The bench then cuts the proxy, and measures up to
//! the waiter's grant:
//!
//! - **cut → grant**: from the cut;
//! - **expiry → grant**: from the expiry, defined as the moment the observer receives the
//!   `NodeDeleted` event of the holder's node (the server deletes a session's ephemerals when it
//!   expires it). The observer, like the holder and the waiter, is a client of its own;
//!   Curator's side is the same three clients and the same watch
//!   (`checkExists().usingWatcher(…)`), so the definition is identical for both.
//!
//! Cut → grant is the session timeout (counted by the server from the holder's last contact,
//! rounded up to its tick) plus expiry → grant; expiry → grant is the notification and the
//! handover. Each client runs on a thread and runtime of its own, the proxy too (Curator's
//! holder reaches the server through the same proxy, which it asks the bench to cut and heal).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use docent::recipes::lock::{Mutex, MutexOptions};
use docent::{Client, EventType, Watch};
use docent_zk::testing::ChaosProxy;
use docent_zk::ZkOptions;

use crate::support::{client, connect, micros, on_thread, pct, Round, Row};

/// The rows both sides measure (medians of the round's expirations).
pub const ROWS: [Row; 2] = [
    (
        "mutex expiry failover: cut → grant",
        "expiry_cut_to_grant_us",
        false,
    ),
    ("  expiry → grant", "expiry_to_grant_us", false),
];

/// The session timeout of the holder.
const SESSION: Duration = Duration::from_secs(4);

/// How many expirations a round measures: 3 at scale 1, at least one.
pub fn expirations(scale: f64) -> usize {
    ((3.0 * scale).round() as usize).max(1)
}

fn options(cs: &str) -> ZkOptions {
    ZkOptions::new(cs)
        .with_session_timeout(SESSION)
        .with_connection_timeout(SESSION)
}

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>, proxy: &Proxy) {
    let (cs, path) = (r.cs, format!("{}/expiry", r.base));
    let observer = client(cs).await;
    observer.create().parents().at(&path).await.unwrap();
    let (mut from_cut, mut from_expiry) = (Vec::new(), Vec::new());
    for _ in 0..expirations(r.scale) {
        let (cut, expired) = once(cs, proxy, &path, &observer).await;
        from_cut.push(micros(cut));
        from_expiry.push(micros(expired));
    }
    observer.close().await.unwrap();
    r.put("expiry_cut_to_grant_us", pct(&from_cut, 0.5));
    r.put("expiry_to_grant_us", pct(&from_expiry, 0.5));
}

/// A client and a mutex on `path`.
async fn contender(options: ZkOptions, path: &str) -> (Client, Mutex) {
    let c = connect(options).await;
    let mutex = Mutex::start(&c, path, MutexOptions::default())
        .await
        .unwrap();
    (c, mutex)
}

/// One expiration: (cut → grant, expiry → grant).
async fn once(cs: &str, proxy: &Proxy, path: &str, observer: &Client) -> (Duration, Duration) {
    let (held, node) = tokio::sync::oneshot::channel();
    let (healed, heal) = tokio::sync::oneshot::channel::<()>();
    let (behind, lock) = (proxy.connect_string(), path.to_owned());
    let holder = on_thread(move || async move {
        let (c, mutex) = contender(options(&behind), &lock).await;
        let guard = mutex.acquire().await.unwrap();
        held.send(guard.node().to_owned()).unwrap();
        let _ = heal.await;
        // Its session expired: the guard is stale, the node gone; a new session closes.
        drop(guard);
        let _ = mutex.close().await;
        let _ = c.close().await;
    });
    let node = node.await.expect("the holder's node");
    let (granted, grant) = tokio::sync::oneshot::channel();
    let (cs, lock) = (cs.to_owned(), path.to_owned());
    let waiter = on_thread(move || async move {
        let (c, mutex) = contender(ZkOptions::new(cs), &lock).await;
        let guard = mutex.acquire().await.unwrap();
        granted.send(Instant::now()).unwrap();
        guard.release().await.unwrap();
        mutex.close().await.unwrap();
        c.close().await.unwrap();
    });
    while observer.get_children().at(path).await.unwrap().0.len() < 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let watched = observer.exists().watched().at(&node).await.unwrap();
    let (Some(_), Some(Watch::OneShot(deleted))) = watched else {
        panic!("the holder's node is watched");
    };
    let cut = Instant::now();
    proxy.cut();
    let event = deleted.await;
    let expired = Instant::now();
    assert_eq!(
        event.kind,
        EventType::NodeDeleted,
        "the holder's node expired"
    );
    let granted = grant.await.expect("the waiter's grant");
    proxy.heal();
    let _ = healed.send(());
    waiter.join().expect("waiter");
    holder.join().expect("holder");
    (granted - cut, granted - expired)
}

/// A [`ChaosProxy`] on a thread and runtime of its own: it forwards whatever the bench's
/// runtime is doing. Stopped on drop.
pub struct Proxy {
    chaos: ChaosProxy,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: SocketAddr) -> Proxy {
        let (started, chaos) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = on_thread(move || async move {
            let chaos = ChaosProxy::start(upstream).await.expect("proxy");
            started.send(chaos).expect("the bench waits");
            let _ = stopped.await;
        });
        Proxy {
            chaos: chaos.recv().expect("the proxy started"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl std::ops::Deref for Proxy {
    type Target = ChaosProxy;

    fn deref(&self) -> &ChaosProxy {
        &self.chaos
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|stop| stop.send(()));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
