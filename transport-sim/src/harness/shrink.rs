//! Shrinking: a failing seed's fault schedule made as small as it will go before it is
//! reported, by re-running the same seed on smaller schedules.
//!
//! Three passes, each keeping a candidate only when the run still fails **the same way**:
//! 1. delta debugging (ddmin) over the faults: drop halves, then smaller chunks, down to
//!    single faults, until no one fault can go;
//! 2. shorten every duration (partition, pause, downtime, lag, …) by halving while it fails;
//! 3. move every fault earlier by halving its time while it fails.
//!
//! "The same way" means the same kind of failure with the same check: a time-limit failure
//! does not stand in for a safety violation, nor a panic for an `Err`, nor one check's error
//! for another's. Two messages match when their first lines agree up to the first `": "`
//! with every number (decimals too) masked (`two leaders at 12.4s: a and b` matches `two leaders at 3s: b
//! and c`); see [`signature`]. A divergence found by determinism mode is not shrunk.
//!
//! The search is bounded by runs and wall time ([`ShrinkLimits`]); when a bound stops it, the
//! smallest failing schedule found so far is reported. The reported schedule is replayed
//! verbatim (`DOCENT_SCHEDULE`), so a search cut short by the wall bound on a slow machine
//! still gives a replay line that reproduces.
//!
//! # Independence of the workload from the schedule
//! Removing a fault should change what the clients do only through that fault's effects.
//! What the harness and the recipes draw does not depend on the schedule: each client's
//! `abandons` flag (stream `0xAB4D` of the seed), each client's [`docent::Client::next_rng`]
//! streams (seeded from the seed and the client's number), the ensemble providers' polling
//! (stream `0xE8` of the client's seed), and the swarm draw itself (its own streams).
//!
//! Still following the schedule:
//! - the model's draws: network jitter, reconnect back-off, session passwords and elections
//!   share one stream of the seed, drawn in the order events happen, so a fault that changes
//!   how many packets are sent shifts every later draw. One stream per purpose and client
//!   would confine that to the fault's own client; it changes every seed's run, and with it
//!   the naive semaphore's control suite fails at seed 244, so it waits for that to be
//!   understood;
//! - the engine's retry loop takes a `next_rng` stream on its first retry only, so a fault
//!   that causes (or a removal that avoids) a retry moves every later `next_rng` stream of
//!   that client;
//! - madsim's scheduler, which draws from the runtime's seed as tasks wake.
//!
//! So a shrunk schedule can fail at a slightly different moment than the original, or a
//! fault that only mattered through shifted randomness can survive shrinking; the shrinker
//! only keeps what it re-ran, and the replay line replays exactly what it kept.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

use super::report::{self, Failure};
use super::{Harness, Sim};
use crate::model::{Fault, FaultSchedule, ScheduledFault};

/// How much effort shrinking may spend on one failure: [`Harness::shrink`](super::Harness::shrink).
///
/// The environment overrides it: `DOCENT_SHRINK=0` turns shrinking off (`=1` on),
/// `DOCENT_SHRINK_RUNS=n` bounds the re-runs, `DOCENT_SHRINK_SECS=s` the wall time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShrinkLimits {
    /// Whether to shrink at all (default on).
    pub enabled: bool,
    /// At most this many re-runs of the seed (default 200).
    pub max_runs: u32,
    /// At most this much wall time (default 20 s); a run in progress is finished.
    pub max_wall: Duration,
}

impl Default for ShrinkLimits {
    fn default() -> ShrinkLimits {
        ShrinkLimits {
            enabled: true,
            max_runs: 200,
            max_wall: Duration::from_secs(20),
        }
    }
}

impl ShrinkLimits {
    /// No shrinking: failures are reported with their whole schedule.
    pub fn off() -> ShrinkLimits {
        ShrinkLimits {
            enabled: false,
            ..ShrinkLimits::default()
        }
    }

    /// At most `n` re-runs.
    pub fn runs(mut self, n: u32) -> ShrinkLimits {
        self.max_runs = n;
        self
    }

    /// At most `wall` of wall time.
    pub fn wall(mut self, wall: Duration) -> ShrinkLimits {
        self.max_wall = wall;
        self
    }

