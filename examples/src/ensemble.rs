//! The `ensemble` example: a client whose servers come from an ensemble provider (Exhibitor, or
//! the ensemble's own configuration), printing what it follows.
//!
//! Lines, each flushed as printed:
//! - `ensemble CONNECTSTRING` each time the provider's servers change (the first value too),
//!   with the client's chroot;
//! - `connected session=0xHEX` each time a session is (re)connected;
//! - `expired` when a session is lost.
//!
//! Throughout, an ephemeral node `/ensemble-demo/ID` is kept present by a [`PersistentNode`].
//!
//! Without flags, [`walkthrough`] runs the Clojure guide's Exhibitor walk-through on the
//! embedded ensemble: a client follows a simulated Exhibitor while every server of the ensemble
//! is replaced by reconfiguration, and keeps its session and its node throughout.

use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;

use docent::ensemble::exhibitor::Exhibitors;
use docent::ensemble::{ConnectString, EnsembleProvider};
use docent::recipes::nodes::{NodeOptions, PersistentNode};
use docent::{Client, Coordinator, Error, SessionState};
use docent_sim::model::ClientOptions;
use docent_sim::{EmbeddedEnsemble, EnsembleSource, Fault};
use docent_zk::{ExhibitorEnsembleProvider, ExhibitorOptions, ZkCoordinator, ZkOptions};

use crate::leader::Out;
use crate::locks::print_line;

/// Where the servers come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Exhibitor's cluster list, polled (the Clojure guide's walk-through).
    Exhibitor {
        /// The Exhibitor hosts.
        hosts: Vec<String>,
        /// Their REST port.
        port: u16,
        /// The backup connection string (its chroot is the client's).
        backup: String,
        /// The delay between polls.
        poll: Duration,
    },
    /// A connect string followed by the ensemble tracker (`/zookeeper/config`).
    Tracked {
        /// The first servers (and the chroot).
        zk: String,
    },
}

/// The node this process keeps present.
pub fn demo_path(id: &str) -> String {
    format!("/ensemble-demo/{id}")
}

/// Runs the client for `run_for`, printing the lines above; returns once it has closed.
pub async fn run(source: Source, id: &str, run_for: Duration) -> Result<(), Error> {
    let (options, exhibitor) = match source {
        Source::Exhibitor {
            hosts,
            port,
            backup,
            poll,
        } => {
            let exhibitors = Exhibitors::new(hosts, port, &backup)?;
            let options = ExhibitorOptions::default().with_poll_interval(poll);
            let exhibitor = ExhibitorEnsembleProvider::new(exhibitors, options);
            exhibitor.poll_for_initial_ensemble().await;
            exhibitor.start();
            let options = ZkOptions::new(backup).with_ensemble_provider(exhibitor.provider());
            (options, Some(exhibitor))
        }
        Source::Tracked { zk } => (ZkOptions::new(zk).with_ensemble_tracker(true), None),
    };
    let chroot = options.validate()?;
    let coordinator = ZkCoordinator::connect(options).await?;
    let printing = tokio::spawn(print_changes(
        coordinator.ensemble_provider(),
        chroot,
        coordinator.session_states(),
        std::sync::Arc::new(print_line),
    ));
    let client = Client::builder(coordinator).build()?;
    let node = PersistentNode::start(
        &client,
        &demo_path(id),
        NodeOptions::default().data(id.as_bytes().to_vec()),
    )
    .await?;
    tokio::time::sleep(run_for).await;
    let closed = node.close().await;
    printing.abort();
    if let Some(exhibitor) = exhibitor {
        exhibitor.close();
    }
    client.close().await?;
    closed
}

/// Prints every change of the provider's servers and of the session.
async fn print_changes(
    provider: EnsembleProvider,
    chroot: ConnectString,
    mut states: BoxStream<'static, SessionState>,
    out: Out,
) {
    let mut servers = provider.watch();
    let print_servers = |list| {
        if let Ok(cs) = chroot.with_hosts(list) {
            out(format!("ensemble {cs}"));
        }
    };
    // The servers first, then the session on them.
    if let Some(first) = servers.next().await {
        print_servers(first);
    }
    loop {
        tokio::select! {
            Some(list) = servers.next() => print_servers(list),
            Some(state) = states.next() => match state {
                SessionState::Connected { session_id, .. } => {
                    out(format!("connected session={session_id:#x}"));
                }
                SessionState::Expired => out("expired".into()),
                _ => {}
            },
            else => return,
        }
    }
}

/// The walk-through on the embedded ensemble: a client follows a simulated Exhibitor (Curator
/// 4.x's polling of its cluster list) while servers zk4–zk6 replace zk1–zk3 one by one through
/// reconfiguration; it prints the lines above, and its session and its node survive.
pub async fn walkthrough(id: &str, out: Out) -> Result<(), Error> {
    const WAIT: Duration = Duration::from_secs(30);
    let ensemble = EmbeddedEnsemble::start(3);
    let (session, provider) =
        ensemble.connect_following(ClientOptions::default(), EnsembleSource::Exhibitor);
    let provider = provider.ok_or_else(|| Error::InvalidArgument("no provider".into()))?;
    let chroot = ConnectString::from_servers(provider.servers())?;
    let printing = tokio::spawn(print_changes(
        provider.clone(),
        chroot,
        session.session_states(),
        out.clone(),
    ));
    let client = Client::builder(session.clone()).build()?;
    let node = PersistentNode::start(
        &client,
        &demo_path(id),
        NodeOptions::default().data(id.as_bytes().to_vec()),
    )
    .await?;
    if !node.await_initial_create(WAIT).await? {
        return Err(Error::Timeout);
    }
    let first = session.session_id();
    let mut servers = provider.watch();
    for (joining, leaving) in [(3, 0), (4, 1), (5, 2)] {
        out(format!(
            "-- zk{} joins the ensemble, zk{} leaves it",
            joining + 1,
            leaving + 1
        ));
        ensemble.inject(Fault::Reconfig {
            joining: vec![joining],
            leaving: vec![leaving],
        });
        let (new, old) = (format!("zk{}", joining + 1), format!("zk{}", leaving + 1));
        let learnt = servers.wait_for(|list| {
            list.iter().any(|(host, _)| *host == new) && list.iter().all(|(host, _)| *host != old)
        });
        tokio::time::timeout(WAIT, learnt)
            .await
            .map_err(|_| Error::Timeout)?;
    }
    let present = client.exists().at(&demo_path(id)).await?.0.is_some();
    let same = session.session_id() == first;
    out(format!(
        "session {first:#x} kept: {same}; {} present: {present}",
        demo_path(id)
    ));
    node.close().await?;
    printing.abort();
    client.close().await
}
