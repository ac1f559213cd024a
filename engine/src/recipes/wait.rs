//! Waiting with a deadline on the transport's clock.

use std::future::Future;

use futures::future::{self, Either};

use crate::framework::Client;
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
