//! The seed harness: run an async test body over many seeds, each with a fresh simulated
//! ensemble, named client processes and a fault schedule, and report a failure so that it can
//! be replayed exactly.
//!
//! Under `--cfg madsim` every seed runs inside its own madsim runtime seeded with that seed
//! (deterministic scheduling and time); without it, on a single-threaded tokio runtime with a
//! paused clock (virtual time, useful in plain `cargo test`, but only madsim promises
//! determinism).
//!
//! # Seeds
//! `DOCENT_SEED=n` replays one seed; otherwise [`Harness::seeds`] if set, else
//! `DOCENT_SEEDS=a..b` (also `a..=b` or `n`), else [`Harness::default_seeds`] if set, else
//! `0..64`. [`Harness::limit`] caps the count. A suite gives its quick-run count with
//! `default_seeds`, which a sweep (`DOCENT_SEEDS`) lifts; `seeds` and `limit` are fixed budgets.
//! `DOCENT_CHECK_DETERMINISM=1` turns on [`Harness::determinism`] for every harness;
//! `DOCENT_VERBOSE=1` prints each seed and its faults as it starts; `DOCENT_LOG=1` prints
//! each seed's event log (with `DOCENT_SEED`, the log of one replay).
//!
//! # Faults
//! Each seed gets a [`FaultSchedule`]: drawn from the seed ([`Harness::swarm`], the default:
//! every fault kind the model has, swarm style), fixed ([`Harness::schedule`]), or none. Every
//! fault strikes within the fault window and heals by [`Sim::healed_at`]; after that the body
//! has a healing period in which liveness can be checked.
//!
//! # Failure reports
//! A body fails by returning `Err`, by panicking, or by running past its time limit. The
//! failing seed's schedule is then shrunk (see below), and the report gives the seed, the
//! error, the faults left, the commit and a replay command that replays that schedule
//! verbatim, with the cargo flags of the build that ran the test (none for a default debug
//! build, `--release`, `--profile NAME`, `--target-dir DIR`):
//!
//! ```text
//! seed 17 failed: two leaders at 12.402s: a (token 4294967303) and b (token 4294967311)
//! faults (shrunk from 23 to 2):
//! 1.550s Partition { client: 0, server: None, direction: Both, duration: 12s }
//! 6.100s LoseReply { client: 1 }
//! shrinking: 41 runs, 3.20 s wall
//! commit: 1a2b3c4
//! replay: DOCENT_SEED=17 DOCENT_SCHEDULE='1.55s:partition(c0,all,both,12s);6.1s:lose-reply(c1)' RUSTFLAGS="--cfg madsim" cargo test --profile sim --target-dir target/sim -p my-app --test election latch_is_safe -- --exact --nocapture
//! last events before the violation:
//!     1.550s a   fault Partition { client: 0, server: None, direction: Both, duration: 12s }
//!     6.100s b   fault LoseReply { client: 1 }
//!     9.870s a   disconnected
//!    12.402s b   hold leader token=4294967311
//!    12.402s !   violation: two leaders
//! timeline: target/timelines/latch_is_safe-seed17.html
//! ```
//!
//! # Coverage
//! Every run counts the [`docent::coverage`] points it passed (faults that struck, notable
//! paths in the model and the recipes); the sweep sums them. `DOCENT_COVERAGE=1` prints the
//! table at the end, and [`Harness::require_coverage`] fails a whole-range sweep whose total
//! for a point falls below a minimum (see [`coverage`] for when it is checked).
//!
//! # Timelines
//! Every run records a [`Timeline`]: per client process its session states and the holds and
//! notes the body marks ([`Sim::hold`], [`Sim::release`], [`Sim::note`]); per server up or
//! down, leading, and apply lag; the faults with their strike and heal times. A checker that
//! finds a violation in the past can say when with [`Sim::mark_violation`]; otherwise the
//! violation is when the body failed. The report ends with the last events before it.
//! `DOCENT_TIMELINE=DIR` writes a failing seed's timeline as one self-contained HTML page
//! (`DIR/<test>-seed<N>.html`: an SVG lane per process and server, holds labelled with their
//! tokens, faults as shaded bands, the violation in red, hover text on every mark) and prints
//! its path; `DOCENT_TIMELINE_ALL=1` writes one for every seed. A relative `DIR` is taken from
//! the directory `cargo test` runs the test in: the package's, so prefer an absolute one.
//!
//! # Shrinking and replaying a schedule
//! On a failure the harness re-runs the same seed on smaller schedules and keeps the smallest
//! that still fails the same way: delta debugging over the faults, then shorter durations,
//! then earlier times. "The same way" is the same kind of failure from the same check: a
//! time limit does not stand in for a safety violation, nor a panic for an `Err`, nor one
//! check's error for another's (two messages match when their first lines agree up to the
//! first `": "`, numbers aside). A divergence (determinism mode) is not shrunk. It is
//! bounded by [`Harness::shrink`] (default 200 runs, 20 s wall); `DOCENT_SHRINK=0` turns it
//! off, `DOCENT_SHRINK_RUNS=n` and `DOCENT_SHRINK_SECS=s` bound it.
//! [`Failure::original`] keeps the whole schedule.
//!
//! `DOCENT_SCHEDULE='<compact>'` (the form of [`FaultSchedule::compact`]) runs that schedule
//! instead of the harness's plan, for every seed run (with `DOCENT_SEED`, the one); a value
//! that does not parse is a panic naming the bad token. A failure under `DOCENT_SCHEDULE` is
//! not shrunk again unless `DOCENT_SHRINK=1`.
//!
//! The workload's own randomness does not depend on the schedule: the clients' `abandons`
//! flags, the recipes' [`docent::Client::next_rng`] streams and the providers' polling are
//! drawn from the seed and the client's number only. What a removed fault changes beyond its
//! direct effects: the model's draws (network jitter, reconnect back-off, elections share one
//! stream, drawn as events happen), a retry loop's stream (taken on its first retry), and
//! madsim's scheduling of tasks; the shrinker keeps only schedules it re-ran and saw fail.
//!
//! # Example: testing your own leader logic
//! ```
//! use std::time::Duration;
//! use docent::recipes::latch::{LatchOptions, LeaderLatch};
//! use docent_sim::harness;
//!
//! # fn main() {
//! harness!("leader_comes_back")
//!     .clients(["a", "b"])
//!     .swarm(Duration::from_secs(20))
//!     .seeds(0..3)
//!     .run(|sim| async move {
//!         let id = |id: &str| LatchOptions::default().id(id);
//!         let a = LeaderLatch::start(&sim.client("a"), "/election", id("a")).await?;
//!         let b = LeaderLatch::start(&sim.client("b"), "/election", id("b")).await?;
//!         sim.note("a", "both latches started"); // shows on a's lane of the timeline
//!         // Faults strike until `healed_at`; then someone must lead again, soon.
//!         sim.sleep_until(sim.healed_at() + Duration::from_secs(30)).await;
//!         let leaders = [&a, &b].iter().filter(|l| l.has_leadership()).count();
//!         if leaders != 1 && !sim.crashed("a") && !sim.crashed("b") {
//!             return Err(format!("{leaders} leaders after healing").into());
//!         }
//!         Ok::<_, Box<dyn std::error::Error>>(())
//!     });
//! # }
//! ```

