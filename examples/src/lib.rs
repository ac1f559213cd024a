//! Shared helpers of the docent examples, and the master–worker system the main demo runs.
//!
//! Every example runs on an in-process simulated ensemble ([`docent_sim::EmbeddedEnsemble`])
//! unless it is given `--zk HOST:PORT`, in which case it connects to a real ZooKeeper
//! ensemble through `docent-zk`. `--for SECS` makes a long-running example stop cleanly.
//! Every binary answers `--help`, and logs to stderr what `RUST_LOG` asks for
//! (`RUST_LOG=docent=debug` tells what each recipe did).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod cli;
pub mod discovery;
pub mod ensemble;
pub mod jobs;
pub mod leader;
pub mod locks;
pub mod master_worker;
pub mod shared;
pub mod shared_barriers;
pub mod shared_nodes;
pub mod shared_queue;

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

pub use cli::{init_logging, secs, ZkArg};
use docent::{Client, Error};
use docent_sim::EmbeddedEnsemble;

/// Where the example's sessions come from.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The in-process simulated ensemble.
    Embedded(EmbeddedEnsemble),
    /// A real ensemble at this connect string.
    Zk(String),
}

impl Backend {
    /// `--zk HOST:PORT` if given, else a new embedded ensemble of three servers. Call inside a
    /// tokio runtime.
    pub fn new(zk: &ZkArg) -> Backend {
        match &zk.zk {
            Some(connect) => Backend::Zk(connect.clone()),
            None => Backend::Embedded(EmbeddedEnsemble::start(3)),
        }
    }

    /// True for the in-process ensemble.
    pub fn is_embedded(&self) -> bool {
        matches!(self, Backend::Embedded(_))
    }

    /// A new session wrapped in a [`Client`].
    pub async fn client(&self) -> Result<Client, Error> {
        match self {
            Backend::Embedded(ensemble) => Client::builder(ensemble.connect()).build(),
            Backend::Zk(connect) => docent_zk::connect(connect).await,
        }
    }

    /// A short description for the first line of output.
    pub fn describe(&self) -> String {
        match self {
            Backend::Embedded(_) => "embedded ensemble (3 simulated servers)".to_owned(),
            Backend::Zk(connect) => format!("ZooKeeper at {connect}"),
        }
    }
}

/// The first non-loopback local IP address, as Curator's default instance address; falls back
/// to `127.0.0.1`.
///
/// It asks the OS which local address would route to a documentation-only address
/// (192.0.2.1, TEST-NET-1) by `connect`ing an unbound UDP socket: a UDP connect only picks
/// a route, it sends nothing, so no packet leaves the machine.
pub fn default_address() -> String {
    let probe = || -> std::io::Result<IpAddr> {
        let socket = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
        socket.connect((Ipv4Addr::new(192, 0, 2, 1), 9))?;
        Ok(socket.local_addr()?.ip())
    };
    match probe() {
        Ok(ip) if !ip.is_loopback() && !ip.is_unspecified() => ip.to_string(),
        _ => Ipv4Addr::LOCALHOST.to_string(),
    }
}

/// Sleeps on `client`'s clock (the transport's, so simulated time inside a simulation).
pub async fn sleep(client: &Client, duration: Duration) {
    client
        .coordinator()
        .sleep_until(client.now() + duration)
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_address_parses_as_an_ip() {
        let address = default_address();
        assert!(address.parse::<IpAddr>().is_ok(), "{address}");
    }
}
