//! Barrier workloads and their checks.
//!
//! Double barrier: members meet in rounds, each round a fresh barrier directory and a time
//! slot. A member arrives at a random moment in the slot's first seconds, enters, works a
//! little, leaves. [`DoubleRecord`] keeps who called and who passed what, when, and checks at
//! the instant of every pass:
//!
//! - **enter**: at least `qty` distinct members had called `enter` in that round;
//! - **leave**: no member that passed `enter` before we started leaving and has not called
//!   `leave` still has its node (ground truth, the leader's tree): nobody passes `leave`
//!   before everyone left;
//! - **deadlines**: no call returns later than its deadline (unless its process was paused).
//!
//! After healing, every round with at least `qty` live members lets every live member in and
//! out. Barrier: a controller sets and removes the barrier node, waiters wait on it, and no
//! wait passes unless the barrier may have been down at some instant of it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::FutureExt;

use docent::recipes::barrier::{Barrier, DoubleBarrier};
use docent::rng::Rng;
use docent::{Client, Error};
use docent_sim::Sim;

use crate::workload::trace;

/// Where the double barrier rounds live (`<DOUBLE>/r<round>`).
pub const DOUBLE: &str = "/barriers/double";
/// The barrier node of the barrier suite.
pub const SINGLE: &str = "/barriers/single";
/// One round's time slot.
pub const SLOT: Duration = Duration::from_secs(20);
/// Members arrive within this long after their slot starts.
const ARRIVAL: u64 = 8_000;
/// `enter` gives up this long after the slot started, `leave` this long.
const ENTER_BY: Duration = Duration::from_secs(14);
const LEAVE_BY: Duration = Duration::from_secs(18);

/// A double barrier member as the workload drives it: docent's, or a planted naive one.
pub trait Member: Send + 'static {
    /// Enters; `Ok(true)` once passed, `Ok(false)` past `timeout`.
    fn enter(&mut self, timeout: Duration) -> BoxFuture<'_, Result<bool, Error>>;
    /// Leaves; `Ok(true)` once everyone left, `Ok(false)` past `timeout`.
    fn leave(&mut self, timeout: Duration) -> BoxFuture<'_, Result<bool, Error>>;
    /// Our member node's path.
    fn node(&self) -> String;
    /// Stops the member (its node deleted).
    fn close(self: Box<Self>) -> BoxFuture<'static, ()>;
}

impl Member for DoubleBarrier {
    fn enter(&mut self, timeout: Duration) -> BoxFuture<'_, Result<bool, Error>> {
        DoubleBarrier::enter(self, Some(timeout)).boxed()
    }
    fn leave(&mut self, timeout: Duration) -> BoxFuture<'_, Result<bool, Error>> {
        DoubleBarrier::leave(self, Some(timeout)).boxed()
    }
    fn node(&self) -> String {
        DoubleBarrier::node(self)
    }
    fn close(self: Box<Self>) -> BoxFuture<'static, ()> {
        async move {
            let _ = DoubleBarrier::close(*self).await;
        }
        .boxed()
    }
}

/// Makes a member of the barrier in a directory, on a client.
pub type MakeMember =
    Arc<dyn Fn(Client, String) -> BoxFuture<'static, Result<Box<dyn Member>, Error>> + Send + Sync>;

/// The directory of round `round`.
pub fn round_dir(round: u64) -> String {
    format!("{DOUBLE}/r{round}")
}

/// When round `round` starts.
pub fn round_start(round: u64) -> Duration {
    Duration::from_secs(1) + SLOT * round as u32
}

#[derive(Debug, Default)]
struct Round {
    /// Who called enter, their member node, and when.
    entering: BTreeMap<String, (String, Duration)>,
    entered: BTreeMap<String, Duration>,
    leaving: BTreeMap<String, Duration>,
    left: BTreeMap<String, Duration>,
}

