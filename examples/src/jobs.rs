//! A job scheduler that runs each job exactly once, on a [`LeaderLatch`] and guarded writes.
//!
//! Jobs are numbered; job `n` is due `n × every` after the schedule's origin (a cron that must
//! neither skip nor repeat a tick: billing periods, reports, hand-offs). Several schedulers run,
//! one per process; the one that leads runs each job as it falls due.
//!
//! ```text
//!  /jobs/leader              the LeaderLatch's election
//!  /jobs/next                the next job to run (decimal): the cursor
//!  /jobs/runs/<job>-<token>  one node per run of a job, by the leadership with that token
//! ```
//!
//! Running job `n` is one atomic multi, fenced by the leadership:
//!
//! ```text
//!  check  our latch node           (we still lead: the guard)
//!  set    /jobs/next = n + 1       (at the version we read)
//!  create /jobs/runs/<n>-<token>   (the job's effect: here, its record)
//! ```
//!
//! A deposed leader's multi fails on the check ([`Error::NotHeld`]) and it goes back to
//! waiting; a multi whose outcome is unknown (the connection dropped) is resolved by looking:
//! the cursor is read again, and our run node says whether it was ours. So every job runs
//! exactly once, whoever leads when, whatever the network does. A job whose effect lives
//! outside ZooKeeper would pass [`Leadership::token`] to that system, which refuses tokens
//! older than the newest it has seen.
//!
//! # The bug behind a flag
//! [`JobsOptions::plain_check`] plants the mistake this design avoids: the leader checks that
//! it leads with a plain read of its latch state ([`LeaderLatch::has_leadership`]) and then
//! writes the cursor and the run with an ordinary transaction, retried until it lands. Between
//! the check and the write the leadership can end: a pause or a cut longer than the session
//! timeout expires the session, another scheduler takes over and runs the job, and the first
//! one's transaction, retried on its new session, runs it a second time.
//! `tests/jobs.rs` shows the harness catching it.

use std::sync::Arc;
use std::time::Duration;

use docent::recipes::latch::{LatchOptions, LeaderLatch, LeaderState, Leadership};
use docent::{Client, CreateMode, Error, MultiOp};
use futures::channel::oneshot;
use futures::future::{self, Either};
use futures::FutureExt;

/// The schedulers' root.
pub const ROOT: &str = "/jobs";
/// The election.
pub const ELECTION: &str = "/jobs/leader";
/// The cursor: the next job to run.
pub const NEXT: &str = "/jobs/next";
/// One node per run of a job.
pub const RUNS: &str = "/jobs/runs";

/// How the schedulers run.
#[derive(Debug, Clone)]
#[must_use]
pub struct JobsOptions {
    /// Job `n` is due at `origin + n × every` (time since the clock's epoch).
    pub origin: Duration,
    /// The schedule's period.
    pub every: Duration,
    /// Jobs `0..jobs` exist.
    pub jobs: u64,
    /// The planted bug: check leadership with a plain read, then write unguarded (off by
    /// default).
    pub plain_check: bool,
    /// Wait after a failed read before trying again.
    pub retry: Duration,
    /// How long a job's work takes (between deciding to run it and recording the run).
    pub work: Duration,
}

impl Default for JobsOptions {
    fn default() -> Self {
        JobsOptions {
            origin: Duration::ZERO,
            every: Duration::from_millis(500),
            jobs: 100,
            plain_check: false,
            retry: Duration::from_millis(250),
            work: Duration::from_millis(100),
        }
    }
}

