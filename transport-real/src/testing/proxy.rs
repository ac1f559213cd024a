//! [`ChaosProxy`]: a TCP proxy that makes partitions on demand.
//!
//! ```text
//!  client ──► proxy (127.0.0.1:random) ──► upstream server
//!
//!  heal()       forward both ways (the initial mode)
//!  cut()        close every connection; accept new ones and close them at once
//!  blackhole()  keep connections open but move no byte either way (bytes wait in the
//!               kernel, as during a real partition; heal() lets them through)
//!  delay(d)     forward each chunk d late (both ways); heal() resets it
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::TestingError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Control {
    /// Incremented by every `cut`; a connection from an older generation closes.
    generation: u64,
    cut: bool,
    blackhole: bool,
    delay: Duration,
}

/// A TCP proxy in front of one upstream address. Dropping it stops it and closes its
/// connections. Needs a tokio runtime.
#[derive(Debug)]
pub struct ChaosProxy {
    addr: SocketAddr,
    control: watch::Sender<Control>,
    acceptor: JoinHandle<()>,
}

impl ChaosProxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<ChaosProxy, TestingError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(TestingError::io("binding the proxy"))?;
        let addr = listener
            .local_addr()
            .map_err(TestingError::io("reading the proxy's address"))?;
        let (control, _) = watch::channel(Control::default());
        let acceptor = tokio::spawn(accept(listener, upstream, control.subscribe()));
        Ok(ChaosProxy {
            addr,
            control,
            acceptor,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:<port>` of the proxy, for a connect string.
    pub fn connect_string(&self) -> String {
        self.addr.to_string()
    }

    /// Closes every connection and refuses (accepts and closes) new ones until [`heal`](Self::heal).
    pub fn cut(&self) {
        self.control.send_modify(|c| {
            c.generation += 1;
            c.cut = true;
        });
    }

    /// Stops moving bytes, both ways, on every connection (new ones too) until [`heal`](Self::heal).
    pub fn blackhole(&self) {
        self.control.send_modify(|c| c.blackhole = true);
    }

    /// Delays every forwarded chunk by `delay`.
    pub fn delay(&self, delay: Duration) {
        self.control.send_modify(|c| c.delay = delay);
    }

    /// Back to plain forwarding: no cut, no blackhole, no delay.
    pub fn heal(&self) {
        self.control.send_modify(|c| {
            c.cut = false;
            c.blackhole = false;
            c.delay = Duration::ZERO;
        });
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        // Every connection watches the control channel and closes on a cut.
        self.cut();
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, control: watch::Receiver<Control>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let now = *control.borrow();
        if now.cut {
            drop(client);
            continue;
        }
        tokio::spawn(connection(
            client,
            upstream,
            now.generation,
            control.clone(),
        ));
    }
}

async fn connection(
    client: TcpStream,
    upstream: SocketAddr,
    generation: u64,
    mut control: watch::Receiver<Control>,
) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        _ = pump(client_read, server_write, control.clone()) => {}
        _ = pump(server_read, client_write, control.clone()) => {}
        _ = cut(&mut control, generation) => {}
    }
    // Every half is dropped here: both sockets close.
}

/// Resolves once a cut newer than `generation` happens (or the proxy is gone).
async fn cut(control: &mut watch::Receiver<Control>, generation: u64) {
    loop {
        if control.borrow_and_update().generation != generation {
            return;
        }
        if control.changed().await.is_err() {
            return;
        }
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut control: watch::Receiver<Control>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Move nothing while blackholed.
        while control.borrow_and_update().blackhole {
            if control.changed().await.is_err() {
                return;
            }
        }
        let n = tokio::select! {
            n = from.read(&mut buf) => match n {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            changed = control.changed() => {
                if changed.is_err() {
                    return;
                }
                continue;
            }
        };
        let delay = control.borrow().delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