#[derive(Debug, Default)]
struct Log {
    rounds: BTreeMap<u64, Round>,
    violations: Vec<String>,
}

/// What double barrier members did; see the [module docs](self). Cheap to clone.
#[derive(Debug, Clone)]
pub struct DoubleRecord {
    qty: usize,
    log: Arc<Mutex<Log>>,
}

impl DoubleRecord {
    /// A record for a barrier of `qty` members.
    pub fn new(qty: usize) -> DoubleRecord {
        DoubleRecord {
            qty,
            log: Arc::default(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Log) -> R) -> R {
        f(&mut self.log.lock().expect("poisoned"))
    }

    fn entering(&self, round: u64, who: &str, node: String, at: Duration) {
        self.with(|l| {
            let r = l.rounds.entry(round).or_default();
            r.entering.insert(who.to_owned(), (node, at));
        });
    }

    /// `who` passed `enter` of `round` now: were `qty` members in?
    fn entered(&self, sim: &Sim, round: u64, who: &str) {
        let at = sim.now();
        self.with(|l| {
            let r = l.rounds.entry(round).or_default();
            r.entered.insert(who.to_owned(), at);
            if r.entering.len() < self.qty {
                let msg = format!(
                    "{who} passed enter of round {round} at {at:?} with {} of {} members in: {:?}",
                    r.entering.len(),
                    self.qty,
                    r.entering.keys().collect::<Vec<_>>()
                );
                l.violations.push(msg);
            }
        });
    }

    fn leaving(&self, round: u64, who: &str, at: Duration) {
        self.with(|l| {
            l.rounds
                .entry(round)
                .or_default()
                .leaving
                .insert(who.to_owned(), at);
        });
    }

    /// `who` passed `leave` of `round` now: is any member still inside?
    fn left(&self, sim: &Sim, round: u64, who: &str) {
        let at = sim.now();
        self.with(|l| {
            let r = l.rounds.entry(round).or_default();
            r.left.insert(who.to_owned(), at);
            // Members inside before we started leaving: their nodes were there to list.
            let since = r.leaving.get(who).copied().unwrap_or(at);
            let inside: Vec<&String> = r
                .entered
                .iter()
                .filter(|(y, entered)| *y != who && **entered < since)
                .map(|(y, _)| y)
                .filter(|y| !r.leaving.contains_key(*y))
                .filter(|y| sim.inspect(|m| m.node(None, &r.entering[*y].0).is_some()))
                .collect();
            if !inside.is_empty() {
                let msg = format!(
                    "{who} passed leave of round {round} at {at:?} while {inside:?} were still inside"
                );
                l.violations.push(msg);
            }
        });
    }

    /// A call of `who` that was due at `due` returned now.
    fn returned(&self, sim: &Sim, who: &str, what: &str, from: Duration, due: Duration) {
        let at = sim.now();
        let paused = sim.pauses(who).iter().any(|&(p, q)| p < at && q > from);
        if at > due + Duration::from_secs(1) && !paused {
            let msg = format!("{who}'s {what} was due by {due:?} but returned at {at:?}");
            self.with(|l| l.violations.push(msg));
        }
    }

    /// The safety checks made at each pass.
    pub fn check_safety(&self) -> Result<(), String> {
        self.with(|l| match l.violations.first() {
            Some(v) => Err(format!("{v} ({} violations)", l.violations.len())),
            None => Ok(()),
        })
    }

    /// Liveness, in every round that started at least a slot after `healed_at`, before
    /// `stop`, with at least `qty` live members: `qty` members passed enter, every member
    /// that passed enter passed leave, and every live member that arrived (a second) before
    /// anyone had left passed enter (`qty` is a threshold: one arriving after the others
    /// left the round, and so took the ready node away, waits for a round that is over).
    pub fn check_liveness(&self, sim: &Sim, stop: Duration) -> Result<(), String> {
        let live: Vec<&String> = sim.names().iter().filter(|n| !sim.crashed(n)).collect();
        if live.len() < self.qty {
            return Ok(());
        }
        let mut checked = 0;
        self.with(|l| {
            for round in 0.. {
                let start = round_start(round);
                if start + LEAVE_BY > stop {
                    break;
                }
                if start < sim.healed_at() + SLOT {
                    continue;
                }
                checked += 1;
                let Some(r) = l.rounds.get(&round) else {
                    return Err(format!("liveness: nobody arrived in round {round}"));
                };
                let first_out = r.left.values().min().copied().unwrap_or(Duration::MAX);
                let stuck: Vec<&String> = live
                    .iter()
                    .copied()
                    .filter(|who| {
                        let arrived = r.entering.get(*who).map(|(_, at)| *at);
                        let due = arrived.is_some_and(|at| at + Duration::from_secs(1) < first_out);
                        let entered = r.entered.contains_key(*who);
                        (due && !entered) || (entered && !r.left.contains_key(*who))
                    })
                    .collect();
                if r.entered.len() < self.qty || !stuck.is_empty() {
                    return Err(format!(
                        "liveness: round {round} (started {start:?}, healed at {:?}): {} \
                         entered, stuck: {stuck:?}; {r:?}",
                        sim.healed_at(),
                        r.entered.len()
                    ));
                }
            }
            Ok(())
        })?;
        if checked == 0 {
            return Err("no round after healing was checked".into());
        }
        Ok(())
    }
}

/// Runs `who`'s double barrier rounds until `stop`: arrive in the slot's first 8 s, enter
/// (until 14 s into the slot), work 0–2 s, leave (until 18 s); then close the handle.
pub fn spawn_member(sim: &Sim, who: &str, make: MakeMember, record: &DoubleRecord, stop: Duration) {
    let (sim, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0xba00 + sim.index(&who) as u64);
    sim.clone().spawn(async move {
        for round in 0.. {
            let start = round_start(round);
            if start + LEAVE_BY > stop {
                break;
            }
            sim.sleep_until(start + Duration::from_millis(rng.below(ARRIVAL)))
                .await;
            if sim.now() + Duration::from_secs(2) > start + ENTER_BY {
                continue; // late for this round (paused)
            }
            let mut member = match make(sim.client(&who), round_dir(round)).await {
                Ok(member) => member,
                Err(e) => {
                    trace(&sim, &who, &e);
                    continue;
                }
            };
            record.entering(round, &who, member.node(), sim.now());
            let (from, due) = (sim.now(), start + ENTER_BY);
            let entered = member.enter(due - from).await;
            trace(&sim, &who, &(round, "enter", &entered));
            record.returned(&sim, &who, "enter", from, due);
            if entered == Ok(true) {
                record.entered(&sim, round, &who);
                sim.sleep(Duration::from_millis(rng.below(2_000))).await;
                let (from, due) = (sim.now(), start + LEAVE_BY);
                record.leaving(round, &who, from);
                let left = member.leave(due.saturating_sub(from)).await;
                trace(&sim, &who, &(round, "leave", &left));
                record.returned(&sim, &who, "leave", from, due);
                if left == Ok(true) {
                    record.left(&sim, round, &who);
                }
            }
            // Closing waits for our node's delete: not on the round's time.
            sim.spawn(member.close());
        }
    });
}

/// What the barrier suite saw: each wait's start and pass, and the windows in which the
/// barrier may have been down (from the start of a remove to the return of the next set:
/// outcomes of calls cut off are unknown, so a window spans the whole of both calls).
#[derive(Debug, Clone, Default)]
pub struct WaitRecord {
    passes: Arc<Mutex<Vec<(String, Duration, Duration)>>>,
    down: Arc<Mutex<Vec<(Duration, Duration)>>>,
}

impl WaitRecord {
    /// The barrier may be down from `from` on (a remove starts).
    fn down_from(&self, from: Duration) {
        self.down
            .lock()
            .expect("poisoned")
            .push((from, Duration::MAX));
    }

