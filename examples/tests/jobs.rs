//! The job scheduler (`docent_examples::jobs`) under the swarm fault mix: every job runs
//! exactly once, and after the faults heal a surviving scheduler runs the rest. Written the way
//! a user tests their own service: `docent-sim`'s public harness, the example's public API, and
//! a checker that reads the ensemble's ground truth after every model step that committed
//! something. `examples/JOBS.md` walks through it.
//!
//! Run: `RUSTFLAGS="--cfg madsim" cargo test --profile sim --target-dir target/sim
//! -p docent-examples --test jobs` (seeds 0..64 unless `DOCENT_SEEDS` asks for others).
#![cfg(madsim)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent_examples::jobs::{self, job_of, JobEvent, JobsOptions, Scheduler, ELECTION, NEXT, RUNS};
use docent_sim::harness::ShrinkLimits;
use docent_sim::{harness, Ensemble, Failure, Harness, Sim};

const SCHEDULERS: [&str; 3] = ["s1", "s2", "s3"];
/// Faults strike during this window.
const WINDOW: Duration = Duration::from_secs(30);
/// After the faults healed, a surviving scheduler must have run every job by then (an expired
/// leader's successor waits for its session timeout).
const SETTLE: Duration = Duration::from_secs(40);
/// A process retries its start-up this often while the ensemble is unreachable.
const RETRY: Duration = Duration::from_millis(250);
/// The checker looks at the ensemble at least this often.
const CHECK_EVERY: Duration = Duration::from_millis(2);
/// Seeds the planted bug gets to be caught in.
const BUDGET: u64 = 200;

type BoxError = Box<dyn std::error::Error>;

fn options(plain_check: bool) -> JobsOptions {
    JobsOptions {
        every: Duration::from_millis(250),
        jobs: 160, // the last one is due at 40 s, past the fault window
        plain_check,
        ..JobsOptions::default()
    }
}

fn scheduler_harness(name: &str) -> Harness {
    harness!(name)
        .clients(SCHEDULERS)
        .swarm(WINDOW)
        .time_limit(SETTLE + Duration::from_secs(30))
}

#[test]
fn jobs_run_exactly_once_under_swarm() {
    scheduler_harness("jobs_run_exactly_once_under_swarm")
        .default_seeds(0..64)
        .run(|sim| run_seed(sim, options(false)));
}

/// The planted bug (a plain leadership check, then an unfenced write the client retries) runs
/// a job twice, and the harness says so within the budget.
#[test]
fn planted_plain_leadership_check_is_caught() {
    let body = |sim: Sim| run_seed(sim, options(true));
    let failure: Failure = scheduler_harness("planted_plain_leadership_check_is_caught")
        .seeds(0..BUDGET)
        .quiet()
        .first_failure(body)
        .unwrap_or_else(|| panic!("the plain check survived {BUDGET} seeds"));
    eprintln!("caught after {} seeds:\n{failure}", failure.seeds_run);
    assert!(
        failure.message.contains("ran more than once"),
        "caught, but not as a double run: {failure}"
    );
    // Shrunk to the faults that matter, and the printed replay line reproduces it.
    assert!(
        failure.schedule.faults.len() <= 2,
        "not shrunk to two faults: {failure}"
    );
    let text = failure
        .replay
        .split("DOCENT_SCHEDULE='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the replay line carries the schedule");
    let printed: docent_sim::FaultSchedule = text.parse().expect("the printed schedule parses");
    assert_eq!(printed, failure.schedule);
    let replayed = scheduler_harness("planted_plain_leadership_check_is_caught")
        .seeds(failure.seed..failure.seed + 1)
        .schedule(printed)
        .shrink(ShrinkLimits::off())
        .quiet()
        .first_failure(body)
        .expect("the printed replay line reproduces the failure");
    assert_eq!(replayed.message, failure.message);
}

/// What the checks gather during one seed.
#[derive(Default)]
struct Audit {
    /// The first invariant broken, with when.
    violation: Option<String>,
    /// The cursor at the last state checked (it never goes back).
    cursor: u64,
    /// Every reported event, with its time.
    events: Vec<(Duration, JobEvent)>,
    /// Reported runs per job: (scheduler, token).
    ran: BTreeMap<u64, Vec<(String, i64)>>,
}

impl Audit {
    fn fail(&mut self, at: Duration, what: String) {
        if self.violation.is_none() {
            self.violation = Some(format!("at {at:?}: {what}"));
        }
    }

    /// The last reported events, for a failure message.
    fn tail(&self) -> String {
        let from = self.events.len().saturating_sub(20);
        self.events[from..]
            .iter()
            .map(|(at, e)| format!("\n  {at:?} {e:?}"))
            .collect()
    }
}

type Shared = Arc<Mutex<Audit>>;

