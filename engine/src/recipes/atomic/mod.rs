//! Curator's `DistributedAtomicLong`, `DistributedAtomicInteger` and `DistributedAtomicValue`:
//! a counter (or value) in one node, changed by compare-and-set on the node's version.
//!
//! The node holds an 8-byte ([`AtomicLong`]) or 4-byte ([`AtomicInteger`]) big-endian number,
//! or raw bytes ([`AtomicValue`]); absent or empty reads as 0 (empty); a number of another
//! length is [`Error::CorruptData`], reported, never read as a number. A write creates the node
//! when it is absent (parents as containers), else sets its data at the version read.
//!
//! Each operation returns an [`AtomicResult`]: `status`, the value before (`pre`) and after
//! (`post`) and how many `tries` it took. Conflicting writers make a try fail: the retry
//! policy says when to try again ([`AtomicOptions::retry`]); once it gives up, the operation
//! may be **promoted to a lock** ([`PromotedToLock`]): the [`Mutex`] at the lock path is
//! taken and the operation tried again under its own policy (writers without the lock can
//! still conflict).
//!
//! **A lost reply to a write is [`AtomicStatus::Unknown`]**, never retried: the write may have
//! been applied, and a blind retry could apply an increment twice (the same for a write whose
//! session ended under it). An `Err` was not applied, except [`Error::Closed`] (the client
//! closed under the operation).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::atomic::{AtomicLong, AtomicOptions, AtomicStatus};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let hits = AtomicLong::start(&client, "/stats/hits", AtomicOptions::default()).await?;
//! let result = hits.increment().await?;
//! assert_eq!((result.status, result.pre, result.post), (AtomicStatus::Succeeded, 0, 1));
//! assert_eq!(hits.add(41).await?.post, 42);
//! assert!(!hits.compare_and_set(7, 8).await?.succeeded()); // it is 42, not 7
//! assert_eq!(hits.get().await?.post, 42);
//! hits.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod machine;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;

pub use machine::{
    AtomicCommand, AtomicData, AtomicEvent, AtomicMachine, AtomicOp, AtomicResult, AtomicStatus,
};

use crate::framework::driver::{recipe_span, spawn_machine_in, Driven};
use crate::framework::{Client, RetryPolicy};
use crate::recipes::lock::{checked, Mutex, MutexOptions};
use crate::{path, Error};

/// A distributed `i64` counter (Curator's `DistributedAtomicLong`).
pub type AtomicLong = DistributedAtomic<i64>;

/// A distributed `i32` counter (Curator's `DistributedAtomicInteger`).
pub type AtomicInteger = DistributedAtomic<i32>;

/// A distributed byte string changed atomically (Curator's `DistributedAtomicValue`).
pub type AtomicValue = DistributedAtomic<Vec<u8>>;

/// Curator's `PromotedToLock`: when the optimistic tries fail, take the [`Mutex`] at `path`
/// (waiting at most `timeout`) and try again under `retry`.
#[derive(Debug, Clone)]
#[must_use]
pub struct PromotedToLock {
    path: String,
    timeout: Duration,
    retry: RetryPolicy,
}

impl PromotedToLock {
    /// The lock at `path`; default: wait up to 10 s for it, then three tries 100 ms apart.
    pub fn new(path: &str) -> Self {
        PromotedToLock {
            path: path.to_owned(),
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::n_times(3, Duration::from_millis(100)),
        }
    }

    /// How long to wait for the lock (the operation fails when it is not had in time).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The retries under the lock.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
}

/// Options of a [`DistributedAtomic`] value.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct AtomicOptions {
    retry: Option<RetryPolicy>,
    promoted: Option<PromotedToLock>,
}

impl AtomicOptions {
    /// The optimistic retries (default: the client's retry policy).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Promote to a lock once the optimistic tries fail (default: no promotion).
    pub fn promote_to_lock(mut self, promoted: PromotedToLock) -> Self {
        self.promoted = Some(promoted);
        self
    }
}

/// A value in one node changed atomically; see the [module docs](self).
#[derive(Debug)]
pub struct DistributedAtomic<T: AtomicData> {
    path: String,
    retry: RetryPolicy,
    promoted: Option<(Mutex, PromotedToLock)>,
    driven: Driven<AtomicMachine<T>>,
    next_id: AtomicU64,
}

