//! The one retry loop every fluent builder shares (Curator's `RetryLoop`).
//!
//! Before each attempt the loop waits for the connection (at most a session timeout; failing to
//! connect counts as a failed attempt). A retryable error ([`RetryPolicy::allows`]) is retried
//! after the policy's sleep, until the policy gives up.
//!
//! # Unknown outcomes
//! A connection loss leaves a mutation's outcome unknown. Curator retries anyway and reports
//! whatever the retry gets, so a create that was applied and retried reports `NodeExists`
//! though the node is the caller's own. docent keeps Curator's retries but reports honestly:
//! - [`Replay::Read`]: reads, retried freely.
//! - [`Replay::Write`]: creates, deletes, set data, set ACL, transactions. Retried; when an attempt
//!   fails with a non-retryable error (`NodeExists`, `NoNode`, `BadVersion`, …) **after** an
//!   earlier attempt's outcome was unknown, the caller gets that unknown-outcome error (e.g.
//!   [`Error::ConnectionLoss`]), because the failure may be the echo of its own applied write.
//! - [`Replay::Once`]: sequential creates (and transactions holding one), which a retry would
//!   duplicate: never retried after an unknown outcome. Use `.protected()` to make them safe.
//!
//! For a mutation, a session that ended (`SessionExpired`, `SessionMoved`) is an unknown outcome
//! too: the client fails whatever was in flight when its session ends, applied or not (Curator
//! retries it on the next session as if nothing had happened).

use crate::framework::Client;
use crate::op::{Op, Reply};
use crate::rng::Rng;
use crate::Error;

/// How an op may be replayed after an unknown outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replay {
    Read,
    Write,
    Once,
}

impl Client {
    /// Runs `op` under the client's retry policy.
    pub(crate) async fn run(&self, op: Op, replay: Replay) -> Result<Reply, Error> {
        let policy = self.retry_policy().clone();
        let start = self.now();
        let mut rng: Option<Rng> = None;
        let mut unknown: Option<Error> = None;
        let mut retries = 0u32;
        loop {
            let result = match self.wait_connected().await {
                Ok(()) => self.submit(op.clone()).await,
                Err(Error::Closed) => return Err(Error::Closed),
                Err(e) => Err(e),
            };
            let error = match result {
                Ok(reply) => return Ok(reply),
                Err(e) => e,
            };
            let unknown_outcome =
                error.is_unknown_outcome() || (replay != Replay::Read && error.is_session_lost());
            if unknown_outcome && replay == Replay::Once {
                return Err(error);
            }
            if !policy.allows(&error) {
                return Err(match unknown {
                    Some(unknown) if replay == Replay::Write => unknown,
                    _ => error,
                });
            }
            if unknown_outcome {
                unknown = Some(error.clone());
            }
            let rng = rng.get_or_insert_with(|| self.next_rng());
            let Some(delay) = policy.next_delay(retries, self.now() - start, rng) else {
                return Err(error);
            };
            tracing::debug!(%error, retries, ?delay, "retrying");
            retries += 1;
            self.sleep(delay).await;
        }
    }
}
