//! Retry policies, as Curator's `org.apache.curator.retry` package defines them.
//!
//! A policy answers one question: after `retry_count` retries and `elapsed` time since the first
//! attempt, may the operation be tried again, and after how long? Jitter comes only from the
//! injected [`Rng`], so a simulation run replays the same sleeps.
//!
//! ```
//! use std::time::Duration;
//! use docent::framework::RetryPolicy;
//! use docent::rng::Rng;
//!
//! let policy = RetryPolicy::n_times(2, Duration::from_millis(50));
//! let mut rng = Rng::new(1, 0);
//! assert_eq!(policy.next_delay(0, Duration::ZERO, &mut rng), Some(Duration::from_millis(50)));
//! assert_eq!(policy.next_delay(1, Duration::ZERO, &mut rng), Some(Duration::from_millis(50)));
//! assert_eq!(policy.next_delay(2, Duration::ZERO, &mut rng), None);
//! ```

use std::time::Duration;

use crate::rng::Rng;
use crate::Error;

/// Curator's cap on the retries of an exponential backoff (`1 << (29 + 1)` still fits an `i32`).
pub const MAX_EXPONENTIAL_RETRIES: u32 = 29;

/// When and how often to retry an operation that failed with a retryable error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryPolicy {
    /// Curator's `ExponentialBackoffRetry`: sleep `base_sleep * max(1, rand(0..2^(n+1)))` before
    /// retry `n` (counting from 0), at most `max_retries` times (capped at
    /// [`MAX_EXPONENTIAL_RETRIES`]).
    ExponentialBackoff {
        /// The unit of sleep.
        base_sleep: Duration,
        /// How many retries.
        max_retries: u32,
    },
    /// Curator's `BoundedExponentialBackoffRetry`: as [`RetryPolicy::ExponentialBackoff`], each
    /// sleep capped at `max_sleep`.
    BoundedExponentialBackoff {
        /// The unit of sleep.
        base_sleep: Duration,
        /// The longest sleep.
        max_sleep: Duration,
        /// How many retries.
        max_retries: u32,
    },
    /// Curator's `RetryNTimes`: `n` retries, `sleep` apart.
    NTimes {
        /// How many retries.
        n: u32,
        /// The sleep before each.
        sleep: Duration,
    },
    /// Curator's `RetryOneTime`: one retry after `sleep`.
    OneTime {
        /// The sleep before the retry.
        sleep: Duration,
    },
    /// Curator's `RetryUntilElapsed`: retry `sleep` apart while less than `max_elapsed` has
    /// passed since the first attempt.
    UntilElapsed {
        /// The time budget.
        max_elapsed: Duration,
        /// The sleep before each retry.
        sleep: Duration,
    },
    /// Curator's `RetryForever`: retry `interval` apart, forever.
    Forever {
        /// The sleep before each retry.
        interval: Duration,
    },
    /// Curator's `SessionFailedRetryPolicy`: the inner policy, except that an expired session is
    /// **not** retried (Curator's default retries it, as ZooKeeper's `SESSIONEXPIRED` is in
    /// `RetryLoop.shouldRetry`).
    SessionFailed(Box<RetryPolicy>),
    /// Never retry.
    Never,
}

impl Default for RetryPolicy {
    /// `ExponentialBackoffRetry(1000, 3)`, the policy of Curator's own examples.
    fn default() -> Self {
        RetryPolicy::exponential_backoff(Duration::from_secs(1), 3)
    }
}

impl RetryPolicy {
    /// [`RetryPolicy::ExponentialBackoff`], with `max_retries` capped at
    /// [`MAX_EXPONENTIAL_RETRIES`] as Curator does.
    pub fn exponential_backoff(base_sleep: Duration, max_retries: u32) -> RetryPolicy {
        RetryPolicy::ExponentialBackoff {
            base_sleep,
            max_retries: max_retries.min(MAX_EXPONENTIAL_RETRIES),
        }
    }

    /// [`RetryPolicy::BoundedExponentialBackoff`], retries capped as above.
    pub fn bounded_exponential_backoff(
        base_sleep: Duration,
        max_sleep: Duration,
        max_retries: u32,
    ) -> RetryPolicy {
        RetryPolicy::BoundedExponentialBackoff {
            base_sleep,
            max_sleep,
            max_retries: max_retries.min(MAX_EXPONENTIAL_RETRIES),
        }
    }

    /// [`RetryPolicy::NTimes`].
    pub fn n_times(n: u32, sleep: Duration) -> RetryPolicy {
        RetryPolicy::NTimes { n, sleep }
    }

    /// [`RetryPolicy::SessionFailed`] around `inner`.
    pub fn session_failed(inner: RetryPolicy) -> RetryPolicy {
        RetryPolicy::SessionFailed(Box::new(inner))
    }

    /// The sleep before retry number `retry_count` (0 for the first retry), or `None` to give
    /// up. `elapsed` is the time since the first attempt.
    pub fn next_delay(
        &self,
        retry_count: u32,
        elapsed: Duration,
        rng: &mut Rng,
    ) -> Option<Duration> {
        match self {
            RetryPolicy::ExponentialBackoff {
                base_sleep,
                max_retries,
            } => (retry_count < (*max_retries).min(MAX_EXPONENTIAL_RETRIES))
                .then(|| backoff(*base_sleep, retry_count, rng)),
            RetryPolicy::BoundedExponentialBackoff {
                base_sleep,
                max_sleep,
                max_retries,
            } => (retry_count < (*max_retries).min(MAX_EXPONENTIAL_RETRIES))
                .then(|| backoff(*base_sleep, retry_count, rng).min(*max_sleep)),
            RetryPolicy::NTimes { n, sleep } => (retry_count < *n).then_some(*sleep),
            RetryPolicy::OneTime { sleep } => (retry_count < 1).then_some(*sleep),
            RetryPolicy::UntilElapsed { max_elapsed, sleep } => {
                (elapsed < *max_elapsed).then_some(*sleep)
            }
            RetryPolicy::Forever { interval } => Some(*interval),
            RetryPolicy::SessionFailed(inner) => inner.next_delay(retry_count, elapsed, rng),
            RetryPolicy::Never => None,
        }
    }

