//! # docent-zk
//!
//! docent over a real ZooKeeper session: [`ZkCoordinator`] implements
//! [`docent::Coordinator`] with the `zookeeper-client` crate on tokio, and the [`testing`]
//! module starts real ZooKeeper servers on loopback (Curator users know them as
//! `TestingServer` / `TestingCluster`) and puts a [`ChaosProxy`](testing::ChaosProxy) between
//! client and server to make partitions and session expiry.
//!
//! Latency is lowest on a current-thread tokio runtime: a multi-thread runtime may wake an idle
//! worker on each hand-off between the caller, a recipe's driver and the session task (tens of
//! microseconds each on a VM).
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
#![warn(missing_docs, unreachable_pub)]

mod connect_string;
mod convert;
mod coordinator;
mod options;
mod shared;
mod submit;
mod supervisor;
pub mod testing;

pub use connect_string::{ConnectString, DEFAULT_PORT};
pub use coordinator::ZkCoordinator;
pub use options::ZkOptions;