pub mod coverage;
mod html;
mod report;
mod runtime;
mod shrink;
mod sim;
mod svg;
mod timeline;

use std::fmt::Display;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

pub use coverage::Coverage;
pub use report::Failure;
pub use shrink::{ShrinkLimits, ShrinkStats};
pub use sim::Sim;
pub use timeline::{Event, FaultSpan, Lane, ServerState, Timeline, What};

use crate::model::{FaultSchedule, SwarmConfig};
use report::{Location, Outcome};

/// A harness bound to the calling test: `harness!("my_test")` is
/// [`Harness::new`]`("my_test")` with the package and test target filled in, so that the
/// replay command of a failure names them.
#[macro_export]
macro_rules! harness {
    ($test:expr) => {
        $crate::harness::Harness::new($test).located(env!("CARGO_PKG_NAME"), module_path!())
    };
}

/// Where the named clients' servers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EnsembleSource {
    /// A fixed list of every server, never updated (the default).
    #[default]
    Static,
    /// A fixed provider the ensemble tracker updates from `/zookeeper/config` (Curator 5).
    Tracker,
    /// A polled provider fed by the simulated Exhibitors (Curator 4.x), with every server as
    /// the backup connection string.
    Exhibitor,
}

/// Where the faults of a seed come from.
#[derive(Clone)]
enum Plan {
    None,
    Swarm(Duration),
    Scripted(FaultSchedule),
    Custom(Arc<dyn Fn(u64) -> FaultSchedule + Send + Sync>),
}

/// Runs a test body over seeds; see the [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct Harness {
    location: Location,
    seeds: Option<Range<u64>>,
    default_seeds: Option<Range<u64>>,
    limit: Option<usize>,
    servers: usize,
    clients: Vec<String>,
    session_timeout: Duration,
    plan: Plan,
    time_limit: Duration,
    determinism: bool,
    quiet: bool,
    source: EnsembleSource,
    required: Vec<(&'static str, u64)>,
    shrink: ShrinkLimits,
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("test", &self.location.test)
            .field("seeds", &self.seed_range())
            .field("servers", &self.servers)
            .field("clients", &self.clients)
            .finish_non_exhaustive()
    }
}

