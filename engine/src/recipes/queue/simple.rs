//! Curator's `SimpleDistributedQueue`: items are `<path>/qn-<seq>` PERSISTENT_SEQUENTIAL nodes
//! holding the raw bytes, taken in plain name order (WIRE.md).

use std::sync::Arc;
use std::time::Duration;

use crate::framework::{Client, StateCell, StateWatch};
use crate::recipes::lock::checked;
use crate::recipes::queue::listing::{list_watched, reconnected, transient};
use crate::recipes::queue::{follow_connection, QueueState};
use crate::recipes::wait::until;
use crate::time::Instant;
use crate::types::CreateMode;
use crate::{path, Error};

/// The prefix of a simple queue's item nodes.
const PREFIX: &str = "qn-";

/// Options of a [`SimpleQueue`] (none yet: the shape every recipe shares).
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SimpleQueueOptions {}

/// A FIFO queue of byte strings (Curator's `SimpleDistributedQueue`).
///
/// Taking is **at most once**: an item is read, deleted, and only then returned. If the reply
/// to the delete is lost the take fails with that unknown outcome
/// ([`Error::is_unknown_outcome`]) and the item may be gone. The queue's directory is a
/// container parent: the ensemble may reap it while empty, and a blocked
/// [`take`](SimpleQueue::take) then waits for it to come back (CURATOR-308).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// use docent::recipes::queue::{SimpleQueue, SimpleQueueOptions};
/// let ensemble = docent_sim::EmbeddedEnsemble::start(1);
/// let client = docent::Client::builder(ensemble.connect()).build()?;
/// let queue = SimpleQueue::start(&client, "/jobs", SimpleQueueOptions::default()).await?;
/// queue.offer(b"first").await?;
/// queue.offer(b"second").await?;
/// assert_eq!(queue.peek().await?, Some(b"first".to_vec()));
/// assert_eq!(queue.take().await?, b"first");
/// assert_eq!(queue.remove().await?, b"second");
/// assert_eq!(queue.poll(std::time::Duration::from_millis(10)).await?, None);
/// queue.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SimpleQueue {
    client: Client,
    path: String,
    state: Arc<StateCell<QueueState>>,
}

impl SimpleQueue {
    /// A simple queue on `path` (created, with container parents, by the first offer).
    pub async fn start(
        client: &Client,
        path: &str,
        _options: SimpleQueueOptions,
    ) -> Result<SimpleQueue, Error> {
        let path = checked(path)?;
        let state = Arc::new(StateCell::new(QueueState::Running));
        follow_connection(client, &state, |_| {});
        Ok(SimpleQueue {
            client: client.clone(),
            path,
            state,
        })
    }

    /// Adds `data` at the tail; returns the item's node. A lost reply is an unknown outcome
    /// (the item may have been added): it is not retried, which could add it twice.
    pub async fn offer(&self, data: impl AsRef<[u8]>) -> Result<String, Error> {
        self.running()?;
        self.client
            .create()
            .mode(CreateMode::PersistentSequential)
            .parents()
            .data(data.as_ref())
            .at(&path::join(&self.path, PREFIX))
            .await
    }

    /// Removes the head, waiting as long as it takes for one.
    pub async fn take(&self) -> Result<Vec<u8>, Error> {
        self.first(true, None).await?.ok_or(Error::Timeout)
    }

    /// Removes the head, waiting at most `timeout` for one; `Ok(None)` if none came.
    pub async fn poll(&self, timeout: Duration) -> Result<Option<Vec<u8>>, Error> {
        let deadline = self.client.now() + timeout;
        self.first(true, Some(deadline)).await
    }

    /// Removes the head if there is one now ([`Error::NoNode`] if the queue is empty:
    /// Curator's `remove`).
    pub async fn remove(&self) -> Result<Vec<u8>, Error> {
        self.first(true, Some(self.client.now()))
            .await?
            .ok_or(Error::NoNode)
    }

    /// The head, left in place; `None` if the queue is empty.
    pub async fn peek(&self) -> Result<Option<Vec<u8>>, Error> {
        self.first(false, Some(self.client.now())).await
    }

    /// The head, left in place ([`Error::NoNode`] if the queue is empty: Curator's `element`).
    pub async fn element(&self) -> Result<Vec<u8>, Error> {
        self.peek().await?.ok_or(Error::NoNode)
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

    /// Stops the handle; takes in progress end with [`Error::Closed`] at their next step.
    pub async fn close(self) -> Result<(), Error> {
        drop(self);
        Ok(())
    }

    fn running(&self) -> Result<(), Error> {
        match self.state.get() {
            QueueState::Closed => Err(Error::Closed),
            _ => Ok(()),
        }
    }

    /// The head's data, removed when `remove`; waits for one until `deadline` (`None`: for
    /// ever), or not at all when the deadline has passed.
    async fn first(
        &self,
        remove: bool,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<u8>>, Error> {
        loop {
            self.running()?;
            let (children, changed) = match list_watched(&self.client, &self.path).await {
                Ok(listed) => listed,
                Err(e) if transient(&e) => {
                    if !reconnected(&self.client, deadline).await? {
                        return Err(e);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut names: Vec<String> = children
                .into_iter()
                .filter(|c| c.starts_with(PREFIX))
                .collect();
            names.sort();
            for name in names {
                let node = path::join(&self.path, &name);
                let (data, stat, _) = match self.client.get_data().at(&node).await {
                    Ok(read) => read,
                    Err(Error::NoNode) => continue,
                    Err(e) => return Err(e),
                };
                if !remove {
                    return Ok(Some(data));
                }
                match self.client.delete().version(stat.version).at(&node).await {
                    Ok(()) => return Ok(Some(data)),
                    // Taken by someone else first.
                    Err(Error::NoNode | Error::BadVersion) => {}
                    Err(e) => return Err(e),
                }
            }
            if deadline.is_some_and(|d| self.client.now() >= d) {
                return Ok(None);
            }
            let mut closed = self.state.watch();
            let closing = closed.wait_for(|s| *s == QueueState::Closed);
            let woken = futures::future::select(changed, Box::pin(closing));
            if until(&self.client, deadline, woken).await.is_none() {
                return Ok(None);
            }
        }
    }
}

impl Drop for SimpleQueue {
    /// Dropping the handle closes it.
    fn drop(&mut self) {
        self.state.set_if_changed(QueueState::Closed);
    }
}
