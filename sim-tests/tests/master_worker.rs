//! The master–worker example under the swarm fault mix, tested the way a downstream user
//! would test their own system: only `docent-sim`'s public harness and the examples' public
//! library.
//!
//! Each seed runs three masters, three workers and a submitting client, each on its own
//! simulated process. The client submits tasks during the fault window; after the faults heal,
//! every submitted task must be done. Throughout, a checker reads the ensemble's ground truth
//! after every model step that committed something:
//!
//! - a submitted task is in exactly one of `/tasks`, `/assign/<worker>` and `/status` (so no
//!   task is ever assigned to two workers, live or not, at once), and nothing else is there;
//! - `/submitted` and `/status` never lose a child or get one twice (their `cversion` equals
//!   their child count), and no `/status` node is ever rewritten.
//!
//! The reported events must name each completion at most once, and the worker a completion
//! names must be the one `/status` records.
//!
//! Runs seeds 0..1000 unless `DOCENT_SEEDS` asks for others; see the harness docs for replays.
#![cfg(madsim)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent_examples::master_worker::{
    self, task_name, Event, Master, Reporter, Worker, ASSIGN, STATUS, SUBMITTED, TASKS, WORKERS,
};
use docent_sim::{harness, Ensemble, Sim};

const MASTER_NAMES: [&str; 3] = ["m1", "m2", "m3"];
const WORKER_NAMES: [&str; 3] = ["w1", "w2", "w3"];
const SUBMITTER: &str = "client";
/// Tasks submitted per seed, spread over the fault window.
const TASK_COUNT: usize = 12;
/// Faults strike during this window.
const WINDOW: Duration = Duration::from_secs(30);
/// How long after the faults healed every task must be done (a crashed worker's session
/// needs its timeout to expire before its tasks are reassigned).
const SETTLE: Duration = Duration::from_secs(60);
/// How long a worker takes for one task.
const WORK: Duration = Duration::from_millis(50);
/// A process retries its start-up this often while the ensemble is unreachable.
const RETRY: Duration = Duration::from_millis(250);
/// The checker looks at the ensemble at least this often (a commit is scheduled 2 ms ahead,
/// so it is seen before it applies and the checker wakes for it).
const CHECK_EVERY: Duration = Duration::from_millis(2);

type BoxError = Box<dyn std::error::Error>;

#[test]
fn master_worker_completes_every_task_exactly_once_under_swarm() {
    harness!("master_worker_completes_every_task_exactly_once_under_swarm")
        .clients(
            MASTER_NAMES
                .into_iter()
                .chain(WORKER_NAMES)
                .chain([SUBMITTER]),
        )
        .swarm(WINDOW)
        // The issue asks for at least 1,000 seeds; they take ~25 s, so the quick run has them
        // all (DOCENT_SEEDS lifts the range for a sweep, DOCENT_SEED=n replays one).
        .default_seeds(0..1000)
        .time_limit(SETTLE + Duration::from_secs(30))
        .run(|sim| async move { run_seed(sim).await });
}

/// Everything the checks gather during one seed.
#[derive(Default)]
struct Audit {
    /// The first invariant broken, with when.
    violation: Option<String>,
    /// Ground-truth states checked (one per model step that committed something).
    states: u64,
    /// Commits whose state was not seen on its own (applied in the same step as another).
    merged: u64,
    /// Every reported event, with its time.
    events: Vec<(Duration, Event)>,
    /// Completions reported, per task: the workers.
    completions: BTreeMap<String, Vec<String>>,
}

impl Audit {
    fn fail(&mut self, at: Duration, what: String) {
        if self.violation.is_none() {
            self.violation = Some(format!("at {at:?}: {what}"));
        }
    }

    /// The last reported events, for a failure message.
    fn tail(&self) -> String {
        let from = self.events.len().saturating_sub(40);
        self.events[from..]
            .iter()
            .map(|(at, e)| format!("\n  {at:?} {e}"))
            .collect()
    }
}

type Shared = Arc<Mutex<Audit>>;

fn lock(audit: &Shared) -> std::sync::MutexGuard<'_, Audit> {
    audit.lock().unwrap_or_else(|e| e.into_inner())
}

