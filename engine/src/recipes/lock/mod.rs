//! Curator's `InterProcessMutex`, fenced: a re-entrant distributed lock.
//!
//! Lock nodes are `<path>/_c_<uuid>-lock-<seq>` (protected, ephemeral-sequential), sorted the
//! way Curator sorts them, so docent and Java processes contend for the same lock. Each waiter
//! watches only its predecessor (a getData watch: no herd). Every grant is a [`LockGuard`]
//! with a fencing token — the lock node's creation zxid — whose [`LockGuard::guarded`] writes
//! only while the lock is still ours, and whose [`LockGuard::lost`] says when it no longer is.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::lock::{LockState, Mutex, MutexOptions};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let lock = Mutex::start(&client, "/locks/orders", MutexOptions::default()).await?;
//! let guard = lock.acquire().await?;
//! assert_eq!(lock.state(), LockState::Held { token: guard.token() });
//! guard.release().await?; // or drop it: released in the background
//! lock.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ```text
//!          acquire                 granted
//!   Idle ───────────► Acquiring ───────────► Held{token} ◄── RECONNECTED ──┐
//!    ▲  ◄── timed out ────┘                    │ │ SUSPENDED (standard policy)
//!    │                                         │ └──────────► Suspended{token}
//!    └──────── last guard released, LOST ──────┴──────────────────┘
//! ```

pub mod machine;
pub mod revoke;

use std::sync::{Arc, Mutex as StdMutex, MutexGuard};
use std::time::Duration;

use futures::StreamExt;

pub use machine::{Lease, LockCommand, LockEvent, LockMachine};
pub use revoke::{Revoker, REVOKE_MESSAGE};

use crate::framework::driver::{recipe_span, spawn_machine_in, Driven, EventStream};
use crate::framework::{Client, StateWatch};
use crate::op::MultiOp;
use crate::recipes::guard::{acquired, Abandon, AcquireEvent, LeaseCore};
use crate::recipes::rwlock::Side;
use crate::recipes::wait::finish_closing;
use crate::recipes::watched::{LeaseState, Watched};
use crate::{path, Error, MultiResult};

/// Whether a [`Mutex`] handle holds its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LockState {
    /// Neither holding nor acquiring.
    Idle,
    /// An acquire is in progress.
    Acquiring,
    /// The lock is ours, with this fencing token.
    Held {
        /// The fencing token (the lock node's creation zxid).
        token: i64,
    },
    /// The lock may still be ours, but the connection is SUSPENDED (standard error policy):
    /// stop acting on it until it is [`Held`](LockState::Held) again.
    Suspended {
        /// The fencing token of the lock we had.
        token: i64,
    },
}

impl LeaseState for LockState {
    fn current(&self) -> Option<i64> {
        match self {
            LockState::Held { token } => Some(*token),
            _ => None,
        }
    }
}

impl LockState {
    /// The state the lock machine is in, after an input that emitted `events`.
    fn of(m: &LockMachine, events: &[LockEvent], old: &LockState) -> LockState {
        if let Some(lease) = m.lease() {
            return LockState::Held { token: lease.token };
        }
        if m.is_acquiring() {
            return LockState::Acquiring;
        }
        // A node while neither acquiring nor leased: held, but suspended.
        let granted = events.iter().rev().find_map(|e| match e {
            LockEvent::Acquired(lease) => Some(lease.token),
            _ => None,
        });
        let had = match old {
            LockState::Held { token } | LockState::Suspended { token } => Some(*token),
            _ => None,
        };
        match granted.or(had) {
            Some(token) if m.node().is_some() => LockState::Suspended { token },
            _ => LockState::Idle,
        }
    }
}

/// Options of a [`Mutex`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MutexOptions {
    data: Vec<u8>,
}

impl MutexOptions {
    /// The data of our lock nodes (default: empty; Curator writes the local IP address).
    pub fn data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }
}

type Core = Watched<LockMachine, LockState>;

/// A distributed, re-entrant lock (Curator's `InterProcessMutex`).
///
/// Re-entrancy is per handle: an `acquire` on a handle that holds the lock returns another
/// guard at once, and the lock node is deleted when the last guard is released or dropped.
/// One acquire at a time per handle; share the lock between tasks with one handle per task.
#[derive(Debug)]
pub struct Mutex {
    inner: Arc<Inner>,
}

/// What a handle and its guards share.
#[derive(Debug)]
pub(in crate::recipes) struct Inner {
    client: Client,
    path: String,
    pub(in crate::recipes) driven: Arc<Driven<Core>>,
    /// The lease the guards stand for, and how many guards there are.
    holds: StdMutex<Option<(i64, u32)>>,
    /// The side of a read–write lock this mutex is, if it is one.
    side: Option<Side>,
}

