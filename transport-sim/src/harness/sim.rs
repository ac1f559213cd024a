//! [`Sim`]: what a test body gets for one seed — named client processes on a fresh ensemble,
//! the seed's fault schedule, simulated time, and the model's ground truth.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;

use docent::framework::ClientBuilder;
use docent::Client;

use docent::ensemble::EnsembleProvider;

use super::timeline::{fault_duration, Timeline};
use super::EnsembleSource;
use crate::driver::{Shared, SimSession};
use crate::follow;
use crate::model::{ClientId, ClientOptions, Ensemble, Fault, FaultSchedule, SimConfig};
use crate::rt::Clock;

/// How one seed's world is built.
pub(crate) struct Setup {
    pub(crate) seed: u64,
    pub(crate) servers: usize,
    pub(crate) names: Vec<String>,
    pub(crate) session_timeout: Duration,
    pub(crate) schedule: FaultSchedule,
    pub(crate) record_log: bool,
    pub(crate) source: super::EnsembleSource,
}

/// One seed's simulated world, handed to the test body. Cheap to clone.
///
/// Client processes are named; the fault schedule numbers them in the order the harness was
/// given them (`Fault::Partition { client: 0, .. }` cuts the first). Times are durations since
/// the start of the run.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

struct Inner {
    seed: u64,
    session_timeout: Duration,
    shared: Arc<Shared>,
    names: Vec<String>,
    sessions: Vec<Arc<SimSession>>,
    providers: Vec<Option<EnsembleProvider>>,
    servers: usize,
    clients: Mutex<BTreeMap<usize, Client>>,
    schedule: FaultSchedule,
    injected: Mutex<FaultSchedule>,
    healed_at: Duration,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("seed", &self.inner.seed)
            .field("clients", &self.inner.names)
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// Builds the ensemble, installs the schedule and connects every named client.
    pub(crate) fn start(setup: Setup, clock: Clock) -> Sim {
        let mut config = SimConfig::new(setup.seed).servers(setup.servers);
        config.record_log = setup.record_log;
        let mut model = Ensemble::new(config);
        model.install(&setup.schedule);
        let shared = Shared::start(model, clock);
        {
            let mut timeline = Timeline::new(&setup.names, setup.servers);
            for s in &setup.schedule.faults {
                timeline.fault(s.at, &s.fault);
            }
            shared.lock().timeline = timeline;
        }
        let options = ClientOptions::default().session_timeout(setup.session_timeout);
        // Whether each client can abandon its session on LOST (as Curator's handle does) or
        // keeps it until the ensemble expires it (as docent-zk's does): seeded, so suites
        // cover both.
        let mut rng = docent::rng::Rng::new(setup.seed, 0xAB4D);
        let (sessions, providers) = setup
            .names
            .iter()
            .map(|_| {
                let options = options.clone().abandons(rng.below(2) == 0);
                let (session, provider) =
                    follow::connect(&shared, options, setup.source, setup.servers);
                (Arc::new(session), provider)
            })
            .unzip();
        Sim {
            inner: Arc::new(Inner {
                seed: setup.seed,
                session_timeout: setup.session_timeout,
                healed_at: healed_at(&setup.schedule),
                shared,
                names: setup.names,
                sessions,
                providers,
                servers: setup.servers,
                clients: Mutex::new(BTreeMap::new()),
                schedule: setup.schedule,
                injected: Mutex::new(FaultSchedule::new()),
            }),
        }
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.inner.shared.clone()
    }

    /// This run's seed.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// The session timeout every client asked for.
    pub fn session_timeout(&self) -> Duration {
        self.inner.session_timeout
    }

    /// The fault schedule installed at the start.
    pub fn schedule(&self) -> &FaultSchedule {
        &self.inner.schedule
    }

    /// The client processes' names, in fault-schedule order.
    pub fn names(&self) -> &[String] {
        &self.inner.names
    }

    /// The position of `name` among the clients (its number in fault schedules).
    ///
    /// # Panics
    /// If there is no client of that name.
    pub fn index(&self, name: &str) -> usize {
        self.inner
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no client named {name:?} (have {:?})", self.inner.names))
    }

    /// The model's id of `name`'s client (for [`Sim::inspect`]).
    pub fn client_id(&self, name: &str) -> ClientId {
        self.inner.sessions[self.index(name)].client_id()
    }

    /// `name`'s raw session (a [`docent::Coordinator`]).
    pub fn session(&self, name: &str) -> Arc<SimSession> {
        self.inner.sessions[self.index(name)].clone()
    }

    /// `name`'s ensemble provider (`None` for a static server list).
    pub fn provider(&self, name: &str) -> Option<EnsembleProvider> {
        self.inner.providers[self.index(name)].clone()
    }

    /// Connects another client process (numbered after the named ones in fault schedules)
    /// whose servers come from `source`: its session and provider.
    pub fn connect(
        &self,
        options: ClientOptions,
        source: EnsembleSource,
    ) -> (Arc<SimSession>, Option<EnsembleProvider>) {
        let (session, provider) =
            follow::connect(&self.inner.shared, options, source, self.inner.servers);
        (Arc::new(session), provider)
    }

    /// `name`'s [`Client`] with default settings; every call returns the same client.
    pub fn client(&self, name: &str) -> Client {
        let i = self.index(name);
        let mut clients = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(i)
            .or_insert_with(|| {
                Client::builder(self.inner.sessions[i].clone())
                    .build()
                    .expect("the default client configuration is valid")
            })
            .clone()
    }

    /// A builder for another [`Client`] over `name`'s session (error policy, namespace,
    /// retries).
    pub fn client_builder(&self, name: &str) -> ClientBuilder {
        Client::builder(self.session(name))
    }