fn lock<T>(shared: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

async fn run_seed(sim: Sim, options: JobsOptions) -> Result<(), BoxError> {
    let audit: Shared = Arc::default();
    sim.spawn(check_every_step(sim.clone(), audit.clone()));
    let keep: Arc<Mutex<Vec<Scheduler>>> = Arc::default();
    for name in SCHEDULERS {
        sim.spawn(start(
            sim.clone(),
            name,
            options.clone(),
            audit.clone(),
            keep.clone(),
        ));
    }
    let last_due = options.due(options.jobs - 1);
    let deadline = sim.healed_at().max(last_due) + SETTLE;
    let alive = || SCHEDULERS.iter().any(|n| !sim.crashed(n));
    loop {
        {
            let audit = lock(&audit);
            if let Some(violation) = &audit.violation {
                return Err(format!("{violation}{}", audit.tail()).into());
            }
        }
        let cursor = match sim.inspect(check_state) {
            Ok(cursor) => cursor,
            Err(what) => {
                return Err(format!("at {:?}: {what}{}", sim.now(), lock(&audit).tail()).into())
            }
        };
        if cursor >= options.jobs || !alive() {
            break;
        }
        if sim.now() >= deadline {
            let election = sim.inspect(|e| e.node(None, ELECTION).map(|(_, _, c)| c));
            let leading: Vec<bool> = lock(&keep).iter().map(Scheduler::is_leader).collect();
            let audit = lock(&audit);
            return Err(format!(
                "jobs {cursor}..{} not run {SETTLE:?} after the faults healed and the last \
                 fell due (a scheduler survived; election {election:?}, leading {leading:?}){}",
                options.jobs,
                audit.tail()
            )
            .into());
        }
        sim.sleep(Duration::from_millis(100)).await;
    }
    sim.sleep(Duration::from_secs(1)).await; // let a last step be checked
    let audit = lock(&audit);
    let last = sim.inspect(check_state).err();
    match audit.violation.clone().or(last) {
        Some(violation) => Err(format!("{violation}{}", audit.tail()).into()),
        None => Ok(()),
    }
}

/// A scheduler process: sets up and starts, retrying until it could (or crashed).
async fn start(
    sim: Sim,
    name: &'static str,
    options: JobsOptions,
    audit: Shared,
    keep: Arc<Mutex<Vec<Scheduler>>>,
) {
    let client = sim.client(name);
    let sink: jobs::Sink = {
        let sim = sim.clone();
        Arc::new(move |event| record(&sim, &audit, event))
    };
    while !sim.crashed(name) {
        if jobs::setup(&client).await.is_ok() {
            if let Ok(s) = Scheduler::start(&client, name, options.clone(), sink.clone()).await {
                lock(&keep).push(s);
                return;
            }
        }
        sim.sleep(RETRY).await;
    }
}

/// Records a reported event; a job reported run twice is a violation.
fn record(sim: &Sim, audit: &Shared, event: JobEvent) {
    let at = sim.now();
    let mut audit = lock(audit);
    if let JobEvent::Ran {
        scheduler,
        job,
        token,
    } = &event
    {
        let by = audit.ran.entry(*job).or_default();
        by.push((scheduler.clone(), *token));
        if by.len() > 1 {
            let what = format!("job {job} ran more than once (reported): {by:?}");
            audit.fail(at, what);
        }
    }
    audit.events.push((at, event));
}

/// Checks the ground truth after every model step that committed something.
async fn check_every_step(sim: Sim, audit: Shared) {
    let mut seen = 0usize;
    loop {
        let now = sim.now();
        let (committed, next, checked) = sim.inspect(|e| {
            let committed = e.committed();
            let checked = (committed != seen).then(|| check_state(e));
            (committed, e.poll_timeout(), checked)
        });
        if let Some(checked) = checked {
            let mut audit = lock(&audit);
            match checked {
                Ok(cursor) if cursor < audit.cursor => {
                    let what = format!("the cursor went back from {} to {cursor}", audit.cursor);
                    audit.fail(now, what);
                }
                Ok(cursor) => audit.cursor = cursor,
                Err(what) => audit.fail(now, what),
            }
            seen = committed;
        }
        let cap = now + CHECK_EVERY;
        let wake = next.map_or(cap, |t| t.since_epoch().clamp(now, cap));
        sim.sleep_until(wake.max(now + Duration::from_micros(1)))
            .await;
    }
}

/// One committed state: every job below the cursor ran exactly once, none at or above it.
/// Returns the cursor.
fn check_state(e: &Ensemble) -> Result<u64, String> {
    let Some((data, _, _)) = e.node(None, NEXT) else {
        return Ok(0); // not set up yet
    };
    let cursor: u64 = String::from_utf8_lossy(&data).parse().unwrap_or(0);
    let mut runs: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for name in e.node(None, RUNS).map(|(_, _, c)| c).unwrap_or_default() {
        let job = job_of(&name).ok_or_else(|| format!("{RUNS}/{name} names no job"))?;
        runs.entry(job).or_default().push(name);
    }
    if let Some((job, names)) = runs.iter().find(|(_, names)| names.len() > 1) {
        return Err(format!("job {job} ran more than once: {names:?}"));
    }
    if let Some(job) = (0..cursor).find(|job| !runs.contains_key(job)) {
        return Err(format!("the cursor is at {cursor} but job {job} never ran"));
    }
    if let Some((job, _)) = runs.range(cursor..).next() {
        return Err(format!("job {job} ran but the cursor is at {cursor}"));
    }
    Ok(cursor)
}
