//! Curator's `InterProcessMultiLock`: several locks taken as one, all or nothing.
//!
//! A [`MultiLock`] acquires its locks one after the other, in the order given (every process
//! that takes the same locks in the same order cannot deadlock on them). Success is a
//! [`MultiGuard`] holding every lock; a failure or a timeout part-way releases what was taken,
//! in reverse order, before it is reported, and a failure says which lock it was
//! ([`Error::LockFailed`]). The guard releases in reverse order too, dropped or
//! [released](MultiGuard::release).
//!
//! Any lock that implements [`Lockable`] can take part: a [`Mutex`], owned or borrowed (a
//! borrowed lock, `&L`, stays its owner's to close — how a read–write lock's sides, which it
//! lends as `&Mutex`, join a multi-lock).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::lock::MutexOptions;
//! use docent::recipes::multi::MultiLock;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let both = MultiLock::start(&client, &["/locks/a", "/locks/b"], MutexOptions::default()).await?;
//! let guard = both.acquire().await?;
//! assert_eq!(guard.tokens().len(), 2);
//! guard.release().await?;
//! both.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ```text
//!            acquire lock 0, 1, … in order           all granted
//!   none ─────────────────────────────────► taking ────────────► MultiGuard (every lock)
//!    ▲                                        │ lock i fails or the time runs out
//!    └── locks i-1 … 0 released (reverse) ◄───┘  → LockFailed{i, path} / Ok(None)
//! ```

use std::fmt;
use std::time::Duration;

use futures::future::{self, BoxFuture};
use futures::FutureExt;

use crate::framework::Client;
use crate::recipes::lock::{LockGuard, LockState, Mutex, MutexOptions};
use crate::recipes::semaphore::{Semaphore, SemaphoreGuard, SemaphoreMutex};
use crate::{Error, Instant};

/// A lock a [`MultiLock`] can take: a mutex, a read or write lock, a semaphore lease.
pub trait Lockable: Send + Sync + fmt::Debug {
    /// The lock's path.
    fn path(&self) -> &str;

    /// Acquires the lock, waiting as long as it takes.
    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Hold>, Error>>;

    /// Acquires the lock within `timeout`; `Ok(None)` when the time ran out (nothing held).
    fn try_acquire(&self, timeout: Duration)
        -> BoxFuture<'_, Result<Option<Box<dyn Hold>>, Error>>;

    /// The token of the lease this handle holds now (held or suspended), if any.
    fn held(&self) -> Option<i64>;

    /// Closes the lock's handle (see the recipe's own `close`).
    fn close<'a>(self: Box<Self>) -> BoxFuture<'a, Result<(), Error>>
    where
        Self: 'a;
}

/// One acquired [`Lockable`]: dropping it releases it in the background.
pub trait Hold: Send + Sync + fmt::Debug {
    /// The fencing token of the lease.
    fn token(&self) -> i64;

    /// The lease node.
    fn node(&self) -> &str;

    /// Resolves once the lease is gone or must be presumed gone (see the recipe's guard).
    fn lost(&self) -> BoxFuture<'static, ()>;

    /// Releases the lease and waits until its node is let go.
    fn release(self: Box<Self>) -> BoxFuture<'static, Result<(), Error>>;
}

/// Several locks taken as one, in order, all or nothing (Curator's `InterProcessMultiLock`).
#[derive(Debug)]
pub struct MultiLock<'a> {
    client: Client,
    locks: Vec<Box<dyn Lockable + 'a>>,
}

impl<'a> MultiLock<'a> {
    /// A multi-lock over one [`Mutex`] per path (Curator's constructor over paths), in the
    /// order given.
    pub async fn start(
        client: &Client,
        paths: &[&str],
        options: MutexOptions,
    ) -> Result<MultiLock<'static>, Error> {
        let mut locks: Vec<Box<dyn Lockable>> = Vec::new();
        for path in paths {
            locks.push(Box::new(Mutex::start(client, path, options.clone()).await?));
        }
        MultiLock::of(client, locks)
    }

    /// A multi-lock over `locks`, taken in the order given; [`Error::InvalidArgument`] when
    /// there are none.
    pub fn of(client: &Client, locks: Vec<Box<dyn Lockable + 'a>>) -> Result<MultiLock<'a>, Error> {
        if locks.is_empty() {
            return Err(Error::InvalidArgument("a multi-lock needs a lock".into()));
        }
        Ok(MultiLock {
            client: client.clone(),
            locks,
        })
    }

    /// The locks, in acquisition order.
    pub fn locks(&self) -> &[Box<dyn Lockable + 'a>] {
        &self.locks
    }

    /// Acquires every lock, waiting as long as it takes. A lock that fails releases the ones
    /// taken before it (reverse order) and is reported as [`Error::LockFailed`].
    pub async fn acquire(&self) -> Result<MultiGuard, Error> {
        self.acquire_until(None).await?.ok_or(Error::Timeout)
    }

    /// Acquires every lock within `timeout` in all; `Ok(None)` when the time ran out, the
    /// locks taken so far released (reverse order). A failing lock is [`Error::LockFailed`].
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<MultiGuard>, Error> {
        let deadline = self.client.now() + timeout;
        self.acquire_until(Some(deadline)).await
    }

    async fn acquire_until(&self, deadline: Option<Instant>) -> Result<Option<MultiGuard>, Error> {
        // Dropped part-way (the caller gave up on this future), it releases what it took.
        let mut taken = MultiGuard { holds: Vec::new() };
        for (index, lock) in self.locks.iter().enumerate() {
            let got = match deadline {
                None => lock.acquire().await.map(Some),
                Some(at) => {
                    lock.try_acquire(at.saturating_since(self.client.now()))
                        .await
                }
            };
            match got {
                Ok(Some(hold)) => taken.holds.push(hold),
                Ok(None) => {
                    taken.release().await?;
                    return Ok(None);
                }
                Err(error) => {
                    // The lock's own error matters more than a release's.
                    let _ = taken.release().await;
                    return Err(Error::LockFailed {
                        index,
                        path: lock.path().to_owned(),
                        error: Box::new(error),
                    });
                }
            }
        }
        Ok(Some(taken))
    }

    /// Closes every lock's handle, in reverse order; the first error, after trying them all.
    pub async fn close(self) -> Result<(), Error> {
        let mut result = Ok(());
        for lock in self.locks.into_iter().rev() {
            let closed = lock.close().await;
            result = result.and(closed);
        }
        result
    }
}

