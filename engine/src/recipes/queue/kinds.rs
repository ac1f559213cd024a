//! Curator's `DistributedPriorityQueue` and `DistributedIdQueue`: a [`DistributedQueue`] whose
//! node names carry a priority or an id (WIRE.md), consumed in their order.

use crate::framework::{Client, StateWatch};
use crate::recipes::queue::distributed::{DistributedQueue, QueueOptions};
use crate::recipes::queue::format::{self, Kind, QUEUE_PREFIX};
use crate::recipes::queue::item::{EpochClock, ItemStream};
use crate::recipes::queue::QueueState;
use crate::{path, Error};

/// The handle methods every kind of queue forwards to its [`DistributedQueue`].
macro_rules! forward {
    () => {
        /// Starts consuming (see [`DistributedQueue::consume`]).
        pub fn consume(&self) -> Result<ItemStream, Error> {
            self.queue.consume()
        }

        /// The queue's path.
        pub fn path(&self) -> &str {
            self.queue.path()
        }

        /// The handle's state.
        pub fn state(&self) -> QueueState {
            self.queue.state()
        }

        /// The state, now and after each change (the current value first).
        pub fn watch_state(&self) -> StateWatch<QueueState> {
            self.queue.watch_state()
        }

        /// Stops the handle (see [`DistributedQueue::close`]).
        pub async fn close(self) -> Result<(), Error> {
            self.queue.close().await
        }
    };
}

/// A queue consumed by priority, lowest value first (Curator's `DistributedPriorityQueue`):
/// nodes `queue-` + `1`/`0` + `%08X` + sequence. Items put with the same priority keep their
/// order; the order holds among the items a consumer sees together.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// use futures::StreamExt;
/// use docent::recipes::queue::{DistributedPriorityQueue, QueueOptions};
/// let ensemble = docent_sim::EmbeddedEnsemble::start(1);
/// let client = docent::Client::builder(ensemble.connect()).build()?;
/// let queue = DistributedPriorityQueue::start(&client, "/jobs", QueueOptions::default()).await?;
/// queue.put(b"later", 10).await?;
/// queue.put(b"urgent", -5).await?;
/// let mut items = queue.consume()?;
/// assert_eq!(items.next().await.expect("running")?.into_data(), b"urgent");
/// assert_eq!(items.next().await.expect("running")?.into_data(), b"later");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DistributedPriorityQueue {
    queue: DistributedQueue,
}

impl DistributedPriorityQueue {
    /// A priority queue on `path` (see [`DistributedQueue::start`]).
    pub async fn start(
        client: &Client,
        path: &str,
        options: QueueOptions,
    ) -> Result<DistributedPriorityQueue, Error> {
        let queue =
            DistributedQueue::start_kind(client, path, options, Kind::Priority, None).await?;
        Ok(DistributedPriorityQueue { queue })
    }

    /// Puts one item with `priority` (lower first); returns its node.
    pub async fn put(&self, item: impl AsRef<[u8]>, priority: i32) -> Result<String, Error> {
        self.put_many(&[item], priority).await
    }

    /// Puts `items` in one node with `priority`; returns the node.
    pub async fn put_many<T: AsRef<[u8]>>(
        &self,
        items: &[T],
        priority: i32,
    ) -> Result<String, Error> {
        let name = format::priority_prefix(priority);
        self.queue.put_named(&name, items).await
    }

    forward!();
}

/// A queue whose items carry an id, removable by id (Curator's `DistributedIdQueue`): nodes
/// `queue-|<id>|<seq>`, consumed in sequence order.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// use docent::recipes::queue::{DistributedIdQueue, QueueOptions};
/// let ensemble = docent_sim::EmbeddedEnsemble::start(1);
/// let client = docent::Client::builder(ensemble.connect()).build()?;
/// let queue = DistributedIdQueue::start(&client, "/jobs", QueueOptions::default()).await?;
/// queue.put(b"resize", "job-7").await?;
/// assert_eq!(queue.remove("job-7").await?, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DistributedIdQueue {
    queue: DistributedQueue,
    client: Client,
}

