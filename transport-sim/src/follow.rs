//! Sessions whose servers come from an [`EnsembleProvider`], and the ensemble tracker: the
//! simulated side of `docent-zk`'s provider relay and tracker, with the same behaviour.
//!
//! - [`follow`]: each time the provider's list changes, the client's server list becomes the
//!   simulated servers it names (ZooKeeper's `updateServerList`: a client whose server is
//!   still listed stays, otherwise it moves keeping its session).
//! - [`track`]: Curator 5's `EnsembleTracker`: `getConfig` with a watch on the live session,
//!   [`EnsembleConfig::parse`], `provider.track(client_hosts)` (a wildcard address becomes the
//!   server's host); again when the watch fires.
//! - [`poll_exhibitors`]: Curator 4.x's `ExhibitorEnsembleProvider` over the model's Exhibitor
//!   stand-in ([`Ensemble::exhibitor_answer`](crate::model::Ensemble::exhibitor_answer), whose
//!   answers the fault schedule sets), driven by the engine's [`ExhibitorPoller`], feeding a
//!   polled provider; the first poll is made at once (`pollForInitialEnsemble`).
//!
//! ```text
//!  track: getConfig(watch) ─ok─► data with client ports ─► provider.track(servers)
//!            ▲   │ failed: sleep (100 ms, doubling to 5 s)    empty / corrupt ─► nothing
//!            └───┴──────────────── the watch fires (or ends with the session) ◄┘
//! ```

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::{FutureExt, StreamExt};

use docent::ensemble::exhibitor::{ExhibitorPoller, Exhibitors, Polled};
use docent::ensemble::{ConnectString, EnsembleProvider, Servers};
use docent::framework::RetryPolicy;
use docent::rng::Rng;
use docent::{Coordinator, Error, OpResult, Watch};

use crate::driver::{Shared, SimSession};
use crate::harness::EnsembleSource;
use crate::model::{server_at, server_host, ClientId, ClientOptions, CLIENT_PORT};

/// How often a simulated Exhibitor provider polls.
const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Connects a client process whose servers come from `source` (initially every server of
/// `servers`): its session and, unless static, its provider.
pub(crate) fn connect(
    shared: &Arc<Shared>,
    options: ClientOptions,
    source: EnsembleSource,
    servers: usize,
) -> (SimSession, Option<EnsembleProvider>) {
    let hosts: Servers = (0..servers)
        .map(|s| (server_host(s), CLIENT_PORT))
        .collect();
    let all = ConnectString::from_servers(hosts).expect("simulated hosts are valid");
    match source {
        EnsembleSource::Static => (shared.connect(options), None),
        EnsembleSource::Tracker => {
            let provider = EnsembleProvider::fixed(&all);
            let session = shared.connect_following(options, provider.clone(), true);
            (session, Some(provider))
        }
        EnsembleSource::Exhibitor => {
            let provider = EnsembleProvider::polled(&all);
            let session = shared.connect_following(options, provider.clone(), false);
            let hosts = all.hosts().iter().map(|(host, _)| host.clone());
            let exhibitors = Exhibitors::new(hosts, 8080, &all.to_string())
                .expect("simulated Exhibitors are valid");
            let retry = RetryPolicy::n_times(2, Duration::from_millis(100));
            let poller = ExhibitorPoller::new(exhibitors, retry);
            let task = poll_exhibitors(
                Arc::downgrade(shared),
                session.clone(),
                poller,
                provider.clone(),
                POLL_INTERVAL,
            );
            shared.spawn(Some(session.client_id()), task.boxed());
            (session, Some(provider))
        }
    }
}

/// The simulated servers `servers` names, in order (hosts that are no simulated server are
/// left out: nothing answers there).
pub(crate) fn simulated(servers: &Servers) -> Vec<usize> {
    servers
        .iter()
        .filter_map(|(host, port)| server_at(host, *port))
        .collect()
}

/// Hands every change of `provider`'s list to `client`, until the run ends.
pub(crate) async fn follow(shared: Weak<Shared>, client: ClientId, provider: EnsembleProvider) {
    let mut changes = provider.watch();
    while let Some(servers) = changes.next().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let servers = simulated(&servers);
        shared.with(|sim, now| sim.update_server_list(now, client, servers));
    }
}

/// The ensemble tracker of `session`, feeding `provider`; ends when the session is closed.
pub(crate) async fn track(session: SimSession, provider: EnsembleProvider) {
    let mut pause = Duration::from_millis(100);
    loop {
        match session.get_config(true).await {
            Ok(reply) => {
                pause = Duration::from_millis(100);
                if let OpResult::Data { data, .. } = &reply.result {
                    apply(&provider, data);
                }
                if let Some(Watch::OneShot(fired)) = reply.watch {
                    fired.await;
                }
            }
            Err(Error::Closed) => return,
            // No session to read on: read again as soon as there is one (as Curator's tracker
            // does on RECONNECTED). A timer alone can keep missing short connected windows
            // and with them every reconfiguration (seed 1419 of the ensemble suite).
            Err(e) if e.is_retryable() => {
                session.wait_connected().await;
                let at = session.now() + Duration::from_millis(100);
                session.sleep_until(at).await;
            }
            Err(_) => {
                let at = session.now() + pause;
                session.sleep_until(at).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Polls the Exhibitors every `interval` for `session`'s process, setting `provider` to what
/// `poller` concludes (a corrupt answer keeps the last list).
pub(crate) async fn poll_exhibitors(
    shared: Weak<Shared>,
    session: SimSession,
    mut poller: ExhibitorPoller,
    provider: EnsembleProvider,
    interval: Duration,
) {
    let mut rng = Rng::new(session.seed(), 0xE8);
    loop {
        let started = session.now();
        let polled = loop {
            let Some(ask) = poller.ask(&mut rng) else {
                break poller.gave_up();
            };
            let Some(shared) = shared.upgrade() else {
                return;
            };
            match shared.with(|sim, _| sim.exhibitor_answer(&ask.host)) {
                Some(body) => break poller.answered(&ask, &body),
                None => {
                    let elapsed = session.now().saturating_since(started);
                    match poller.retry_delay(elapsed, &mut rng) {
                        Some(delay) => session.sleep_until(session.now() + delay).await,
                        None => break poller.gave_up(),
                    }
                }
            }
        };
        if let Polled::Servers(servers) | Polled::Backup(servers) = polled {
            if let Err(err) = provider.set(servers) {
                tracing::warn!(%err, "Exhibitor poll: ignoring the servers");
            }
        }
        session.sleep_until(session.now() + interval).await;
    }
}

/// Hands the configuration's client addresses to the provider.
fn apply(provider: &EnsembleProvider, data: &[u8]) {
    if let Err(err) = provider.track_config(data) {
        tracing::warn!(%err, "ensemble tracker: ignoring the configuration");
    }
}
