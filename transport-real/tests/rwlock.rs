//! The read–write lock on real ZooKeeper: readers share and a writer excludes everyone, on
//! Curator's layout (checked on the server), with re-entrancy, the refused upgrade and the
//! downgrade; a 3-server cluster losing the write holder's member; a write holder cut off
//! through the chaos proxy until its session expires (fenced out, another process writes).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::fencing;
use docent::recipes::lock::LockGuard;
use docent::recipes::rwlock::{ReadWriteLock, ReadWriteLockOptions};
use docent::{Client, MultiOp, MultiResult};
use docent_zk::testing::{ChaosProxy, TestingCluster};

const WAIT: Duration = Duration::from_secs(15);
const SHORT: Duration = Duration::from_millis(300);

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

async fn lock(client: &Client, path: &str, data: &str) -> ReadWriteLock {
    ReadWriteLock::start(client, path, ReadWriteLockOptions::default().data(data))
        .await
        .unwrap()
}

/// A guard's node as the server has it: name, data, owner; its token is the creation zxid.
async fn on_server(c: &Client, guard: &LockGuard, owner: &Client) -> (String, Vec<u8>) {
    let (data, stat, _) = c.get_data().at(guard.node()).await.unwrap();
    assert_eq!(stat.ephemeral_owner, owner.session_id(), "{}", guard.node());
    assert_eq!(stat.czxid, guard.token(), "the token is the node's czxid");
    let name = guard.node().rsplit('/').next().unwrap().to_owned();
    (name, data)
}

async fn children(c: &Client, path: &str) -> Vec<String> {
    let (mut nodes, _, _) = c.get_children().at(path).await.unwrap();
    nodes.sort();
    nodes
}