impl Harness {
    /// A harness for the test `test`: 3 servers, clients `a`, `b`, `c`, 10 s sessions, the
    /// swarm fault mix over the first 60 simulated seconds. Prefer [`harness!`], which also
    /// records where the test lives.
    pub fn new(test: &str) -> Harness {
        Harness {
            location: Location::new(test),
            seeds: None,
            default_seeds: None,
            limit: None,
            servers: 3,
            clients: ["a", "b", "c"].map(String::from).to_vec(),
            session_timeout: Duration::from_secs(10),
            plan: Plan::Swarm(Duration::from_secs(60)),
            time_limit: Duration::from_secs(300),
            determinism: std::env::var("DOCENT_CHECK_DETERMINISM").is_ok_and(|v| v == "1"),
            quiet: false,
            source: EnsembleSource::Static,
            required: Vec::new(),
            shrink: ShrinkLimits::default(),
        }
    }

    /// Records the package and module of the test (what [`harness!`] passes) for the replay
    /// command.
    pub fn located(mut self, package: &str, module_path: &str) -> Harness {
        self.location = self.location.at(package, module_path);
        self
    }

    /// Runs these seeds (unless `DOCENT_SEED` asks for one).
    pub fn seeds(mut self, seeds: Range<u64>) -> Harness {
        self.seeds = Some(seeds);
        self
    }

    /// Runs these seeds unless `DOCENT_SEED` or `DOCENT_SEEDS` names others: a quick run's
    /// range that a sweep lifts.
    pub fn default_seeds(mut self, seeds: Range<u64>) -> Harness {
        self.default_seeds = Some(seeds);
        self
    }

    /// Runs at most the first `n` seeds of the range, whatever the environment asks.
    pub fn limit(mut self, n: usize) -> Harness {
        self.limit = Some(n);
        self
    }

    /// Servers in the ensemble (default 3).
    pub fn servers(mut self, n: usize) -> Harness {
        assert!(n > 0, "an ensemble needs a server");
        self.servers = n;
        self
    }

    /// The client processes, by name; fault schedules number them in this order from 0.
    pub fn clients<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Harness {
        self.clients = names.into_iter().map(Into::into).collect();
        self
    }

    /// The session timeout every client asks for (default 10 s).
    pub fn session_timeout(mut self, timeout: Duration) -> Harness {
        self.session_timeout = timeout;
        self
    }

    /// Swarm faults drawn from each seed, striking during the first `window` of the run.
    pub fn swarm(mut self, window: Duration) -> Harness {
        self.plan = Plan::Swarm(window);
        self
    }

    /// The same scripted schedule for every seed.
    pub fn schedule(mut self, schedule: FaultSchedule) -> Harness {
        self.plan = Plan::Scripted(schedule);
        self
    }

    /// A schedule computed from each seed.
    pub fn schedule_fn(
        mut self,
        f: impl Fn(u64) -> FaultSchedule + Send + Sync + 'static,
    ) -> Harness {
        self.plan = Plan::Custom(Arc::new(f));
        self
    }

    /// No faults at all.
    pub fn no_faults(mut self) -> Harness {
        self.plan = Plan::None;
        self
    }

    /// A body still running this long (simulated) after the faults healed fails (default
    /// 300 s).
    pub fn time_limit(mut self, limit: Duration) -> Harness {
        self.time_limit = limit;
        self
    }

    /// Runs every seed twice and fails on the first difference in the model's event log.
    pub fn determinism(mut self, on: bool) -> Harness {
        self.determinism = on;
        self
    }

    /// Where the named clients' servers come from (default [`EnsembleSource::Static`]).
    pub fn ensemble_source(mut self, source: EnsembleSource) -> Harness {
        self.source = source;
        self
    }

    /// How hard to shrink a failing seed's schedule (see [`ShrinkLimits`]; the environment
    /// overrides it).
    pub fn shrink(mut self, limits: ShrinkLimits) -> Harness {
        self.shrink = limits;
        self
    }

    /// Prints nothing for a passing run (failures are always reported).
    pub fn quiet(mut self) -> Harness {
        self.quiet = true;
        self
    }

    /// Fails a sweep of the whole range (of at least [`coverage::MIN_SEEDS`] seeds, not a
    /// `DOCENT_SEED` replay) in which `point`, one of [`docent::coverage::POINTS`], was hit
    /// fewer than `min` times in total.
    pub fn require_coverage(mut self, point: &'static str, min: u64) -> Harness {
        assert!(
            docent::coverage::is_point(point),
            "unknown coverage point {point:?} (see docent::coverage::POINTS)"
        );
        self.required.push((point, min));
        self
    }

    /// The seeds this harness will run.
    pub fn seed_range(&self) -> Range<u64> {
        let range = report::seeds_from_env(self.seeds.clone(), self.default_seeds.clone());
        match self.limit {
            Some(n) => range.start..range.end.min(range.start.saturating_add(n as u64)),
            None => range,
        }
    }

