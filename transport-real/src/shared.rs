//! The state a [`ZkCoordinator`](crate::ZkCoordinator) shares with its session supervisor: the
//! current `zookeeper-client` session, the last published [`SessionState`] and the subscribers
//! of the session-state streams.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use docent::ensemble::EnsembleProvider;
use docent::{Error, SessionState};
use futures::channel::mpsc;
use zookeeper_client as zk;

use crate::options::ZkOptions;

/// Everything behind the coordinator's handle.
pub(crate) struct Shared {
    pub(crate) options: ZkOptions,
    /// The connect string sessions open on: the configured one in canonical form, or the
    /// ensemble relay's address with the configured chroot.
    pub(crate) connect_string: String,
    /// Where the servers come from.
    pub(crate) provider: EnsembleProvider,
    /// Forwards to the provider's servers, when they may change (kept alive here).
    pub(crate) relay: Option<crate::relay::Relay>,
    /// The clock's epoch.
    pub(crate) started: tokio::time::Instant,
    pub(crate) seed: u64,
    pub(crate) runtime: tokio::runtime::Handle,
    /// `true` once closed; dropping it (with the coordinator) also stops the supervisor.
    pub(crate) shutdown: tokio::sync::watch::Sender<bool>,
    /// Bumped when the session is abandoned: the supervisor opens a new one, and whatever is
    /// still in flight on the old one gives up (ops: ConnectionLoss; watches: Expired).
    pub(crate) abandoned: tokio::sync::watch::Sender<u64>,
    state: Mutex<State>,
}

/// The mutable part, under one lock so that submissions, session swaps and state publications
/// are seen in one order.
pub(crate) struct State {
    /// The live session; `None` while a new session is being opened after expiry.
    pub(crate) client: Option<zk::Client>,
    pub(crate) session_id: i64,
    pub(crate) session_timeout: Duration,
    current: SessionState,
    subscribers: Vec<mpsc::UnboundedSender<SessionState>>,
    pub(crate) closed: bool,
    /// A sticky failure (authentication) that ends the coordinator's usefulness.
    pub(crate) failure: Option<Error>,
}

impl Shared {
    /// A shared state whose first session is `client`.
    pub(crate) fn new(
        options: ZkOptions,
        connect_string: String,
        provider: EnsembleProvider,
        relay: Option<crate::relay::Relay>,
        seed: u64,
        client: zk::Client,
    ) -> Shared {
        let (shutdown, _) = tokio::sync::watch::channel(false);
        let (abandoned, _) = tokio::sync::watch::channel(0);
        let session_id = client.session_id().0;
        let session_timeout = client.session_timeout();
        let read_only = client.session().is_readonly();
        Shared {
            options,
            connect_string,
            provider,
            relay,
            started: tokio::time::Instant::now(),
            seed,
            runtime: tokio::runtime::Handle::current(),
            shutdown,
            abandoned,
            state: Mutex::new(State {
                client: Some(client),
                session_id,
                session_timeout,
                current: SessionState::Connected {
                    session_id,
                    timeout: session_timeout,
                    read_only,
                },
                subscribers: Vec::new(),
                closed: false,
                failure: None,
            }),
        }
    }

    /// Locks the state (a poisoned lock is still usable: every update is a plain assignment).
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    /// The last published state.
    pub(crate) fn current(&self) -> SessionState {
        self.current
    }

    /// Publishes `state` to every subscriber unless it is the state already published.
    pub(crate) fn publish(&mut self, state: SessionState) {
        if state == self.current {
            return;
        }
        tracing::debug!(?state, session_id = self.session_id, "session state");
        self.current = state;
        self.subscribers
            .retain(|subscriber| subscriber.unbounded_send(state).is_ok());
    }

    /// A new subscriber; its stream starts with the current state.
    pub(crate) fn subscribe(&mut self) -> mpsc::UnboundedReceiver<SessionState> {
        let (tx, rx) = mpsc::unbounded();
        // A fresh unbounded channel always accepts.
        let _ = tx.unbounded_send(self.current);
        self.subscribers.push(tx);
        rx
    }

    /// Installs a newly opened session and publishes it as connected.
    pub(crate) fn install(&mut self, client: zk::Client) {
        self.session_id = client.session_id().0;
        self.session_timeout = client.session_timeout();
        let read_only = client.session().is_readonly();
        self.client = Some(client);
        self.publish_connected(read_only);
    }

    /// Publishes the live session as connected.
    pub(crate) fn publish_connected(&mut self, read_only: bool) {
        self.publish(SessionState::Connected {
            session_id: self.session_id,
            timeout: self.session_timeout,
            read_only,
        });
    }

    /// Whether the live session was opened on a read-only server (a session local to it).
    pub(crate) fn read_only_session(&self) -> bool {
        self.client
            .as_ref()
            .is_some_and(|client| client.session().is_readonly())
    }

    /// Ends every stream (after a last state) and forgets the subscribers.
    pub(crate) fn finish(&mut self, last: SessionState) {
        self.publish(last);
        self.subscribers.clear();
    }

    /// The error an operation gets when there is no live session.
    pub(crate) fn no_session_error(&self) -> Error {
        if self.closed {
            Error::Closed
        } else if let Some(failure) = &self.failure {
            failure.clone()
        } else {
            Error::SessionExpired
        }
    }
}
