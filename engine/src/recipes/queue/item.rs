//! What a consumer hands out: each [`QueueItem`] with its acknowledgement and, with a lock
//! path, the item lock as a lease (token, `lost`, fenced writes); the [`ItemStream`] of them;
//! and the delay queue's clock.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::channel::mpsc;
use futures::future;
use futures::{FutureExt, Stream, StreamExt};

use crate::framework::{ConnectionState, ErrorPolicy, StateCell};
use crate::op::MultiOp;
use crate::recipes::guard::LeaseCore;
use crate::recipes::watched::LeaseState;
use crate::{Error, MultiResult};

/// The item lock the consumer holds, as its items' guards see it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ItemLease {
    /// The lock node's creation zxid while an item lock is held.
    pub(super) token: Option<i64>,
    /// The connection is suspended (standard error policy): stop acting on the lock.
    pub(super) suspended: bool,
}

impl LeaseState for ItemLease {
    fn current(&self) -> Option<i64> {
        self.token.filter(|_| !self.suspended)
    }
}

impl ItemLease {
    /// Publishes `new`, counting a loss when the current lease stops being current.
    pub(super) fn set(cell: &StateCell<ItemLease>, losses: &StateCell<u64>, new: ItemLease) {
        let old = cell.get();
        if new.loses(&old) {
            losses.update(|n| {
                *n += 1;
                true
            });
        }
        cell.set_if_changed(new);
    }

    /// Follows a connection state: SUSPENDED (an error state under `policy`) suspends the
    /// lock, a reconnection resumes it, LOST ends it.
    pub(crate) fn follow(
        cell: &StateCell<ItemLease>,
        losses: &StateCell<u64>,
        policy: ErrorPolicy,
        state: ConnectionState,
    ) {
        let mut lease = cell.get();
        match state {
            ConnectionState::Lost => lease = ItemLease::default(),
            s if s.is_connected() => lease.suspended = false,
            s => lease.suspended |= policy.is_error_state(s),
        }
        ItemLease::set(cell, losses, lease);
    }
}

/// A delay queue's clock: milliseconds since the Unix epoch, as the caller reads them (the
/// consumer never reads a clock of its own).
#[derive(Clone)]
pub(crate) struct EpochClock(pub(crate) Arc<dyn Fn() -> i64 + Send + Sync>);

impl EpochClock {
    pub(super) fn now(&self) -> i64 {
        (self.0)()
    }
}

impl std::fmt::Debug for EpochClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EpochClock")
    }
}

/// One item taken from the queue.
///
/// With a lock path, [`ack`](QueueItem::ack) it once it is processed: its node is deleted
/// when every item of the node is acknowledged. Dropping it unacknowledged gives the node
/// back (it is delivered again). Without a lock path the item was removed before it came;
/// acknowledging changes nothing.
#[must_use = "an item dropped without ack is delivered again (with a lock path)"]
pub struct QueueItem {
    pub(super) data: Vec<u8>,
    pub(super) node: String,
    pub(super) lease: Option<LeaseCore<ItemLease>>,
    pub(super) acks: mpsc::UnboundedSender<bool>,
    pub(super) acked: bool,
}

impl std::fmt::Debug for QueueItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueItem")
            .field("node", &self.node)
            .field("len", &self.data.len())
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

impl QueueItem {
    /// The item's bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The item node it came from (several items may share one).
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The item lock's fencing token (its creation zxid); `None` without a lock path.
    pub fn token(&self) -> Option<i64> {
        self.lease.as_ref().map(LeaseCore::token)
    }

    /// True while the item lock is ours (always false without a lock path).
    pub fn is_current(&self) -> bool {
        self.lease.as_ref().is_some_and(LeaseCore::is_current)
    }

    /// Resolves once the item lock is gone or must be presumed gone (SUSPENDED under the
    /// standard error policy, LOST, the lock node deleted, the queue closed); at once without
    /// a lock path. Made for `select!`.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        match &self.lease {
            Some(lease) => lease.lost().boxed(),
            None => future::ready(()).boxed(),
        }
    }

    /// Applies `ops` atomically only while the item lock is ours ([`Error::NotHeld`] once it
    /// is gone, and always without a lock path): a consumer that lost its session mid-item is
    /// fenced out while the item goes to another.
    pub async fn guarded(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>, Error> {
        match &self.lease {
            Some(lease) => lease.guarded(ops).await,
            None => Err(Error::NotHeld {
                path: self.node.clone(),
            }),
        }
    }

    /// Acknowledges the item: processed. With a lock path its node is deleted (fenced by the
    /// item lock) once every item of the node is acknowledged.
    pub fn ack(mut self) {
        self.acked = true;
        let _ = self.acks.unbounded_send(true);
    }

    /// The item's bytes, acknowledging it.
    pub fn into_data(mut self) -> Vec<u8> {
        let data = std::mem::take(&mut self.data);
        self.ack();
        data
    }
}

impl Drop for QueueItem {
    fn drop(&mut self) {
        if !self.acked {
            let _ = self.acks.unbounded_send(false);
        }
    }
}

/// The items a queue's consumer takes, in the queue's order; [`Error::CorruptData`] for a
/// node it cannot read (left in place) and the unknown outcome of a lost delete (without a
/// lock path: that node's items may be lost). Ends when the queue is closed.
#[derive(Debug)]
pub struct ItemStream(pub(super) mpsc::UnboundedReceiver<Result<QueueItem, Error>>);

impl Stream for ItemStream {
    type Item = Result<QueueItem, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx)
    }
}