/// Every lock of a [`MultiLock`], held. Dropping it releases them in reverse order, in the
/// background; [`release`](MultiGuard::release) does the same and waits.
#[must_use = "dropping the guard releases the locks"]
#[derive(Debug)]
pub struct MultiGuard {
    holds: Vec<Box<dyn Hold>>,
}

impl MultiGuard {
    /// The fencing tokens, one per lock, in acquisition order.
    pub fn tokens(&self) -> Vec<i64> {
        self.holds.iter().map(|h| h.token()).collect()
    }

    /// The holds, one per lock, in acquisition order.
    pub fn holds(&self) -> &[Box<dyn Hold>] {
        &self.holds
    }

    /// Resolves once any of the locks is gone or must be presumed gone.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        future::select_all(self.holds.iter().map(|h| h.lost())).map(|_| ())
    }

    /// Releases every lock in reverse order and waits for each; the first error, after
    /// releasing them all.
    pub async fn release(mut self) -> Result<(), Error> {
        let mut result = Ok(());
        while let Some(hold) = self.holds.pop() {
            let released = hold.release().await;
            result = result.and(released);
        }
        result
    }
}

impl Drop for MultiGuard {
    fn drop(&mut self) {
        while let Some(hold) = self.holds.pop() {
            drop(hold);
        }
    }
}

/// A borrowed lock: taken through its owner's handle, and left to its owner to close.
impl<L: Lockable + ?Sized> Lockable for &L {
    fn path(&self) -> &str {
        (**self).path()
    }

    fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Hold>, Error>> {
        (**self).acquire()
    }

    fn try_acquire(
        &self,
        timeout: Duration,
    ) -> BoxFuture<'_, Result<Option<Box<dyn Hold>>, Error>> {
        (**self).try_acquire(timeout)
    }

    fn held(&self) -> Option<i64> {
        (**self).held()
    }

    fn close<'a>(self: Box<Self>) -> BoxFuture<'a, Result<(), Error>>
    where
        Self: 'a,
    {
        future::ready(Ok(())).boxed()
    }
}

/// [`Lockable`] for a recipe handle `$lock` (with inherent `path`, `acquire`, `try_acquire` and
/// `close`, whose guard is a [`Hold`]); `$held` is its [`Lockable::held`], a `fn(&$lock)`.
macro_rules! lockable {
    ($lock:ty, $held:expr) => {
        impl Lockable for $lock {
            fn path(&self) -> &str {
                <$lock>::path(self)
            }

            fn acquire(&self) -> BoxFuture<'_, Result<Box<dyn Hold>, Error>> {
                async move { Ok(Box::new(<$lock>::acquire(self).await?) as Box<dyn Hold>) }.boxed()
            }

            fn try_acquire(
                &self,
                timeout: Duration,
            ) -> BoxFuture<'_, Result<Option<Box<dyn Hold>>, Error>> {
                async move {
                    let guard = <$lock>::try_acquire(self, timeout).await?;
                    Ok(guard.map(|g| Box::new(g) as Box<dyn Hold>))
                }
                .boxed()
            }

            fn held(&self) -> Option<i64> {
                let held: fn(&$lock) -> Option<i64> = $held;
                held(self)
            }

            fn close<'a>(self: Box<Self>) -> BoxFuture<'a, Result<(), Error>>
            where
                Self: 'a,
            {
                <$lock>::close(*self).boxed()
            }
        }
    };
}

/// [`Hold`] for a recipe guard `$guard` (with inherent `token`, `node`, `lost` and `release`).
macro_rules! hold {
    ($guard:ty) => {
        impl Hold for $guard {
            fn token(&self) -> i64 {
                <$guard>::token(self)
            }

            fn node(&self) -> &str {
                <$guard>::node(self)
            }

            fn lost(&self) -> BoxFuture<'static, ()> {
                <$guard>::lost(self).boxed()
            }

            fn release(self: Box<Self>) -> BoxFuture<'static, Result<(), Error>> {
                <$guard>::release(*self).boxed()
            }
        }
    };
}

lockable!(Mutex, |lock| match lock.state() {
    LockState::Held { token } | LockState::Suspended { token } => Some(token),
    _ => None,
});
// A semaphore's newest lease.
lockable!(Semaphore, |lock| lock.state().held.last().copied());
lockable!(SemaphoreMutex, |lock| lock.state().held.last().copied());
hold!(LockGuard);
hold!(SemaphoreGuard);
