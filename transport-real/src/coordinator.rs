//! [`ZkCoordinator`]: docent's [`Coordinator`] over a real ZooKeeper session.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use docent::{Coordinator, Error, Instant, Op, Reply, SessionState};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use docent::ensemble::EnsembleProvider;

use crate::options::ZkOptions;
use crate::relay::Relay;
use crate::shared::Shared;
use crate::{submit, supervisor, tracker};

/// A [`Coordinator`] over a `zookeeper-client` session on tokio.
///
/// * Ops are queued on the session when [`submit`](Coordinator::submit) is called, in call order.
/// * After the ensemble expires the session, a new session is opened transparently: the state
///   stream shows [`SessionState::Expired`], then [`SessionState::Connected`] with a new id.
///   Until then every op fails with [`Error::SessionExpired`].
/// * The clock is tokio's monotonic clock, measured from [`connect`](ZkCoordinator::connect).
///
/// Cloning gives another handle to the same session. Dropping the last handle closes it.
#[derive(Clone)]
pub struct ZkCoordinator {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ZkCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("ZkCoordinator")
            .field("connect_string", &self.shared.options.connect_string)
            .field("servers", &self.shared.provider.servers())
            .field("relay", &self.shared.relay.as_ref().map(Relay::addr))
            .field("session_id", &format_args!("{:#x}", state.session_id))
            .field("state", &state.current())
            .finish()
    }
}

impl ZkCoordinator {
    /// Opens the first session and starts supervising it. Must be called inside a tokio runtime.
    ///
    /// Fails with [`Error::InvalidConnectString`] or [`Error::InvalidArgument`] for bad options,
    /// [`Error::AuthFailed`] when the server refuses the credentials, and
    /// [`Error::NotConnected`] when no session opens within the connection timeout.
    pub async fn connect(options: ZkOptions) -> Result<ZkCoordinator, Error> {
        let parsed = options.validate()?;
        let seed = options.seed.unwrap_or_else(os_seed);
        let provider =
            (options.ensemble.clone()).unwrap_or_else(|| EnsembleProvider::fixed(&parsed));
        let relay = if options.ensemble.is_some() || options.track_ensemble {
            let relay = Relay::start(provider.clone(), options.connection_timeout, seed)
                .await
                .map_err(|err| {
                    tracing::error!(%err, "cannot start the ensemble relay");
                    Error::NotConnected
                })?;
            Some(relay)
        } else {
            None
        };
        let connect_string = match &relay {
            Some(relay) => format!("{}{}", relay.addr(), parsed.chroot().unwrap_or("")),
            None => parsed.to_string(),
        };
        let client = supervisor::open_session(&options, &connect_string).await?;
        let watcher = client.state_watcher();
        let shared = Arc::new(Shared::new(
            options,
            connect_string,
            provider,
            relay,
            seed,
            client,
        ));
        if shared.options.track_ensemble {
            tokio::spawn(tracker::track(
                Arc::downgrade(&shared),
                shared.shutdown.subscribe(),
            ));
        }
        let shutdown = shared.shutdown.subscribe();
        let abandoned = shared.abandoned.subscribe();
        tokio::spawn(supervisor::supervise(
            Arc::downgrade(&shared),
            shutdown,
            abandoned,
            watcher,
        ));
        Ok(ZkCoordinator { shared })
    }

    /// The options this coordinator was opened with.
    pub fn options(&self) -> &ZkOptions {
        &self.shared.options
    }

    /// Where this coordinator's servers come from (the given provider, or the connect string's
    /// servers followed by the ensemble tracker); watch it to see the list change.
    pub fn ensemble_provider(&self) -> EnsembleProvider {
        self.shared.provider.clone()
    }

    /// The last published session state.
    pub fn state(&self) -> SessionState {
        self.shared.lock().current()
    }
}

impl Coordinator for ZkCoordinator {
    fn submit(&self, op: Op) -> BoxFuture<'static, Result<Reply, Error>> {
        let state = self.shared.lock();
        match &state.client {
            Some(client) if !state.closed => {
                submit::submit(client, op, self.shared.abandoned.subscribe())
            }
            _ => futures::future::ready(Err(state.no_session_error())).boxed(),
        }
    }

    fn session_states(&self) -> BoxStream<'static, SessionState> {
        self.shared.lock().subscribe().boxed()
    }

    fn session_id(&self) -> i64 {
        self.shared.lock().session_id
    }

    fn session_timeout(&self) -> Duration {
        self.shared.lock().session_timeout
    }

    fn now(&self) -> Instant {
        Instant::from_epoch(tokio::time::Instant::now() - self.shared.started)
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        tokio::time::sleep_until(self.shared.started + deadline.since_epoch()).boxed()
    }

    fn unix_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        drop(self.shared.runtime.spawn(task));
    }

    fn seed(&self) -> u64 {
        self.shared.seed
    }

    /// Drops this handle's session: Expired is published and the supervisor opens a new
    /// session; ops still in flight on the old one end with [`Error::ConnectionLoss`] (their
    /// outcome is unknown) and its watches with an Expired event. Once nothing holds the old
    /// `zookeeper-client` handle it sends closeSession if its connection comes back; else the
    /// ensemble expires the session.
    fn abandon_session(&self) {
        {
            let mut state = self.shared.lock();
            if state.closed || state.client.take().is_none() {
                return;
            }
            state.publish(SessionState::Expired);
        }
        self.shared
            .abandoned
            .send_modify(|generation| *generation += 1);
    }

    fn close(&self) -> BoxFuture<'static, Result<(), Error>> {
        let client = {
            let mut state = self.shared.lock();
            if state.closed {
                return futures::future::ready(Ok(())).boxed();
            }
            state.closed = true;
            state.finish(SessionState::Closed);
            state.client.take()
        };
        self.shared.shutdown.send_replace(true);
        let Some(client) = client else {
            return futures::future::ready(Ok(())).boxed();
        };
        let limit = client.session_timeout();
        async move {
            let mut watcher = client.state_watcher();
            // Dropping the last handle makes the client send closeSession; in-flight ops keep
            // their own handles until they complete.
            drop(client);
            let closed = async { while !watcher.changed().await.is_terminated() {} };
            // A dead connection cannot carry the close: the server expires the session instead.
            let _ = tokio::time::timeout(limit, closed).await;
            Ok(())
        }
        .boxed()
    }
}

/// A seed from the operating system's randomness (std's hasher keys are drawn from it).
fn os_seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}
