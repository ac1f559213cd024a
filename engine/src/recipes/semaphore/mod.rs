//! Curator's `InterProcessSemaphoreV2` and `InterProcessSemaphoreMutex`, fenced: counting
//! leases shared by docent and Java processes.
//!
//! Layout (Curator's): `<path>/locks` holds the creation mutex (`_c_<uuid>-lock-<seq>`
//! nodes), `<path>/leases` the leases (`_c_<uuid>-lease-<seq>`, protected
//! ephemeral-sequential). A lease is created only while the creation mutex is ours, then the
//! leases are listed with a watch until at most `max` exist; the mutex is released once the
//! lease is granted. So at most one created-but-waiting lease exists at any time and waiters
//! never block each other. Each lease is a [`SemaphoreGuard`] with its own fencing token (the
//! lease node's creation zxid), [`lost`](SemaphoreGuard::lost) and
//! [`guarded`](SemaphoreGuard::guarded) writes. The max leases are fixed, or read from a
//! `SharedCount`-compatible node (4 bytes, big-endian) and followed while it changes.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::semaphore::{Semaphore, SemaphoreOptions};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let semaphore = Semaphore::start(&client, "/sem/db", SemaphoreOptions::max_leases(2)).await?;
//! let leases = semaphore.acquire_many(2).await?;
//! assert_eq!(semaphore.state().held.len(), 2);
//! assert!(leases[0].token() < leases[1].token());
//! for lease in leases {
//!     lease.release().await?; // or drop it: given back in the background
//! }
//! semaphore.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ```text
//!  acquire(n) ─► take the creation mutex ─► create the lease (listing pipelined) ─┐
//!                      ▲                                                          │
//!                      │ LOST / new session: the waiting lease is given up         ▼
//!                      └───────────────────────────────────────── list leases (watched)
//!                                              our node missing: create again ◄──┤ more than max:
//!                                                                                │ wait for the watch
//!           granted: release the mutex (with the next lease's mutex create) ◄────┘ at most max
//!           n granted: Acquired; held leases end on release, drop, LOST
//!  deadline, failure: what was taken goes back (the lease, the mutex), in the background
//! ```

pub mod machine;
mod mutex;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

pub use machine::{MaxSource, SemaphoreCommand, SemaphoreEvent, SemaphoreMachine};
pub use mutex::{SemaphoreMutex, SemaphoreMutexOptions};

use crate::framework::driver::{spawn_machine, Driven};
use crate::framework::{Client, StateWatch};
use crate::op::{MultiOp, Op, OpResult};
use crate::recipes::guard::{acquired, Abandon, AcquireEvent, LeaseCore};
use crate::recipes::lock::{checked, Lease};
use crate::recipes::wait::finish_closing;
use crate::recipes::watched::{LeaseState, Watched};
use crate::{path, Error, MultiResult};

/// What a [`Semaphore`] handle holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SemaphoreState {
    /// The fencing tokens of the leases held, in grant order.
    pub held: Vec<i64>,
    /// An acquire is in progress.
    pub acquiring: bool,
    /// The connection is SUSPENDED (standard error policy): the held leases may still be
    /// ours but must not be acted on.
    pub suspended: bool,
}

impl SemaphoreState {
    fn of(m: &SemaphoreMachine, _: &[SemaphoreEvent], _: &SemaphoreState) -> SemaphoreState {
        SemaphoreState {
            held: m.leases().map(|l| l.token).collect(),
            acquiring: m.is_acquiring(),
            suspended: m.is_suspended(),
        }
    }

    fn usable(&self) -> bool {
        !self.suspended && !self.held.is_empty()
    }
}

impl LeaseState for SemaphoreState {
    /// The newest usable lease.
    fn current(&self) -> Option<i64> {
        self.usable().then(|| self.held.last().copied()).flatten()
    }

    fn holds(&self, token: i64) -> bool {
        !self.suspended && self.held.contains(&token)
    }

