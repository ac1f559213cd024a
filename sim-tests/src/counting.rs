//! A [`Coordinator`] that counts the reads a process sends, to measure herds and bursts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use docent::{Coordinator, Error, Instant, Op, Reply, SessionState};

/// Wraps a session and counts every `getChildren` and every request it submits.
#[derive(Debug, Clone)]
pub struct Counting<C> {
    inner: Arc<C>,
    lists: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
}

impl<C: Coordinator> Counting<C> {
    /// Counts what goes through `inner`.
    pub fn new(inner: Arc<C>) -> Counting<C> {
        Counting {
            inner,
            lists: Arc::default(),
            requests: Arc::default(),
        }
    }

    /// `getChildren` requests so far.
    pub fn lists(&self) -> u64 {
        self.lists.load(Ordering::SeqCst)
    }

    /// Requests of any kind so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl<C: Coordinator> Coordinator for Counting<C> {
    fn submit(&self, op: Op) -> BoxFuture<'static, Result<Reply, Error>> {
        if matches!(op, Op::GetChildren { .. }) {
            self.lists.fetch_add(1, Ordering::SeqCst);
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.inner.submit(op)
    }
    fn session_states(&self) -> BoxStream<'static, SessionState> {
        self.inner.session_states()
    }
    fn session_id(&self) -> i64 {
        self.inner.session_id()
    }
    fn session_timeout(&self) -> Duration {
        self.inner.session_timeout()
    }
    fn now(&self) -> Instant {
        self.inner.now()
    }
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        self.inner.sleep_until(deadline)
    }
    fn unix_millis(&self) -> i64 {
        self.inner.unix_millis()
    }
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.inner.spawn(task)
    }
    fn seed(&self) -> u64 {
        self.inner.seed()
    }
    fn close(&self) -> BoxFuture<'static, Result<(), Error>> {
        self.inner.close()
    }
    fn abandon_session(&self) {
        self.inner.abandon_session()
    }
}
