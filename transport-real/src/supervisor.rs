//! The session supervisor: follows the live session's states and, when the ensemble expires it,
//! opens a new session transparently.
//!
//! ```text
//!  connect ──► Connected(id) ◄──── reconnected ────┐
//!                  │ connection lost                │
//!                  ▼                                │
//!             Disconnected ─────────────────────────┘
//!                  │ expired (said by the ensemble, or no server for the session timeout)
//!                  ▼
//!               Expired ──► (ops fail with SessionExpired) ──► new session: Connected(id')
//! ```
//!
//! `zookeeper-client` reports states through a watch channel, which keeps only the latest
//! value: a disconnection shorter than the supervisor's reaction (microseconds) may be seen as
//! no change at all. The session id tells whether the session survived.
//!
//! Read-only sessions (opened on a server cut off from its quorum, with
//! [`ZkOptions::read_only`]) are local to that server. `zookeeper-client` never resumes one:
//! when its connection drops, or when the client finds a read-write server (it keeps probing
//! with `isro`), it asks for a brand-new session and does not say which id it got. So a
//! read-only session is over as soon as it leaves `ConnectedReadOnly`: the supervisor treats that
//! as expiry and opens a new session itself, whose id it knows. An existing read-write session
//! is never downgraded (by `zookeeper-client`, and since ZooKeeper 3.7 by the server too): while
//! the quorum is lost it stays disconnected until it expires, then a read-only session opens.

use std::sync::Weak;
use std::time::Duration;

use docent::{Error, SessionState};
use tokio::sync::watch;
use zookeeper_client as zk;

use crate::options::ZkOptions;
use crate::shared::Shared;

/// Opens a new session, waiting at most the connection timeout.
pub(crate) async fn open_session(
    options: &ZkOptions,
    connect_string: &str,
) -> Result<zk::Client, Error> {
    let mut connector = zk::Client::connector()
        .with_session_timeout(options.session_timeout)
        .with_connection_timeout(options.connection_timeout)
        .with_readonly(options.read_only);
    for auth in &options.auth {
        connector = connector.with_auth(&auth.scheme, &auth.auth);
    }
    match tokio::time::timeout(
        options.connection_timeout,
        connector.connect(connect_string),
    )
    .await
    {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(zk::Error::AuthFailed)) => Err(Error::AuthFailed),
        Ok(Err(err)) => {
            tracing::warn!(%err, connect_string, "cannot open a ZooKeeper session");
            Err(Error::NotConnected)
        }
        Err(_) => {
            tracing::warn!(
                connect_string,
                "no ZooKeeper session within the connection timeout"
            );
            Err(Error::NotConnected)
        }
    }
}

/// Runs until the coordinator is closed or dropped.
pub(crate) async fn supervise(
    shared: Weak<Shared>,
    mut shutdown: watch::Receiver<bool>,
    mut abandoned: watch::Receiver<u64>,
    mut watcher: zk::StateWatcher,
) {
    loop {
        if !follow(&shared, &mut shutdown, &mut abandoned, &mut watcher).await {
            return;
        }
        match reopen(&shared, &mut shutdown).await {
            Some(next) => watcher = next,
            None => return,
        }
    }
}

/// Publishes the live session's states; `true` when it expired or was abandoned (a new one is
/// wanted).
async fn follow(
    shared: &Weak<Shared>,
    shutdown: &mut watch::Receiver<bool>,
    abandoned: &mut watch::Receiver<u64>,
    watcher: &mut zk::StateWatcher,
) -> bool {
    let mut next = watcher.state();
    loop {
        let Some(shared) = shared.upgrade() else {
            return false;
        };
        {
            let mut state = shared.lock();
            if state.closed {
                return false;
            }
            let read_only = state.read_only_session();
            match next {
                zk::SessionState::ConnectedReadOnly => state.publish_connected(true),
                zk::SessionState::SyncConnected if !read_only => state.publish_connected(false),
                zk::SessionState::Disconnected if !read_only => {
                    state.publish(SessionState::Disconnected)
                }
                zk::SessionState::AuthFailed => {
                    state.client = None;
                    state.failure = Some(Error::AuthFailed);
                    state.finish(SessionState::AuthFailed);
                    return false;
                }
                // Closed without our asking (the client gave up on every server): as good as
                // expired for the engine. A read-only session that lost its server is over too
                // (see the module docs).
                zk::SessionState::Expired
                | zk::SessionState::Closed
                | zk::SessionState::SyncConnected
                | zk::SessionState::Disconnected => {
                    state.client = None;
                    state.publish(SessionState::Expired);
                    return true;
                }
            }
        }
        drop(shared);
        next = tokio::select! {
            state = watcher.changed() => state,
            _ = shutdown.changed() => return false,
            // The coordinator dropped the session (and published Expired).
            Ok(()) = abandoned.changed() => return true,
        };
    }
}

/// Opens sessions until one succeeds; `None` when the coordinator goes away first.
async fn reopen(
    shared: &Weak<Shared>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<zk::StateWatcher> {
    let mut pause = Duration::from_millis(50);
    loop {
        let (options, connect_string) = {
            let shared = shared.upgrade()?;
            let options = shared.options.clone();
            let connect_string = shared.connect_string.clone();
            (options, connect_string)
        };
        let opened = tokio::select! {
            opened = open_session(&options, &connect_string) => opened,
            _ = shutdown.changed() => return None,
        };
        match opened {
            Ok(client) => {
                let shared = shared.upgrade()?;
                let mut state = shared.lock();
                if state.closed {
                    return None;
                }
                let watcher = client.state_watcher();
                state.install(client);
                return Some(watcher);
            }
            Err(Error::AuthFailed) => {
                let shared = shared.upgrade()?;
                let mut state = shared.lock();
                state.failure = Some(Error::AuthFailed);
                state.finish(SessionState::AuthFailed);
                return None;
            }
            Err(_) => {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => return None,
                }
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}
