//! The driver shared by the embedded (tokio) and deterministic (madsim) hosts: one model behind
//! a mutex, a pump task that advances it to the runtime's clock and sleeps until its next
//! event, and [`SimSession`], the [`Coordinator`] of one simulated client.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::{AbortHandle, Abortable, BoxFuture};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use docent::{
    Coordinator, Error, EventType, Instant, Op, Reply, SessionState, Watch, WatchedEvent,
};

use docent::ensemble::EnsembleProvider;

use crate::follow;
use crate::harness::Timeline;
use crate::model::{ClientId, ClientOptions, Ensemble, Fault, OpId, Output, WatchId, WatchKind};
use crate::rt::Clock;

enum Sink {
    Once(oneshot::Sender<WatchedEvent>),
    Many(mpsc::UnboundedSender<WatchedEvent>),
}

pub(crate) struct Inner {
    pub(crate) sim: Ensemble,
    ops: BTreeMap<OpId, oneshot::Sender<Result<Reply, Error>>>,
    watches: BTreeMap<WatchId, Sink>,
    states: BTreeMap<ClientId, Vec<mpsc::UnboundedSender<SessionState>>>,
    last_state: BTreeMap<ClientId, SessionState>,
    /// The tasks each client process spawned: a crashed process's tasks are aborted (its
    /// code never runs again), and so is anything it spawns later.
    tasks: BTreeMap<ClientId, Vec<AbortHandle>>,
    /// The harness's own tasks (the test body's background work).
    run_tasks: Vec<AbortHandle>,
    dead: BTreeSet<ClientId>,
    /// What the run went through, for failure reports.
    pub(crate) timeline: Timeline,
}

impl Inner {
    /// Hands every pending output to whoever waits for it.
    fn dispatch(&mut self) {
        self.timeline.observe(&self.sim);
        while let Some(out) = self.sim.poll_output() {
            match out {
                Output::OpDone {
                    op, result, watch, ..
                } => {
                    let watch = watch.map(|(id, kind)| match kind {
                        WatchKind::OneShot => {
                            let (tx, rx) = oneshot::channel();
                            self.watches.insert(id, Sink::Once(tx));
                            Watch::OneShot(rx.map(|r| r.unwrap_or_else(|_| closed_event())).boxed())
                        }
                        _ => {
                            let (tx, rx) = mpsc::unbounded();
                            self.watches.insert(id, Sink::Many(tx));
                            Watch::Persistent(rx.boxed())
                        }
                    });
                    if let Some(tx) = self.ops.remove(&op) {
                        let _ = tx.send(result.map(|result| Reply { result, watch }));
                    }
                }
                Output::Watch {
                    watch, event, last, ..
                } => match self.watches.get(&watch) {
                    Some(Sink::Many(tx)) if !last => {
                        let _ = tx.unbounded_send(event);
                    }
                    Some(_) => match self.watches.remove(&watch) {
                        Some(Sink::Once(tx)) => {
                            let _ = tx.send(event);
                        }
                        Some(Sink::Many(tx)) => {
                            let _ = tx.unbounded_send(event);
                        }
                        None => {}
                    },
                    None => {}
                },
                Output::Session { client, state } => {
                    let at = self.sim.now().since_epoch();
                    self.timeline.session(at, client, state);
                    if state == SessionState::Closed && self.sim.crashed(client) {
                        self.dead.insert(client);
                        for task in self.tasks.remove(&client).unwrap_or_default() {
                            task.abort();
                        }
                    }
                    self.last_state.insert(client, state);
                    if let Some(subs) = self.states.get_mut(&client) {
                        subs.retain(|tx| tx.unbounded_send(state).is_ok());
                    }
                }
            }
        }
    }
}

fn closed_event() -> WatchedEvent {
    WatchedEvent {
        kind: EventType::Session(SessionState::Closed),
        path: String::new(),
    }
}

/// The model, its waiters, and the runtime's clock.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    wake: mpsc::UnboundedSender<()>,
    clock: Clock,
    seed: u64,
}

