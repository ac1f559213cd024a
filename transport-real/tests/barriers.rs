//! The barriers on real ZooKeeper: Curator's layout and both recipes on a test server, a
//! double barrier whose member's server dies in a 3-server cluster, and members cut off
//! through the chaos proxy (a disconnection never lets a waiter through).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::barrier::double::READY_NODE;
use docent::recipes::barrier::{
    Barrier, BarrierOptions, DoubleBarrier, DoubleBarrierOptions, DoubleBarrierState,
};
use docent::Client;
use docent_zk::testing::{ChaosProxy, TestingCluster};
use docent_zk::ZkCoordinator;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(20);

/// A client with a seed of its own: members draw their node's UUID from it.
async fn client(connect_string: &str) -> Client {
    static SEEDS: AtomicU64 = AtomicU64::new(100);
    let seed = SEEDS.fetch_add(1, Ordering::Relaxed);
    let zk = ZkCoordinator::connect(options(connect_string).with_seed(seed))
        .await
        .expect("connect");
    Client::builder(Arc::new(zk)).build().unwrap()
}

async fn member(client: &Client, dir: &str, qty: usize) -> DoubleBarrier {
    DoubleBarrier::start(client, dir, DoubleBarrierOptions::member_qty(qty))
        .await
        .unwrap()
}

/// `enter(None)` in a task; the member comes back with the outcome.
fn entering(mut m: DoubleBarrier) -> JoinHandle<(bool, DoubleBarrier)> {
    tokio::spawn(async move { (m.enter(None).await.unwrap(), m) })
}

fn leaving(mut m: DoubleBarrier) -> JoinHandle<(bool, DoubleBarrier)> {
    tokio::spawn(async move { (m.leave(None).await.unwrap(), m) })
}

async fn joined(task: JoinHandle<(bool, DoubleBarrier)>) -> DoubleBarrier {
    let (passed, m) = tokio::time::timeout(WAIT, task).await.unwrap().unwrap();
    assert!(passed);
    m
}