impl<T: AtomicData> DistributedAtomic<T> {
    /// A value at `path` (the node is created by the first write).
    pub async fn start(client: &Client, path: &str, options: AtomicOptions) -> Result<Self, Error> {
        let path = checked(path)?;
        let promoted = match options.promoted {
            Some(p) => {
                path::validate(&p.path)?;
                Some((
                    Mutex::start(client, &p.path, MutexOptions::default()).await?,
                    p,
                ))
            }
            None => None,
        };
        client.ensure_namespace().await?;
        let machine = AtomicMachine::new(&path, client.next_rng());
        let driven = spawn_machine_in(client, machine, recipe_span("atomic", &path, ""));
        Ok(DistributedAtomic {
            path,
            retry: options
                .retry
                .unwrap_or_else(|| client.retry_policy().clone()),
            promoted,
            driven,
            next_id: AtomicU64::new(0),
        })
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The current value (0 or empty when the node is absent).
    pub async fn get(&self) -> Result<AtomicResult<T>, Error> {
        self.run(AtomicOp::Get, self.retry.clone()).await
    }

    /// Sets `value` whatever the value was (Curator's `trySet`): optimistic, then promoted.
    pub async fn try_set(&self, value: T) -> Result<AtomicResult<T>, Error> {
        self.retried(AtomicOp::Set(value)).await
    }

    /// Sets `new` only if the value is `expected` (absent counts as 0 / empty); one try.
    pub async fn compare_and_set(&self, expected: T, new: T) -> Result<AtomicResult<T>, Error> {
        let op = AtomicOp::CompareAndSet { expected, new };
        self.run(op, RetryPolicy::Never).await
    }

    /// Writes `value` unconditionally (Curator's `forceSet`). A lost reply is an error with
    /// [`Error::is_unknown_outcome`].
    pub async fn force_set(&self, value: T) -> Result<(), Error> {
        let result = self
            .run(AtomicOp::ForceSet(value), self.retry.clone())
            .await?;
        unknown_as_error(&result).map(|_| ())
    }

    /// Creates the node with `value` if it does not exist: `Ok(true)` when this call created
    /// it. A lost reply is an error with [`Error::is_unknown_outcome`].
    pub async fn initialize(&self, value: T) -> Result<bool, Error> {
        let result = self
            .run(AtomicOp::Initialize(value), RetryPolicy::Never)
            .await?;
        unknown_as_error(&result)
    }

    /// Runs `op` optimistically, then under the lock if promotion is on and the tries ran out.
    async fn retried(&self, op: AtomicOp<T>) -> Result<AtomicResult<T>, Error> {
        let first = self.run(op.clone(), self.retry.clone()).await?;
        let Some((mutex, promoted)) = &self.promoted else {
            return Ok(first);
        };
        if first.status != AtomicStatus::Failed {
            return Ok(first);
        }
        let Some(guard) = mutex.try_acquire(promoted.timeout).await? else {
            return Ok(first);
        };
        let under_lock = self.run(op, promoted.retry.clone()).await;
        // The result stands whatever the release does (it goes on in the background).
        let _ = guard.release().await;
        let mut result = under_lock?;
        result.tries += first.tries;
        result.promoted = true;
        Ok(result)
    }

    async fn run(&self, op: AtomicOp<T>, retry: RetryPolicy) -> Result<AtomicResult<T>, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut events = self.driven.subscribe();
        self.driven.command(AtomicCommand::Run { id, op, retry })?;
        while let Some(event) = events.next().await {
            let AtomicEvent::Done { id: done, result } = event;
            if done == id {
                return result;
            }
        }
        Err(Error::Closed)
    }

    /// Stops (the node stays); the promotion lock, if any, is closed too.
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(AtomicCommand::Close);
        match self.promoted {
            Some((mutex, _)) => mutex.close().await,
            None => Ok(()),
        }
    }
}

/// An unknown outcome as an error (with [`Error::is_unknown_outcome`]), else whether the
/// operation succeeded.
fn unknown_as_error<T>(result: &AtomicResult<T>) -> Result<bool, Error> {
    match result.status {
        AtomicStatus::Unknown => Err(Error::ConnectionLoss),
        status => Ok(status == AtomicStatus::Succeeded),
    }
}

/// The numbers: increments and sums.
pub trait AtomicNumber: AtomicData + Copy {
    /// One.
    const ONE: Self;
    /// `-self`, wrapping as Java's arithmetic.
    fn negated(self) -> Self;
}

impl AtomicNumber for i64 {
    const ONE: i64 = 1;
    fn negated(self) -> i64 {
        self.wrapping_neg()
    }
}

impl AtomicNumber for i32 {
    const ONE: i32 = 1;
    fn negated(self) -> i32 {
        self.wrapping_neg()
    }
}

impl<T: AtomicNumber> DistributedAtomic<T> {
    /// Adds one.
    pub async fn increment(&self) -> Result<AtomicResult<T>, Error> {
        self.add(T::ONE).await
    }

    /// Subtracts one.
    pub async fn decrement(&self) -> Result<AtomicResult<T>, Error> {
        self.add(T::ONE.negated()).await
    }

    /// Adds `delta` (wrapping on overflow, as Curator's Java arithmetic).
    pub async fn add(&self, delta: T) -> Result<AtomicResult<T>, Error> {
        self.retried(AtomicOp::Add(delta)).await
    }

    /// Subtracts `delta`.
    pub async fn subtract(&self, delta: T) -> Result<AtomicResult<T>, Error> {
        self.add(delta.negated()).await
    }
}

#[cfg(test)]
mod tests;