async fn run_seed(sim: Sim) -> Result<(), BoxError> {
    let audit: Shared = Arc::default();
    sim.spawn(check_every_step(sim.clone(), audit.clone()));
    let reporter = {
        let (sim, audit) = (sim.clone(), audit.clone());
        Reporter::new(move |event| record(&sim, &audit, event))
    };
    // Handles must live as long as the run: dropping a worker stops it.
    let masters: Arc<Mutex<Vec<Master>>> = Arc::default();
    let workers: Arc<Mutex<Vec<Worker>>> = Arc::default();
    for name in MASTER_NAMES {
        sim.spawn(start_master(
            sim.clone(),
            name,
            reporter.clone(),
            masters.clone(),
        ));
    }
    for name in WORKER_NAMES {
        sim.spawn(start_worker(
            sim.clone(),
            name,
            reporter.clone(),
            workers.clone(),
        ));
    }
    submit_all(&sim).await;

    sim.sleep_until(sim.healed_at()).await;
    let deadline = sim.healed_at() + SETTLE;
    let live = |names: &[&str]| names.iter().any(|n| !sim.crashed(n));
    let liveness = live(&MASTER_NAMES) && live(&WORKER_NAMES);
    loop {
        {
            let audit = lock(&audit);
            if let Some(violation) = &audit.violation {
                return Err(format!("{violation}{}", audit.tail()).into());
            }
        }
        let pending = sim.inspect(pending_tasks);
        if pending.is_empty() || !liveness {
            break;
        }
        if sim.now() >= deadline {
            let audit = lock(&audit);
            return Err(format!(
                "{} submitted tasks not done {SETTLE:?} after the faults healed \
                 (a master and a worker survived): {pending:?}{}",
                pending.len(),
                audit.tail()
            )
            .into());
        }
        sim.sleep(Duration::from_millis(100)).await;
    }
    let final_check = sim.inspect(|e| completions_match(e, &lock(&audit).completions));
    final_check.map_err(|e| format!("{e}{}", lock(&audit).tail()))?;
    let audit = lock(&audit);
    if let Some(violation) = &audit.violation {
        return Err(format!("{violation}{}", audit.tail()).into());
    }
    eprintln!(
        "seed {}: {} states checked ({} commits merged), {} completions, liveness {}",
        sim.seed(),
        audit.states,
        audit.merged,
        audit.completions.len(),
        if liveness {
            "checked"
        } else {
            "not required (every master or every worker crashed)"
        }
    );
    Ok(())
}

/// The submitting client: one task every `WINDOW / TASK_COUNT`, each retried until the
/// ensemble took it (or the process crashed).
async fn submit_all(sim: &Sim) {
    let client = sim.client(SUBMITTER);
    let spacing = WINDOW / TASK_COUNT as u32;
    for i in 1..=TASK_COUNT {
        sim.sleep_until(spacing * i as u32).await;
        loop {
            if sim.crashed(SUBMITTER) {
                return;
            }
            let submitted = match master_worker::setup(&client).await {
                Ok(()) => master_worker::submit(&client, &task_name(i), b"work").await,
                Err(e) => Err(e),
            };
            if submitted.is_ok() {
                break;
            }
            sim.sleep(RETRY).await;
        }
    }
}

/// A master process: creates the layout and joins the election, retrying until it could.
async fn start_master(sim: Sim, name: &str, reporter: Reporter, keep: Arc<Mutex<Vec<Master>>>) {
    let client = sim.client(name);
    while !sim.crashed(name) {
        if master_worker::setup(&client).await.is_ok() {
            if let Ok(master) = Master::start(&client, name, reporter.clone()).await {
                keep.lock().unwrap_or_else(|e| e.into_inner()).push(master);
                return;
            }
        }
        sim.sleep(RETRY).await;
    }
}

/// A worker process: creates the layout and registers, retrying until it could.
async fn start_worker(sim: Sim, name: &str, reporter: Reporter, keep: Arc<Mutex<Vec<Worker>>>) {
    let client = sim.client(name);
    while !sim.crashed(name) {
        if master_worker::setup(&client).await.is_ok() {
            if let Ok(worker) = Worker::start(&client, name, reporter.clone(), WORK).await {
                keep.lock().unwrap_or_else(|e| e.into_inner()).push(worker);
                return;
            }
        }
        sim.sleep(RETRY).await;
    }
}