    /// A loss is the held leases becoming unusable (SUSPENDED, LOST), not a lease given back.
    fn loses(&self, old: &Self) -> bool {
        old.usable() && !self.usable()
    }
}

/// Options of a [`Semaphore`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SemaphoreOptions {
    max: MaxSource,
    data: Vec<u8>,
}

impl SemaphoreOptions {
    /// At most `max` leases at once.
    pub fn max_leases(max: usize) -> Self {
        SemaphoreOptions {
            max: MaxSource::Fixed(max),
            data: Vec::new(),
        }
    }

    /// The max leases read from the `SharedCount`-compatible node at `path` (4 bytes,
    /// big-endian), followed while it changes; acquires wait until it exists, and fail with
    /// [`Error::CorruptData`] while it has another length.
    pub fn max_leases_from(path: &str) -> Self {
        SemaphoreOptions {
            max: MaxSource::Node(path.to_owned()),
            data: Vec::new(),
        }
    }

    /// The data of our lease nodes (default: empty).
    pub fn data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }
}

type Core = Watched<SemaphoreMachine, SemaphoreState>;

/// A distributed counting semaphore (Curator's `InterProcessSemaphoreV2`).
///
/// One acquire at a time per handle; a handle may hold many leases.
#[derive(Debug)]
pub struct Semaphore {
    client: Client,
    dir: String,
    driven: Arc<Driven<Core>>,
}

impl Semaphore {
    /// Starts a semaphore on `path`; it runs (and holds nothing) when this returns.
    pub async fn start(
        client: &Client,
        path: &str,
        options: SemaphoreOptions,
    ) -> Result<Semaphore, Error> {
        let dir = checked(path)?;
        if let MaxSource::Node(count) = &options.max {
            path::validate(count)?;
        }
        let machine = SemaphoreMachine::new(
            &dir,
            options.max,
            options.data,
            client.error_policy(),
            client.next_rng(),
        );
        let machine = Watched::new(machine, SemaphoreState::default(), SemaphoreState::of);
        Ok(Semaphore {
            client: client.clone(),
            dir,
            driven: Arc::new(spawn_machine(client, machine)),
        })
    }

    /// The semaphore's path.
    pub fn path(&self) -> &str {
        &self.dir
    }

    /// Acquires one lease, waiting as long as it takes.
    pub async fn acquire(&self) -> Result<SemaphoreGuard, Error> {
        let mut leases = self.acquire_many(1).await?;
        Ok(leases.remove(0))
    }

    /// Acquires `n` leases, all or none, waiting as long as it takes.
    pub async fn acquire_many(&self, n: usize) -> Result<Vec<SemaphoreGuard>, Error> {
        self.acquire_until(n, None).await?.ok_or(Error::Timeout)
    }

    /// Acquires one lease within `timeout`; `Ok(None)` when the time ran out.
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<SemaphoreGuard>, Error> {
        let leases = self.try_acquire_many(1, timeout).await?;
        Ok(leases.map(|mut l| l.remove(0)))
    }

