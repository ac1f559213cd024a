//! The chaos proxy on its own, in front of a tiny echo server.

use std::time::Duration;

use docent_zk::testing::ChaosProxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Sends `msg` and reads the echo, or `None` when nothing comes back within `limit` or the
/// connection closes.
async fn echo(stream: &mut TcpStream, msg: &[u8], limit: Duration) -> Option<Vec<u8>> {
    stream.write_all(msg).await.ok()?;
    let mut buf = vec![0u8; msg.len()];
    match tokio::time::timeout(limit, stream.read_exact(&mut buf)).await {
        Ok(Ok(_)) => Some(buf),
        _ => None,
    }
}

#[tokio::test]
async fn forwards_cuts_blackholes_and_heals() {
    let proxy = ChaosProxy::start(echo_server().await).await.unwrap();
    let mut a = TcpStream::connect(proxy.addr()).await.unwrap();
    let short = Duration::from_millis(300);
    assert_eq!(
        echo(&mut a, b"one", short).await.as_deref(),
        Some(&b"one"[..])
    );

    // Blackhole: the connection stays open, bytes wait; healing lets them through in order.
    proxy.blackhole();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(echo(&mut a, b"two", short).await, None);
    proxy.heal();
    let mut late = vec![0u8; 3];
    tokio::time::timeout(Duration::from_secs(5), a.read_exact(&mut late))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late, b"two");

    // Delay: still delivered.
    proxy.delay(Duration::from_millis(20));
    assert_eq!(
        echo(&mut a, b"three", Duration::from_secs(5))
            .await
            .as_deref(),
        Some(&b"three"[..])
    );

    // Cut: the open connection is closed and new ones are closed at once.
    proxy.cut();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), a.read_to_end(&mut rest)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "{closed:?}");
    let mut b = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(echo(&mut b, b"four", short).await, None);

    proxy.heal();
    let mut c = TcpStream::connect(proxy.addr()).await.unwrap();
    assert_eq!(
        echo(&mut c, b"five", short).await.as_deref(),
        Some(&b"five"[..])
    );
}
