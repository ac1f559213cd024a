//! The queues on real ZooKeeper: Curator's layout and formats on a test server, a consumer cut
//! off mid-item through the chaos proxy (the item goes to another consumer, the stale one is
//! fenced out), and a 3-server cluster losing the member a consumer is connected to.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use common::*;
use docent::recipes::queue::format::encode;
use docent::recipes::queue::{
    DistributedQueue, ItemStream, QueueItem, QueueOptions, SimpleQueue, SimpleQueueOptions,
};
use docent::{Client, MultiOp};
use docent_zk::testing::{ChaosProxy, TestingCluster};

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

const WAIT: Duration = Duration::from_secs(30);

async fn next(items: &mut ItemStream) -> QueueItem {
    tokio::time::timeout(WAIT, items.next())
        .await
        .expect("an item in time")
        .expect("stream open")
        .expect("an item")
}

async fn children(client: &Client, path: &str) -> Vec<String> {
    client
        .get_children()
        .at(path)
        .await
        .map(|c| c.0)
        .unwrap_or_default()
}

async fn until_empty(client: &Client, path: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !children(client, path).await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} never emptied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_keep_curators_layout_on_a_test_server() {
    let server = shared_server().await;
    let (a, b) = (
        client(&server.connect_string()).await,
        client(&server.connect_string()).await,
    );
    // SimpleDistributedQueue: qn-<seq>, raw bytes, FIFO.
    let sq = SimpleQueue::start(&a, "/real/simple", SimpleQueueOptions::default())
        .await
        .unwrap();
    let node = sq.offer(b"raw \x00 bytes").await.unwrap();
    assert!(node.starts_with("/real/simple/qn-"), "{node}");
    assert_eq!(b.get_data().at(&node).await.unwrap().0, b"raw \x00 bytes");
    sq.offer(b"second").await.unwrap();
    let taker = SimpleQueue::start(&b, "/real/simple", SimpleQueueOptions::default())
        .await
        .unwrap();
    assert_eq!(taker.take().await.unwrap(), b"raw \x00 bytes");
    assert_eq!(taker.take().await.unwrap(), b"second");
    assert_eq!(taker.poll(Duration::from_millis(50)).await.unwrap(), None);

    // DistributedQueue with a lock path: queue-<seq> in Curator's item format.
    let options = || QueueOptions::default().lock_path("/real/queue-locks");
    let producer = DistributedQueue::start(&a, "/real/queue", options())
        .await
        .unwrap();
    let node = producer.put_many(&[&b"one"[..], b"two"]).await.unwrap();
    assert!(node.starts_with("/real/queue/queue-"), "{node}");
    assert_eq!(
        b.get_data().at(&node).await.unwrap().0,
        encode(&[&b"one"[..], b"two"])
    );
    let consumer = DistributedQueue::start(&b, "/real/queue", options())
        .await
        .unwrap();
    let mut items = consumer.consume().unwrap();
    let one = next(&mut items).await;
    assert_eq!(one.data(), b"one");
    let lock = format!("/real/queue-locks/{}", docent::path::name(&node));
    let (stat, _) = a.exists().at(&lock).await.unwrap();
    assert_eq!(
        stat.map(|s| s.czxid),
        one.token(),
        "the item lock holds the token"
    );
    let one_token = one.token();
    one.ack();
    let two = next(&mut items).await;
    assert_eq!((two.data(), two.token()), (&b"two"[..], one_token));
    two.ack();
    until_empty(&a, "/real/queue").await;
    until_empty(&a, "/real/queue-locks").await;

    // Without a lock path the node is gone before the item arrives.
    let plain = DistributedQueue::start(&b, "/real/plainqueue", QueueOptions::default())
        .await
        .unwrap();
    let node = producer_put(&a, "/real/plainqueue", b"once").await;
    let mut items = plain.consume().unwrap();
    let item = next(&mut items).await;
    assert_eq!(item.data(), b"once");
    assert!(a.exists().at(&node).await.unwrap().0.is_none());
    for q in [producer, consumer, plain] {
        q.close().await.unwrap();
    }
}

