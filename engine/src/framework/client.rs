//! The [`Client`]: a [`Coordinator`] plus a namespace, a retry policy and Curator's connection
//! states, shared cheaply by every recipe of a process.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::{self, BoxFuture};
use futures::{FutureExt, Stream, StreamExt};

use crate::framework::namespace;
use crate::framework::{ConnectionState, ConnectionStateManager, ErrorPolicy, RetryPolicy};
use crate::op::{Op, Reply};
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::SessionState;
use crate::{Coordinator, Error};

/// Streams handed out by [`Client::next_rng`] start here, clear of small explicit ones.
const RNG_STREAM_BASE: u64 = 1 << 32;

/// A handle on one ZooKeeper session, with Curator's framework around it. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    coordinator: Arc<dyn Coordinator>,
    namespace: String,
    retry: RetryPolicy,
    error_policy: ErrorPolicy,
    shared: Arc<Mutex<Shared>>,
    rng_streams: AtomicU64,
    namespace_ready: AtomicBool,
    /// False once the server answered a `multiRead` with `Unimplemented` (before 3.6).
    multi_read: AtomicBool,
    close_tx: Mutex<Option<oneshot::Sender<()>>>,
}

#[derive(Default)]
struct Shared {
    current: Option<ConnectionState>,
    session_id: i64,
    closed: bool,
    states: Vec<mpsc::UnboundedSender<ConnectionState>>,
    errors: Vec<mpsc::UnboundedSender<Error>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("namespace", &self.inner.namespace)
            .field("state", &self.connection_state())
            .field("session_id", &self.session_id())
            .finish_non_exhaustive()
    }
}

/// What a [`Client`] adds to its [`Coordinator`]: a namespace, a retry policy and an error
/// policy. The defaults: no namespace, [`RetryPolicy::default`], [`ErrorPolicy::Standard`].
///
/// ```
/// use docent::{ClientOptions, ErrorPolicy};
/// let options = ClientOptions::default()
///     .with_namespace("app")
///     .with_error_policy(ErrorPolicy::SessionOnly);
/// assert_eq!(options.namespace, "app");
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Every path is relative to this namespace (`"app"` or `"/app"`; `""` for none).
    pub namespace: String,
    /// The retry policy of the fluent builders.
    pub retry: RetryPolicy,
    /// Which connection states end leadership and locks.
    pub error_policy: ErrorPolicy,
}

impl ClientOptions {
    /// Sets the namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sets the error policy.
    pub fn with_error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.error_policy = policy;
        self
    }

    /// Checks the options: [`Error::InvalidPath`] for a namespace that is not a valid path.
    pub fn validate(&self) -> Result<(), Error> {
        namespace::normalize(&self.namespace).map(|_| ())
    }
}

/// Anything a [`Client`] can run over: a [`Coordinator`] by value, an `Arc` of one, or an
/// `Arc<dyn Coordinator>`.
pub trait IntoCoordinator {
    /// The shared coordinator.
    fn into_coordinator(self) -> Arc<dyn Coordinator>;
}

impl<C: Coordinator> IntoCoordinator for C {
    fn into_coordinator(self) -> Arc<dyn Coordinator> {
        Arc::new(self)
    }
}

impl<C: Coordinator> IntoCoordinator for Arc<C> {
    fn into_coordinator(self) -> Arc<dyn Coordinator> {
        self
    }
}

impl IntoCoordinator for Arc<dyn Coordinator> {
    fn into_coordinator(self) -> Arc<dyn Coordinator> {
        self
    }
}

/// Configures a [`Client`]; see [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    coordinator: Arc<dyn Coordinator>,
    options: ClientOptions,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Every path is relative to `namespace` (`"app"` or `"/app"`); validated by `build`.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.options.namespace = namespace.into();
        self
    }

    /// The retry policy of the fluent builders (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.options.retry = policy;
        self
    }

    /// Which connection states end leadership and locks (default: standard).
    pub fn error_policy(mut self, policy: ErrorPolicy) -> Self {
        self.options.error_policy = policy;
        self
    }

    /// Every setting at once.
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// Validates the configuration and starts the connection-state task.
    pub fn build(self) -> Result<Client, Error> {
        let ClientOptions {
            namespace,
            retry,
            error_policy,
        } = self.options;
        let namespace = namespace::normalize(&namespace)?;
        let (close_tx, close_rx) = oneshot::channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let coordinator = self.coordinator;
        coordinator.spawn(run_states(coordinator.clone(), shared.clone(), close_rx).boxed());
        Ok(Client {
            inner: Arc::new(Inner {
                coordinator,
                namespace,
                retry,
                error_policy,
                shared,
                rng_streams: AtomicU64::new(RNG_STREAM_BASE),
                namespace_ready: AtomicBool::new(false),
                multi_read: AtomicBool::new(true),
                close_tx: Mutex::new(Some(close_tx)),
            }),
        })
    }
}