impl JobsOptions {
    /// When job `n` is due.
    pub fn due(&self, n: u64) -> Duration {
        self.origin + self.every * u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// What a scheduler reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobEvent {
    /// It leads, with this fencing token.
    Elected {
        /// The scheduler.
        scheduler: String,
        /// Its token.
        token: i64,
    },
    /// It ran `job` (its multi was applied).
    Ran {
        /// The scheduler.
        scheduler: String,
        /// The job.
        job: u64,
        /// The leadership's token.
        token: i64,
    },
    /// It stopped leading.
    Deposed {
        /// The scheduler.
        scheduler: String,
        /// Why.
        reason: String,
    },
}

/// Where a scheduler's events go.
pub type Sink = Arc<dyn Fn(JobEvent) + Send + Sync>;

/// Creates `/jobs`, `/jobs/runs` and the cursor at 0 (idempotent).
pub async fn setup(client: &Client) -> Result<(), Error> {
    for (path, data) in [(ROOT, &b""[..]), (RUNS, b""), (NEXT, b"0")] {
        match client.create().data(data).at(path).await {
            Ok(_) | Err(Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The run node of `job` by the leadership `token`.
pub fn run_path(job: u64, token: i64) -> String {
    format!("{RUNS}/{job}-{token}")
}

/// The job a run node's name records (`<job>-<token>`).
pub fn job_of(name: &str) -> Option<u64> {
    name.split_once('-')?.0.parse().ok()
}

/// The cursor and its version.
pub async fn read_next(client: &Client) -> Result<(u64, i32), Error> {
    let (data, stat, _) = client.get_data().at(NEXT).await?;
    let next = String::from_utf8_lossy(&data).parse().unwrap_or(0);
    Ok((next, stat.version))
}

/// One scheduler process: in the election until dropped or closed; runs due jobs while it
/// leads.
#[derive(Debug)]
pub struct Scheduler {
    latch: Arc<LeaderLatch>,
    _stop: oneshot::Sender<()>,
}

impl Scheduler {
    /// Joins the election as `id` (after [`setup`]) and starts serving in the background.
    pub async fn start(
        client: &Client,
        id: &str,
        options: JobsOptions,
        sink: Sink,
    ) -> Result<Scheduler, Error> {
        let latch = LeaderLatch::start(client, ELECTION, LatchOptions::default().id(id)).await?;
        let latch = Arc::new(latch);
        let (stop, stopped) = oneshot::channel();
        let serve = Serve {
            client: client.clone(),
            id: id.to_owned(),
            latch: latch.clone(),
            options,
            sink,
        };
        let run = future::select(Box::pin(serve.run()), stopped).map(|_| ());
        client.coordinator().spawn(run.boxed());
        Ok(Scheduler { latch, _stop: stop })
    }

    /// True while it leads.
    pub fn is_leader(&self) -> bool {
        self.latch.has_leadership()
    }
}

/// A scheduler's loop.
struct Serve {
    client: Client,
    id: String,
    latch: Arc<LeaderLatch>,
    options: JobsOptions,
    sink: Sink,
}

/// What one attempt at running a job came to.
enum Attempt {
    Ran,
    /// Not ours to run (we do not lead, or the cursor moved): read again.
    Again,
    /// Our leadership is over.
    Deposed(String),
}

impl Serve {
    async fn run(self) {
        loop {
            let Ok(leadership) = self.latch.await_leadership().await else {
                return; // the latch was closed
            };
            let token = leadership.token();
            self.report(JobEvent::Elected {
                scheduler: self.id.clone(),
                token,
            });
            let reason = self.lead(&leadership).await;
            self.report(JobEvent::Deposed {
                scheduler: self.id.clone(),
                reason,
            });
            // Let the latch catch up with the loss before asking again (it may lead again at
            // once, with the same token, after a short disconnection).
            let at = self.client.now() + self.options.retry;
            self.client.coordinator().sleep_until(at).await;
        }
    }

    /// Runs due jobs while `leadership` lasts; returns why it ended.
    async fn lead(&self, leadership: &Leadership) -> String {
        loop {
            if !holds(leadership) {
                return "leadership lost".into();
            }
            let (next, version) = match read_next(&self.client).await {
                Ok(cursor) => cursor,
                Err(_) if self.sleep(self.options.retry, leadership).await => continue,
                Err(_) => return "leadership lost".into(),
            };
            if next >= self.options.jobs {
                leadership.lost().await;
                return "leadership lost (every job ran)".into();
            }
            if !self.sleep_until(self.options.due(next), leadership).await {
                return "leadership lost".into();
            }
            let attempt = if self.options.plain_check {
                self.run_unguarded(next).await
            } else {
                self.run_guarded(next, version, leadership).await
            };
            match attempt {
                Attempt::Ran | Attempt::Again => {}
                Attempt::Deposed(reason) => return reason,
            }
        }
    }

    /// The right way: the cursor's version and our latch node checked in the same multi.
    async fn run_guarded(&self, job: u64, version: i32, leadership: &Leadership) -> Attempt {
        let token = leadership.token();
        // The job's work; the guarded write below is what makes it count.
        if !self.sleep(self.options.work, leadership).await {
            return Attempt::Deposed("leadership lost".into());
        }
        let ops = vec![
            MultiOp::SetData {
                path: NEXT.into(),
                data: (job + 1).to_string().into_bytes(),
                version: Some(version),
            },
            MultiOp::Create {
                path: run_path(job, token),
                data: self.id.clone().into_bytes(),
                acl: docent::Acl::open(),
                mode: CreateMode::Persistent,
            },
        ];
        match leadership.guarded(ops).await {
            Ok(_) => self.ran(job, token),
            Err(e @ Error::NotHeld { .. }) => Attempt::Deposed(e.to_string()),
            Err(e) if e.is_unknown_outcome() => self.resolve(job, token, leadership).await,
            // BadVersion: the cursor moved under us (our own earlier write); read again.
            Err(_) => Attempt::Again,
        }
    }

    /// The planted bug: a plain read of our latch state, then an unfenced transaction,
    /// retried until it lands ("only the leader writes here, so retrying is safe").
    async fn run_unguarded(&self, job: u64) -> Attempt {
        let LeaderState::Leader { token } = self.latch.state() else {
            return Attempt::Deposed("not leader".into());
        };
        // The job's work, done on the strength of that check.
        let done = self.client.now() + self.options.work;
        self.client.coordinator().sleep_until(done).await;
        loop {
            let written = self
                .client
                .transaction()
                .set_data(NEXT, (job + 1).to_string(), None)
                .create(
                    &run_path(job, token),
                    self.id.clone(),
                    CreateMode::Persistent,
                )
                .commit()
                .await;
            match written {
                Ok(_) => return self.ran(job, token),
                Err(e) if e.is_retryable() && !self.client.is_closed() => {
                    let at = self.client.now() + self.options.retry;
                    self.client.coordinator().sleep_until(at).await;
                }
                Err(_) => return Attempt::Again,
            }
        }
    }

    /// A multi whose outcome is unknown: our run node says whether it was applied.
    async fn resolve(&self, job: u64, token: i64, leadership: &Leadership) -> Attempt {
        loop {
            match self.client.exists().at(&run_path(job, token)).await {
                Ok((Some(_), _)) => return self.ran(job, token),
                Ok((None, _)) => return Attempt::Again,
                Err(_) if self.sleep(self.options.retry, leadership).await => {}
                Err(_) => return Attempt::Deposed("leadership lost".into()),
            }
        }
    }

    fn ran(&self, job: u64, token: i64) -> Attempt {
        self.report(JobEvent::Ran {
            scheduler: self.id.clone(),
            job,
            token,
        });
        Attempt::Ran
    }

    fn report(&self, event: JobEvent) {
        (self.sink)(event);
    }

    /// Sleeps for `duration`; false if the leadership ended first.
    async fn sleep(&self, duration: Duration, leadership: &Leadership) -> bool {
        let at = self.client.now().since_epoch() + duration;
        self.sleep_until(at, leadership).await
    }

    /// Sleeps until `at` (since the clock's epoch); false if the leadership ended first.
    async fn sleep_until(&self, at: Duration, leadership: &Leadership) -> bool {
        let now = self.client.now();
        let wake = now + at.saturating_sub(now.since_epoch());
        let slept = self.client.coordinator().sleep_until(wake);
        match future::select(Box::pin(slept), Box::pin(leadership.lost())).await {
            Either::Left(_) => holds(leadership),
            Either::Right(_) => false,
        }
    }
}

/// Whether `leadership` still holds: current, and its loss not already signalled (a short
/// disconnection may leave the state showing the same token while the lease was presumed
/// lost; a loop that only asked `is_current` would spin without ever waiting).
fn holds(leadership: &Leadership) -> bool {
    leadership.is_current() && leadership.lost().now_or_never().is_none()
}