impl Shared {
    /// Wraps `sim` and spawns its pump on `clock`'s runtime (the model's time zero is now).
    pub(crate) fn start(sim: Ensemble, clock: Clock) -> Arc<Shared> {
        let (wake, mut woken) = mpsc::unbounded();
        let seed = sim.config().seed;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                sim,
                ops: BTreeMap::new(),
                watches: BTreeMap::new(),
                states: BTreeMap::new(),
                last_state: BTreeMap::new(),
                tasks: BTreeMap::new(),
                run_tasks: Vec::new(),
                dead: BTreeSet::new(),
                timeline: Timeline::default(),
            }),
            wake,
            clock,
            seed,
        });
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        clock.spawn(
            async move {
                loop {
                    let next = {
                        let Some(shared) = weak.upgrade() else { return };
                        let mut inner = shared.lock();
                        let now = shared.now();
                        inner.sim.handle_timeout(now);
                        inner.dispatch();
                        inner.sim.poll_timeout().map(|t| t.since_epoch())
                    };
                    let sleep = match next {
                        Some(at) => clock.sleep_until(at),
                        None => futures::future::pending().boxed(),
                    };
                    // Biased: `select!` would draw from a thread-local RNG that outlives one
                    // seed's run and break determinism.
                    futures::select_biased! {
                        _ = sleep.fuse() => {}
                        w = woken.next() => if w.is_none() { return },
                    }
                }
            }
            .boxed(),
        );
        shared
    }

    /// Runs `task` for `owner`'s process (aborted if that process crashes), or for the
    /// harness; every task can be aborted at the end of the run.
    pub(crate) fn spawn(&self, owner: Option<ClientId>, task: BoxFuture<'static, ()>) {
        let (handle, registration) = AbortHandle::new_pair();
        {
            let mut inner = self.lock();
            let tasks = match owner {
                Some(client) if inner.dead.contains(&client) => return,
                Some(client) => inner.tasks.entry(client).or_default(),
                None => &mut inner.run_tasks,
            };
            tasks.retain(|t| !t.is_aborted());
            tasks.push(handle);
        }
        let task = Abortable::new(task, registration).map(|_| ());
        self.clock.spawn(task.boxed());
    }

    /// Aborts every task of the run. The runtime's end alone would leak those still pending:
    /// their wakers sit in channels other pending tasks hold, and they hold `Shared`, so
    /// each seed's whole ensemble (~200 KB) would stay in memory.
    pub(crate) fn abort_all(&self) {
        let mut inner = self.lock();
        let run = std::mem::take(&mut inner.run_tasks);
        for task in inner.tasks.values().flatten().chain(&run) {
            task.abort();
        }
        inner.tasks.clear();
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_epoch(self.clock.elapsed())
    }

    pub(crate) fn clock(&self) -> Clock {
        self.clock
    }

    fn wake(&self) {
        let _ = self.wake.unbounded_send(());
    }

    /// Runs `f` on the model at the current time, then delivers its outputs.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut Ensemble, Instant) -> R) -> R {
        let now = self.now();
        let r = {
            let mut inner = self.lock();
            inner.sim.handle_timeout(now);
            let r = f(&mut inner.sim, now);
            inner.dispatch();
            r
        };
        self.wake();
        r
    }

    pub(crate) fn connect(self: &Arc<Self>, options: ClientOptions) -> SimSession {
        let client = self.with(|sim, now| sim.add_client(now, options));
        SimSession {
            shared: self.clone(),
            client,
        }
    }

    /// A client whose servers come from `provider` (its list now, then every change), with
    /// the ensemble tracker feeding `provider` if `track`. Both tasks belong to the client's
    /// process.
    pub(crate) fn connect_following(
        self: &Arc<Self>,
        options: ClientOptions,
        provider: EnsembleProvider,
        track: bool,
    ) -> SimSession {
        let options = options.servers(follow::simulated(&provider.servers()));
        let session = self.connect(options);
        let client = session.client;
        let follower = follow::follow(Arc::downgrade(self), client, provider.clone());
        self.spawn(Some(client), follower.boxed());
        if track {
            let tracker = follow::track(session.clone(), provider);
            self.spawn(Some(client), tracker.boxed());
        }
        session
    }

    pub(crate) fn inject(&self, fault: Fault) {
        self.with(|sim, now| sim.inject(now, fault));
    }

    fn op(
        &self,
        f: impl FnOnce(&mut Ensemble, Instant) -> OpId,
    ) -> oneshot::Receiver<Result<Reply, Error>> {
        let now = self.now();
        let (tx, rx) = oneshot::channel();
        {
            let mut inner = self.lock();
            inner.sim.handle_timeout(now);
            let id = f(&mut inner.sim, now);
            inner.ops.insert(id, tx);
            inner.dispatch();
        }
        self.wake();
        rx
    }
}

