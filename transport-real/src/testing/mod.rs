//! Test support: real ZooKeeper servers on loopback and a chaos proxy.
//!
//! * [`TestingServer`] — a standalone server (Curator's `TestingServer`).
//! * [`TestingCluster`] — an ensemble of servers (Curator's `TestingCluster`).
//! * [`ChaosProxy`] — a TCP proxy between client and server that can cut, blackhole and delay
//!   the connection, to make partitions and session expiry on demand.
//!
//! Servers run the installed ZooKeeper (`$ZOOKEEPER_HOME`, else the Debian package `zookeeper`;
//! `scripts/zookeeper-install` installs it) with `java` directly: their own `zoo.cfg`, free
//! loopback ports, a temporary data directory, and readiness by `ruok` → `imok` plus `srvr`
//! reporting a mode. Every server is killed by pid when its handle is dropped.
//!
//! ```no_run
//! use docent_zk::testing::TestingServer;
//! use docent_zk::{ZkCoordinator, ZkOptions};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = TestingServer::start().await?;
//! let zk = ZkCoordinator::connect(ZkOptions::new(server.connect_string())).await?;
//! # drop(zk);
//! # Ok(())
//! # }
//! ```

mod cluster;
mod install;
mod process;
mod proxy;
mod server;

pub use cluster::TestingCluster;
pub use install::Installation;
pub use proxy::ChaosProxy;
pub use server::{ServerOptions, TestingServer};

/// Why a test server could not be started or controlled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestingError {
    /// ZooKeeper's jars or `java` were not found.
    #[error(
        "ZooKeeper is not installed: {0} (run scripts/zookeeper-install, or set ZOOKEEPER_HOME)"
    )]
    NotInstalled(String),
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The server did not become ready in time; `log` holds the end of its output.
    #[error("ZooKeeper on port {port} not ready after {waited:?}; log tail:\n{log}")]
    NotReady {
        /// Its client port.
        port: u16,
        /// How long we waited.
        waited: std::time::Duration,
        /// The last lines of its log.
        log: String,
    },
    /// A member index out of range, or a similar caller mistake.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The ensemble refused or failed a `reconfig`.
    #[error("reconfig failed: {0}")]
    Reconfig(String),
}

impl TestingError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestingError {
        let what = what.into();
        move |source| TestingError::Io { what, source }
    }
}
