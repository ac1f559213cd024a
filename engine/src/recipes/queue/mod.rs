//! Curator's queues: [`SimpleQueue`] (`SimpleDistributedQueue`), [`DistributedQueue`]
//! (`DistributedQueue`), [`DistributedPriorityQueue`], [`DistributedIdQueue`] and
//! [`DistributedDelayQueue`] (WIRE.md's names and orders), wire-compatible with
//! Curator 5.x so that Java producers and consumers share a queue with docent ones.
//!
//! # Delivery guarantees
//!
//! | queue | how an item is taken | guarantee |
//! |---|---|---|
//! | [`SimpleQueue`] | read, then deleted, then returned | **at most once**: a lost reply to the delete is reported ([`Error::is_unknown_outcome`]); the item may be gone |
//! | [`DistributedQueue`] without a lock path | read, deleted, then delivered | **at most once**: never delivered twice; a lost reply to the delete is reported on the stream |
//! | [`DistributedQueue`] with a lock path | locked (`lockPath/N` EPHEMERAL), delivered, deleted with its lock **after** the consumer acknowledges | **at least once**: delivered again only if its consumer dropped it unacknowledged, crashed, or lost its session mid-item |
//!
//! With a lock path each delivered [`QueueItem`] carries the item lock's fencing token and
//! [`QueueItem::guarded`], writes that apply only while the item lock is still ours: a
//! consumer whose session died mid-item (the item then goes to another consumer) is fenced out.
//! The acknowledgement itself is fenced the same way: a consumer that lost its item lock never
//! deletes an item another consumer now holds.
//!
//! Corrupt or foreign node data is reported on the consumer's stream as
//! [`Error::CorruptData`] and the node is left in place (never deleted, never misread).
//!
//! ```text
//!  consumer loop (one node at a time)
//!
//!   List ──(children watch)──► for each item node N, in the kind's order:
//!    ▲        │ none to take        with a lock path:  create lockPath/N ─► read N ─► deliver
//!    │        ▼                                        ─► all acked: multi{check lock,
//!    └── Wait (children changed,                           delete N, delete lock}
//!        a foreign item lock gone,                       ─► one dropped: delete lock (requeue)
//!        reconnected, closed)       without:           read N ─► delete N ─► deliver
//! ```
//!
//! The consumer and the blocking takes are small async loops over the [`Client`]'s reads and
//! writes (Curator's own queues are the same loops over its client); what they decide from —
//! the item format, the node names and their orders — are the pure functions of [`format`](mod@format).

mod consumer;
mod distributed;
pub mod format;
mod item;
mod kinds;
mod listing;
mod simple;

use std::sync::Arc;

use futures::future::{self, Either};
use futures::StreamExt;

pub use distributed::{DistributedQueue, QueueOptions};
pub use format::Kind;
pub use item::{ItemStream, QueueItem};
pub use kinds::{DistributedDelayQueue, DistributedIdQueue, DistributedPriorityQueue};
pub use simple::{SimpleQueue, SimpleQueueOptions};

use crate::framework::{Client, ConnectionState, StateCell};
#[cfg(doc)]
use crate::Error;

/// The state of a queue handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueState {
    /// Connected: puts and takes go through.
    Running,
    /// The connection is suspended or the session lost: puts and takes wait (and may fail).
    Disconnected,
    /// The handle was closed.
    Closed,
}

/// Spawns the task that keeps `state` in step with the client's connection until the handle
/// is closed (the cell shows [`QueueState::Closed`]); `also` hears every connection state too.
fn follow_connection(
    client: &Client,
    state: &Arc<StateCell<QueueState>>,
    mut also: impl FnMut(ConnectionState) + Send + 'static,
) {
    let mut states = client.connection_states();
    let (cell, mut closed) = (state.clone(), state.watch());
    client.coordinator().spawn(Box::pin(async move {
        loop {
            let closing = Box::pin(closed.wait_for(|s| *s == QueueState::Closed));
            let next = match future::select(states.next(), closing).await {
                Either::Left((Some(next), _)) => next,
                _ => return,
            };
            also(next);
            let now = if next.is_connected() {
                QueueState::Running
            } else {
                QueueState::Disconnected
            };
            cell.update(|s| {
                let change = *s != QueueState::Closed && *s != now;
                if change {
                    *s = now;
                }
                change
            });
        }
    }));
}
