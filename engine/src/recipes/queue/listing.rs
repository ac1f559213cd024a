//! What the queue loops share: a watched listing of the queue directory, and waiting for a
//! change, a reconnection or a deadline.

use futures::future::BoxFuture;
use futures::FutureExt;

use crate::framework::Client;
use crate::op::Watch;
use crate::recipes::wait::until;
use crate::time::Instant;
use crate::Error;

/// Resolves when what it watches may have changed.
pub(super) type Changed = BoxFuture<'static, ()>;

fn fired(watch: Option<Watch>) -> Changed {
    match watch {
        Some(Watch::OneShot(fired)) => fired.map(|_| ()).boxed(),
        Some(Watch::Persistent(mut events)) => async move {
            futures::StreamExt::next(&mut events)
                .await
                .map_or((), |_| ())
        }
        .boxed(),
        // No watch came back: look again at once.
        None => futures::future::ready(()).boxed(),
    }
}

/// The children of `dir` and a future that resolves when they may have changed. A missing
/// `dir` (a reaped container, CURATOR-308) has no children and an `exists` watch that fires
/// when it is created again.
pub(super) async fn list_watched(
    client: &Client,
    dir: &str,
) -> Result<(Vec<String>, Changed), Error> {
    match client.get_children().watched().at(dir).await {
        Ok((children, _, watch)) => Ok((children, fired(watch))),
        Err(Error::NoNode) => match client.exists().watched().at(dir).await? {
            // Created again since: list it.
            (Some(_), _) => Ok((Vec::new(), fired(None))),
            (None, watch) => Ok((Vec::new(), fired(watch))),
        },
        Err(e) => Err(e),
    }
}

/// The exists watch of `node`: resolves when it is deleted (or at once if it is gone).
pub(super) async fn watch_gone(client: &Client, node: &str) -> Result<Changed, Error> {
    match client.exists().watched().at(node).await? {
        (Some(_), watch) => Ok(fired(watch)),
        (None, _) => Ok(fired(None)),
    }
}

/// True for the errors a queue loop outlives: the connection or the session trouble that a
/// reconnection ends.
pub(super) fn transient(error: &Error) -> bool {
    error.is_retryable() || *error == Error::NotConnected
}

/// Waits until the client is connected again, or `deadline` passes (`false`), or the client
/// is closed ([`Error::Closed`]).
pub(super) async fn reconnected(client: &Client, deadline: Option<Instant>) -> Result<bool, Error> {
    loop {
        match until(client, deadline, client.wait_connected()).await {
            None => return Ok(false),
            Some(Ok(())) => return Ok(true),
            Some(Err(Error::Closed)) => return Err(Error::Closed),
            Some(Err(_)) => {}
        }
    }
}