impl Client {
    /// Starts configuring a client over `coordinator` (a transport's coordinator, by value
    /// or in an `Arc`).
    pub fn builder(coordinator: impl IntoCoordinator) -> ClientBuilder {
        ClientBuilder {
            coordinator: coordinator.into_coordinator(),
            options: ClientOptions::default(),
        }
    }

    /// Connection states from now on; a new subscriber first receives the current state, if
    /// there is one. Ends when the client is closed.
    pub fn connection_states(&self) -> impl Stream<Item = ConnectionState> + Send + Unpin {
        let (tx, rx) = mpsc::unbounded();
        let mut shared = self.lock();
        if let Some(state) = shared.current {
            let _ = tx.unbounded_send(state);
        }
        if !shared.closed {
            shared.states.push(tx);
        }
        rx
    }

    /// The last connection state (None before the first connection).
    pub fn connection_state(&self) -> Option<ConnectionState> {
        self.lock().current
    }

    /// Failures of background work nobody waits for any more (e.g. a guaranteed delete that
    /// gave up after its caller went away).
    pub fn unhandled_errors(&self) -> impl Stream<Item = Error> + Send + Unpin {
        let (tx, rx) = mpsc::unbounded();
        let mut shared = self.lock();
        if !shared.closed {
            shared.errors.push(tx);
        }
        rx
    }

    /// The session id as of the last connection state.
    pub fn session_id(&self) -> i64 {
        self.lock().session_id
    }

    /// The transport's clock.
    pub fn now(&self) -> Instant {
        self.inner.coordinator.now()
    }

    /// False once the server has refused a `multiRead` (ZooKeeper before 3.6): batched reads
    /// then go one by one.
    pub(crate) fn multi_read_works(&self) -> bool {
        self.inner.multi_read.load(Ordering::Relaxed)
    }

    /// Records that the server has no `multiRead`.
    pub(crate) fn multi_read_refused(&self) {
        self.inner.multi_read.store(false, Ordering::Relaxed);
    }

    /// The transport.
    pub fn coordinator(&self) -> &Arc<dyn Coordinator> {
        &self.inner.coordinator
    }

    /// A random source on `stream`, seeded from the coordinator's seed.
    pub fn rng(&self, stream: u64) -> Rng {
        Rng::new(self.inner.coordinator.seed(), stream)
    }

    /// A random source on a stream no other caller of this method gets.
    pub fn next_rng(&self) -> Rng {
        self.rng(self.inner.rng_streams.fetch_add(1, Ordering::Relaxed))
    }

    /// The namespace (`""` for none, else e.g. `/app`).
    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    /// The retry policy of the fluent builders.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The error policy recipes follow.
    pub fn error_policy(&self) -> ErrorPolicy {
        self.inner.error_policy
    }

    /// True once [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Closes the client: connection-state streams end, background work stops, and the
    /// session is closed (the server deletes its ephemerals at once).
    pub async fn close(&self) -> Result<(), Error> {
        {
            let mut shared = self.lock();
            if shared.closed {
                return Ok(());
            }
            shared.closed = true;
            shared.states.clear();
            shared.errors.clear();
        }
        if let Some(tx) = self.inner.close_tx.lock().expect("poisoned").take() {
            let _ = tx.send(());
        }
        self.inner.coordinator.close().await
    }

