//! Curator's `SharedValue` and `SharedCount`: a value every process reads, watches and
//! replaces, with a compare-and-set on the node's version.
//!
//! The node holds the value's bytes; a [`SharedCount`] holds a 4-byte big-endian `i32` (as
//! Curator's, so Java processes share it; any other length is shown as
//! [`SharedState::Corrupt`], never misread). [`start`](Shared::start) creates the node with the
//! seed value if it is absent (parents as containers), then follows it: the state shows the
//! latest value read with its version, re-read on every change and on every reconnection.
//! [`try_set`](Shared::try_set) writes only if the node is still at the version you read
//! (`false` when someone wrote since); [`set`](Shared::set) writes whatever the version.
//!
//! A lost reply to a write is an unknown outcome: the call returns an error for which
//! [`Error::is_unknown_outcome`] is true, or [`Error::is_session_lost`] when the session ended
//! with the write in flight (in both cases the write may have been applied), never a guess.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::shared::{SharedCount, SharedOptions};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let count = SharedCount::start(&client, "/config/workers", SharedOptions::seed(3)).await?;
//! let seen = count.get()?;
//! assert_eq!(seen.value, 3);
//! assert!(count.try_set(&seen, 4).await?); // nobody wrote since we read
//! assert!(!count.try_set(&seen, 5).await?); // stale: the node is at a newer version now
//! assert_eq!(count.get()?.value, 4);
//! count.close().await?;
//! # Ok(())
//! # }
//! ```

pub(crate) mod codec;
pub mod machine;

use std::sync::atomic::{AtomicU64, Ordering};

use futures::StreamExt;

pub use machine::{SharedCommand, SharedData, SharedEvent, SharedMachine, SharedState, Versioned};

use crate::framework::driver::{recipe_span, spawn_machine_in, Driven};
use crate::framework::{Client, StateWatch};
use crate::recipes::lock::checked;
use crate::Error;

/// A shared byte string (Curator's `SharedValue`).
pub type SharedValue = Shared<Vec<u8>>;

/// A shared 4-byte big-endian count (Curator's `SharedCount`).
pub type SharedCount = Shared<i32>;

/// Options of a [`Shared`] value.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SharedOptions<T> {
    seed: T,
}

impl<T: SharedData> SharedOptions<T> {
    /// The value the node is created with when it does not exist (default: empty, or 0).
    pub fn seed(value: T) -> Self {
        SharedOptions { seed: value }
    }
}

/// A value shared through one node; see the [module docs](self).
#[derive(Debug)]
pub struct Shared<T: SharedData> {
    path: String,
    driven: Driven<SharedMachine<T>>,
    next_id: AtomicU64,
}

impl<T: SharedData> Shared<T> {
    /// Creates the node at `path` with the seed value if it is absent (Curator's `start`), and
    /// returns once its value has been read. Fails when the node could not be made to exist
    /// (the ensemble unreachable for the client's retry policy).
    pub async fn start(
        client: &Client,
        path: &str,
        options: SharedOptions<T>,
    ) -> Result<Self, Error> {
        let path = checked(path)?;
        seed(client, &path, options.seed.encode()).await?;
        let span = recipe_span("shared", &path, "");
        let driven = spawn_machine_in(client, SharedMachine::new(&path), span);
        let mut states = driven.inspect(|m| m.watch());
        states
            .wait_for(|s| !matches!(s, SharedState::Reading))
            .await
            .ok_or(Error::Closed)?;
        Ok(Shared {
            path,
            driven,
            next_id: AtomicU64::new(0),
        })
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The value last read and its version (Curator's `getVersionedValue`);
    /// [`Error::CorruptData`] while the node holds something else, [`Error::NoNode`] while it
    /// does not exist.
    pub fn get(&self) -> Result<Versioned<T>, Error> {
        match self.state() {
            SharedState::Value(v) => Ok(v),
            SharedState::Corrupt { error, .. } => Err(error),
            SharedState::Absent => Err(Error::NoNode),
            SharedState::Reading => Err(Error::Closed),
        }
    }

    /// The state now.
    pub fn state(&self) -> SharedState<T> {
        self.driven.inspect(|m| m.state())
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<SharedState<T>> {
        self.driven.inspect(|m| m.watch())
    }

    /// Writes `value` only if the node is still at `seen.version` (Curator's `trySetValue`):
    /// `Ok(false)` when someone wrote since (the state is being read again). A version of -1
    /// (reached after 2^32 - 1 writes) cannot be compared and-set on ZooKeeper, which reads it
    /// as "any version": that is refused with [`Error::InvalidArgument`].
    pub async fn try_set(&self, seen: &Versioned<T>, value: T) -> Result<bool, Error> {
        self.write(value.encode(), Some(seen.version)).await
    }

    /// Writes `value` whatever the version (Curator's `setValue`).
    pub async fn set(&self, value: T) -> Result<(), Error> {
        self.write(value.encode(), None).await.map(|_| ())
    }

    async fn write(&self, data: Vec<u8>, version: Option<i32>) -> Result<bool, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut events = self.driven.subscribe();
        self.driven
            .command(SharedCommand::Set { id, data, version })?;
        while let Some(event) = events.next().await {
            match event {
                SharedEvent::SetDone { id: done, result } if done == id => return result,
                _ => {}
            }
        }
        Err(Error::Closed)
    }

    /// Stops following the node (it stays).
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(SharedCommand::Close);
        Ok(())
    }
}

/// How many times [`seed`] creates the node after an unknown outcome before giving up.
const SEED_ROUNDS: usize = 3;

/// Makes the node exist, created with `data` if it is absent (parents as containers). An
/// unknown outcome is resolved by looking: the node exists, or the create is made again.
async fn seed(client: &Client, path: &str, data: Vec<u8>) -> Result<(), Error> {
    let mut unknown = None;
    for _ in 0..SEED_ROUNDS {
        match client.create().parents().data(data.clone()).at(path).await {
            Ok(_) | Err(Error::NodeExists) => return Ok(()),
            Err(e) if e.is_unknown_outcome() => {
                if client.exists().at(path).await?.0.is_some() {
                    return Ok(());
                }
                unknown = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    Err(unknown.unwrap_or(Error::ConnectionLoss))
}

#[cfg(test)]
mod tests;
