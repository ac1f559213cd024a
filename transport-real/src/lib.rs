//! # docent-zk
//!
//! docent over a real ZooKeeper session. Connect in one line:
//!
//! ```no_run
//! # async fn run() -> Result<(), docent::Error> {
//! let client: docent::Client = docent_zk::connect("zk1:2181,zk2:2181/app").await?;
//! # Ok(())
//! # }
//! ```
//!
//! or with options for the session ([`ZkOptions`]) and for the client
//! ([`ClientOptions`]: namespace, retry and error policies) with
//! [`connect_with`]. Underneath, [`ZkCoordinator`] implements
//! [`docent::Coordinator`] with the `zookeeper-client` crate on tokio, and the [`testing`]
//! module starts real ZooKeeper servers on loopback (Curator users know them as
//! `TestingServer` / `TestingCluster`) and puts a [`ChaosProxy`](testing::ChaosProxy) between
//! client and server to make partitions and session expiry.
//!
//! Latency is lowest on a current-thread tokio runtime: a multi-thread runtime may wake an idle
//! worker on each hand-off between the caller, a recipe's driver and the session task (tens of
//! microseconds each on a VM).
//!
//! ## Ensembles that change
//! A session normally keeps the servers of its connect string. To follow an ensemble whose
//! servers are replaced while clients run, give it an
//! [`EnsembleProvider`](docent::ensemble::EnsembleProvider)
//! ([`ZkOptions::with_ensemble_provider`], e.g. an [`ExhibitorEnsembleProvider`]) or turn on the
//! ensemble tracker ([`ZkOptions::with_ensemble_tracker`], which follows `/zookeeper/config`).
//! `zookeeper-client` has no `updateServerList`, so such a session connects through a relay on
//! a loopback port of this process that forwards to a listed server and closes the connection
//! when its server leaves the list; `zookeeper-client` then reconnects with the same session
//! (its id and password, last zxid and watches). That costs one loopback hop per request,
//! which is why the tracker is off by default here (Curator turns it on).
//!
//! ```no_run
//! use std::time::Duration;
//! use docent::{Acl, Coordinator, CreateMode, Op, OpResult};
//! use docent_zk::{ZkCoordinator, ZkOptions};
//!
//! # async fn run() -> Result<(), docent::Error> {
//! let zk = ZkCoordinator::connect(
//!     ZkOptions::new("127.0.0.1:2181/app").with_session_timeout(Duration::from_secs(10)),
//! )
//! .await?;
//! // Both ops are on the wire before the first await: ZooKeeper applies them in this order.
//! let create = zk.submit(Op::Create {
//!     path: "/jobs-".into(),
//!     data: b"hello".to_vec(),
//!     acl: Acl::open(),
//!     mode: CreateMode::PersistentSequential,
//! });
//! let list = zk.submit(Op::GetChildren { path: "/".into(), watch: false });
//! if let OpResult::Created { path, .. } = create.await?.result {
//!     println!("created {path}");
//! }
//! println!("{:?}", list.await?.result);
//! zk.close().await?;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod convert;
mod coordinator;
mod exhibitor;
mod options;
mod relay;
mod shared;
mod submit;
mod supervisor;
pub mod testing;
mod tracker;

pub use coordinator::ZkCoordinator;
pub use docent::ensemble::{ConnectString, DEFAULT_PORT};
pub use exhibitor::{ExhibitorEnsembleProvider, ExhibitorOptions};
pub use options::ZkOptions;

use docent::{Client, ClientOptions, Error};

/// Opens a session on `connect_string` (`host:port[,host:port...][/chroot]`) with default
/// options and returns a [`Client`] over it. Must be called inside a tokio runtime.
///
/// Fails with [`Error::InvalidConnectString`] for a malformed string (before connecting),
/// [`Error::NotConnected`] when no session opens within the connection timeout (15 s).
pub async fn connect(connect_string: &str) -> Result<Client, Error> {
    connect_with(ZkOptions::new(connect_string), ClientOptions::default()).await
}

/// Opens a session with `zk`'s options and returns a [`Client`] with `client`'s; see
/// [`ZkCoordinator::connect`] for the errors.
pub async fn connect_with(zk: ZkOptions, client: ClientOptions) -> Result<Client, Error> {
    // Both sets of options are checked before anything connects.
    zk.validate()?;
    client.validate()?;
    let coordinator = ZkCoordinator::connect(zk).await?;
    Client::builder(coordinator).options(client).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn malformed_connect_strings_are_typed_errors() {
        for bad in [
            "",
            "zk1:x",
            "zk1:2181,",
            "[::1",
            "zk1:2181/app/",
            "zk1:99999",
        ] {
            match connect(bad).await {
                Err(Error::InvalidConnectString { input, .. }) => assert_eq!(input, bad),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        let bad_namespace = ClientOptions::default().with_namespace("a//b");
        assert!(matches!(
            connect_with(ZkOptions::new("zk1:2181"), bad_namespace).await,
            Err(Error::InvalidPath { .. })
        ));
    }
}
