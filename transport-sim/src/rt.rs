//! The runtimes under the driver: tokio (real time, or tokio's paused clock in the harness
//! outside madsim) and, under `--cfg madsim`, madsim's deterministic runtime.
//!
//! The runtime is chosen when an ensemble starts, not at compile time, so that a binary built
//! with `--cfg madsim` can still run the embedded ensemble on tokio (doc tests do). The madsim
//! clock never touches `tokio::time` and nothing here reads the system clock.

use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

/// One runtime's clock and spawner, with the instant the simulation started.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Clock {
    /// tokio: real time (embedded) or paused (harness outside madsim).
    Tokio(tokio::time::Instant),
    /// madsim's virtual time.
    #[cfg(madsim)]
    Madsim(madsim::time::Instant),
}

// The drivers' one clock: the model gets time from here as `now` and never reads a clock itself
// (tokio's is paused in the harness, madsim's is simulated; both are seeded virtual time there).
#[allow(clippy::disallowed_methods)]
impl Clock {
    /// The current tokio runtime's clock, starting now.
    pub(crate) fn tokio() -> Clock {
        Clock::Tokio(tokio::time::Instant::now())
    }

    /// The current madsim runtime's clock, starting now.
    #[cfg(madsim)]
    pub(crate) fn madsim() -> Clock {
        Clock::Madsim(madsim::time::Instant::now())
    }

    /// Time since the start.
    pub(crate) fn elapsed(&self) -> Duration {
        match self {
            Clock::Tokio(origin) => tokio::time::Instant::now().saturating_duration_since(*origin),
            #[cfg(madsim)]
            Clock::Madsim(origin) => {
                madsim::time::Instant::now().saturating_duration_since(*origin)
            }
        }
    }

    /// Resolves once `at` (since the start) has been reached.
    pub(crate) fn sleep_until(&self, at: Duration) -> BoxFuture<'static, ()> {
        match self {
            Clock::Tokio(origin) => tokio::time::sleep_until(*origin + at).boxed(),
            #[cfg(madsim)]
            Clock::Madsim(origin) => madsim::time::sleep_until(*origin + at).boxed(),
        }
    }

    /// Runs `task` in the background on this runtime (under madsim: on the current node).
    pub(crate) fn spawn(&self, task: BoxFuture<'static, ()>) {
        match self {
            Clock::Tokio(_) => {
                tokio::spawn(task);
            }
            #[cfg(madsim)]
            Clock::Madsim(_) => {
                madsim::task::spawn(task);
            }
        }
    }
}
