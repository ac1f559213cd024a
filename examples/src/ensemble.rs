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

use std::time::Duration;

use futures::StreamExt;

use docent::ensemble::exhibitor::Exhibitors;
use docent::ensemble::{ConnectString, EnsembleProvider};
use docent::recipes::nodes::{NodeOptions, PersistentNode};
use docent::{Client, Coordinator, Error, SessionState};
use docent_zk::{ExhibitorEnsembleProvider, ExhibitorOptions, ZkCoordinator, ZkOptions};

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
        coordinator.clone(),
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
async fn print_changes(provider: EnsembleProvider, chroot: ConnectString, zk: ZkCoordinator) {
    let mut servers = provider.watch();
    let mut states = zk.session_states();
    let print_servers = |list| {
        if let Ok(cs) = chroot.with_hosts(list) {
            print_line(format!("ensemble {cs}"));
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
                    print_line(format!("connected session={session_id:#x}"));
                }
                SessionState::Expired => print_line("expired".into()),
                _ => {}
            },
            else => return,
        }
    }
}
