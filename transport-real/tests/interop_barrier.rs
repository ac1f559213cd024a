//! Barrier interop with Apache Curator 5.4 (Debian's jars): a `DistributedDoubleBarrier` with
//! members in both languages (nobody enters before the last arrives, nobody leaves before all
//! have), and a `DistributedBarrier` set by one side, waited on and removed by the other.
//! The Java side is `interop/BarrierPeer.java`. Missing Java or jars fail with what to
//! install; these tests never skip.

mod common;
#[path = "interop/java.rs"]
mod java;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::barrier::double::READY_NODE;
use docent::recipes::barrier::{Barrier, BarrierOptions, DoubleBarrier, DoubleBarrierOptions};
use docent::Client;
use docent_zk::ZkCoordinator;
use java::JavaPeer;
use tokio::task::JoinHandle;

const LONG: Duration = Duration::from_secs(20);
/// Long enough for an early pass to show.
const SETTLE: Duration = Duration::from_millis(700);

async fn peer(connect_string: &str) -> JavaPeer {
    java::ready_peer("BarrierPeer.java", "BarrierPeer", &[connect_string]).await
}

/// A client with a seed of its own: members draw their node's UUID from it.
async fn client(connect_string: &str) -> Client {
    static SEEDS: AtomicU64 = AtomicU64::new(100);
    let seed = SEEDS.fetch_add(1, Ordering::Relaxed);
    let zk = ZkCoordinator::connect(options(connect_string).with_seed(seed))
        .await
        .expect("connect");
    Client::builder(Arc::new(zk)).build().unwrap()
}

type Call = JoinHandle<(bool, DoubleBarrier)>;

fn enter(mut m: DoubleBarrier) -> Call {
    tokio::spawn(async move { (m.enter(Some(LONG)).await.unwrap(), m) })
}

fn leave(mut m: DoubleBarrier) -> Call {
    tokio::spawn(async move { (m.leave(Some(LONG)).await.unwrap(), m) })
}

async fn passed(call: Call) -> DoubleBarrier {
    let (passed, m) = tokio::time::timeout(LONG, call).await.unwrap().unwrap();
    assert!(passed);
    m
}

/// The Java lines that arrive within `limit` (none expected while a barrier holds).
async fn quiet(java: &mut JavaPeer, limit: Duration) {
    if let Some(line) = java.try_line(limit).await {
        panic!("the Java side answered early: {line}");
    }
}

/// Reads Java's answers to the calls named `names` with `verb` (in any order).
async fn answers(java: &mut JavaPeer, verb: &str, names: &[&str]) {
    let mut want: Vec<String> = names.iter().map(|n| format!("{verb} {n} true")).collect();
    while !want.is_empty() {
        let line = java.line(LONG).await;
        let i = want
            .iter()
            .position(|w| *w == line)
            .unwrap_or_else(|| panic!("unexpected from Java: {line} (waiting for {want:?})"));
        want.remove(i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_with_members_in_both_languages() {
    let server = shared_server().await;
    let mut java = peer(&server.connect_string()).await;
    let (a, b) = (
        client(&server.connect_string()).await,
        client(&server.connect_string()).await,
    );
    let dir = "/interop/double";
    let options = || DoubleBarrierOptions::member_qty(4);
    let long = LONG.as_millis();
    // Three of four arrive, from both sides: nobody enters.
    let da = enter(
        DoubleBarrier::start(&a, dir, options().id("a"))
            .await
            .unwrap(),
    );
    java.send(&format!("enter j1 {dir} 4 {long}"));
    let db = enter(
        DoubleBarrier::start(&b, dir, options().id("b"))
            .await
            .unwrap(),
    );
    quiet(&mut java, SETTLE).await;
    assert!(
        !da.is_finished() && !db.is_finished(),
        "docent entered with 3 of 4"
    );
    let (children, _, _) = a.get_children().at(dir).await.unwrap();
    assert_eq!(
        children.len(),
        3,
        "three members, no ready node: {children:?}"
    );
    assert!(
        children.iter().all(|c| docent::rng::is_uuid(c)),
        "{children:?}"
    );
    // The fourth (Java) arrives: everyone enters.
    java.send(&format!("enter j2 {dir} 4 {long}"));
    answers(&mut java, "entered", &["j1", "j2"]).await;
    let (ma, mb) = (passed(da).await, passed(db).await);
    let (children, _, _) = a.get_children().at(dir).await.unwrap();
    assert!(children.iter().any(|c| c == READY_NODE), "{children:?}");
    assert_eq!(children.len(), 5, "{children:?}");
    // Both Java members and one docent member leave: they wait for the last one.
    java.send("leave j1 20000");
    java.send("leave j2 20000");
    let la = leave(ma);
    quiet(&mut java, SETTLE).await;
    assert!(!la.is_finished(), "docent left before everyone had");
    let lb = leave(mb);
    answers(&mut java, "left", &["j1", "j2"]).await;
    passed(la).await.close().await.unwrap();
    passed(lb).await.close().await.unwrap();
    let (children, _, _) = a.get_children().at(dir).await.unwrap();
    assert!(children.is_empty(), "left behind: {children:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_set_on_one_side_waited_on_and_removed_on_the_other() {
    let server = shared_server().await;
    let mut java = peer(&server.connect_string()).await;
    let a = client(&server.connect_string()).await;
    // Java sets, docent waits, Java removes.
    let path = "/interop/barrier/java-set";
    java.send(&format!("set {path}"));
    assert_eq!(java.line(LONG).await, "set");
    let mut barrier = Barrier::start(&a, path, BarrierOptions::default())
        .await
        .unwrap();
    assert!(!barrier.wait_on_barrier(Some(SETTLE)).await.unwrap());
    let waiting = tokio::spawn(async move { (barrier.wait_on_barrier(Some(LONG)).await, barrier) });
    tokio::time::sleep(SETTLE).await;
    assert!(!waiting.is_finished());
    java.send(&format!("remove {path}"));
    assert_eq!(java.line(LONG).await, "removed");
    let (passed, barrier) = tokio::time::timeout(LONG, waiting).await.unwrap().unwrap();
    assert!(passed.unwrap());
    barrier.close().await.unwrap();
    // Docent sets, Java waits, docent removes.
    let path = "/interop/barrier/docent-set";
    let barrier = Barrier::start(&a, path, BarrierOptions::default())
        .await
        .unwrap();
    barrier.set_barrier().await.unwrap();
    java.send(&format!("wait {path} {}", SETTLE.as_millis()));
    assert_eq!(java.line(LONG).await, "waited false");
    java.send(&format!("wait {path} {}", LONG.as_millis()));
    quiet(&mut java, SETTLE).await;
    barrier.remove_barrier().await.unwrap();
    assert_eq!(java.line(LONG).await, "waited true");
    barrier.close().await.unwrap();
}