    /// The barrier is up again from `to` on (a set returned).
    fn up_at(&self, to: Duration) {
        if let Some(last) = self.down.lock().expect("poisoned").last_mut() {
            last.1 = last.1.min(to);
        }
    }

    /// Every pass's wait overlaps a window in which the barrier may have been down.
    pub fn check_never_passed_while_up(&self) -> Result<(), String> {
        let down = self.down.lock().expect("poisoned");
        for (who, from, at) in self.passes.lock().expect("poisoned").iter() {
            if !down.iter().any(|(d0, d1)| d0 <= at && d1 >= from) {
                let near: Vec<_> = down
                    .iter()
                    .filter(|(d0, d1)| d1.saturating_add(SLOT) > *from && *d0 < *at + SLOT)
                    .collect();
                return Err(format!(
                    "{who} passed the barrier at {at:?} (waiting since {from:?}) while it was up \
                     (down windows near: {near:?})"
                ));
            }
        }
        Ok(())
    }

    /// Every live waiter passed after `since`.
    pub fn check_everyone_passed_after(&self, sim: &Sim, since: Duration) -> Result<(), String> {
        let passes = self.passes.lock().expect("poisoned");
        for who in sim.names().iter().skip(1).filter(|n| !sim.crashed(n)) {
            if !passes.iter().any(|(w, _, at)| w == who && *at > since) {
                return Err(format!(
                    "liveness: {who} never passed the barrier after {since:?}"
                ));
            }
        }
        Ok(())
    }
}

/// The controller: sets the barrier, keeps it up 1–3 s, removes it, keeps it down 0.5–1.5 s,
/// until `stop`; then leaves it down. Failed calls are tried again.
pub fn spawn_controller(
    sim: &Sim,
    who: &str,
    barrier: Barrier,
    record: &WaitRecord,
    stop: Duration,
) {
    let (sim, who, record) = (sim.clone(), who.to_owned(), record.clone());
    let mut rng = Rng::new(sim.seed(), 0xbb00);
    sim.clone().spawn(async move {
        record.down_from(Duration::ZERO);
        loop {
            while let Err(e) = barrier.set_barrier().await {
                trace(&sim, &who, &e);
                sim.sleep(Duration::from_millis(200)).await;
            }
            record.up_at(sim.now());
            trace(&sim, &who, &"set");
            sim.sleep(Duration::from_millis(1_000 + rng.below(2_000)))
                .await;
            record.down_from(sim.now());
            while let Err(e) = barrier.remove_barrier().await {
                trace(&sim, &who, &e);
                sim.sleep(Duration::from_millis(200)).await;
            }
            trace(&sim, &who, &"removed");
            if sim.now() >= stop {
                break;
            }
            sim.sleep(Duration::from_millis(500 + rng.below(1_000)))
                .await;
        }
    });
}

/// A waiter: waits on the barrier (10 s at most), records each pass, rests 0–300 ms.
pub fn spawn_waiter(
    sim: &Sim,
    who: &str,
    mut barrier: Barrier,
    record: &WaitRecord,
    stop: Duration,
) {
    let (sim, who, passes) = (sim.clone(), who.to_owned(), record.passes.clone());
    let mut rng = Rng::new(sim.seed(), 0xbc00 + sim.index(&who) as u64);
    sim.clone().spawn(async move {
        while sim.now() < stop {
            let from = sim.now();
            let waited = barrier.wait_on_barrier(Some(Duration::from_secs(10))).await;
            trace(&sim, &who, &waited);
            match waited {
                Ok(true) => passes
                    .lock()
                    .expect("poisoned")
                    .push((who.clone(), from, sim.now())),
                Ok(false) => {}
                Err(_) => sim.sleep(Duration::from_millis(200)).await,
            }
            sim.sleep(Duration::from_millis(rng.below(300))).await;
        }
    });
}