/// Waits (bounded) until `path` has at least `n` children; returns them.
async fn nodes_at_least(c: &Client, path: &str, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let nodes = children(c, path).await;
        if nodes.len() >= n {
            return nodes;
        }
        assert!(tokio::time::Instant::now() < deadline, "{nodes:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn set(path: &str, data: &str) -> Vec<MultiOp> {
    vec![MultiOp::SetData {
        path: path.into(),
        data: data.as_bytes().to_vec(),
        version: None,
    }]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_share_a_writer_excludes_on_curators_layout() {
    let server = shared_server().await;
    let cs = server.connect_string();
    let (a, b, c, d) = (
        client(&cs).await,
        client(&cs).await,
        client(&cs).await,
        client(&cs).await,
    );
    let path = "/real/rwlock";
    let (la, lb, lc, ld) = (
        lock(&a, path, "a").await,
        lock(&b, path, "b").await,
        lock(&c, path, "c").await,
        lock(&d, path, "d").await,
    );
    c.create().parents().at("/real/rwdata").await.ok();

    // Two readers share.
    let ra = within(WAIT, la.read().acquire()).await.unwrap();
    let rb = within(WAIT, lb.read().acquire()).await.unwrap();
    assert!(rb.token() > ra.token());
    for (guard, owner, data) in [(&ra, &a, "a"), (&rb, &b, "b")] {
        let (name, on) = on_server(&c, guard, owner).await;
        assert!(protected_name(&name, "__READ__"), "{name}");
        assert_eq!(on, data.as_bytes());
    }
    // Re-entrant per handle: the same node and token, one node on the server.
    let again = la.read().acquire().await.unwrap();
    assert_eq!((again.node(), again.token()), (ra.node(), ra.token()));
    again.release().await.unwrap();
    assert!(la.read().is_held());
    assert_eq!(children(&c, path).await.len(), 2);

    // A writer waits for both readers; a reader arriving behind the writer waits for it.
    assert!(lc.write().try_acquire(SHORT).await.unwrap().is_none());
    let lc = Arc::new(lc);
    let writing = {
        let lc = lc.clone();
        tokio::spawn(async move { lc.write().acquire().await })
    };
    let nodes = nodes_at_least(&c, path, 3).await;
    let writes: Vec<_> = nodes
        .iter()
        .filter(|n| protected_name(n, "__WRIT__"))
        .collect();
    assert_eq!(writes.len(), 1, "{nodes:?}");
    assert!(ld.read().try_acquire(SHORT).await.unwrap().is_none());
    assert!(
        !writing.is_finished(),
        "the writer got in beside two readers"
    );

    // The readers leave: the writer holds, alone.
    ra.release().await.unwrap();
    assert!(!writing.is_finished(), "the writer got in beside a reader");
    let rb_token = rb.token();
    rb.release().await.unwrap();
    let w = within(WAIT, writing).await.unwrap().unwrap();
    assert!(w.token() > rb_token);
    let (name, data) = on_server(&c, &w, &c).await;
    assert!(protected_name(&name, "__WRIT__"), "{name}");
    assert_eq!(data, b"c");
    assert_eq!(children(&c, path).await, vec![name.clone()]);
    assert!(la.read().try_acquire(SHORT).await.unwrap().is_none());
    assert!(lb.write().try_acquire(SHORT).await.unwrap().is_none());
    w.guarded(set("/real/rwdata", "writer c")).await.unwrap();
    assert_eq!(
        c.get_data().at("/real/rwdata").await.unwrap().0,
        b"writer c"
    );
    let again = lc.write().acquire().await.unwrap();
    assert_eq!((again.node(), again.token()), (w.node(), w.token()));
    drop(again);
    assert!(lc.write().is_held());

    // Downgrade: the write holder reads, its read node named after the write node's sequence
    // (a plain ephemeral); the write lock released, a reader joins, a writer still waits.
    let down = lc.read().acquire().await.unwrap();
    let (down_name, _) = on_server(&c, &down, &c).await;
    assert!(protected_name(&down_name, "__READ__"), "{down_name}");
    assert_eq!(down_name[48..], name[48..], "the write node's sequence");
    assert!(down.token() > w.token());
    w.release().await.unwrap();
    assert!(!lc.write().is_held() && lc.read().is_held());
    assert_eq!(children(&c, path).await, vec![down_name.clone()]);
    let rd = within(WAIT, ld.read().acquire()).await.unwrap();
    assert!(lb.write().try_acquire(SHORT).await.unwrap().is_none());

    // No upgrade: a read holder asking for the write lock is told so at once.
    let upgrade = lc.write().acquire().await;
    assert!(
        matches!(upgrade, Err(docent::Error::InvalidArgument(_))),
        "{upgrade:?}"
    );
    assert!(
        lc.read().is_held(),
        "the refused upgrade keeps the read lock"
    );

    down.release().await.unwrap();
    let rd_token = rd.token();
    rd.release().await.unwrap();
    let last = within(WAIT, lb.write().acquire()).await.unwrap();
    assert!(last.token() > rd_token);
    last.release().await.unwrap();
    la.close().await.unwrap();
    lb.close().await.unwrap();
    Arc::try_unwrap(lc).unwrap().close().await.unwrap();
    ld.close().await.unwrap();
    assert_eq!(children(&c, path).await, Vec::<String>::new());
}

/// Records a landed guarded write: its commit zxid and the writer's token.
fn landed(log: &mut Vec<(i64, i64)>, token: i64, result: &Result<Vec<MultiResult>, docent::Error>) {
    if let Ok(results) = result {
        let Some(MultiResult::DataSet(stat)) = results.first() else {
            panic!("{results:?}");
        };
        log.push((stat.mzxid, token));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rwlock_survives_the_loss_of_the_write_holders_member() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    let cs = cluster.connect_string();
    let (a, b, c) = (client(&cs).await, client(&cs).await, client(&cs).await);
    let path = "/real/clusterrw";
    let (la, lb, lc) = (
        lock(&a, path, "a").await,
        lock(&b, path, "b").await,
        lock(&c, path, "c").await,
    );
    let data = "/real/clusterrwdata";
    a.create().parents().at(data).await.unwrap();
    let mut log = Vec::new();

    let first = la.write().acquire().await.unwrap();
    landed(
        &mut log,
        first.token(),
        &first.guarded(set(data, "a")).await,
    );
    let (lb, lc) = (Arc::new(lb), Arc::new(lc));
    // A writer queues, then a reader behind it.
    let writer = {
        let lb = lb.clone();
        tokio::spawn(async move { lb.write().acquire().await })
    };
    nodes_at_least(&b, path, 2).await;
    let reader = {
        let lc = lc.clone();
        tokio::spawn(async move { lc.read().acquire().await })
    };
    nodes_at_least(&b, path, 3).await;
    let member = cluster
        .member_serving(a.session_id())
        .await
        .expect("the holder's member");
    cluster.kill(member);
    within(WAIT, first.lost()).await;
    // The holder's session moves to another member (its lease kept) or expires (its node
    // gone): either way its guarded write lands only while the write lock is still its own.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = tokio::time::timeout(WAIT, first.guarded(set(data, "a again"))).await;
    if let Ok(result) = &after {
        landed(&mut log, first.token(), result);
    }
    let first_token = first.token();
    let _ = first.release().await;

    let second = within(Duration::from_secs(30), writer)
        .await
        .unwrap()
        .unwrap();
    assert!(second.token() > first_token);
    // On the server, the writer's node is the first: nothing from a is left ahead of it.
    let nodes = children(&b, path).await;
    let key = |n: &String| n[n.len() - 10..].to_owned();
    let first_node = nodes.iter().min_by_key(|n| key(n)).unwrap();
    assert!(second.node().ends_with(first_node.as_str()), "{nodes:?}");
    assert!(!reader.is_finished(), "a reader beside the writer");
    landed(
        &mut log,
        second.token(),
        &second.guarded(set(data, "b")).await,
    );
    let second_token = second.token();
    second.release().await.unwrap();
    let read = within(WAIT, reader).await.unwrap().unwrap();
    assert!(read.token() > second_token);
    read.release().await.unwrap();

    // Never two writers: the landed writes, in commit order, carry rising tokens.
    log.sort();
    assert!(log.windows(2).all(|w| w[0].1 <= w[1].1), "{log:?}");
    assert_eq!(log.last().unwrap().1, second_token);
    assert_eq!(b.get_data().at(data).await.unwrap().0, b"b");
    let _ = la.close().await;
    Arc::try_unwrap(lb).unwrap().close().await.unwrap();
    Arc::try_unwrap(lc).unwrap().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_write_holder_is_fenced_out() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;
    let data = "/real/rwfenced";
    other.create().parents().at(data).await.ok();
    let path = "/real/rwexpiry";
    let stale = lock(&behind, path, "stale").await;
    let fresh = lock(&other, path, "fresh").await;

    let first = stale.write().acquire().await.unwrap();
    let lost = first.lost();
    proxy.cut();
    let second = within(WAIT, fresh.write().acquire()).await.unwrap();
    assert!(second.token() > first.token());
    within(Duration::from_secs(5), lost).await;
    assert!(!stale.write().is_held());

    // The stale guard refuses at once; its node, written down, is refused by the server.
    proxy.heal();
    assert!(first.guarded(set(data, "stale")).await.is_err());
    let mut refused = Err(docent::Error::SessionExpired);
    for _ in 0..100 {
        refused = fencing::guarded_on(&behind, first.node(), set(data, "stale")).await;
        if !refused.as_ref().is_err_and(docent::Error::is_retryable) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        refused.as_ref().is_err_and(fencing::is_fenced_out),
        "{refused:?}"
    );
    second.guarded(set(data, "fresh")).await.unwrap();
    assert_eq!(other.get_data().at(data).await.unwrap().0, b"fresh");

    // The stale handle works again with its new session: it reads once the writer is done.
    assert!(stale.read().try_acquire(SHORT).await.unwrap().is_none());
    let second_token = second.token();
    second.release().await.unwrap();
    let read = within(WAIT, stale.read().acquire()).await.unwrap();
    assert!(read.token() > second_token);
    let (_, on) = on_server(&other, &read, &behind).await;
    assert_eq!(on, b"stale");
    read.release().await.unwrap();
    drop(first);
    stale.close().await.unwrap();
    fresh.close().await.unwrap();
}