    /// These limits with `DOCENT_SHRINK`, `DOCENT_SHRINK_RUNS` and `DOCENT_SHRINK_SECS` (as
    /// `var` reads them) applied.
    ///
    /// # Panics
    /// On a value that is not a number (or `0`/`1` for `DOCENT_SHRINK`).
    pub(crate) fn with_env(mut self, var: impl Fn(&str) -> Option<String>) -> ShrinkLimits {
        let number = |name: &str| {
            var(name).map(|v| {
                v.trim()
                    .parse::<u32>()
                    .unwrap_or_else(|_| panic!("{name}={v:?}: expected a whole number"))
            })
        };
        match number("DOCENT_SHRINK") {
            Some(0) => self.enabled = false,
            Some(1) => self.enabled = true,
            Some(n) => panic!("DOCENT_SHRINK={n}: expected 0 (off) or 1 (on)"),
            None => {}
        }
        if let Some(n) = number("DOCENT_SHRINK_RUNS") {
            self.max_runs = n;
        }
        if let Some(s) = number("DOCENT_SHRINK_SECS") {
            self.max_wall = Duration::from_secs(s.into());
        }
        self
    }
}

/// What shrinking one failure cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShrinkStats {
    /// Re-runs of the seed.
    pub runs: u32,
    /// Wall time spent.
    pub wall: Duration,
    /// A bound stopped the search before it was done.
    pub bounded: bool,
}

impl Harness {
    /// The failure of `seed`, its schedule shrunk when `shrinkable` and shrinking is on.
    pub(super) fn failure<F, Fut, E>(
        &self,
        seed: u64,
        seeds_run: u64,
        message: String,
        original: FaultSchedule,
        shrinkable: bool,
        body: &F,
    ) -> Failure
    where
        F: Fn(Sim) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let from_env = report::env_schedule().is_some();
        let mut limits = self.shrink;
        // A schedule given to replay is shrunk only when asked for explicitly.
        limits.enabled &= !from_env;
        let limits = limits.with_env(|name| std::env::var(name).ok());
        let shrunk = (shrinkable && limits.enabled).then(|| {
            shrink(&original, &message, &limits, |candidate| {
                self.run_seed(seed, candidate, body, true).result
            })
        });
        let (schedule, message, shrink) = match shrunk {
            Some(s) => (s.schedule, s.message, Some(s.stats)),
            None => (original.clone(), message, None),
        };
        let verbatim = (from_env || schedule != original).then_some(&schedule);
        // The report's timeline is the run its replay line reproduces.
        let timeline =
            (schedule != original).then(|| self.run_seed(seed, &schedule, body, true).timeline);
        Failure {
            seed,
            seeds_run,
            message,
            replay: self.location.replay(seed, verbatim),
            schedule,
            original,
            shrink,
            timeline: timeline.unwrap_or_default(),
            timeline_file: None,
        }
    }
}

/// The outcome of shrinking: the smallest failing schedule found and its run's message.
#[derive(Debug)]
pub(crate) struct Shrunk {
    pub(crate) schedule: FaultSchedule,
    pub(crate) message: String,
    pub(crate) stats: ShrinkStats,
}

/// What identifies a failure's kind and check: the first line up to the first `": "` (for a
/// panic, of its message), with every number (`12`, `3.5`) masked as `#`.
pub(crate) fn signature(message: &str) -> String {
    let (panic, rest) = match message.strip_prefix("panicked: ") {
        Some(rest) => ("panicked: ", rest),
        None => ("", message),
    };
    let first = rest.lines().next().unwrap_or_default();
    let head = first.split(": ").next().unwrap_or_default();
    let mut out = String::from(panic);
    let mut chars = head.chars().peekable();
    while let Some(ch) = chars.next() {
        if !ch.is_ascii_digit() {
            out.push(ch);
            continue;
        }
        out.push('#');
        // The rest of the number, decimals included.
        while let Some(&next) = chars.peek() {
            let decimal = next == '.' && chars.clone().nth(1).is_some_and(|c| c.is_ascii_digit());
            if !(next.is_ascii_digit() || decimal) {
                break;
            }
            chars.next();
        }
    }
    out
}

/// Shrinks `original`, whose run failed with `message`; `run` re-runs the seed on a
/// candidate schedule.
pub(crate) fn shrink(
    original: &FaultSchedule,
    message: &str,
    limits: &ShrinkLimits,
    run: impl FnMut(&FaultSchedule) -> Result<(), String>,
) -> Shrunk {
    let mut search = Search {
        run,
        limits: *limits,
        // Wall time bounds the search only; no run sees it.
        #[allow(clippy::disallowed_methods)]
        started: std::time::Instant::now(),
        runs: 0,
        signature: signature(message),
        message: message.to_owned(),
        bounded: false,
    };
    let mut faults = original.faults.clone();
    // Each pass returns `None` when a bound stopped it; what it kept so far stays kept.
    let _ = search
        .ddmin(&mut faults)
        .and_then(|()| search.shorten(&mut faults))
        .and_then(|()| search.move_earlier(&mut faults));
    Shrunk {
        schedule: sorted(faults),
        message: search.message,
        stats: ShrinkStats {
            runs: search.runs,
            wall: search.started.elapsed(),
            bounded: search.bounded,
        },
    }
}