    /// True when `error` is one this policy retries (Curator's `allowRetry(Throwable)`):
    /// [`Error::is_retryable`], minus session expiry for [`RetryPolicy::SessionFailed`].
    pub fn allows(&self, error: &Error) -> bool {
        match self {
            RetryPolicy::SessionFailed(_) if *error == Error::SessionExpired => false,
            RetryPolicy::SessionFailed(inner) => inner.allows(error),
            RetryPolicy::Never => false,
            _ => error.is_retryable(),
        }
    }
}

fn backoff(base: Duration, retry_count: u32, rng: &mut Rng) -> Duration {
    let bound = 1u64 << (retry_count.min(MAX_EXPONENTIAL_RETRIES) + 1);
    let factor = rng.below(bound).max(1);
    base.saturating_mul(factor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn delays(policy: &RetryPolicy, seed: u64) -> Vec<Duration> {
        let mut rng = Rng::new(seed, 0);
        (0..)
            .map_while(|n| policy.next_delay(n, Duration::ZERO, &mut rng))
            .take(100)
            .collect()
    }

    #[test]
    fn exponential_backoff_draws_from_the_rng() {
        let policy = RetryPolicy::exponential_backoff(10 * MS, 5);
        let got = delays(&policy, 42);
        assert_eq!(got.len(), 5);
        // The same draws by hand: factor n is max(1, below(2^(n+1))).
        let mut rng = Rng::new(42, 0);
        let want: Vec<Duration> = (0..5u32)
            .map(|n| 10 * MS * rng.below(1 << (n + 1)).max(1) as u32)
            .collect();
        assert_eq!(got, want);
        for (n, d) in got.iter().enumerate() {
            assert!(*d >= 10 * MS && *d < 10 * MS * (1 << (n + 1)), "{n}: {d:?}");
        }
        assert_eq!(got, delays(&policy, 42), "same seed, same sleeps");
    }

    #[test]
    fn exponential_retries_are_capped_at_29() {
        let policy = RetryPolicy::exponential_backoff(MS, 1000);
        assert_eq!(
            policy,
            RetryPolicy::ExponentialBackoff {
                base_sleep: MS,
                max_retries: 29
            }
        );
        let raw = RetryPolicy::ExponentialBackoff {
            base_sleep: MS,
            max_retries: 1000,
        };
        assert_eq!(delays(&raw, 1).len(), 29);
    }

    #[test]
    fn bounded_backoff_never_exceeds_the_bound() {
        let policy = RetryPolicy::bounded_exponential_backoff(10 * MS, 35 * MS, 29);
        let got = delays(&policy, 3);
        assert_eq!(got.len(), 29);
        assert!(got.iter().all(|d| *d <= 35 * MS && *d >= 10 * MS));
        assert!(got.contains(&(35 * MS)), "large retries hit the bound");
    }

    #[test]
    fn fixed_policies() {
        assert_eq!(delays(&RetryPolicy::n_times(3, 5 * MS), 0), vec![5 * MS; 3]);
        assert_eq!(
            delays(&RetryPolicy::OneTime { sleep: 7 * MS }, 0),
            vec![7 * MS]
        );
        assert_eq!(delays(&RetryPolicy::Never, 0), vec![]);
        let forever = RetryPolicy::Forever { interval: MS };
        assert_eq!(delays(&forever, 0).len(), 100);
        let mut rng = Rng::new(0, 0);
        assert_eq!(
            forever.next_delay(u32::MAX, Duration::MAX, &mut rng),
            Some(MS)
        );
    }

    #[test]
    fn until_elapsed_looks_at_the_clock_only() {
        let policy = RetryPolicy::UntilElapsed {
            max_elapsed: 100 * MS,
            sleep: 30 * MS,
        };
        let mut rng = Rng::new(0, 0);
        assert_eq!(policy.next_delay(500, 99 * MS, &mut rng), Some(30 * MS));
        assert_eq!(policy.next_delay(0, 100 * MS, &mut rng), None);
    }

    #[test]
    fn which_errors_are_retried() {
        let standard = RetryPolicy::default();
        assert!(standard.allows(&Error::ConnectionLoss));
        assert!(standard.allows(&Error::SessionExpired));
        assert!(!standard.allows(&Error::NodeExists));
        let session_failed = RetryPolicy::session_failed(RetryPolicy::default());
        assert!(session_failed.allows(&Error::ConnectionLoss));
        assert!(!session_failed.allows(&Error::SessionExpired));
        assert!(!RetryPolicy::Never.allows(&Error::ConnectionLoss));
        let mut rng = Rng::new(9, 0);
        let mut same = Rng::new(9, 0);
        assert_eq!(
            session_failed.next_delay(1, Duration::ZERO, &mut rng),
            standard.next_delay(1, Duration::ZERO, &mut same)
        );
    }
}
