//! Workloads that feed a [`Holds`]: leader-latch participants and mutex workers, plus the
//! liveness checks over them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use futures::{Stream, StreamExt};

use docent::recipes::latch::{LatchEvent, LatchOptions, LeaderLatch};
use docent::recipes::lock::{LockEvent, LockState, Mutex};
use docent::rng::Rng;
use docent::Error;
use docent_sim::check::{FenceLog, Holds};
use docent_sim::Sim;

use crate::fence::write_ops;

/// The election path every latch suite uses.
pub const ELECTION: &str = "/election";
/// The lock path every mutex suite uses.
pub const LOCK: &str = "/locks/main";

/// Feeds `who`'s latch events into `timeline` (leader with token / not leader).
pub fn observe_latch(
    sim: &Sim,
    timeline: &Holds,
    who: &str,
    events: impl Stream<Item = LatchEvent> + Send + Unpin + 'static,
) {
    timeline.mark_on(sim, "leader");
    let (sim2, timeline, who) = (sim.clone(), timeline.clone(), who.to_owned());
    let mut events = events;
    sim.spawn(async move {
        while let Some(event) = events.next().await {
            match event {
                LatchEvent::IsLeader { token } => timeline.set(&who, Some(token), sim2.now()),
                LatchEvent::NotLeader => timeline.set(&who, None, sim2.now()),
                _ => {}
            }
        }
    });
}

/// Starts one [`LeaderLatch`] per client of `sim` on [`ELECTION`], observed by `timeline`.
pub async fn start_latches(
    sim: &Sim,
    timeline: &Holds,
) -> Result<Vec<(String, LeaderLatch)>, Error> {
    let mut out = Vec::new();
    for who in sim.names() {
        let options = LatchOptions::default().id(who);
        let latch = LeaderLatch::start(&sim.client(who), ELECTION, options).await?;
        observe_latch(sim, timeline, who, latch.events());
        out.push((who.clone(), latch));
    }
    Ok(out)
}

/// Liveness: waits until exactly one live (not crashed) participant leads and the ensemble
/// agrees (its node, holding its id, is first under `dir`), polling every 100 ms of simulated
/// time, until `deadline`.
pub async fn await_one_leader(
    sim: &Sim,
    dir: &str,
    deadline: Duration,
    leading: impl Fn() -> Vec<String>,
) -> Result<String, String> {
    loop {
        let live: Vec<String> = leading().into_iter().filter(|w| !sim.crashed(w)).collect();
        let first = first_in_line(sim, dir);
        if live.len() == 1 && first.as_ref() == Some(&live[0]) {
            return Ok(live[0].clone());
        }
        if sim.names().iter().all(|n| sim.crashed(n)) {
            return Ok(String::new());
        }
        if sim.now() >= deadline {
            return Err(format!(
                "liveness: {} leaders ({live:?}), first in line on the ensemble {first:?}, at \
                 {:?}, {:?} after the faults healed",
                live.len(),
                sim.now(),
                sim.now().saturating_sub(sim.healed_at())
            ));
        }
        sim.sleep(Duration::from_millis(100)).await;
    }
}

/// Ground truth: the participant id in the first latch/lock node under `dir` on the leader
/// (Curator's order: by sequence suffix).
pub fn first_in_line(sim: &Sim, dir: &str) -> Option<String> {
    sim.inspect(|model| {
        let (_, _, children) = model.node(None, dir)?;
        let first = children
            .iter()
            .min_by_key(|c| c.rsplit('-').next().map(str::to_owned))?;
        let (data, _, _) = model.node(None, &format!("{dir}/{first}"))?;
        Some(String::from_utf8_lossy(&data).into_owned())
    })
}

