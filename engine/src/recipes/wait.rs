//! Waiting with a deadline on the transport's clock.

use std::future::Future;

use futures::future::{self, Either};

use crate::framework::driver::Driven;
use crate::framework::Client;
use crate::machine::Machine;
use crate::time::Instant;

/// `work`'s output, or `None` if `deadline` passes first (no deadline: wait for `work`).
pub(crate) async fn until<T>(
    client: &Client,
    deadline: Option<Instant>,
    work: impl Future<Output = T>,
) -> Option<T> {
    let Some(deadline) = deadline else {
        return Some(work.await);
    };
    let sleep = client.coordinator().sleep_until(deadline);
    match future::select(Box::pin(work), sleep).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

/// Waits for a closing recipe to finish its clean-up (deleting its node) for at most one
/// session timeout. An unreachable ensemble must not hang `close`: past that bound the
/// clean-up goes on in the background (a guaranteed delete) for as long as the client lives,
/// and the node goes with the session at the latest.
pub(crate) async fn finish_closing<M: Machine>(client: &Client, driven: Driven<M>) {
    let finished = driven.finished();
    let deadline = client.now() + client.session_timeout();
    if until(client, Some(deadline), finished).await.is_none() {
        let finished = driven.finished();
        client.coordinator().spawn(Box::pin(async move {
            finished.await;
            drop(driven);
        }));
    }
}
