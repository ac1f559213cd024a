//! The recipes.
//!
//! The lease recipes ([`lock::Mutex`], [`latch::LeaderLatch`], [`selector::LeaderSelector`],
//! [`semaphore::Semaphore`], [`semaphore::SemaphoreMutex`]) share one handle shape:
//!
//! - `start(..).await` validates its options and returns once the recipe's machine runs;
//!   `close(self).await` says whether its clean-up (deleting its nodes) finished:
//!   [`Error::Timeout`](crate::Error::Timeout) past one session timeout, the deletes going on
//!   in the background.
//! - `state()` reads the recipe's state now, `watch_state()` yields it now and after each
//!   change ([`StateWatch`](crate::framework::StateWatch): no change falls between the two).
//! - `events()` streams start with a **snapshot**: the events that lead from the initial state
//!   to the current one (`IsLeader`, `Acquired`, …), so a late subscriber misses nothing it
//!   needs, and then every event.
//! - A lease is a value ([`lock::LockGuard`], [`latch::Leadership`]) with its fencing `token()`,
//!   `lost()` (a future for `select!`: SUSPENDED under the standard error policy, LOST, its
//!   node deleted) and `guarded(ops)`, the fenced multi ([`Error::NotHeld`](crate::Error::NotHeld)
//!   once the lease is gone). A lock guard releases its hold when dropped; a leadership is a
//!   view and changes nothing when dropped.
//!
//! The barriers ([`barrier::Barrier`], [`barrier::DoubleBarrier`]) have the same `start`,
//! `close`, `state()` and `watch_state()`; their waits answer `Ok(true)` once passed and
//! `Ok(false)` when their timeout ran out, as Curator's do.

pub mod atomic;
pub mod barrier;
pub mod cache;
pub(crate) mod enroll;
pub mod fencing;
mod guard;
pub mod latch;
pub(crate) mod lease;
pub mod lock;
pub mod multi;
pub mod nodes;
pub mod order;
pub mod participants;
pub mod queue;
pub mod rwlock;
pub mod selector;
pub mod semaphore;
pub mod shared;
#[cfg(test)]
mod testing;
pub(crate) mod wait;
mod watched;
