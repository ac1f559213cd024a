//! The named queue scenarios (SCENARIOS.md), each a scripted fault injected at the step it
//! aims at, swept over a few seeds.
#![cfg(madsim)]

use std::time::Duration;

use futures::{FutureExt, StreamExt};

use docent::recipes::fencing::is_fenced_out;
use docent::recipes::queue::format;
use docent::recipes::queue::{
    DistributedDelayQueue, DistributedIdQueue, DistributedPriorityQueue, ItemStream, QueueItem,
    QueueOptions, SimpleQueue, SimpleQueueOptions,
};
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule, Sim};
use docent_sim_tests::fence::{write_ops, DATA};
use docent_sim_tests::queues::{start_queue, QUEUE, QUEUE_LOCKS};
use docent_sim_tests::workload::create_data_node;

const SEEDS: u64 = 16;

type Outcome = Result<(), Box<dyn std::error::Error>>;

fn partition(client: u32, duration: Duration) -> Fault {
    Fault::Partition {
        client,
        server: None,
        direction: Direction::Both,
        duration,
    }
}

async fn next(items: &mut ItemStream) -> Result<QueueItem, String> {
    match items.next().await {
        Some(Ok(item)) => Ok(item),
        other => Err(format!("expected an item, got {other:?}")),
    }
}

/// Ground truth: the children of `dir` on the leader.
fn children(sim: &Sim, dir: &str) -> Vec<String> {
    sim.inspect(|m| m.node(None, dir).map(|(_, _, c)| c).unwrap_or_default())
}

