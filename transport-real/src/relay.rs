//! The ensemble relay: how a session follows a server list that changes while it runs.
//!
//! `zookeeper-client` takes its servers once, when the session opens, and has no
//! `updateServerList`. So when the servers can change (an [`EnsembleProvider`] was given, or the
//! ensemble tracker is on), the client is pointed at a relay on a loopback port of this process
//! instead, and the relay forwards each connection to one of the provider's current servers:
//!
//! ```text
//!  zookeeper-client ──► relay (127.0.0.1:random) ──► a listed server (tried in random order)
//!
//!  the provider changes and the connection's server is still listed → it stays
//!  the connection's server is no longer listed → the relay closes the connection; the client
//!      reconnects (to the relay) with the same session, which goes to a listed server
//!  no listed server accepts a connection → the inbound connection is closed; the client
//!      retries as it would against a dead server
//! ```
//!
//! This is ZooKeeper's own `updateServerList` behaviour, and everything a reconnection carries
//! stays `zookeeper-client`'s: the session id and password, the last zxid seen (a server behind
//! it refuses the session), and the watches (re-sent with `setWatches`). The cost is one
//! loopback hop per request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::ensemble::EnsembleProvider;
use docent::rng::Rng;
use futures::StreamExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running relay; dropping it stops it and closes its connections.
#[derive(Debug)]
pub(crate) struct Relay {
    addr: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl Relay {
    /// Listens on a free loopback port. Each upstream connection attempt waits at most
    /// `connect_timeout`; `seed` orders the servers tried.
    pub(crate) async fn start(
        provider: EnsembleProvider,
        connect_timeout: Duration,
        seed: u64,
    ) -> std::io::Result<Relay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let rng = Arc::new(Mutex::new(Rng::new(seed, RELAY_STREAM)));
        let acceptor = tokio::spawn(accept(listener, provider, connect_timeout, rng));
        Ok(Relay { addr, acceptor })
    }

    /// `127.0.0.1:<port>`, the one server the client is given.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// The relay's own random stream of the coordinator's seed.
const RELAY_STREAM: u64 = 0x0072_656c_6179;

async fn accept(
    listener: TcpListener,
    provider: EnsembleProvider,
    connect_timeout: Duration,
    rng: Arc<Mutex<Rng>>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((inbound, _)) => {
                    let order = shuffled(&provider, &rng);
                    connections.spawn(forward(inbound, provider.clone(), order, connect_timeout));
                }
                Err(err) => {
                    tracing::warn!(%err, "ensemble relay: accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
}

/// The provider's servers in a random order (ZooKeeper's client shuffles its list too).
fn shuffled(provider: &EnsembleProvider, rng: &Mutex<Rng>) -> Vec<(String, u16)> {
    let mut servers = provider.servers();
    let mut rng = rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for i in (1..servers.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        servers.swap(i, j);
    }
    servers
}

/// Connects `inbound` to the first of `order` that accepts, and forwards until either side
/// closes or the server leaves the provider's list.
async fn forward(
    mut inbound: TcpStream,
    provider: EnsembleProvider,
    order: Vec<(String, u16)>,
    connect_timeout: Duration,
) {
    let mut upstream = None;
    for server in order {
        let connect = TcpStream::connect((server.0.as_str(), server.1));
        match tokio::time::timeout(connect_timeout, connect).await {
            Ok(Ok(stream)) => {
                upstream = Some((stream, server));
                break;
            }
            Ok(Err(err)) => tracing::debug!(%err, ?server, "ensemble relay: server refused"),
            Err(_) => tracing::debug!(?server, "ensemble relay: server did not answer"),
        }
    }
    let Some((mut upstream, server)) = upstream else {
        tracing::warn!("ensemble relay: no listed server accepts connections");
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let mut servers = provider.watch();
    let unlisted = async {
        while let Some(list) = servers.next().await {
            if !list.contains(&server) {
                tracing::info!(?server, "ensemble relay: server no longer listed; moving");
                return;
            }
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream) => {}
        () = unlisted => {}
    }
}