impl Mutex {
    /// Starts a mutex on `path`; it runs (and acquires nothing) when this returns.
    pub async fn start(client: &Client, path: &str, options: MutexOptions) -> Result<Mutex, Error> {
        let path = checked(path)?;
        let machine = LockMachine::new(
            path.clone(),
            "lock-",
            1,
            options.data,
            client.error_policy(),
            client.next_rng(),
        );
        Ok(Mutex {
            inner: Arc::new(Inner::new(client, "mutex", path, machine, None)),
        })
    }

    /// A mutex over `inner` (a side of a read–write lock).
    pub(in crate::recipes) fn from_inner(inner: Arc<Inner>) -> Mutex {
        Mutex { inner }
    }

    /// Acquires the lock, waiting as long as it takes.
    pub async fn acquire(&self) -> Result<LockGuard, Error> {
        self.acquire_until(None).await?.ok_or(Error::Timeout)
    }

    /// Acquires the lock within `timeout`; `Ok(None)` when the time ran out (our node is
    /// deleted).
    pub async fn try_acquire(&self, timeout: Duration) -> Result<Option<LockGuard>, Error> {
        let deadline = self.inner.client.now() + timeout;
        self.acquire_until(Some(deadline)).await
    }

    async fn acquire_until(
        &self,
        deadline: Option<crate::Instant>,
    ) -> Result<Option<LockGuard>, Error> {
        let inner = &self.inner;
        let mut events = {
            let mut holds = inner.holds();
            let current = inner.driven.inspect(|m| m.lease().cloned());
            match (&mut *holds, current) {
                (Some((token, count)), Some(lease)) if lease.token == *token => {
                    *count += 1;
                    return Ok(Some(self.guard(lease)));
                }
                _ => *holds = None,
            }
            let command = match &inner.side {
                None => LockCommand::Acquire { deadline },
                Some(side) => side.command(deadline)?,
            };
            let events = inner.driven.subscribe();
            inner.driven.command(command)?;
            events
        };
        // Dropped before it ended, the acquire gives its node up (as a release does), so that
        // a lock granted to nobody does not stay taken.
        let abandon = Abandon::new(|| {
            let _ = inner.driven.command(LockCommand::Release);
        });
        let outcome = acquired(&mut events).await;
        abandon.defuse();
        let Some(lease) = outcome? else {
            return Ok(None);
        };
        *inner.holds() = Some((lease.token, 1));
        Ok(Some(self.guard(lease)))
    }

    /// A guard for `lease`.
    fn guard(&self, lease: Lease) -> LockGuard {
        let inner = &self.inner;
        LockGuard {
            lease: LeaseCore::granted(&inner.client, &inner.driven, lease),
            mutex: Some(inner.clone()),
        }
    }

    /// The lock's path.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// Makes the lock revocable (Curator's `makeRevocable`): from now on, while we hold it, a
    /// [`Revoker::attempt_revoke`] on our node shows up as
    /// [`LockEvent::RevocationRequested`] in [`events`](Mutex::events). Whether to let go is
    /// ours to decide (release the guards).
    pub fn make_revocable(&self) -> Result<(), Error> {
        self.inner.driven.command(LockCommand::MakeRevocable)
    }

    /// Whether we hold the lock.
    pub fn state(&self) -> LockState {
        self.inner.driven.inspect(|m| m.state())
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<LockState> {
        self.inner.driven.inspect(|m| m.watch())
    }

    /// True while we hold the lock and may act on it.
    pub fn is_held(&self) -> bool {
        matches!(self.state(), LockState::Held { .. })
    }

    /// Acquisitions, suspensions, losses and releases. The stream starts with a snapshot of
    /// the current state — `Acquired` if we hold the lock, then `Suspended` if we are
    /// suspended — so that a late subscriber misses nothing it needs.
    pub fn events(&self) -> EventStream<LockEvent> {
        self.inner.driven.subscribe_from(|m| {
            let lease = |token| {
                let node = m.node().unwrap_or_default().to_owned();
                LockEvent::Acquired(Lease { node, token })
            };
            match m.state() {
                LockState::Held { token } => vec![lease(token)],
                LockState::Suspended { token } => vec![lease(token), LockEvent::Suspended],
                _ => Vec::new(),
            }
        })
    }

    /// Releases every hold and stops the lock's machine; `Ok` once our node is deleted,
    /// [`Error::Timeout`] if that takes longer than a session timeout (the delete goes on in
    /// the background). Guards still alive become stale.
    pub async fn close(self) -> Result<(), Error> {
        let inner = &self.inner;
        *inner.holds() = None;
        let _ = inner.driven.command(LockCommand::Close);
        finish_closing(&inner.client, inner.driven.clone()).await
    }
}

impl AcquireEvent for LockEvent {
    type Grant = Lease;