fn sorted(mut faults: Vec<ScheduledFault>) -> FaultSchedule {
    faults.sort_by_key(|f| f.at);
    FaultSchedule { faults }
}

struct Search<R> {
    run: R,
    limits: ShrinkLimits,
    started: std::time::Instant,
    runs: u32,
    signature: String,
    message: String,
    bounded: bool,
}

impl<R: FnMut(&FaultSchedule) -> Result<(), String>> Search<R> {
    /// Whether `faults` still fail the same way; `None` once a bound is reached.
    fn fails(&mut self, faults: &[ScheduledFault]) -> Option<bool> {
        if self.runs >= self.limits.max_runs || self.started.elapsed() >= self.limits.max_wall {
            self.bounded = true;
            return None;
        }
        self.runs += 1;
        match (self.run)(&sorted(faults.to_vec())) {
            Err(message) if signature(&message) == self.signature => {
                self.message = message;
                Some(true)
            }
            _ => Some(false),
        }
    }

    /// Delta debugging over the faults (Zeller's ddmin), after trying none at all.
    fn ddmin(&mut self, faults: &mut Vec<ScheduledFault>) -> Option<()> {
        if faults.is_empty() {
            return Some(());
        }
        if self.fails(&[])? {
            faults.clear();
            return Some(());
        }
        let mut n = 2;
        while faults.len() >= 2 {
            let size = faults.len().div_ceil(n);
            let chunks: Vec<Vec<ScheduledFault>> = faults.chunks(size).map(<[_]>::to_vec).collect();
            let mut reduced = false;
            for (i, chunk) in chunks.iter().enumerate() {
                if self.fails(chunk)? {
                    *faults = chunk.clone();
                    (n, reduced) = (2, true);
                    break;
                }
                // With two chunks a complement is the other chunk: already tried.
                if chunks.len() > 2 {
                    let rest: Vec<ScheduledFault> = (chunks.iter().enumerate())
                        .filter(|&(j, _)| j != i)
                        .flat_map(|(_, c)| c.iter().cloned())
                        .collect();
                    if self.fails(&rest)? {
                        *faults = rest;
                        (n, reduced) = ((n - 1).max(2), true);
                        break;
                    }
                }
            }
            if !reduced {
                if n >= faults.len() {
                    break;
                }
                n = (n * 2).min(faults.len());
            }
        }
        Some(())
    }

    /// Halves each duration while the run still fails.
    fn shorten(&mut self, faults: &mut [ScheduledFault]) -> Option<()> {
        for i in 0..faults.len() {
            for field in 0..durations(&mut faults[i].fault).len() {
                loop {
                    let mut candidate = faults.to_vec();
                    let d = durations(&mut candidate[i].fault).swap_remove(field);
                    let Some(half) = halved(*d) else { break };
                    *d = half;
                    if !self.fails(&candidate)? {
                        break;
                    }
                    faults[i] = candidate.swap_remove(i);
                }
            }
        }
        Some(())
    }

    /// Halves each fault's time while the run still fails.
    fn move_earlier(&mut self, faults: &mut [ScheduledFault]) -> Option<()> {
        for i in 0..faults.len() {
            while let Some(at) = halved(faults[i].at) {
                let mut candidate = faults.to_vec();
                candidate[i].at = at;
                if !self.fails(&candidate)? {
                    break;
                }
                faults[i].at = at;
            }
        }
        Some(())
    }
}

/// Half of `d` in whole milliseconds (compact schedules stay short), if that is shorter.
fn halved(d: Duration) -> Option<Duration> {
    let half = Duration::from_millis((d.as_millis() / 2) as u64);
    (half < d && d >= Duration::from_millis(2)).then_some(half)
}

/// The durations of `fault` that shortening may halve.
fn durations(fault: &mut Fault) -> Vec<&mut Duration> {
    match fault {
        Fault::Partition { duration, .. }
        | Fault::QuorumLoss { duration }
        | Fault::PauseClient { duration, .. }
        | Fault::Exhibitor { duration, .. } => vec![duration],
        Fault::Delay {
            extra, duration, ..
        } => vec![duration, extra],
        Fault::FollowerLag { lag, duration, .. } => vec![duration, lag],
        Fault::CrashServer { downtime, .. } => vec![downtime],
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "shrink_tests.rs"]
mod tests;
