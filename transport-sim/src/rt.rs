//! The runtime under the driver: tokio for the embedded ensemble, madsim inside a simulation.

use futures::future::BoxFuture;

#[cfg(madsim)]
pub(crate) use madsim::time::{sleep_until, Instant};
#[cfg(not(madsim))]
pub(crate) use tokio::time::{sleep_until, Instant};

/// Runs `task` in the background on the current runtime (and, under madsim, the current node).
pub(crate) fn spawn(task: BoxFuture<'static, ()>) {
    #[cfg(madsim)]
    madsim::task::spawn(task);
    #[cfg(not(madsim))]
    tokio::spawn(task);
}
