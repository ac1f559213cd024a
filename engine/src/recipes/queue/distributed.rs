//! The handle of a [`DistributedQueue`]: its options, its puts, and its consumer's start.

use std::sync::{Arc, Mutex as StdMutex};

use crate::framework::{Client, StateCell, StateWatch};
use crate::recipes::lock::checked;
use crate::recipes::queue::consumer::Consumer;
use crate::recipes::queue::format::{self, Kind, QUEUE_PREFIX};
use crate::recipes::queue::item::{EpochClock, ItemLease, ItemStream};
use crate::recipes::queue::{follow_connection, QueueState};
use crate::types::CreateMode;
use crate::{path, Error};

/// Options of a [`DistributedQueue`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct QueueOptions {
    lock_path: Option<String>,
}

impl QueueOptions {
    /// Consume with Curator's lock safety: each item node `N` is locked with `lock_path/N`
    /// (EPHEMERAL) while its consumer works on it, and deleted only once acknowledged (at
    /// least once). Without a lock path items are deleted before they are delivered (at most
    /// once).
    pub fn lock_path(mut self, lock_path: impl Into<String>) -> Self {
        self.lock_path = Some(lock_path.into());
        self
    }
}

/// A distributed queue in Curator's format (`DistributedQueue` with the byte-array
/// serializer): producers [`put`](DistributedQueue::put) items, a consumer takes them from
/// [`consume`](DistributedQueue::consume)'s stream. See the [module docs](super) for what
/// each consumption mode guarantees.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// use futures::StreamExt;
/// use docent::recipes::queue::{DistributedQueue, QueueOptions};
/// let ensemble = docent_sim::EmbeddedEnsemble::start(1);
/// let client = docent::Client::builder(ensemble.connect()).build()?;
/// let options = QueueOptions::default().lock_path("/orders-locks");
/// let queue = DistributedQueue::start(&client, "/orders", options).await?;
/// queue.put_many(&[b"a".as_slice(), b"b"]).await?; // one node, two items
/// let mut items = queue.consume()?;
/// for expected in [b"a", b"b"] {
///     let item = items.next().await.expect("running")?;
///     assert_eq!(item.data(), expected);
///     item.ack(); // the node goes once both are acknowledged
/// }
/// queue.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct DistributedQueue {
    client: Client,
    path: String,
    lock_path: Option<String>,
    kind: Kind,
    clock: Option<EpochClock>,
    state: Arc<StateCell<QueueState>>,
    lease: Arc<StateCell<ItemLease>>,
    losses: Arc<StateCell<u64>>,
    consuming: StdMutex<bool>,
}

impl DistributedQueue {
    /// A queue on `path` (created if missing, with container parents, as Curator's `start`
    /// does). It consumes nothing until [`consume`](DistributedQueue::consume).
    pub async fn start(
        client: &Client,
        path: &str,
        options: QueueOptions,
    ) -> Result<DistributedQueue, Error> {
        Self::start_kind(client, path, options, Kind::Plain, None).await
    }

    pub(super) async fn start_kind(
        client: &Client,
        path: &str,
        options: QueueOptions,
        kind: Kind,
        clock: Option<EpochClock>,
    ) -> Result<DistributedQueue, Error> {
        let path = checked(path)?;
        let lock_path = options.lock_path.map(|l| checked(&l)).transpose()?;
        if lock_path.as_deref() == Some(path.as_str()) {
            return Err(Error::InvalidArgument(
                "a queue's lock path must differ from its path".into(),
            ));
        }
        match client.create().parents().at(&path).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
        let state = Arc::new(StateCell::new(QueueState::Running));
        let lease = Arc::new(StateCell::new(ItemLease::default()));
        let losses = Arc::new(StateCell::new(0));
        let (l, n, policy) = (lease.clone(), losses.clone(), client.error_policy());
        follow_connection(client, &state, move |s| {
            ItemLease::follow(&l, &n, policy, s)
        });
        Ok(DistributedQueue {
            client: client.clone(),
            path,
            lock_path,
            kind,
            clock,
            state,
            lease,
            losses,
            consuming: StdMutex::new(false),
        })
    }

    /// Puts one item; returns its node. A lost reply is an unknown outcome
    /// ([`Error::is_unknown_outcome`]): the item may have been added, and is not put again.
    pub async fn put(&self, item: impl AsRef<[u8]>) -> Result<String, Error> {
        self.put_many(&[item]).await
    }

    /// Puts `items` in one node (consumed together, in this order); returns the node.
    /// [`Error::DataTooLarge`] when they do not fit one request (`wire::MAX_PACKET`).
    pub async fn put_many<T: AsRef<[u8]>>(&self, items: &[T]) -> Result<String, Error> {
        self.put_named(QUEUE_PREFIX, items).await
    }

    /// Puts `items` in one node named `<name><seq>`.
    pub(super) async fn put_named<T: AsRef<[u8]>>(
        &self,
        name: &str,
        items: &[T],
    ) -> Result<String, Error> {
        if self.state.get() == QueueState::Closed {
            return Err(Error::Closed);
        }
        self.client
            .create()
            .mode(CreateMode::PersistentSequential)
            .parents()
            .data(format::encode(items))
            .at(&path::join(&self.path, name))
            .await
    }

    /// Starts consuming: the stream yields every item taken, in the queue's order (and
    /// [`Error::CorruptData`] for nodes it cannot read, left in place), and ends when the
    /// queue is closed. One consumer per handle ([`Error::InvalidArgument`] for a second).
    pub fn consume(&self) -> Result<ItemStream, Error> {
        let mut consuming = self.consuming.lock().unwrap_or_else(|e| e.into_inner());
        if *consuming {
            return Err(Error::InvalidArgument(
                "this queue handle already has its consumer".into(),
            ));
        }
        if self.state.get() == QueueState::Closed {
            return Err(Error::Closed);
        }
        *consuming = true;
        let (consumer, stream) = Consumer::new(
            &self.client,
            self.path.clone(),
            self.lock_path.clone(),
            (self.kind, self.clock.clone()),
            self.state.clone(),
            (self.lease.clone(), self.losses.clone()),
        );
        self.client.coordinator().spawn(Box::pin(consumer.run()));
        Ok(stream)
    }

    /// The queue's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The handle's state.
    pub fn state(&self) -> QueueState {
        self.state.get()
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<QueueState> {
        self.state.watch()
    }

    /// Stops the handle: the consumer stops (an item locked and not yet acknowledged is
    /// unlocked, to be delivered again) and its stream ends.
    pub async fn close(self) -> Result<(), Error> {
        drop(self);
        Ok(())
    }
}

impl Drop for DistributedQueue {
    /// Dropping the handle closes it.
    fn drop(&mut self) {
        self.state.set_if_changed(QueueState::Closed);
    }
}