/// Members under `dir` (the ready node left out), and whether the ready node is there.
async fn layout(client: &Client, dir: &str) -> (Vec<String>, bool) {
    let (children, _, _) = client.get_children().at(dir).await.unwrap();
    let ready = children.iter().any(|c| c == READY_NODE);
    (
        children.into_iter().filter(|c| c != READY_NODE).collect(),
        ready,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barrier_set_waited_on_and_removed() {
    let server = shared_server().await;
    let (a, b) = (
        client(&server.connect_string()).await,
        client(&server.connect_string()).await,
    );
    let path = "/real/barrier/gate";
    let setter = Barrier::start(&a, path, BarrierOptions::default())
        .await
        .unwrap();
    let mut waiter = Barrier::start(&b, path, BarrierOptions::default())
        .await
        .unwrap();
    setter.set_barrier().await.unwrap();
    setter.set_barrier().await.unwrap(); // up already: fine
    let (_, stat, _) = b.get_data().at(path).await.unwrap();
    assert_eq!(stat.ephemeral_owner, 0, "a persistent node");
    assert!(!waiter
        .wait_on_barrier(Some(Duration::from_millis(300)))
        .await
        .unwrap());
    let waiting = tokio::spawn(async move { (waiter.wait_on_barrier(None).await, waiter) });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished());
    setter.remove_barrier().await.unwrap();
    setter.remove_barrier().await.unwrap(); // down already: fine
    let (passed, waiter) = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    assert!(passed.unwrap());
    waiter.close().await.unwrap();
    setter.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_curators_layout_enter_and_leave() {
    let server = shared_server().await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(client(&server.connect_string()).await);
    }
    let dir = "/real/barrier/double";
    let mut first = member(&clients[0], dir, 3).await;
    // Alone it times out, and takes its node away again.
    assert!(!first.enter(Some(Duration::from_millis(300))).await.unwrap());
    assert_eq!(layout(&clients[0], dir).await, (Vec::new(), false));
    let a = entering(first);
    let b = entering(member(&clients[1], dir, 3).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !a.is_finished() && !b.is_finished(),
        "two of three never enter"
    );
    let c = entering(member(&clients[2], dir, 3).await);
    let members = [joined(a).await, joined(b).await, joined(c).await];
    // Curator's layout: <dir>/<uuid> EPHEMERAL for each member, <dir>/ready PERSISTENT.
    let (mut names, ready) = layout(&clients[0], dir).await;
    assert!(ready);
    let mut ours: Vec<String> = members
        .iter()
        .map(|m| m.node().rsplit('/').next().unwrap().to_owned())
        .collect();
    names.sort();
    ours.sort();
    assert_eq!(names, ours);
    for (m, c) in members.iter().zip(&clients) {
        assert!(docent::rng::is_uuid(m.node().rsplit('/').next().unwrap()));
        let (_, stat, _) = c.get_data().at(&m.node()).await.unwrap();
        assert_eq!(stat.ephemeral_owner, c.session_id());
        assert_eq!(m.state(), DoubleBarrierState::Inside);
    }
    let (_, stat, _) = clients[0]
        .get_data()
        .at(&format!("{dir}/ready"))
        .await
        .unwrap();
    assert_eq!(stat.ephemeral_owner, 0);
    // Two leave: they wait for the third.
    let [a, b, c] = members;
    let (a, b) = (leaving(a), leaving(b));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !a.is_finished() && !b.is_finished(),
        "nobody leaves before all have"
    );
    let c = leaving(c);
    for m in [joined(a).await, joined(b).await, joined(c).await] {
        assert_eq!(m.state(), DoubleBarrierState::Outside);
        m.close().await.unwrap();
    }
    assert_eq!(layout(&clients[0], dir).await, (Vec::new(), false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn double_barrier_survives_the_loss_of_a_members_server() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    // Both may move to another member; `a` waits in the barrier when its member dies.
    let a = client(&cluster.connect_string()).await;
    let b = client(&cluster.connect_string()).await;
    let dir = "/real/barrier/cluster";
    let ta = entering(member(&a, dir, 2).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let serving = cluster
        .member_serving(a.session_id())
        .await
        .expect("a's member");
    cluster.kill(serving);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!ta.is_finished(), "a server's loss lets nobody in");
    let tb = entering(member(&b, dir, 2).await);
    let (ma, mb) = (joined(ta).await, joined(tb).await);
    let (ta, tb) = (leaving(ma), leaving(mb));
    joined(ta).await.close().await.unwrap();
    joined(tb).await.close().await.unwrap();
    assert_eq!(layout(&b, dir).await, (Vec::new(), false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn barriers_hold_through_a_partition() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;
    // Double barrier: a member cut off (not past its session) does not enter with one of two.
    let dir = "/real/barrier/partition";
    let ta = entering(member(&behind, dir, 2).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.heal();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!ta.is_finished(), "a disconnection lets nobody in");
    let tb = entering(member(&other, dir, 2).await);
    let (ma, mb) = (joined(ta).await, joined(tb).await);
    // Cut off mid-leave past its session timeout: its node goes with its session, so the
    // other's leave passes; the cut-off member's leave passes once it is back.
    let tb = leaving(mb);
    proxy.cut();
    joined(tb).await.close().await.unwrap();
    let ta = leaving(ma);
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.heal();
    joined(ta).await.close().await.unwrap();
    assert_eq!(layout(&other, dir).await, (Vec::new(), false));
    // Barrier: a waiter cut off while it is up never passes; it passes once it is removed.
    let path = "/real/barrier/partition-gate";
    let setter = Barrier::start(&other, path, BarrierOptions::default())
        .await
        .unwrap();
    setter.set_barrier().await.unwrap();
    let mut waiter = Barrier::start(&behind, path, BarrierOptions::default())
        .await
        .unwrap();
    let waiting = tokio::spawn(async move { (waiter.wait_on_barrier(None).await, waiter) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(6)).await;
    proxy.heal();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!waiting.is_finished(), "a lost session lets nobody through");
    // Removing is idempotent: on a loaded machine the call may be cut off; call it again.
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Err(e) = setter.remove_barrier().await {
        assert!(
            e.kind() == docent::ErrorKind::Connection && tokio::time::Instant::now() < deadline,
            "{e}"
        );
    }
    let (passed, waiter) = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    assert!(passed.unwrap());
    waiter.close().await.unwrap();
    setter.close().await.unwrap();
}