    /// Sends one raw op (no retries): validates its paths and length, applies the namespace, and
    /// strips it from the reply. The op is handed to the coordinator **before** this returns,
    /// so ops submitted one after another reach the server in that order.
    pub fn submit(&self, op: Op) -> BoxFuture<'static, Result<Reply, Error>> {
        if self.is_closed() {
            return future::ready(Err(Error::Closed)).boxed();
        }
        // A server drops the connection on a packet over jute.maxbuffer (nothing applied):
        // `prepare` refuses it here, as the caller's mistake, not as a retryable connection loss.
        let op = match namespace::prepare(&self.inner.namespace, op) {
            Ok(op) => op,
            Err(e) => return future::ready(Err(e)).boxed(),
        };
        let reply = self.inner.coordinator.submit(op);
        let ns = self.inner.namespace.clone();
        reply
            .map(move |r| r.map(|reply| namespace::strip_reply(&ns, reply)))
            .boxed()
    }

    /// Reports a background failure on [`unhandled_errors`](Self::unhandled_errors).
    pub(crate) fn report(&self, error: Error) {
        let mut shared = self.lock();
        shared
            .errors
            .retain(|tx| tx.unbounded_send(error.clone()).is_ok());
        if shared.errors.is_empty() {
            tracing::warn!(%error, "unhandled background error");
        }
    }

    /// Waits until connected; [`Error::NotConnected`] after a session timeout without a
    /// connection, [`Error::Closed`] when the client closes.
    pub(crate) async fn wait_connected(&self) -> Result<(), Error> {
        let mut states = self.connection_states();
        if self
            .connection_state()
            .is_some_and(ConnectionState::is_connected)
        {
            return Ok(());
        }
        let timeout = self.session_timeout();
        let mut timer = self.inner.coordinator.sleep_until(self.now() + timeout);
        loop {
            let next = future::poll_fn(|cx| match states.poll_next_unpin(cx) {
                Poll::Ready(s) => Poll::Ready(Some(s)),
                Poll::Pending => timer.poll_unpin(cx).map(|()| None),
            });
            match next.await {
                Some(Some(state)) if state.is_connected() => return Ok(()),
                Some(Some(_)) => {}
                Some(None) => return Err(Error::Closed),
                None => return Err(Error::NotConnected),
            }
        }
    }

    /// Sleeps on the transport's clock.
    pub(crate) fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        self.inner.coordinator.sleep_until(self.now() + duration)
    }

    pub(crate) fn namespace_ready(&self) -> &AtomicBool {
        &self.inner.namespace_ready
    }

    pub(crate) fn session_timeout(&self) -> Duration {
        self.inner.coordinator.session_timeout()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.inner.shared.lock().expect("client state poisoned")
    }
}

/// The connection-state task: raw session states in, Curator's states out to every subscriber.
async fn run_states(
    coordinator: Arc<dyn Coordinator>,
    shared: Arc<Mutex<Shared>>,
    mut close_rx: oneshot::Receiver<()>,
) {
    let mut manager = ConnectionStateManager::new(coordinator.session_timeout());
    let mut sessions = coordinator.session_states();
    let mut timer: Option<(Instant, BoxFuture<'static, ()>)> = None;
    enum Wake {
        Session(SessionState),
        Timer,
        Stop,
    }
    loop {
        let wanted = manager.poll_timeout();
        if wanted != timer.as_ref().map(|(at, _)| *at) {
            timer = wanted.map(|at| (at, coordinator.sleep_until(at)));
        }
        let wake = future::poll_fn(|cx| {
            if close_rx.poll_unpin(cx).is_ready() {
                return Poll::Ready(Wake::Stop);
            }
            if let Poll::Ready(next) = sessions.poll_next_unpin(cx) {
                return Poll::Ready(next.map_or(Wake::Stop, Wake::Session));
            }
            match &mut timer {
                Some((_, sleep)) => sleep.poll_unpin(cx).map(|()| Wake::Timer),
                None => Poll::Pending,
            }
        })
        .await;
        let now = coordinator.now();
        match wake {
            Wake::Session(state) => manager.handle_session(now, state),
            Wake::Timer => {
                timer = None;
                if manager.handle_timeout(now) {
                    // LOST after a session timeout without contact: that session is over for
                    // us, whatever the ensemble still thinks (Curator's injected expiration).
                    coordinator.abandon_session();
                }
            }
            Wake::Stop => return,
        }
        let mut shared = shared.lock().expect("client state poisoned");
        while let Some(state) = manager.poll_state() {
            tracing::debug!(
                ?state,
                session_id = manager.session_id(),
                "connection state"
            );
            shared.current = Some(state);
            shared.session_id = manager.session_id();
            shared.states.retain(|tx| tx.unbounded_send(state).is_ok());
        }
    }
}
