//! Queue workloads: producers that put uniquely named items (one to three per node), consumers
//! that take, process and acknowledge them (or now and then drop one unacknowledged), and the
//! delivery checks over what they recorded.
//!
//! Item bytes are `who:n:` followed by a few seeded bytes (not UTF-8 in general): a delivered
//! item must equal, byte for byte, an item some producer tried to put.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

use docent::recipes::queue::{DistributedQueue, QueueItem, QueueOptions};
use docent::rng::Rng;
use docent::{Client, ConnectionState};
use docent_sim::Sim;

use crate::workload::trace;

/// The queue path every queue suite uses.
pub const QUEUE: &str = "/queues/main";
/// Its lock path, when the suite consumes with one.
pub const QUEUE_LOCKS: &str = "/queues/main-locks";

/// How one delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Still being processed (or its consumer crashed).
    Open,
    /// Processed and acknowledged.
    Acked,
    /// Given back unacknowledged (to be delivered again, with a lock path).
    Dropped,
}

/// One item handed to a consumer.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The consumer.
    pub who: String,
    /// When.
    pub at: Duration,
    /// The item's bytes.
    pub data: Vec<u8>,
    /// The node it came in (with the items put together with it).
    pub node: String,
    /// The items of one node handed out together share a round (the number of the round's
    /// first delivery); a drop gives the whole round back.
    pub round: usize,
    /// How it ended.
    pub end: End,
}

#[derive(Debug, Default)]
struct Book {
    /// Every item a producer tried to put, and whether the put was acknowledged.
    puts: BTreeMap<Vec<u8>, bool>,
    deliveries: Vec<Delivery>,
    /// When each process saw its session LOST.
    lost: BTreeMap<String, Vec<Duration>>,
    /// Errors the consumers' streams reported.
    errors: Vec<String>,
}

/// What producers and consumers recorded. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct QueueRecord(Arc<Mutex<Book>>);

impl QueueRecord {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A producer is about to put `data` (recorded before the put: it may land unacknowledged).
    pub fn attempt(&self, data: &[u8]) {
        self.book().puts.insert(data.to_vec(), false);
    }

    /// The put of `data` was acknowledged.
    pub fn acked(&self, data: &[u8]) {
        self.book().puts.insert(data.to_vec(), true);
    }

    /// `who` was handed `data` from `node`; returns the delivery's number for
    /// [`QueueRecord::ended`].
    pub fn delivered(&self, sim: &Sim, who: &str, data: &[u8], node: &str) -> usize {
        let mut book = self.book();
        // The same round as `who`'s last delivery if it is of the same node and this item is
        // not yet in that round.
        let last = book.deliveries.iter().rposition(|d| d.who == who);
        let round = match last.map(|i| &book.deliveries[i]) {
            Some(l) if l.node == node => {
                let round = l.round;
                let again = book.deliveries[round..]
                    .iter()
                    .any(|d| d.who == who && d.round == round && d.data == data);
                if again {
                    book.deliveries.len()
                } else {
                    round
                }
            }
            _ => book.deliveries.len(),
        };
        book.deliveries.push(Delivery {
            who: who.to_owned(),
            at: sim.now(),
            data: data.to_vec(),
            node: node.to_owned(),
            round,
            end: End::Open,
        });
        book.deliveries.len() - 1
    }

    /// Delivery `n` ended.
    pub fn ended(&self, n: usize, end: End) {
        self.book().deliveries[n].end = end;
    }

    /// A consumer's stream reported `error`.
    pub fn error(&self, who: &str, error: &dyn std::fmt::Display) {
        self.book().errors.push(format!("{who}: {error}"));
    }