    /// Acquires `n` leases within `timeout`, all or none; `Ok(None)` when the time ran out
    /// (what was taken is given back).
    pub async fn try_acquire_many(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Option<Vec<SemaphoreGuard>>, Error> {
        let deadline = self.client.now() + timeout;
        self.acquire_until(n, Some(deadline)).await
    }

    async fn acquire_until(
        &self,
        count: usize,
        deadline: Option<crate::Instant>,
    ) -> Result<Option<Vec<SemaphoreGuard>>, Error> {
        let mut events = self.driven.subscribe();
        self.driven
            .command(SemaphoreCommand::Acquire { count, deadline })?;
        // Dropped before it ended, the acquire gives up what it waits for and what it was
        // granted, so that no lease stays taken without a guard.
        let abandon = Abandon::new(|| {
            let _ = self.driven.command(SemaphoreCommand::Abandon);
        });
        let leases = acquired(&mut events).await;
        abandon.defuse();
        let leases = leases?;
        Ok(leases.map(|leases| leases.into_iter().map(|l| self.guard(l)).collect()))
    }

    fn guard(&self, lease: Lease) -> SemaphoreGuard {
        SemaphoreGuard {
            lease: LeaseCore::granted(&self.client, &self.driven, lease),
            driven: Some(self.driven.clone()),
        }
    }

    /// The leases held and whether an acquire is in progress.
    pub fn state(&self) -> SemaphoreState {
        self.driven.inspect(|m| m.state())
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<SemaphoreState> {
        self.driven.inspect(|m| m.watch())
    }

    /// The lease nodes that exist now, every process's (Curator's `getParticipantNodes`), by
    /// name; empty when the semaphore has no leases directory yet.
    pub async fn participant_nodes(&self) -> Result<Vec<String>, Error> {
        let path = path::join(&self.dir, "leases");
        let op = Op::GetChildren {
            path: path.clone(),
            watch: false,
        };
        match self.client.submit(op).await.map(|r| r.result) {
            Ok(OpResult::Children { children, .. }) => Ok(children),
            Err(Error::NoNode) => Ok(Vec::new()),
            Ok(other) => Err(Error::unexpected_reply(&path, "getChildren", &other)),
            Err(e) => Err(e),
        }
    }

    /// Gives every lease back and stops; `Ok` once our nodes are deleted, [`Error::Timeout`]
    /// past a session timeout (the deletes go on in the background). Guards still alive
    /// become stale.
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(SemaphoreCommand::Close);
        finish_closing(&self.client, self.driven.clone()).await
    }
}

impl AcquireEvent for SemaphoreEvent {
    type Grant = Vec<Lease>;

    fn outcome(self) -> Option<Result<Vec<Lease>, Error>> {
        match self {
            SemaphoreEvent::Acquired(leases) => Some(Ok(leases)),
            SemaphoreEvent::AcquireFailed(e) => Some(Err(e)),
            _ => None,
        }
    }
}

/// One lease of a [`Semaphore`]. Dropping it gives the lease back in the background (a
/// guaranteed delete); [`release`](SemaphoreGuard::release) does the same and waits until the
/// machine let it go.
#[must_use = "dropping the guard gives the lease back"]
pub struct SemaphoreGuard {
    lease: LeaseCore<SemaphoreState>,
    driven: Option<Arc<Driven<Core>>>,
}

impl std::fmt::Debug for SemaphoreGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SemaphoreGuard").field(&self.lease).finish()
    }
}

impl SemaphoreGuard {
    /// The fencing token: the lease node's creation zxid.
    pub fn token(&self) -> i64 {
        self.lease.token()
    }

    /// Our lease node.
    pub fn node(&self) -> &str {
        self.lease.node()
    }

    /// Resolves once the lease is gone or must be presumed gone: SUSPENDED (standard error
    /// policy), LOST, our node deleted, the semaphore closed. Made for `select!`.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.lease.lost()
    }

    /// Applies `ops` atomically only while our lease node exists; [`Error::NotHeld`] once the
    /// lease is gone (see [`LockGuard::guarded`](crate::recipes::lock::LockGuard::guarded)).
    pub async fn guarded(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>, Error> {
        self.lease.guarded(ops).await
    }

    /// Gives the lease back; waits until the machine has let the node go (its delete goes on
    /// in the background if the ensemble is unreachable).
    pub async fn release(mut self) -> Result<(), Error> {
        let Some(driven) = self.driven.take() else {
            return Ok(());
        };
        let node = self.node().to_owned();
        let mut events = driven.subscribe();
        if driven
            .command(SemaphoreCommand::Release { node: node.clone() })
            .is_err()
        {
            return Ok(());
        }
        while let Some(event) = events.next().await {
            if event == SemaphoreEvent::Released(node.clone()) {
                break;
            }
        }
        Ok(())
    }
}

impl Drop for SemaphoreGuard {
    fn drop(&mut self) {
        if let Some(driven) = self.driven.take() {
            let node = self.node().to_owned();
            let _ = driven.command(SemaphoreCommand::Release { node });
        }
    }
}

#[cfg(test)]
mod tests;
