//! The one seam between the engine and a transport.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::op::{Op, Reply};
use crate::time::Instant;
use crate::types::SessionState;
use crate::Error;

/// A ZooKeeper session plus the runtime around it: everything the engine needs from the world.
///
/// Two transports implement it: `docent-zk` (a real session) and `docent-sim` (the simulated
/// ensemble, embedded on tokio or deterministic inside madsim).
///
/// # Ordering
/// [`submit`](Coordinator::submit) enqueues the op **when it is called**, not when the returned
/// future is first polled, and ops reach the server in call order. ZooKeeper applies a session's
/// requests in that order, so a machine may pipeline ops whose order it already knows (a create
/// and the getChildren that follows it go out together).
pub trait Coordinator: Send + Sync + 'static {
    /// Sends `op` now and resolves with its result. A connection loss resolves with
    /// [`Error::ConnectionLoss`] (outcome unknown); while the session is expired every op fails
    /// with [`Error::SessionExpired`] until the transport has a new session.
    fn submit(&self, op: Op) -> BoxFuture<'static, Result<Reply, Error>>;

    /// Session states from now on, starting with the current one.
    fn session_states(&self) -> BoxStream<'static, SessionState>;

    /// The current (or last) session's id; 0 before the first session.
    fn session_id(&self) -> i64;

    /// The negotiated session timeout (the requested one before the first session).
    fn session_timeout(&self) -> Duration;

    /// The transport's monotonic clock.
    fn now(&self) -> Instant;

    /// Resolves once [`now`](Coordinator::now) has reached `deadline`.
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()>;

    /// Milliseconds since the Unix epoch (simulated inside the simulation), for values that
    /// Curator stores as wall time (e.g. a service instance's registration time).
    fn unix_millis(&self) -> i64;

    /// Runs `task` in the background on the transport's runtime.
    fn spawn(&self, task: BoxFuture<'static, ()>);

    /// The seed for the engine's random numbers (UUIDs, retry jitter). Fixed per simulation run.
    fn seed(&self) -> u64;

    /// Closes the session (the server deletes its ephemerals at once).
    fn close(&self) -> BoxFuture<'static, Result<(), Error>>;

    /// Gives up the current session without waiting for the ensemble to expire it (Curator's
    /// `injectSessionExpiration`): ops in flight fail with [`Error::SessionExpired`], the
    /// states show [`SessionState::Expired`], and a new session is opened. The old session's
    /// ephemerals live on at the ensemble until it expires there (or, where the transport
    /// can still deliver a close, until then). The framework calls this when it declares LOST
    /// after a session timeout without contact, so that LOST really means "that session is
    /// over" to every recipe. The default does nothing: the transport keeps trying the old
    /// session.
    fn abandon_session(&self) {}
}