    /// Every delivery so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.book().deliveries.clone()
    }

    /// Records when `who`'s session ends, from now on: its client reports LOST, or comes
    /// back with a new session (a LOST quickly followed by RECONNECTED may be skipped by the
    /// state stream, which yields the latest state).
    pub fn observe_losses(&self, sim: &Sim, who: &str, client: &Client) {
        let (record, who, sim2) = (self.clone(), who.to_owned(), sim.clone());
        let mut states = client.connection_states();
        let (client, mut session) = (client.clone(), client.session_id());
        sim.spawn(async move {
            while let Some(state) = states.next().await {
                let now = client.session_id();
                if state == ConnectionState::Lost || now != session {
                    let mut book = record.book();
                    book.lost.entry(who.clone()).or_default().push(sim2.now());
                }
                session = now;
            }
        });
    }

    /// Content: every delivered item is, byte for byte, an item a producer put; no stream
    /// reported an error (nothing corrupt was ever written).
    pub fn check_content(&self) -> Result<(), String> {
        let book = self.book();
        if let Some(e) = book.errors.first() {
            return Err(format!("a consumer's stream reported an error: {e}"));
        }
        match book
            .deliveries
            .iter()
            .find(|d| !book.puts.contains_key(&d.data))
        {
            Some(d) => Err(format!(
                "{} was handed bytes nobody put: {:?}",
                d.who, d.data
            )),
            None => Ok(()),
        }
    }

    fn by_item(&self) -> BTreeMap<Vec<u8>, Vec<Delivery>> {
        let mut out: BTreeMap<Vec<u8>, Vec<Delivery>> = BTreeMap::new();
        for d in self.deliveries() {
            out.entry(d.data.clone()).or_default().push(d);
        }
        out
    }

    /// At most once: no item was handed out twice.
    pub fn check_never_twice(&self) -> Result<(), String> {
        match self.by_item().into_iter().find(|(_, ds)| ds.len() > 1) {
            Some((data, ds)) => Err(format!(
                "delivered {} times: {:?} ({:?})",
                ds.len(),
                String::from_utf8_lossy(&data),
                ds.iter().map(|d| (&d.who, d.at, d.end)).collect::<Vec<_>>()
            )),
            None => Ok(()),
        }
    }

    /// With a lock path: an item handed out `k` times has `k - 1` deliveries that explain a
    /// redelivery: their consumer dropped an item of that round unacknowledged (the node goes
    /// back whole), crashed, or saw its session LOST after it got the item (mid-item).
    pub fn check_redeliveries_excused(&self, sim: &Sim) -> Result<(), String> {
        let lost = self.book().lost.clone();
        let all = self.deliveries();
        let excused = |d: &Delivery| {
            let dropped = all
                .iter()
                .any(|o| o.who == d.who && o.round == d.round && o.end == End::Dropped);
            // A crashed process's tasks run on, cut off: nothing it was handed around or
            // after its crash got acknowledged on the ensemble.
            let crashed = sim.crashed_at(&d.who).is_some();
            let lost_session = lost
                .get(&d.who)
                .is_some_and(|times| times.iter().any(|t| *t >= d.at));
            dropped || crashed || lost_session
        };
        for (data, ds) in self.by_item() {
            let explained = ds.iter().filter(|d| excused(d)).count();
            if explained + 1 < ds.len() {
                return Err(format!(
                    "{:?} delivered {} times, but only {explained} of its consumers dropped it,                      crashed or lost their session mid-item: {:?}",
                    String::from_utf8_lossy(&data),
                    ds.len(),
                    ds.iter().map(|d| (&d.who, d.at, d.end)).collect::<Vec<_>>()
                ));
            }
        }
        Ok(())
    }

    /// At least once: every acknowledged put was delivered (unless every process crashed).
    pub fn check_acked_delivered(&self, sim: &Sim) -> Result<(), String> {
        if sim.names().iter().all(|n| sim.crashed(n)) {
            return Ok(());
        }
        let delivered = self.by_item();
        let book = self.book();
        let missing: Vec<_> = book
            .puts
            .iter()
            .filter(|(data, acked)| **acked && !delivered.contains_key(*data))
            .map(|(data, _)| String::from_utf8_lossy(data).into_owned())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{} acknowledged puts never delivered by {:?}: {:?}",
            missing.len(),
            sim.now(),
            &missing[..missing.len().min(5)]
        ))
    }
}

/// Starts a queue handle for `who`, trying again through faults; `None` once `who` crashed.
pub async fn try_start_queue(sim: &Sim, who: &str, lock: bool) -> Option<DistributedQueue> {
    let mut options = QueueOptions::default();
    if lock {
        options = options.lock_path(QUEUE_LOCKS);
    }
    loop {
        if sim.crashed(who) {
            return None;
        }
        match DistributedQueue::start(&sim.client(who), QUEUE, options.clone()).await {
            Ok(queue) => return Some(queue),
            Err(e) => {
                trace(sim, who, &e);
                sim.sleep(Duration::from_millis(300)).await;
            }
        }
    }
}

/// Starts a queue handle for `who` (which must not crash meanwhile: the scenarios').
pub async fn start_queue(sim: &Sim, who: &str, lock: bool) -> DistributedQueue {
    try_start_queue(sim, who, lock)
        .await
        .unwrap_or_else(|| panic!("{who} crashed"))
}

/// The `n`th item of `who`: `who:n:` then 0–16 seeded bytes.
pub fn item_bytes(who: &str, n: u64, rng: &mut Rng) -> Vec<u8> {
    let mut data = format!("{who}:{n}:").into_bytes();
    data.extend((0..rng.below(17)).map(|_| rng.below(256) as u8));
    data
}

/// Runs a producer for `who` until `stop`: every 100–700 ms, one node of one to three items.
pub fn spawn_producer(
    sim: &Sim,
    who: &str,
    queue: Arc<DistributedQueue>,
    record: &QueueRecord,
    stop: Duration,
) {
    let (s, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0x9e00 + sim.index(&who) as u64);
    sim.spawn(async move {
        let mut n = 0;
        while s.now() < stop {
            let items: Vec<Vec<u8>> = (0..1 + rng.below(3))
                .map(|_| {
                    n += 1;
                    item_bytes(&who, n, &mut rng)
                })
                .collect();
            items.iter().for_each(|i| record.attempt(i));
            let put = queue.put_many(&items).await;
            trace(&s, &who, &put);
            if put.is_ok() {
                items.iter().for_each(|i| record.acked(i));
            }
            s.sleep(Duration::from_millis(100 + rng.below(600))).await;
        }
    });
}

/// Processes one item as every queue consumer does: 20–400 ms of work, then (one time in
/// twelve) dropped unacknowledged, else acknowledged. A drop gives the item's whole node back.
pub async fn process(sim: &Sim, who: &str, item: QueueItem, record: &QueueRecord, rng: &mut Rng) {
    let n = record.delivered(sim, who, item.data(), item.node());
    sim.sleep(Duration::from_millis(20 + rng.below(380))).await;
    if rng.below(12) == 0 {
        drop(item);
        record.ended(n, End::Dropped);
    } else {
        item.ack();
        record.ended(n, End::Acked);
    }
}

/// Runs `queue`'s consumer for `who` until the run ends.
pub fn spawn_consumer(sim: &Sim, who: &str, queue: Arc<DistributedQueue>, record: &QueueRecord) {
    let (s, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0x9f00 + sim.index(&who) as u64);
    let mut items = queue.consume().expect("one consumer per handle");
    sim.spawn(async move {
        let _queue = queue;
        while let Some(next) = items.next().await {
            match next {
                Ok(item) => process(&s, &who, item, &record, &mut rng).await,
                Err(e) if e.is_unknown_outcome() => trace(&s, &who, &e),
                Err(e) => record.error(&who, &e),
            }
        }
    });
}
