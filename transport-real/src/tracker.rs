//! The ensemble tracker (Curator 5's `EnsembleTracker`): follows the ensemble's dynamic
//! configuration, `/zookeeper/config`, into the provider, so that a reconfigured ensemble
//! (servers added or removed with `reconfig`) reaches the client's server list.
//!
//! ```text
//!  loop: getConfig(watch) on the live session
//!          data with client ports ─► provider.track(servers)   (wildcard → the server's host)
//!          empty / no client ports ─► nothing (a static ensemble)
//!          corrupt                 ─► logged, nothing changes
//!        wait for the watch (or the next session) ─► again
//!  closed: the task ends and drops its watch
//! ```
//!
//! A provider that does not follow the tracker (an Exhibitor provider) ignores what it finds,
//! as in Curator.

use std::sync::Weak;
use std::time::Duration;

use docent::ensemble::EnsembleProvider;
use docent::SessionState;
use futures::StreamExt;
use tokio::sync::watch;

use crate::shared::Shared;

/// Runs until the coordinator is closed or dropped.
pub(crate) async fn track(shared: Weak<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut pause = Duration::from_millis(100);
    loop {
        let (client, provider) = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let state = shared.lock();
            if state.closed {
                return;
            }
            (state.client.clone(), shared.provider.clone())
        };
        let read = match &client {
            Some(client) => Some(client.get_and_watch_config().await),
            None => None,
        };
        drop(client);
        match read {
            Some(Ok((data, _, watcher))) => {
                pause = Duration::from_millis(100);
                apply(&provider, &data);
                tokio::select! {
                    _ = watcher.changed() => {}
                    _ = shutdown.changed() => return,
                }
            }
            failed => {
                if let Some(Err(err)) = failed {
                    tracing::debug!(%err, "ensemble tracker: cannot read the configuration");
                }
                // Read again at the next (re)connection, as Curator's tracker does on
                // RECONNECTED, or after the pause: a timer alone can keep missing short
                // connected windows, and with them every reconfiguration.
                let Some(mut states) = shared.upgrade().map(|s| s.lock().subscribe()) else {
                    return;
                };
                let _ = states.next().await; // the state as it is now
                let connected = async {
                    while let Some(state) = states.next().await {
                        if matches!(state, SessionState::Connected { .. }) {
                            return;
                        }
                    }
                    std::future::pending::<()>().await
                };
                tokio::select! {
                    () = connected => {}
                    () = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => return,
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Hands the configuration's client addresses to the provider.
fn apply(provider: &EnsembleProvider, data: &[u8]) {
    match provider.track_config(data) {
        Ok(true) => {
            tracing::info!(servers = ?provider.servers(), "ensemble tracker: servers changed")
        }
        Ok(false) => {}
        Err(err) => tracing::warn!(%err, "ensemble tracker: ignoring the configuration"),
    }
}