impl DistributedIdQueue {
    /// An id queue on `path` (see [`DistributedQueue::start`]).
    pub async fn start(
        client: &Client,
        path: &str,
        options: QueueOptions,
    ) -> Result<DistributedIdQueue, Error> {
        let queue = DistributedQueue::start_kind(client, path, options, Kind::Id, None).await?;
        Ok(DistributedIdQueue {
            queue,
            client: client.clone(),
        })
    }

    /// Puts one item with `id` (non-empty, without `|` or `/`); returns its node.
    pub async fn put(&self, item: impl AsRef<[u8]>, id: &str) -> Result<String, Error> {
        self.queue.put_named(&format::id_prefix(id)?, &[item]).await
    }

    /// Deletes every item node with `id` not yet taken; returns how many it deleted.
    pub async fn remove(&self, id: &str) -> Result<usize, Error> {
        format::id_prefix(id)?;
        let (children, _, _) = self.client.get_children().at(self.queue.path()).await?;
        let mut removed = 0;
        for name in format::sorted(children, QUEUE_PREFIX, Kind::Id) {
            if format::id_of(&name) == Some(id) {
                match self
                    .client
                    .delete()
                    .at(&path::join(self.queue.path(), &name))
                    .await
                {
                    Ok(()) => removed += 1,
                    Err(Error::NoNode) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }

    forward!();
}

/// A queue whose items are due at a time (Curator's `DistributedDelayQueue`): nodes
/// `queue-|%08X(epoch ms)|<seq>`, consumed in order of due time once due. The consumer asks
/// `clock` (milliseconds since the Unix epoch) what time it is; it reads no clock of its own.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// use futures::StreamExt;
/// use docent::recipes::queue::{DistributedDelayQueue, QueueOptions};
/// let ensemble = docent_sim::EmbeddedEnsemble::start(1);
/// let client = docent::Client::builder(ensemble.connect()).build()?;
/// let clock = || 1_700_000_000_000; // a fixed "now", for the example
/// let queue = DistributedDelayQueue::start(&client, "/jobs", QueueOptions::default(), clock).await?;
/// queue.put(b"due", 1_699_999_999_000).await?;
/// let mut items = queue.consume()?;
/// assert_eq!(items.next().await.expect("running")?.into_data(), b"due");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DistributedDelayQueue {
    queue: DistributedQueue,
}

impl DistributedDelayQueue {
    /// A delay queue on `path` (see [`DistributedQueue::start`]) whose consumer tells the
    /// time by `clock` (epoch milliseconds).
    pub async fn start(
        client: &Client,
        path: &str,
        options: QueueOptions,
        clock: impl Fn() -> i64 + Send + Sync + 'static,
    ) -> Result<DistributedDelayQueue, Error> {
        let clock = Some(EpochClock(std::sync::Arc::new(clock)));
        let queue = DistributedQueue::start_kind(client, path, options, Kind::Delay, clock).await?;
        Ok(DistributedDelayQueue { queue })
    }

    /// Puts one item due at `due_epoch_ms`; returns its node.
    pub async fn put(&self, item: impl AsRef<[u8]>, due_epoch_ms: i64) -> Result<String, Error> {
        self.put_many(&[item], due_epoch_ms).await
    }

    /// Puts `items` in one node due at `due_epoch_ms`; returns the node.
    pub async fn put_many<T: AsRef<[u8]>>(
        &self,
        items: &[T],
        due_epoch_ms: i64,
    ) -> Result<String, Error> {
        if due_epoch_ms < 0 {
            return Err(Error::InvalidArgument(format!(
                "due time {due_epoch_ms} is before the epoch"
            )));
        }
        let name = format::delay_prefix(due_epoch_ms);
        self.queue.put_named(&name, items).await
    }

    forward!();
}