/// Records a reported event; a second completion of a task is a violation.
fn record(sim: &Sim, audit: &Shared, event: Event) {
    let at = sim.now();
    let mut audit = lock(audit);
    if let Event::Completed { task, worker } = &event {
        let by = audit.completions.entry(task.clone()).or_default();
        by.push(worker.clone());
        if by.len() > 1 {
            let what = format!("completion of {task} reported twice: {by:?}");
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
        let (committed, next, broken) = sim.inspect(|e| {
            let committed = e.committed();
            let broken = (committed != seen)
                .then(|| check_state(e))
                .and_then(Result::err);
            (committed, e.poll_timeout(), broken)
        });
        if committed != seen {
            let mut audit = lock(&audit);
            audit.states += 1;
            audit.merged += (committed - seen - 1) as u64;
            if let Some(what) = broken {
                audit.fail(now, what);
            }
            seen = committed;
        }
        let cap = now + CHECK_EVERY;
        let wake = next.map_or(cap, |t| t.since_epoch().clamp(now, cap));
        sim.sleep_until(wake.max(now + Duration::from_micros(1)))
            .await;
    }
}

/// `path`'s children in the committed tree (empty if it does not exist).
fn children(e: &Ensemble, path: &str) -> Vec<String> {
    e.node(None, path).map(|(_, _, c)| c).unwrap_or_default()
}

/// The invariants of one committed state.
fn check_state(e: &Ensemble) -> Result<(), String> {
    let submitted: BTreeSet<String> = children(e, SUBMITTED).into_iter().collect();
    // Where each task is: `/tasks`, `/status`, or `/assign/<worker>`.
    let mut places: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in children(e, TASKS) {
        places.entry(t).or_default().push(TASKS.to_owned());
    }
    for t in children(e, STATUS) {
        places.entry(t).or_default().push(STATUS.to_owned());
    }
    for w in children(e, ASSIGN) {
        let dir = format!("{ASSIGN}/{w}");
        for t in children(e, &dir) {
            let live = e.node(None, &format!("{WORKERS}/{w}")).is_some();
            let place = format!("{dir} ({})", if live { "live" } else { "gone" });
            places.entry(t).or_default().push(place);
        }
    }
    for (task, at) in &places {
        if !submitted.contains(task) {
            return Err(format!("{task} is at {at:?} but was never submitted"));
        }
        if at.len() > 1 {
            return Err(format!("{task} is in {} places at once: {at:?}", at.len()));
        }
    }
    if let Some(lost) = submitted.iter().find(|t| !places.contains_key(*t)) {
        return Err(format!("submitted task {lost} is nowhere"));
    }
    for dir in [SUBMITTED, STATUS] {
        if let Some((_, stat, kids)) = e.node(None, dir) {
            if stat.cversion as usize != kids.len() {
                return Err(format!(
                    "{dir} has {} children but cversion {}: a child was deleted or created twice",
                    kids.len(),
                    stat.cversion
                ));
            }
        }
    }
    for t in children(e, STATUS) {
        let path = format!("{STATUS}/{t}");
        if let Some((_, stat, _)) = e.node(None, &path).filter(|(_, s, _)| s.version != 0) {
            return Err(format!("{path} was rewritten (version {})", stat.version));
        }
    }
    Ok(())
}

/// Submitted tasks without a `/status` node.
fn pending_tasks(e: &Ensemble) -> Vec<String> {
    let done: BTreeSet<String> = children(e, STATUS).into_iter().collect();
    children(e, SUBMITTED)
        .into_iter()
        .filter(|t| !done.contains(t))
        .collect()
}

/// Each reported completion names the worker `/status` recorded.
fn completions_match(
    e: &Ensemble,
    completions: &BTreeMap<String, Vec<String>>,
) -> Result<(), String> {
    for (task, by) in completions {
        let path = format!("{STATUS}/{task}");
        let recorded = e.node(None, &path).map(|(data, _, _)| data);
        let expected = by.first().map(|w| w.as_bytes().to_vec());
        if recorded != expected {
            return Err(format!(
                "{task} reported done by {by:?} but {path} holds {:?}",
                recorded.map(|d| String::from_utf8_lossy(&d).into_owned())
            ));
        }
    }
    Ok(())
}