/// Waits (polling simulated time) until `dir` has no children; an error past `secs`.
async fn drained(sim: &Sim, dir: &str, secs: u64) -> Result<(), String> {
    let deadline = sim.now() + Duration::from_secs(secs);
    while !children(sim, dir).is_empty() {
        if sim.now() > deadline {
            return Err(format!("{dir} still holds {:?}", children(sim, dir)));
        }
        sim.sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// CURATOR-605/537/542: consumer `a` is cut off mid-item past its session timeout. The item
/// goes to `b`; `a`'s item lock reports lost, `a`'s fenced write is refused, and `a`'s late
/// acknowledgement deletes nothing that `b` holds. `b`'s write lands, its ack empties the queue.
#[test]
fn queue_consumer_session_dies() {
    harness!("queue_consumer_session_dies")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            create_data_node(&sim).await;
            let qa = start_queue(&sim, "a", true).await;
            let qb = start_queue(&sim, "b", true).await;
            qb.put(b"x-1").await?;
            let mut items_a = qa.consume()?;
            let a = next(&mut items_a).await?;
            let cut = sim.session_timeout() * 3;
            sim.inject(partition(0, cut));
            let healed = sim.now() + cut;
            let mut items_b = qb.consume()?;
            let b = next(&mut items_b).await?;
            assert_eq!((a.data(), b.data()), (&b"x-1"[..], &b"x-1"[..]));
            assert!(sim.now() < healed, "redelivered while a is still cut off");
            assert!(b.token() > a.token(), "the new item lock is newer");
            // a learns late: its lock is lost, its fenced write refused, its ack void.
            sim.sleep_until(healed + Duration::from_secs(2)).await;
            assert!(
                a.lost().now_or_never().is_some(),
                "a's item lock reports lost"
            );
            let token_a = a.token().expect("locked");
            let refused = a.guarded(write_ops("a", token_a)).await;
            assert!(refused.as_ref().is_err_and(is_fenced_out), "{refused:?}");
            a.ack();
            sim.sleep(Duration::from_secs(2)).await;
            assert_eq!(
                children(&sim, QUEUE).len(),
                1,
                "a's late ack deleted nothing"
            );
            let token_b = b.token().expect("locked");
            b.guarded(write_ops("b", token_b)).await?;
            b.ack();
            drained(&sim, QUEUE, 10).await?;
            drained(&sim, QUEUE_LOCKS, 10).await?;
            let landed = sim.inspect(|m| m.node(None, DATA).map(|(d, _, _)| d));
            assert_eq!(landed, Some(format!("b:{token_b}").into_bytes()));
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// CURATOR-623: a consumer cut off for many session timeouts gave up its watches and never
/// saw new items. Here items put after the heal are all consumed by it.
#[test]
fn queue_stops_after_long_disconnect() {
    harness!("queue_stops_after_long_disconnect")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            for lock in [true, false] {
                let qa = start_queue(&sim, "a", lock).await;
                let qb = start_queue(&sim, "b", lock).await;
                let mut items = qa.consume()?;
                let cut = sim.session_timeout() * 12;
                sim.inject(partition(0, cut));
                sim.sleep(cut + Duration::from_secs(1)).await;
                let put: Vec<Vec<u8>> = (0..5)
                    .map(|i| format!("late-{lock}-{i}").into_bytes())
                    .collect();
                for item in &put {
                    qb.put(item).await?;
                }
                let mut got = Vec::new();
                while got.len() < put.len() {
                    got.push(next(&mut items).await?.into_data());
                }
                assert_eq!(got, put, "every item, in order");
                drained(&sim, QUEUE, 10).await?;
                qa.close().await?;
                qb.close().await?;
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// CURATOR-308: `take()` hung once the queue's empty container parent was reaped while it
/// waited. Here the container is reaped under a blocked take; an item offered later is taken.
#[test]
fn simple_queue_container_reaped() {
    harness!("simple_queue_container_reaped")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let dir = "/simple/jobs";
            let qa =
                SimpleQueue::start(&sim.client("a"), dir, SimpleQueueOptions::default()).await?;
            let qb =
                SimpleQueue::start(&sim.client("b"), dir, SimpleQueueOptions::default()).await?;
            qb.offer(b"first").await?;
            assert_eq!(qa.take().await?, b"first");
            let (s, taker) = (sim.clone(), async move { qa.take().await });
            let taken = std::sync::Arc::new(std::sync::Mutex::new(None));
            let slot = taken.clone();
            sim.spawn(async move {
                let got = taker.await;
                *slot.lock().expect("poisoned") = Some((got, s.now()));
            });
            // The reaper (every 10 s in the model) deletes the emptied container.
            let deadline = sim.now() + Duration::from_secs(60);
            while sim.inspect(|m| m.node(None, dir).is_some()) {
                assert!(sim.now() < deadline, "the empty container was never reaped");
                sim.sleep(Duration::from_millis(100)).await;
            }
            sim.sleep(Duration::from_secs(1)).await;
            assert!(
                taken.lock().expect("poisoned").is_none(),
                "nothing to take yet"
            );
            qb.offer(b"after the reap").await?;
            sim.sleep(Duration::from_secs(5)).await;
            let got = taken.lock().expect("poisoned").take();
            match got {
                Some((Ok(data), _)) => assert_eq!(data, b"after the reap"),
                other => return Err(format!("the blocked take got {other:?}").into()),
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// Consumer `a` crashes mid-item. With a lock path the item comes back, whole, to `b` once
/// `a`'s session expires; without one it was deleted before delivery and is never seen again.
#[test]
fn queue_consumer_crashed_mid_item() {
    for lock in [true, false] {
        let name = if lock {
            "queue_consumer_crashed_mid_item (lock path)"
        } else {
            "queue_consumer_crashed_mid_item (no lock path)"
        };
        harness!(name)
            .clients(["a", "b"])
            .schedule(FaultSchedule::new())
            .default_seeds(0..SEEDS)
            .run(move |sim| crashed_mid_item(sim, lock));
    }
}

async fn crashed_mid_item(sim: Sim, lock: bool) -> Outcome {
    let qa = start_queue(&sim, "a", lock).await;
    let qb = start_queue(&sim, "b", lock).await;
    let node = qb.put_many(&[&b"p-1"[..], b"p-2"]).await?;
    let mut items_a = qa.consume()?;
    let a = next(&mut items_a).await?;
    assert_eq!(a.data(), b"p-1");
    sim.inject(Fault::CrashClient { client: 0 });
    std::mem::forget(a); // the process is gone: nothing of it runs again
    std::mem::forget(items_a);
    std::mem::forget(qa);
    let mut items_b = qb.consume()?;
    let waited = sim.session_timeout() * 3;
    let again = match futures::future::select(Box::pin(next(&mut items_b)), sim.sleep(waited)).await
    {
        futures::future::Either::Left((got, _)) => Some(got),
        futures::future::Either::Right(_) => None,
    };
    match (lock, again) {
        (true, Some(Ok(first))) => {
            assert_eq!((first.data(), first.node()), (&b"p-1"[..], node.as_str()));
            first.ack(); // items come one at a time, each after the one before is acked
            let second = next(&mut items_b).await?;
            assert_eq!(second.data(), b"p-2");
            second.ack();
            drained(&sim, QUEUE, 10).await?;
        }
        (false, None) => {
            assert!(children(&sim, QUEUE).is_empty(), "deleted before delivery");
        }
        (_, Some(got)) => return Err(format!("lock path {lock}: b got {got:?}").into()),
        (_, None) => return Err(format!("lock path {lock}: never delivered again").into()),
    }
    Ok(())
}

/// CURATOR-224/56: a requeued id-queue item lost its id, or its node name grew with every
/// requeue. Here consumer `a` fails (drops) an item five times, `b` is cut off a while in
/// between: each delivery is the same node, with its id and its bounded name, until acked.
#[test]
fn id_queue_requeue() {
    harness!("id_queue_requeue")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let options = || QueueOptions::default().lock_path(QUEUE_LOCKS);
            let qa = DistributedIdQueue::start(&sim.client("a"), QUEUE, options()).await?;
            let qb = DistributedIdQueue::start(&sim.client("b"), QUEUE, options()).await?;
            let node = qb.put(b"resize", "job-7").await?;
            let name = docent::path::name(&node).to_owned();
            assert_eq!(format::id_of(&name), Some("job-7"));
            let mut items = qa.consume()?;
            for attempt in 0..5 {
                let item = next(&mut items).await?;
                assert_eq!((item.data(), item.node()), (&b"resize"[..], node.as_str()));
                if attempt == 2 {
                    sim.inject(partition(1, Duration::from_secs(2)));
                }
                drop(item); // failed: requeued as it is
            }
            next(&mut items).await?.ack();
            drained(&sim, QUEUE, 10).await?;
            assert_eq!(qb.remove("job-7").await?, 0);
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// Priority order among items visible together: items put with seeded priorities while the
/// consumer is cut off come to it, once healed, lowest priority first (same priority: in put
/// order), byte for byte.
#[test]
fn priority_queue_order_after_a_partition() {
    harness!("priority_queue_order_after_a_partition")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let options = || QueueOptions::default().lock_path(QUEUE_LOCKS);
            let qa = DistributedPriorityQueue::start(&sim.client("a"), QUEUE, options()).await?;
            let qb = DistributedPriorityQueue::start(&sim.client("b"), QUEUE, options()).await?;
            let mut items = qa.consume()?;
            sim.inject(partition(0, Duration::from_secs(5)));
            let mut rng = docent::rng::Rng::new(sim.seed(), 0x7e10);
            let mut put = Vec::new();
            for i in 0..12 {
                let priority = rng.below(7) as i32 - 3;
                let data = format!("{i}:{priority}").into_bytes();
                qb.put(&data, priority).await?;
                put.push((priority, i, data));
            }
            put.sort();
            let mut got = Vec::new();
            while got.len() < put.len() {
                got.push(next(&mut items).await?.into_data());
            }
            let want: Vec<Vec<u8>> = put.into_iter().map(|(_, _, d)| d).collect();
            assert_eq!(got, want, "lowest priority first, then in put order");
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// Delay order: items put with seeded due times (on the simulated clock, given to the queue
/// as its input) come in due order, each once due and not before, byte for byte.
#[test]
fn delay_queue_due_order() {
    harness!("delay_queue_due_order")
        .clients(["a", "b"])
        .schedule(FaultSchedule::new())
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let clock = |sim: &Sim| {
                let sim = sim.clone();
                move || sim.now().as_millis() as i64
            };
            let options = || QueueOptions::default().lock_path(QUEUE_LOCKS);
            let client = sim.client("a");
            let qa = DistributedDelayQueue::start(&client, QUEUE, options(), clock(&sim)).await?;
            let client = sim.client("b");
            let qb = DistributedDelayQueue::start(&client, QUEUE, options(), clock(&sim)).await?;
            let mut items = qa.consume()?;
            sim.inject(partition(0, Duration::from_secs(3)));
            let mut rng = docent::rng::Rng::new(sim.seed(), 0xde1a);
            let start = sim.now().as_millis() as i64;
            let mut put = Vec::new();
            for i in 0..10 {
                let due = start + rng.below(8000) as i64;
                let data = format!("{i}@{due}").into_bytes();
                qb.put(&data, due).await?;
                put.push((due, i, data));
            }
            put.sort();
            for (due, _, data) in put {
                let item = next(&mut items).await?;
                let at = sim.now().as_millis() as i64;
                assert!(at >= due, "delivered at {at}, due at {due}");
                assert_eq!(item.into_data(), data, "in due order");
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
