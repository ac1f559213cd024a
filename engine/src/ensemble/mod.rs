//! Where the ensemble is: connect strings, and the sources that may change them while a client
//! runs (Curator's ensemble providers).
//!
//! - [`ConnectString`]: `host:port,…[/chroot]`, parsed up front into a typed error.
//! - [`EnsembleProvider`]: the servers a client connects to, which may change while it runs.
//! - [`exhibitor`]: Exhibitor's cluster list and Curator 4.x's polling rule, without I/O.
//! - [`config`]: ZooKeeper's dynamic configuration (`/zookeeper/config`), the source Curator
//!   5's `EnsembleTracker` follows.
//!
//! A provider only ever changes the servers; the chroot stays the one the client was given
//! ([`ConnectString::with_hosts`]).

pub mod config;
mod connect;
pub mod exhibitor;
mod provider;

pub use connect::{ConnectString, DEFAULT_PORT};
pub use provider::{EnsembleProvider, Servers};
