//! Waiting with a deadline on the transport's clock.

use std::future::Future;
use std::sync::Arc;

use futures::future::{self, Either};

use crate::framework::driver::Driven;
use crate::framework::Client;
use crate::machine::Machine;
use crate::time::Instant;
use crate::Error;

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

/// Waits for a closing recipe to finish its clean-up (deleting its nodes) for at most one
/// session timeout, and says whether it did: `Ok` once the machine is done,
/// [`Error::Timeout`] past the bound (the clean-up goes on in the background, a guaranteed
/// delete, for as long as the client lives, and the nodes go with the session at the latest:
/// an unreachable ensemble must not hang `close`), [`Error::Closed`] if the client was closed
/// first.
pub(crate) async fn finish_closing<M: Machine>(
    client: &Client,
    driven: Arc<Driven<M>>,
) -> Result<(), Error> {
    let deadline = client.now() + client.session_timeout();
    if until(client, Some(deadline), driven.finished())
        .await
        .is_none()
    {
        let finished = driven.finished();
        client.coordinator().spawn(Box::pin(async move {
            finished.await;
            drop(driven);
        }));
        return Err(Error::Timeout);
    }
    if driven.inspect(M::is_done) {
        Ok(())
    } else {
        Err(Error::Closed)
    }
}