    fn outcome(self) -> Option<Result<Lease, Error>> {
        match self {
            LockEvent::Acquired(lease) => Some(Ok(lease)),
            LockEvent::AcquireFailed(e) => Some(Err(e)),
            _ => None,
        }
    }
}

impl Inner {
    /// Spawns `machine`, a `recipe` on `path`: a mutex (or a side of a read–write lock).
    pub(in crate::recipes) fn new(
        client: &Client,
        recipe: &'static str,
        path: String,
        machine: LockMachine,
        side: Option<Side>,
    ) -> Inner {
        let span = recipe_span(recipe, &path, "");
        let machine = Watched::new(machine, LockState::Idle, LockState::of);
        Inner {
            client: client.clone(),
            driven: Arc::new(spawn_machine_in(client, machine, span)),
            path,
            holds: StdMutex::new(None),
            side,
        }
    }

    fn holds(&self) -> MutexGuard<'_, Option<(i64, u32)>> {
        self.holds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives up one hold of the lease `token`; with the last, tells the machine to release
    /// and returns the events to wait on. `None`: nothing to release (other guards remain,
    /// or the lease is no longer this handle's).
    fn unhold(&self, token: i64) -> Option<EventStream<LockEvent>> {
        let mut holds = self.holds();
        match *holds {
            Some((held, ref mut count)) if held == token && *count > 1 => {
                *count -= 1;
                None
            }
            Some((held, _)) if held == token => {
                *holds = None;
                // Sent under the holds' lock: no acquire of this handle slips in between.
                let events = self.driven.subscribe();
                self.driven.command(LockCommand::Release).ok()?;
                Some(events)
            }
            _ => None,
        }
    }
}

/// One hold of a [`Mutex`]: the lock is ours while it lives. Dropping it releases the hold in
/// the background (with the last hold the lock node is deleted, a guaranteed delete);
/// [`release`](LockGuard::release) does the same and waits.
#[must_use = "dropping the guard releases the lock"]
pub struct LockGuard {
    lease: LeaseCore<LockState>,
    mutex: Option<Arc<Inner>>,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LockGuard").field(&self.lease).finish()
    }
}

impl LockGuard {
    /// The fencing token: the lock node's creation zxid. Strictly increases in grant order.
    pub fn token(&self) -> i64 {
        self.lease.token()
    }

    /// Our lock node.
    pub fn node(&self) -> &str {
        self.lease.node()
    }

    /// Resolves once the lock is gone or must be presumed gone: SUSPENDED (standard error
    /// policy), LOST, our node deleted, the mutex closed. Made for `select!`.
    pub fn lost(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        self.lease.lost()
    }

    /// Applies `ops` atomically only while our lock node exists. The results are the ops'
    /// own (no check op), and a failing op's [`Error::MultiFailed`] index counts only `ops`.
    /// [`Error::NotHeld`] when the lock is not held (here, or by the ensemble's account: a
    /// holder that lost the lock — expired, or paused while another took over — is refused);
    /// [`fencing::is_fenced_out`](crate::recipes::fencing::is_fenced_out) is true for it.
    pub async fn guarded(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>, Error> {
        self.lease.guarded(ops).await
    }

    /// Releases this hold; with the last one, waits until the machine has let the node go
    /// (its delete goes on in the background if the ensemble is unreachable).
    pub async fn release(mut self) -> Result<(), Error> {
        let Some(mutex) = self.mutex.take() else {
            return Ok(());
        };
        if let Some(mut events) = mutex.unhold(self.token()) {
            while let Some(event) = events.next().await {
                if event == LockEvent::Released {
                    break;
                }
            }
        }
        Ok(())
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(mutex) = self.mutex.take() {
            mutex.unhold(self.token());
        }
    }
}

/// Validates a recipe's directory path.
pub(crate) fn checked(dir: &str) -> Result<String, Error> {
    path::validate(dir)?;
    if dir == "/" {
        return Err(Error::InvalidArgument(
            "a recipe needs its own directory, not the root".into(),
        ));
    }
    Ok(dir.to_owned())
}

#[cfg(test)]
mod tests;
