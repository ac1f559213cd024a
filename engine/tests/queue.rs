//! The queues on the embedded ensemble: order, content, the two consumption modes, corrupt
//! nodes, the packet limit, and the container reaped under a blocked take.

use std::time::Duration;

use futures::StreamExt;

use docent::op::MultiOp;
use docent::recipes::queue::format::{encode, QUEUE_PREFIX};
use docent::recipes::queue::*;
use docent::{Acl, Client, CreateMode, Error};

fn ensemble() -> (docent_sim::EmbeddedEnsemble, Client) {
    let ensemble = docent_sim::EmbeddedEnsemble::start(1);
    let client = Client::builder(ensemble.connect()).build().unwrap();
    (ensemble, client)
}

async fn children(client: &Client, path: &str) -> Vec<String> {
    match client.get_children().at(path).await {
        Ok((mut c, _, _)) => {
            c.sort();
            c
        }
        Err(Error::NoNode) => Vec::new(),
        Err(e) => panic!("{e}"),
    }
}

async fn next(items: &mut ItemStream) -> QueueItem {
    items.next().await.expect("stream open").expect("an item")
}

#[tokio::test]
async fn simple_queue_is_fifo_with_curators_semantics() {
    let (_e, client) = ensemble();
    let q = SimpleQueue::start(&client, "/sq", SimpleQueueOptions::default())
        .await
        .unwrap();
    assert_eq!(q.peek().await, Ok(None));
    assert_eq!(q.element().await, Err(Error::NoNode));
    assert_eq!(q.remove().await, Err(Error::NoNode));
    for item in [&b"one"[..], b"", b"\x00\xff three"] {
        let node = q.offer(item).await.unwrap();
        assert!(node.starts_with("/sq/qn-"), "{node}");
    }
    // A foreign child is ignored.
    client.create().at("/sq/other").await.unwrap();
    assert_eq!(q.element().await.unwrap(), b"one");
    assert_eq!(q.take().await.unwrap(), b"one");
    assert_eq!(
        q.poll(Duration::from_millis(5)).await.unwrap(),
        Some(Vec::new())
    );
    assert_eq!(q.remove().await.unwrap(), b"\x00\xff three");
    assert_eq!(q.poll(Duration::from_millis(5)).await.unwrap(), None);
    assert_eq!(children(&client, "/sq").await, vec!["other".to_string()]);
    q.close().await.unwrap();
}

