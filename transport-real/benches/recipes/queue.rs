//! A queue beside Curator's `DistributedQueue` (byte-array items, no lock path: items are
//! deleted before they are handed out on both sides): put items/s and take items/s, with one
//! item per node and with 100 items per node (`put_many`, Curator's `putMulti`).
//!
//! Puts are sequential, each waiting for its reply (Curator: `putInBackground(false)`). A
//! take is timed from the consumer's start (docent `consume`, Curator `start`) on a queue
//! filled beforehand until it has handed out every item; a fresh client consumes.

use std::time::Instant;

use docent::recipes::queue::{DistributedQueue, QueueOptions};
use docent::Client;
use futures::StreamExt;

use crate::support::{scaled, traced, Round, Row, Timeline};
use crate::trace::Trace;

/// The rows both sides measure.
pub const ROWS: [Row; 4] = [
    (
        "queue put, 1 item per node (items/s)",
        "queue_put_per_s",
        true,
    ),
    (
        "queue take, 1 item per node (items/s)",
        "queue_take_per_s",
        true,
    ),
    (
        "queue put, 100 items per node (items/s)",
        "queue_put_many_per_s",
        true,
    ),
    (
        "queue take, 100 items per node (items/s)",
        "queue_take_many_per_s",
        true,
    ),
];

/// Items per node of the `put_many` rows.
const BATCH: usize = 100;

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>) {
    let trace = Trace::default();
    let producer = traced(r.cs, &trace, "producer").await;
    let single = format!("{}/queue", r.base);
    let nodes = scaled(2000, r.scale);
    let (put, items) = fill(&producer, &single, nodes, 1).await;
    r.put("queue_put_per_s", put);
    let (rate, timeline) = take(r.cs, &single, &items).await;
    r.put("queue_take_per_s", rate);
    r.trace(
        "a queue consumer's start and its first 3 items (1 item per node)",
        timeline,
    );
    let many = format!("{}/queue-many", r.base);
    let (put, items) = fill(&producer, &many, scaled(100, r.scale), BATCH).await;
    r.put("queue_put_many_per_s", put);
    r.put("queue_take_many_per_s", take(r.cs, &many, &items).await.0);
    let origin = trace.start();
    let queue = DistributedQueue::start(&producer, &single, QueueOptions::default())
        .await
        .unwrap();
    queue.put(b"traced").await.unwrap();
    r.trace("a queue's start and one put", (origin, trace.stop()));
    queue.close().await.unwrap();
    producer.close().await.unwrap();
}

/// Puts `nodes + nodes / 5` nodes of `per_node` items each (the first fifth to warm up):
/// the timed ones' items/s, and every item put, in order.
async fn fill(c: &Client, path: &str, nodes: usize, per_node: usize) -> (f64, Vec<Vec<u8>>) {
    let queue = DistributedQueue::start(c, path, QueueOptions::default())
        .await
        .unwrap();
    let warm = nodes / 5;
    let mut all = Vec::new();
    let mut t = Instant::now();
    for node in 0..warm + nodes {
        if node == warm {
            t = Instant::now();
        }
        let items: Vec<Vec<u8>> = (0..per_node)
            .map(|i| format!("item-{node}-{i}").into_bytes())
            .collect();
        if per_node == 1 {
            queue.put(&items[0]).await.unwrap();
        } else {
            queue.put_many(&items).await.unwrap();
        }
        all.extend(items);
    }
    let rate = (nodes * per_node) as f64 / t.elapsed().as_secs_f64();
    queue.close().await.unwrap();
    (rate, all)
}

/// A fresh client consumes the queue at `path` until it has every item of `items`: items/s,
/// and the trace of its start and first 3 items. Checks that they come in order, each once.
async fn take(cs: &str, path: &str, items: &[Vec<u8>]) -> (f64, Timeline) {
    let trace = Trace::default();
    let c = traced(cs, &trace, "consumer").await;
    let queue = DistributedQueue::start(&c, path, QueueOptions::default())
        .await
        .unwrap();
    let t = trace.start();
    let mut stream = queue.consume().unwrap();
    let mut timeline = None;
    for (i, want) in items.iter().enumerate() {
        let item = stream.next().await.expect("the stream is open").unwrap();
        assert_eq!(&item.into_data(), want, "the queue's order");
        if i == 2 || i + 1 == items.len() {
            timeline.get_or_insert_with(|| (t, trace.stop()));
        }
    }
    let rate = items.len() as f64 / t.elapsed().as_secs_f64();
    queue.close().await.unwrap();
    let (left, _, _) = c.get_children().at(path).await.unwrap();
    assert!(left.is_empty(), "every node taken: {left:?}");
    c.close().await.unwrap();
    (rate, timeline.expect("traced"))
}