    /// Simulated time since the start of the run.
    pub fn now(&self) -> Duration {
        self.inner.shared.now().since_epoch()
    }

    /// When every scheduled fault has struck and healed (durations elapsed). Liveness is
    /// measured from here; faults injected later by the body are not counted.
    pub fn healed_at(&self) -> Duration {
        self.inner.healed_at
    }

    /// Sleeps for `d` of simulated time.
    pub fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send + 'static {
        self.sleep_until(self.now() + d)
    }

    /// Sleeps until `at` (since the start of the run).
    pub fn sleep_until(&self, at: Duration) -> impl Future<Output = ()> + Send + 'static {
        self.inner.shared.clock().sleep_until(at)
    }

    /// Runs `task` in the background of this run (aborted when the run ends).
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.inner.shared.spawn(None, task.boxed());
    }

    /// Injects `fault` now (it is recorded with the run's faults).
    pub fn inject(&self, fault: Fault) {
        let at = self.now();
        let mut injected = self
            .inner
            .injected
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        *injected = std::mem::take(&mut *injected).at(at, fault.clone());
        drop(injected);
        self.inner.shared.lock().timeline.fault(at, &fault);
        self.inner.shared.inject(fault);
    }

    /// The faults injected by the body so far.
    pub fn injected(&self) -> FaultSchedule {
        self.inner
            .injected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Writes `text` on `who`'s lane of the run's timeline (`who` need not be a client).
    pub fn note(&self, who: &str, text: impl Into<String>) {
        let at = self.now();
        self.timeline_mut(|t| t.note(at, who, text.into()));
    }

    /// Marks that `who` holds the lease `lease` (`"leader"`, `"lock /jobs"`) with `token`
    /// from now on, on the run's timeline. Marking the same token again changes nothing; a new
    /// token ends the old hold and starts another.
    pub fn hold(&self, who: &str, lease: &str, token: i64) {
        let at = self.now();
        self.timeline_mut(|t| t.hold(at, who, lease, token));
    }

    /// Marks that `who` no longer holds `lease` (nothing if it held none).
    pub fn release(&self, who: &str, lease: &str) {
        let at = self.now();
        self.timeline_mut(|t| t.release(at, who, lease));
    }

    /// Marks a violation found by a checker at `at` (which may be in the past): the failure
    /// report's timeline ends there. The earliest mark is kept; marking does not fail the run.
    pub fn mark_violation(&self, at: Duration, what: &str) {
        self.timeline_mut(|t| t.violation(at, what));
    }

    /// A copy of the run's timeline so far.
    pub fn timeline(&self) -> Timeline {
        self.timeline_mut(|t| t.clone())
    }

    fn timeline_mut<R>(&self, f: impl FnOnce(&mut Timeline) -> R) -> R {
        f(&mut self.inner.shared.lock().timeline)
    }

    /// Ground truth: runs `f` on the model, brought up to now. Checkers may look; recipes may
    /// not.
    pub fn inspect<R>(&self, f: impl FnOnce(&Ensemble) -> R) -> R {
        self.inner.shared.with(|sim, _| f(sim))
    }

    /// Ground truth: `name`'s process is frozen right now (a `PauseClient` fault).
    pub fn paused(&self, name: &str) -> bool {
        let c = self.client_id(name).0 as usize;
        self.inner
            .shared
            .with(|sim, now| sim.paused(ClientId(c as u32), now))
    }

    /// Ground truth: `name`'s process has crashed (a `CrashClient` fault); it never runs again.
    pub fn crashed(&self, name: &str) -> bool {
        let c = self.client_id(name).0 as usize;
        self.inner
            .shared
            .with(|sim, _| sim.crashed(ClientId(c as u32)))
    }

    /// When `name`'s process crashed (or will crash), from the schedule and the injected
    /// faults: from then on nothing it believes matters.
    pub fn crashed_at(&self, name: &str) -> Option<Duration> {
        let i = self.index(name) as u32;
        let injected = self.injected();
        self.inner
            .schedule
            .faults
            .iter()
            .chain(injected.faults.iter())
            .filter(|s| matches!(s.fault, Fault::CrashClient { client } if client == i))
            .map(|s| s.at)
            .min()
    }

    /// When the ensemble forcibly expired `name`'s session (`ExpireSession` faults) while the
    /// process may have been healthy and connected: like a pause, it cannot have known.
    pub fn forced_expiries(&self, name: &str) -> Vec<Duration> {
        let i = self.index(name) as u32;
        let injected = self.injected();
        let mut out: Vec<Duration> = self
            .inner
            .schedule
            .faults
            .iter()
            .chain(injected.faults.iter())
            .filter(|s| matches!(s.fault, Fault::ExpireSession { client } if client == i))
            .map(|s| s.at)
            .collect();
        out.sort();
        out
    }

    /// The windows `[from, to)` during which `name` was or will be paused, from the schedule
    /// and the injected faults.
    pub fn pauses(&self, name: &str) -> Vec<(Duration, Duration)> {
        let i = self.index(name) as u32;
        let injected = self.injected();
        let mut out: Vec<_> = self
            .inner
            .schedule
            .faults
            .iter()
            .chain(injected.faults.iter())
            .filter_map(|s| match s.fault {
                Fault::PauseClient { client, duration } if client == i => {
                    Some((s.at, s.at + duration))
                }
                _ => None,
            })
            .collect();
        out.sort();
        out
    }
}

/// When the last fault of `schedule` has healed.
pub(crate) fn healed_at(schedule: &FaultSchedule) -> Duration {
    schedule
        .faults
        .iter()
        .map(|s| s.at + fault_duration(&s.fault))
        .max()
        .unwrap_or(Duration::ZERO)
}