/// What the mutex workers recorded.
#[derive(Debug, Clone, Default)]
pub struct MutexRecord {
    /// Holds.
    pub timeline: Holds,
    /// Guarded writes.
    pub fence: FenceLog,
    /// Each worker's grant times.
    pub grants: Arc<StdMutex<BTreeMap<String, Vec<Duration>>>>,
    /// What each worker is doing, since when (for failure messages).
    pub doing: Arc<StdMutex<BTreeMap<String, (Duration, &'static str)>>>,
}

impl MutexRecord {
    /// Liveness: every worker that has not crashed was granted the lock after `since`.
    pub fn check_everyone_acquired_after(&self, sim: &Sim, since: Duration) -> Result<(), String> {
        let grants = self.grants.lock().expect("poisoned");
        for who in sim.names() {
            let last = grants.get(who).and_then(|g| g.last()).copied();
            if !sim.crashed(who) && last.is_none_or(|t| t < since) {
                let doing = self.doing.lock().expect("poisoned").get(who).copied();
                return Err(format!(
                    "liveness: {who} never acquired after {since:?} (last grant {last:?}; \
                     {doing:?})"
                ));
            }
        }
        Ok(())
    }
}

/// Runs a mutex worker for `who` until `stop_at`: acquire, hold 50–1500 ms, one guarded write,
/// release, rest 0–500 ms, again. Holds go to the record's timeline (ending on SUSPENDED and
/// LOST, resuming on RECONNECTED).
pub fn spawn_mutex_worker(
    sim: &Sim,
    who: &str,
    mutex: Mutex,
    record: &MutexRecord,
    stop_at: Duration,
) {
    record.timeline.mark_on(sim, "lock");
    let mutex = Arc::new(mutex);
    let holding = Arc::new(AtomicBool::new(false));
    let (s, w, r) = (sim.clone(), who.to_owned(), record.clone());
    let (m, h) = (mutex.clone(), holding.clone());
    let mut events = mutex.events();
    sim.spawn(async move {
        while let Some(event) = events.next().await {
            trace(&s, &w, &event);
            match event {
                LockEvent::Suspended | LockEvent::Lost => r.timeline.set(&w, None, s.now()),
                LockEvent::Reconnected if h.load(Ordering::SeqCst) => {
                    if let LockState::Held { token } = m.state() {
                        r.timeline.set(&w, Some(token), s.now());
                    }
                }
                _ => {}
            }
        }
    });
    let (sim, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0x3000 + sim.index(&who) as u64);
    sim.clone().spawn(async move {
        let doing = |what: &'static str| {
            let mut d = record.doing.lock().expect("poisoned");
            d.insert(who.clone(), (sim.now(), what));
        };
        while sim.now() < stop_at {
            doing("acquiring");
            let attempt = mutex.try_acquire(Duration::from_secs(30)).await;
            trace(&sim, &who, &attempt);
            match attempt {
                Ok(Some(guard)) => {
                    let token = guard.token();
                    holding.store(true, Ordering::SeqCst);
                    if mutex.is_held() {
                        record.timeline.set(&who, Some(token), sim.now());
                    }
                    record
                        .grants
                        .lock()
                        .expect("poisoned")
                        .entry(who.clone())
                        .or_default()
                        .push(sim.now());
                    doing("holding");
                    sim.sleep(Duration::from_millis(50 + rng.below(1450))).await;
                    doing("guarded write");
                    let result = guard.guarded(write_ops(&who, token)).await;
                    trace(&sim, &who, &result);
                    record.fence.record(&who, token, &result);
                    record.timeline.set(&who, None, sim.now());
                    holding.store(false, Ordering::SeqCst);
                    doing("releasing");
                    let released = guard.release().await;
                    trace(&sim, &who, &released);
                }
                Ok(None) => {}
                Err(_) => sim.sleep(Duration::from_millis(200)).await,
            }
            doing("resting");
            sim.sleep(Duration::from_millis(rng.below(500))).await;
        }
        doing("done");
    });
}

/// Creates the guarded-write target node (see [`ensure_dir`]).
pub async fn create_data_node(sim: &Sim) {
    ensure_dir(sim, crate::fence::DATA).await
}

/// With `DOCENT_TRACE=1`, prints what a workload process saw.
pub fn trace(sim: &Sim, who: &str, what: &dyn std::fmt::Debug) {
    if std::env::var("DOCENT_TRACE").is_ok_and(|v| v == "1") {
        eprintln!("{:>12?} {who}: {what:?}", sim.now());
    }
}

/// Runs one latch-like machine per client of `sim` on [`ELECTION`] (created first, as a
/// persistent node), feeding `timeline`; returns the handles.
pub async fn start_machines<M>(
    sim: &Sim,
    timeline: &Holds,
    make: impl Fn(&docent::Client, &str) -> M,
) -> Vec<(String, docent::framework::Driven<M>)>
where
    M: docent::Machine<Event = LatchEvent>,
{
    ensure_dir(sim, ELECTION).await;
    let mut out = Vec::new();
    for who in sim.names() {
        let client = sim.client(who);
        let driven = docent::framework::spawn_machine(&client, make(&client, who));
        observe_latch(sim, timeline, who, driven.subscribe());
        out.push((who.clone(), driven));
    }
    out
}

/// Creates `path` (and its parents) as empty persistent nodes through whichever client is
/// alive, retrying through faults until it exists; gives up once every client has crashed
/// (nobody is left to need it, and going round crashed clients would never yield).
pub async fn ensure_dir(sim: &Sim, path: &str) {
    for who in sim.names().iter().cycle() {
        if sim.names().iter().all(|n| sim.crashed(n)) {
            return;
        }
        if sim.crashed(who) {
            continue;
        }
        match sim.client(who).create().parents().at(path).await {
            Ok(_) | Err(Error::NodeExists) => return,
            Err(_) => sim.sleep(Duration::from_millis(200)).await,
        }
    }
}

/// The election checks every latch suite makes once the faults have healed: one leader
/// within [`SETTLE`] (agreeing with the ensemble), no overlap, tokens in order.
pub async fn check_election(
    sim: &Sim,
    timeline: &Holds,
    leading: impl Fn() -> Vec<String>,
) -> Result<String, String> {
    sim.sleep_until(sim.healed_at()).await;
    let leader = await_one_leader(sim, ELECTION, sim.healed_at() + SETTLE, leading).await?;
    timeline.check_exclusive(sim)?;
    timeline.check_tokens(sim)?;
    Ok(leader)
}

/// How long after the faults healed a leader must exist and every waiter must have acquired.
pub const SETTLE: Duration = Duration::from_secs(40);
