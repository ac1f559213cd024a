//! A naive queue consumer the queue suite must catch (`tests/planted_queue.rs`): no lock
//! path, and it deletes an item node only **after** processing it. Two consumers that list
//! the same node both process it: an item delivered twice, which the at-most-once check
//! ([`QueueRecord::check_never_twice`]) reports.

use std::time::Duration;

use docent::recipes::queue::format::{self, Kind, QUEUE_PREFIX};
use docent::rng::Rng;
use docent_sim::Sim;

use crate::queues::{End, QueueRecord, QUEUE};

/// Runs the naive consumer for `who` until the run ends: list, and for each node read,
/// process its items (20–400 ms each), then delete it.
pub fn spawn_naive_consumer(sim: &Sim, who: &str, record: &QueueRecord) {
    let (s, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let client = sim.client(&who);
    let mut rng = Rng::new(sim.seed(), 0xa000 + sim.index(&who) as u64);
    sim.spawn(async move {
        loop {
            let children = match client.get_children().at(QUEUE).await {
                Ok((children, _, _)) => format::sorted(children, QUEUE_PREFIX, Kind::Plain),
                Err(_) => Vec::new(),
            };
            if children.is_empty() {
                s.sleep(Duration::from_millis(100)).await;
            }
            for name in children {
                let node = docent::path::join(QUEUE, &name);
                let Ok((data, _, _)) = client.get_data().at(&node).await else {
                    continue;
                };
                let Ok(items) = format::decode(&node, &data) else {
                    continue;
                };
                for item in items {
                    let n = record.delivered(&s, &who, &item, &node);
                    s.sleep(Duration::from_millis(20 + rng.below(380))).await;
                    record.ended(n, End::Acked);
                }
                // The flaw: deleted after processing, not before.
                let _ = client.delete().at(&node).await;
            }
        }
    });
}