    /// The fault schedule of `seed`: `DOCENT_SCHEDULE` if set, else the plan's.
    ///
    /// # Panics
    /// If `DOCENT_SCHEDULE` does not parse (see [`FaultSchedule::compact`]).
    pub fn schedule_for(&self, seed: u64) -> FaultSchedule {
        report::env_schedule().unwrap_or_else(|| self.planned(seed))
    }

    /// The plan's schedule for `seed`.
    fn planned(&self, seed: u64) -> FaultSchedule {
        match &self.plan {
            Plan::None => FaultSchedule::new(),
            Plan::Swarm(window) => {
                let mut cfg = SwarmConfig::new(self.servers, self.clients.len() as u32, *window);
                cfg.session_timeout = self.session_timeout;
                FaultSchedule::swarm(seed, &cfg)
            }
            Plan::Scripted(schedule) => schedule.clone(),
            Plan::Custom(f) => f(seed),
        }
    }

    /// Runs `body` for every seed; panics with a [`Failure`] report at the first failing seed.
    pub fn run<F, Fut, E>(&self, body: F)
    where
        F: Fn(Sim) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        if let Some(failure) = self.first_failure(body) {
            eprintln!("{failure}");
            panic!("seed {} failed: {}", failure.seed, failure.message);
        }
    }

    /// Runs `body` for every seed until one fails, and returns that failure (for tests that
    /// expect one, such as planted bugs). Panics when every seed passed but a
    /// [coverage requirement](Self::require_coverage) was not met.
    pub fn first_failure<F, Fut, E>(&self, body: F) -> Option<Failure>
    where
        F: Fn(Sim) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        // Wall time for the seeds-per-second figure only; no run sees it.
        #[allow(clippy::disallowed_methods)]
        let wall = std::time::Instant::now();
        let mut simulated = Duration::ZERO;
        let mut ran = 0u64;
        let verbose = std::env::var("DOCENT_VERBOSE").is_ok_and(|v| v == "1");
        let mut coverage = Coverage::new();
        for seed in self.seed_range() {
            ran += 1;
            let schedule = self.schedule_for(seed);
            if verbose {
                eprint!(
                    "harness {}: seed {seed}, faults:\n{schedule}",
                    self.location.test
                );
            }
            let first = self.run_seed(seed, &schedule, &body, false);
            simulated += first.simulated;
            coverage.add_seed(&first.coverage);
            let failed = match (&first.result, self.determinism) {
                (Err(message), _) => Some(message.clone()),
                (Ok(()), false) => None,
                (Ok(()), true) => {
                    let second = self.run_seed(seed, &schedule, &body, false);
                    report::divergence(&first, &second)
                }
            };
            let Some(message) = failed else {
                html::write_if_asked(&self.location.test, seed, &first.timeline, false);
                continue;
            };
            coverage.end_sweep(&self.location.test, &self.required, false);
            let shrinkable = first.result.is_err();
            let failure = self.failure(seed, ran, message, schedule, shrinkable, &body);
            return Some(failure.with_timeline(first.timeline, &self.location.test));
        }
        if !self.quiet {
            let secs = wall.elapsed().as_secs_f64();
            eprintln!(
                "harness {}: {ran} seeds passed in {secs:.2} s wall ({:.1} seeds/s), \
                 {:.0} s simulated ({:.0}x)",
                self.location.test,
                ran as f64 / secs.max(1e-9),
                simulated.as_secs_f64(),
                simulated.as_secs_f64() / secs.max(1e-9),
            );
        }
        coverage.end_sweep(&self.location.test, &self.required, true);
        None
    }

    /// One run of `seed` on `schedule`; `DOCENT_LOG` prints its log unless `quiet`.
    fn run_seed<F, Fut, E>(
        &self,
        seed: u64,
        schedule: &FaultSchedule,
        body: &F,
        quiet: bool,
    ) -> Outcome
    where
        F: Fn(Sim) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: Display,
    {
        let setup = sim::Setup {
            seed,
            servers: self.servers,
            names: self.clients.clone(),
            session_timeout: self.session_timeout,
            schedule: schedule.clone(),
            record_log: self.determinism || (print_log() && !quiet),
            source: self.source,
        };
        let limit = self.time_limit;
        let outcome = runtime::run_seed(seed, setup, limit, body);
        if print_log() && !quiet {
            eprintln!("event log of seed {seed}:");
            for line in &outcome.log {
                eprintln!("  {line}");
            }
        }
        outcome
    }
}

/// `DOCENT_LOG=1`: print each seed's event log.
fn print_log() -> bool {
    std::env::var("DOCENT_LOG").is_ok_and(|v| v == "1")
}

#[cfg(test)]
mod tests;