#[tokio::test]
async fn simple_take_waits_for_an_offer() {
    let (_e, client) = ensemble();
    let q = SimpleQueue::start(&client, "/sq", SimpleQueueOptions::default())
        .await
        .unwrap();
    let producer = SimpleQueue::start(&client, "/sq", SimpleQueueOptions::default())
        .await
        .unwrap();
    let take = tokio::spawn(async move { q.take().await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    producer.offer(b"late").await.unwrap();
    assert_eq!(take.await.unwrap().unwrap(), b"late");
}

#[tokio::test]
async fn locked_consumer_deletes_after_the_last_ack() {
    let (_e, client) = ensemble();
    let options = QueueOptions::default().lock_path("/q-locks");
    let q = DistributedQueue::start(&client, "/q", options)
        .await
        .unwrap();
    let node = q.put_many(&[&b"a"[..], b"bb"]).await.unwrap();
    assert!(node.starts_with("/q/queue-"), "{node}");
    let (data, _, _) = client.get_data().at(&node).await.unwrap();
    assert_eq!(data, encode(&[&b"a"[..], b"bb"]));
    let mut items = q.consume().unwrap();
    assert!(matches!(q.consume(), Err(Error::InvalidArgument(_))));
    let a = next(&mut items).await;
    assert_eq!((a.data(), a.node()), (&b"a"[..], node.as_str()));
    let token = a.token().expect("locked");
    let lock = format!("/q-locks/{}", docent::path::name(&node));
    let (stat, _) = client.exists().at(&lock).await.unwrap();
    assert_eq!(
        stat.map(|s| s.czxid),
        Some(token),
        "the item lock is the token's node"
    );
    // Fenced writes go through while the lock is ours.
    let write = MultiOp::Create {
        path: "/processed".into(),
        data: a.data().to_vec(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    };
    assert!(a.is_current());
    a.guarded(vec![write]).await.unwrap();
    // The next item comes once this one is acknowledged.
    let pending = tokio::time::timeout(Duration::from_millis(50), items.next()).await;
    assert!(pending.is_err(), "one item at a time");
    a.ack();
    let b = next(&mut items).await;
    assert_eq!((b.data(), b.token()), (&b"bb"[..], Some(token)));
    assert_eq!(
        children(&client, "/q").await.len(),
        1,
        "one item still unacknowledged"
    );
    b.ack();
    while !children(&client, "/q").await.is_empty() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    while !children(&client, "/q-locks").await.is_empty() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    q.close().await.unwrap();
    assert!(
        items.next().await.is_none(),
        "the stream ends with the queue"
    );
}

#[tokio::test]
async fn a_dropped_item_is_delivered_again_with_a_lock_path() {
    let (_e, client) = ensemble();
    let options = QueueOptions::default().lock_path("/q-locks");
    let q = DistributedQueue::start(&client, "/q", options)
        .await
        .unwrap();
    q.put(b"x").await.unwrap();
    q.put(b"y").await.unwrap();
    let mut items = q.consume().unwrap();
    let first = next(&mut items).await;
    assert_eq!(first.data(), b"x");
    drop(first); // unacknowledged: unlocked, kept
    let second = next(&mut items).await;
    assert_eq!(second.data(), b"y");
    assert_eq!(second.into_data(), b"y");
    let again = next(&mut items).await;
    assert_eq!(again.data(), b"x");
    again.ack();
}

#[tokio::test]
async fn without_a_lock_path_the_node_goes_before_delivery() {
    let (_e, client) = ensemble();
    let q = DistributedQueue::start(&client, "/q", QueueOptions::default())
        .await
        .unwrap();
    let node = q.put(b"once").await.unwrap();
    let mut items = q.consume().unwrap();
    let item = next(&mut items).await;
    assert_eq!(item.data(), b"once");
    assert_eq!(item.token(), None);
    assert!(matches!(
        item.guarded(Vec::new()).await,
        Err(Error::NotHeld { .. })
    ));
    assert_eq!(client.exists().at(&node).await.unwrap().0, None);
    drop(item); // not delivered again
    q.put(b"next").await.unwrap();
    assert_eq!(next(&mut items).await.into_data(), b"next");
}

#[tokio::test]
async fn corrupt_nodes_are_reported_and_left_in_place() {
    for lock in [None, Some("/q-locks")] {
        let (_e, client) = ensemble();
        let mut options = QueueOptions::default();
        if let Some(lock) = lock {
            options = options.lock_path(lock);
        }
        let q = DistributedQueue::start(&client, "/q", options)
            .await
            .unwrap();
        let mode = CreateMode::PersistentSequential;
        let bad = client
            .create()
            .mode(mode)
            .data(&b"junk"[..])
            .at("/q/queue-")
            .await
            .unwrap();
        q.put(b"good").await.unwrap();
        let mut items = q.consume().unwrap();
        match items.next().await {
            Some(Err(Error::CorruptData { path, .. })) => assert_eq!(path, bad),
            other => panic!("{other:?}"),
        }
        assert_eq!(next(&mut items).await.into_data(), b"good");
        let (data, _, _) = client.get_data().at(&bad).await.unwrap();
        assert_eq!(data, b"junk", "never deleted");
    }
}

#[tokio::test]
async fn put_many_stays_under_the_packet_limit() {
    let (_e, client) = ensemble();
    let q = DistributedQueue::start(&client, "/q", QueueOptions::default())
        .await
        .unwrap();
    let big = vec![7u8; docent::wire::MAX_PACKET / 2];
    assert!(matches!(
        q.put_many(&[&big, &big]).await,
        Err(Error::DataTooLarge {
            max: docent::wire::MAX_PACKET,
            ..
        })
    ));
    q.put_many(&[&big]).await.unwrap();
    assert_eq!(children(&client, "/q").await.len(), 1);
    assert!(children(&client, "/q").await[0].starts_with(QUEUE_PREFIX));
}

#[tokio::test]
async fn priority_queue_takes_lower_priorities_first() {
    let (_e, client) = ensemble();
    let q = DistributedPriorityQueue::start(&client, "/pq", QueueOptions::default())
        .await
        .unwrap();
    for (item, priority) in [
        ("p5", 5),
        ("n1", -1),
        ("p0", 0),
        ("p5b", 5),
        ("max", i32::MAX),
    ] {
        q.put(item, priority).await.unwrap();
    }
    let names = children(&client, "/pq").await;
    assert!(
        names.contains(&"queue-0FFFFFFFF0000000001".to_string()),
        "{names:?}"
    );
    let mut items = q.consume().unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(String::from_utf8(next(&mut items).await.into_data()).unwrap());
    }
    assert_eq!(got, ["n1", "p0", "p5", "p5b", "max"]);
}

#[tokio::test]
async fn id_queue_removes_by_id_and_keeps_names_on_requeue() {
    let (_e, client) = ensemble();
    let options = QueueOptions::default().lock_path("/iq-locks");
    let q = DistributedIdQueue::start(&client, "/iq", options)
        .await
        .unwrap();
    let keep = q.put(b"keep", "job-1").await.unwrap();
    q.put(b"gone", "job-2").await.unwrap();
    q.put(b"gone too", "job-2").await.unwrap();
    assert!(keep.starts_with("/iq/queue-|job-1|"), "{keep}");
    assert!(matches!(
        q.put(b"x", "a|b").await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(q.remove("job-2").await.unwrap(), 2);
    let mut items = q.consume().unwrap();
    // Failed (dropped) three times: the same node, name and id each time.
    for _ in 0..3 {
        let item = next(&mut items).await;
        assert_eq!((item.data(), item.node()), (&b"keep"[..], keep.as_str()));
        drop(item);
    }
    next(&mut items).await.ack();
    while !children(&client, "/iq").await.is_empty() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(q.remove("job-1").await.unwrap(), 0);
}

#[tokio::test]
async fn delay_queue_delivers_items_once_due_in_due_order() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;
    let (_e, client) = ensemble();
    let now = Arc::new(AtomicI64::new(1_000));
    let clock = {
        let now = now.clone();
        move || now.load(Ordering::SeqCst)
    };
    let q = DistributedDelayQueue::start(&client, "/dq", QueueOptions::default(), clock)
        .await
        .unwrap();
    let late = q.put(b"late", 1_060).await.unwrap();
    q.put(b"soon", 1_030).await.unwrap();
    q.put(b"overdue", 900).await.unwrap();
    assert!(late.starts_with("/dq/queue-|00000424|"), "{late}");
    let mut items = q.consume().unwrap();
    assert_eq!(next(&mut items).await.into_data(), b"overdue");
    let early = tokio::time::timeout(Duration::from_millis(100), items.next()).await;
    assert!(early.is_err(), "nothing is due yet");
    now.store(1_030, Ordering::SeqCst); // the consumer looks again when "soon" is due
    assert_eq!(next(&mut items).await.into_data(), b"soon");
    now.store(2_000, Ordering::SeqCst);
    assert_eq!(next(&mut items).await.into_data(), b"late");
}