/// One simulated client's session: a [`Coordinator`] over the simulated ensemble.
///
/// Behaves like a ZooKeeper handle: ops fail with [`Error::ConnectionLoss`] when the
/// connection drops, and after the ensemble expired the session the next connection reports
/// [`SessionState::Expired`] and a new session follows ([`SessionState::Connected`] with a new
/// id). Cloning gives another handle on the same session.
///
/// Tasks spawned through [`Coordinator::spawn`] belong to this client's process: when a
/// `CrashClient` fault strikes it, they are aborted and later spawns never run.
#[derive(Clone)]
pub struct SimSession {
    shared: Arc<Shared>,
    client: ClientId,
}

impl std::fmt::Debug for SimSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimSession")
            .field("client", &self.client)
            .finish()
    }
}

impl SimSession {
    /// The model's id for this client (for faults).
    pub fn client_id(&self) -> ClientId {
        self.client
    }

    /// ZooKeeper's `getConfig`: `/zookeeper/config` whatever the chroot, with a data watch if
    /// `watch`.
    pub fn get_config(&self, watch: bool) -> BoxFuture<'static, Result<Reply, Error>> {
        let client = self.client;
        let rx = self
            .shared
            .op(|sim, now| sim.get_config(now, client, watch));
        rx.map(|r| r.unwrap_or(Err(Error::Closed))).boxed()
    }

    /// Resolves once the session is connected.
    pub async fn wait_connected(&self) {
        let mut states = self.session_states();
        while let Some(state) = states.next().await {
            if let SessionState::Connected { .. } = state {
                return;
            }
        }
    }
}

impl Coordinator for SimSession {
    fn submit(&self, op: Op) -> BoxFuture<'static, Result<Reply, Error>> {
        let client = self.client;
        let rx = self.shared.op(|sim, now| sim.submit(now, client, op));
        rx.map(|r| r.unwrap_or(Err(Error::Closed))).boxed()
    }

    fn session_states(&self) -> BoxStream<'static, SessionState> {
        let (tx, rx) = mpsc::unbounded();
        let mut inner = self.shared.lock();
        if let Some(state) = inner.last_state.get(&self.client).copied() {
            let _ = tx.unbounded_send(state);
        }
        inner.states.entry(self.client).or_default().push(tx);
        rx.boxed()
    }

    fn session_id(&self) -> i64 {
        self.shared.lock().sim.session_id(self.client)
    }

    fn session_timeout(&self) -> Duration {
        self.shared.lock().sim.session_timeout(self.client)
    }

    fn now(&self) -> Instant {
        self.shared.now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        self.shared.clock.sleep_until(deadline.since_epoch())
    }

    fn unix_millis(&self) -> i64 {
        let inner = self.shared.lock();
        let elapsed = self.shared.now().saturating_since(inner.sim.now());
        inner.sim.client_wall_ms(self.client) + elapsed.as_millis() as i64
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.shared.spawn(Some(self.client), task);
    }

    fn seed(&self) -> u64 {
        self.shared.seed ^ (self.client.0 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    fn abandon_session(&self) {
        let now = self.shared.now();
        {
            let mut inner = self.shared.lock();
            inner.sim.abandon_session(now, self.client);
            inner.dispatch();
        }
        self.shared.wake();
    }

    fn close(&self) -> BoxFuture<'static, Result<(), Error>> {
        let client = self.client;
        let rx = self.shared.op(|sim, now| sim.close_client(now, client));
        rx.map(|r| match r {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Closed),
        })
        .boxed()
    }
}
