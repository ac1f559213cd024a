//! The queue half of the `shared` example: `shared put`, `shared take`, and the queues' part
//! of the walk-through.
//!
//! Items are UTF-8 strings in a Curator `DistributedQueue` (Curator's item format, the
//! byte-array serializer's bytes), so a Java producer or consumer can share the queue.

use std::time::Duration;

use futures::future::{self, Either};
use futures::StreamExt;

use docent::recipes::queue::{DistributedQueue, QueueOptions, SimpleQueue, SimpleQueueOptions};
use docent::{Client, Error};

use crate::leader::Out;
use crate::locks::print_line;

/// Puts `PREFIX-0 … PREFIX-(N-1)` as UTF-8 items of the queue at `path`, one node each, in
/// order. Prints nothing but errors (on stderr): a put whose reply was lost is reported and
/// not retried (it may have been applied; a retry could put it twice).
pub async fn put(client: &Client, path: &str, items: usize, prefix: &str) -> Result<(), Error> {
    let queue = DistributedQueue::start(client, path, QueueOptions::default()).await?;
    let mut failed = None;
    for i in 0..items {
        let item = format!("{prefix}-{i}");
        if let Err(e) = queue.put(item.as_bytes()).await {
            eprintln!("put {item}: {e}");
            failed = Some(e);
        }
    }
    queue.close().await?;
    failed.map_or(Ok(()), Err)
}

/// Consumes the queue at `path` for `run_for`, printing `took ITEM` (flushed) for each item.
/// With `lock_path` (Curator's lock safety) each item is acknowledged after it is printed and
/// its node deleted then (at least once); without, nodes are deleted before delivery (at most
/// once). A node that is not in Curator's format is reported on stderr and left in place.
pub async fn take(
    client: &Client,
    path: &str,
    lock_path: Option<&str>,
    run_for: Duration,
) -> Result<(), Error> {
    let mut options = QueueOptions::default();
    if let Some(lock_path) = lock_path {
        options = options.lock_path(lock_path);
    }
    let queue = DistributedQueue::start(client, path, options).await?;
    let mut items = queue.consume()?;
    let mut stop = client.coordinator().sleep_until(client.now() + run_for);
    loop {
        match future::select(items.next(), stop).await {
            Either::Left((Some(Ok(item)), rest)) => {
                print_line(format!("took {}", String::from_utf8_lossy(item.data())));
                item.ack();
                stop = rest;
            }
            Either::Left((Some(Err(e)), rest)) => {
                eprintln!("take: {e}");
                stop = rest;
            }
            Either::Left((None, _)) | Either::Right(_) => break,
        }
    }
    queue.close().await
}

/// The queues' part of the walk-through: a simple queue (offer, peek, take), then a
/// distributed queue with a lock path (one node of two items, consumed and acknowledged).
pub async fn walk_queues(client: &Client, dir: &str, out: Out) -> Result<(), Error> {
    out("-- a simple queue, then a distributed queue with a lock path".into());
    let simple = SimpleQueue::start(
        client,
        &format!("{dir}/simple"),
        SimpleQueueOptions::default(),
    )
    .await?;
    simple.offer(b"first").await?;
    simple.offer(b"second").await?;
    let head = simple.peek().await?.unwrap_or_default();
    out(format!(
        "simple queue peek {}",
        String::from_utf8_lossy(&head)
    ));
    for _ in 0..2 {
        let item = simple.take().await?;
        out(format!(
            "simple queue took {}",
            String::from_utf8_lossy(&item)
        ));
    }
    simple.close().await?;

    let options = QueueOptions::default().lock_path(format!("{dir}/locks"));
    let queue = DistributedQueue::start(client, &format!("{dir}/queue"), options).await?;
    let node = queue.put_many(&["job-a", "job-b"]).await?;
    out(format!("queue put 2 items in {node}"));
    let mut items = queue.consume()?;
    for _ in 0..2 {
        let Some(item) = items.next().await else {
            break;
        };
        let item = item?;
        out(format!(
            "queue took {} (item lock token {})",
            String::from_utf8_lossy(item.data()),
            item.token().unwrap_or_default()
        ));
        item.ack();
    }
    queue.close().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_then_take_empties_the_queue() {
        let ensemble = docent_sim::EmbeddedEnsemble::start(1);
        let client = Client::builder(ensemble.connect()).build().unwrap();
        put(&client, "/q", 3, "S").await.unwrap();
        let (nodes, _, _) = client.get_children().at("/q").await.unwrap();
        let mut items = Vec::new();
        for node in nodes {
            let (data, _, _) = client.get_data().at(&format!("/q/{node}")).await.unwrap();
            items.extend(docent::recipes::queue::format::decode(&node, &data).unwrap());
        }
        items.sort();
        assert_eq!(items, [b"S-0".to_vec(), b"S-1".to_vec(), b"S-2".to_vec()]);
        take(&client, "/q", Some("/q-locks"), Duration::from_millis(300))
            .await
            .unwrap();
        assert!(client.get_children().at("/q").await.unwrap().0.is_empty());
        let out: Out = std::sync::Arc::new(|_| {});
        walk_queues(&client, "/walk", out).await.unwrap();
    }
}