async fn producer_put(client: &Client, path: &str, item: &[u8]) -> String {
    let q = DistributedQueue::start(client, path, QueueOptions::default())
        .await
        .unwrap();
    let node = q.put(item).await.unwrap();
    q.close().await.unwrap();
    node
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_cut_off_mid_item_is_fenced_out() {
    let server = shared_server().await;
    let proxy = ChaosProxy::start(server.addr()).await.unwrap();
    let behind = client(&proxy.connect_string()).await;
    let other = client(&server.connect_string()).await;
    other.create().parents().at("/real/queuedata").await.ok();
    let options = || QueueOptions::default().lock_path("/real/cutqueue-locks");
    let stale = DistributedQueue::start(&behind, "/real/cutqueue", options())
        .await
        .unwrap();
    let fresh = DistributedQueue::start(&other, "/real/cutqueue", options())
        .await
        .unwrap();
    fresh.put(b"job").await.unwrap();
    let mut stale_items = stale.consume().unwrap();
    let first = next(&mut stale_items).await;
    let lost = first.lost();
    proxy.cut();
    let mut fresh_items = fresh.consume().unwrap();
    let second = next(&mut fresh_items).await;
    assert_eq!(
        second.data(),
        b"job",
        "delivered again once the session expired"
    );
    assert!(second.token() > first.token());
    tokio::time::timeout(Duration::from_secs(5), lost)
        .await
        .expect("the stale item lock reports lost");
    proxy.heal();
    let write = vec![MultiOp::SetData {
        path: "/real/queuedata".into(),
        data: b"stale".to_vec(),
        version: None,
    }];
    assert!(first.guarded(write.clone()).await.is_err());
    first.ack();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        children(&other, "/real/cutqueue").await.len(),
        1,
        "the stale ack deleted nothing"
    );
    second.guarded(write).await.unwrap();
    second.ack();
    until_empty(&other, "/real/cutqueue").await;
    stale.close().await.unwrap();
    fresh.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_survives_the_loss_of_its_cluster_member() {
    let mut cluster = TestingCluster::start(3).await.unwrap();
    // The consumer knows every member: its session moves once its member is gone. The
    // producer stays on another member (a put cut off there would be an unknown outcome).
    let a = client(&cluster.connect_string()).await;
    let options = || QueueOptions::default().lock_path("/real/clusterqueue-locks");
    let consumer = DistributedQueue::start(&a, "/real/clusterqueue", options())
        .await
        .unwrap();
    let mut member = None;
    for _ in 0..50 {
        member = cluster.member_serving(a.session_id()).await;
        if member.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let member = member.expect("a's member");
    let b = client(&cluster.member_connect_string((member + 1) % 3).unwrap()).await;
    let producer = DistributedQueue::start(&b, "/real/clusterqueue", options())
        .await
        .unwrap();
    let mut items = consumer.consume().unwrap();
    producer.put(b"before").await.unwrap();
    assert_eq!(next(&mut items).await.into_data(), b"before");
    cluster.kill(member);
    // If the member led, an election drops every connection: a put in flight then would be an
    // unknown outcome (reported, never retried). Put once the ensemble serves writes again.
    let deadline = tokio::time::Instant::now() + WAIT;
    while b
        .set_data()
        .at("/real/clusterqueue", Vec::new())
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no quorum after the kill"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..3 {
        let item = format!("after-{i}").into_bytes();
        tokio::time::timeout(WAIT, producer.put(&item))
            .await
            .expect("put in time")
            .unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(next(&mut items).await.into_data());
    }
    assert_eq!(
        got,
        [
            b"after-0".to_vec(),
            b"after-1".to_vec(),
            b"after-2".to_vec()
        ]
    );
    until_empty(&b, "/real/clusterqueue").await;
    consumer.close().await.unwrap();
    producer.close().await.unwrap();
}
