//! Helpers shared by the integration tests: one ZooKeeper per test binary, shared by the tests
//! that run at the same time and killed when the last of them is done.
#![allow(dead_code)]

use std::sync::{Arc, Weak};
use std::time::Duration;

use docent::{Acl, Coordinator, CreateMode, Error, Op, OpResult, Reply, SessionState};
use docent_zk::testing::TestingServer;
use docent_zk::{ZkCoordinator, ZkOptions};
use futures::StreamExt;

static SHARED: tokio::sync::Mutex<Weak<TestingServer>> = tokio::sync::Mutex::const_new(Weak::new());

/// The binary's shared server (started on first use, again if every user has dropped it).
pub async fn shared_server() -> Arc<TestingServer> {
    let mut slot = SHARED.lock().await;
    if let Some(server) = slot.upgrade() {
        return server;
    }
    let server = Arc::new(TestingServer::start().await.expect("start ZooKeeper"));
    *slot = Arc::downgrade(&server);
    server
}

/// Options with short timeouts for tests; each call a seed of its own (every client's protected
/// create ids differ, as with real random ids), the same sequence in every run.
pub fn options(connect_string: impl Into<String>) -> ZkOptions {
    static NEXT_SEED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(7);
    let seed = NEXT_SEED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ZkOptions::new(connect_string)
        .with_session_timeout(Duration::from_secs(4))
        .with_connection_timeout(Duration::from_secs(5))
        .with_seed(seed)
}

pub async fn connect(connect_string: impl Into<String>) -> ZkCoordinator {
    ZkCoordinator::connect(options(connect_string))
        .await
        .expect("connect")
}

pub async fn run(zk: &ZkCoordinator, op: Op) -> Result<OpResult, Error> {
    zk.submit(op).await.map(|reply| reply.result)
}

pub fn create_op(path: &str, data: &[u8], mode: CreateMode) -> Op {
    Op::Create {
        path: path.into(),
        data: data.to_vec(),
        acl: Acl::open(),
        mode,
    }
}

/// Creates a node and returns its path.
pub async fn create(
    zk: &ZkCoordinator,
    path: &str,
    data: &[u8],
    mode: CreateMode,
) -> Result<String, Error> {
    match run(zk, create_op(path, data, mode)).await? {
        OpResult::Created { path, .. } => Ok(path),
        other => panic!("create returned {other:?}"),
    }
}

pub async fn get_data(zk: &ZkCoordinator, path: &str) -> Result<Vec<u8>, Error> {
    match run(
        zk,
        Op::GetData {
            path: path.into(),
            watch: false,
        },
    )
    .await?
    {
        OpResult::Data { data, .. } => Ok(data),
        other => panic!("getData returned {other:?}"),
    }
}

pub async fn children(zk: &ZkCoordinator, path: &str) -> Result<Vec<String>, Error> {
    match run(
        zk,
        Op::GetChildren {
            path: path.into(),
            watch: false,
        },
    )
    .await?
    {
        OpResult::Children { mut children, .. } => {
            children.sort();
            Ok(children)
        }
        other => panic!("getChildren returned {other:?}"),
    }
}

pub async fn exists(zk: &ZkCoordinator, path: &str) -> bool {
    match run(
        zk,
        Op::Exists {
            path: path.into(),
            watch: false,
        },
    )
    .await
    {
        Ok(OpResult::Exists(stat)) => stat.is_some(),
        other => panic!("exists returned {other:?}"),
    }
}

/// A reply's one-shot watch.
pub fn one_shot(reply: Reply) -> futures::future::BoxFuture<'static, docent::WatchedEvent> {
    match reply.watch {
        Some(docent::Watch::OneShot(f)) => f,
        other => panic!("expected a one-shot watch, got {other:?}"),
    }
}

/// Waits (at most `limit`) for the next state on `states` that matches `want`, returning
/// every state seen on the way (the matching one last).
pub async fn states_until(
    states: &mut futures::stream::BoxStream<'static, SessionState>,
    limit: Duration,
    want: impl Fn(&SessionState) -> bool,
) -> Vec<SessionState> {
    let mut seen = Vec::new();
    let wait = async {
        while let Some(state) = states.next().await {
            let done = want(&state);
            seen.push(state);
            if done {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(limit, wait).await;
    seen
}

pub async fn within<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, f).await.expect("timed out")
}

/// `name` is Curator's protected lock node name: `_c_<uuid>-<marker><10 digits>`.
pub fn protected_name(name: &str, marker: &str) -> bool {
    name.len() == 40 + marker.len() + 10
        && name.starts_with("_c_")
        && name.as_bytes()[39] == b'-'
        && name[3..39]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-')
        && name[40..].starts_with(marker)
        && name[40 + marker.len()..]
            .bytes()
            .all(|b| b.is_ascii_digit())
}
