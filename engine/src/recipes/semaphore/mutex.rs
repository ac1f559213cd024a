//! Curator's `InterProcessSemaphoreMutex`: a non-re-entrant mutex over a one-lease semaphore
//! (the same nodes: `<path>/locks`, `<path>/leases`).

use std::time::Duration;

use super::{Semaphore, SemaphoreGuard, SemaphoreOptions, SemaphoreState};
use crate::framework::{Client, StateWatch};
use crate::Error;

/// Options of a [`SemaphoreMutex`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct SemaphoreMutexOptions {
    data: Vec<u8>,
}

impl SemaphoreMutexOptions {
    /// The data of our lease nodes (default: empty).
    pub fn data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }
}

/// A non-re-entrant distributed mutex (Curator's `InterProcessSemaphoreMutex`): unlike
/// [`Mutex`](crate::recipes::lock::Mutex), a handle that holds it and asks again gets
/// [`Error::InvalidArgument`] instead of a second hold.
#[derive(Debug)]
pub struct SemaphoreMutex {
    semaphore: Semaphore,
}

impl SemaphoreMutex {
    /// Starts a semaphore mutex on `path`; it runs (and holds nothing) when this returns.
    pub async fn start(
        client: &Client,
        path: &str,
        options: SemaphoreMutexOptions,
    ) -> Result<SemaphoreMutex, Error> {
        let options = SemaphoreOptions::max_leases(1).data(options.data);
        let semaphore = Semaphore::start(client, path, options).await?;
        Ok(SemaphoreMutex { semaphore })
    }

    fn not_held(&self) -> Result<(), Error> {
        if self.semaphore.state().held.is_empty() {
            return Ok(());
        }
        Err(Error::InvalidArgument(
            "a semaphore mutex is not re-entrant: this handle holds it".into(),
        ))
    }

    /// The mutex's path.
    pub fn path(&self) -> &str {
        self.semaphore.path()
    }

    /// Acquires the mutex, waiting as long as it takes.
    pub async fn acquire(&self) -> Result<SemaphoreGuard, Error> {
        self.not_held()?;
        self.semaphore.acquire().await
    }

    /// Acquires the mutex within `timeout`; `Ok(None)` when the time ran out.
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<SemaphoreGuard>, Error> {
        self.not_held()?;
        self.semaphore.try_acquire(timeout).await
    }

    /// The lease held (at most one) and whether an acquire is in progress.
    pub fn state(&self) -> SemaphoreState {
        self.semaphore.state()
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<SemaphoreState> {
        self.semaphore.watch_state()
    }

    /// True while we hold the mutex and may act on it.
    pub fn is_held(&self) -> bool {
        let state = self.state();
        !state.suspended && !state.held.is_empty()
    }

    /// Gives the lease back and stops (see [`Semaphore::close`]).
    pub async fn close(self) -> Result<(), Error> {
        self.semaphore.close().await
    }
}
