//! The two backends a scenario runs on: the embedded simulated ensemble and a real ZooKeeper
//! server. They differ only in how a session is opened and how the ensemble is made to expire
//! one; everything else a script does goes through `docent::Coordinator`.

use std::sync::Arc;
use std::time::Duration;

use docent::{AuthInfo, Coordinator, CreateMode, Op, OpResult, SessionState};
use docent_sim::model::Direction;
use docent_sim::model::SimConfig;
use docent_sim::{ClientOptions, EmbeddedEnsemble, Fault};
use docent_zk::testing::{ChaosProxy, ServerOptions, TestingServer};
use docent_zk::{ZkCoordinator, ZkOptions};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

/// How often both sides look for empty containers and expired TTL nodes.
pub const REAP_INTERVAL: Duration = Duration::from_millis(300);
/// The longest a script waits for anything (a watch, a reaping, an expiry).
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The session timeout of sessions a script will expire (the cut lasts longer than this).
const SHORT_SESSION: Duration = Duration::from_secs(2);
/// The real side's session timeout for every other session: long enough that a loaded
/// machine does not drop sessions by accident.
const LONG_SESSION: Duration = Duration::from_secs(20);

/// Which transport a session runs on, with what that transport needs to expire it.
pub enum Control {
    /// The embedded ensemble and the model's client id.
    Sim {
        ensemble: EmbeddedEnsemble,
        client: u32,
    },
    /// The proxy the session's connections go through.
    Real {
        proxy: ChaosProxy,
        server: Arc<TestingServer>,
    },
}

/// One session opened by a script.
pub struct Sess {
    /// The script's name for it (`a`, `b`, …), used for ephemeral owners.
    pub name: &'static str,
    /// The session.
    pub zk: Arc<dyn Coordinator>,
    control: Control,
}

/// What differs between the simulated and the real side.
pub trait Backend: Send + Sync {
    /// Opens a connected session, optionally with digest credentials. A session the script
    /// will [`expire`](Sess::expire) is `expirable` (on the real side: a short timeout).
    fn open(
        &self,
        name: &'static str,
        auth: Option<AuthInfo>,
        expirable: bool,
    ) -> BoxFuture<'_, Sess>;
}

/// The embedded simulated ensemble: one server (the real side is standalone too).
pub struct SimBackend {
    ensemble: EmbeddedEnsemble,
}

impl SimBackend {
    /// A fresh one-server ensemble with a short reaper interval and 500 ms ticks (so that
    /// sessions may be as short as the real side's).
    pub fn new() -> SimBackend {
        let mut config = SimConfig::new(1).servers(1);
        config.container_interval = REAP_INTERVAL;
        config.tick = Duration::from_millis(500);
        SimBackend {
            ensemble: EmbeddedEnsemble::with_config(config),
        }
    }
}

impl Backend for SimBackend {
    fn open(
        &self,
        name: &'static str,
        auth: Option<AuthInfo>,
        expirable: bool,
    ) -> BoxFuture<'_, Sess> {
        async move {
            let mut options = ClientOptions::default();
            if expirable {
                options = options.session_timeout(SHORT_SESSION);
            }
            if let Some(auth) = auth {
                options = options.auth(auth);
            }
            let session = self.ensemble.connect_with(options);
            session.wait_connected().await;
            let client = session.client_id().0;
            Sess {
                name,
                zk: session,
                control: Control::Sim {
                    ensemble: self.ensemble.clone(),
                    client,
                },
            }
        }
        .boxed()
    }
}

/// A real standalone ZooKeeper shared by every scenario of the run; each session goes
/// through its own chaos proxy.
pub struct RealBackend {
    server: Arc<TestingServer>,
}

impl RealBackend {
    /// Starts the server the whole run shares: extended types on (TTL nodes) and the
    /// container reaper at [`REAP_INTERVAL`].
    pub async fn start_server() -> Arc<TestingServer> {
        let options = ServerOptions {
            jvm_args: vec![format!(
                "-Dznode.container.checkIntervalMs={}",
                REAP_INTERVAL.as_millis()
            )],
            ..ServerOptions::default()
        };
        Arc::new(
            TestingServer::start_with(options)
                .await
                .expect("start ZooKeeper"),
        )
    }

    /// A backend on `server`.
    pub fn new(server: Arc<TestingServer>) -> RealBackend {
        RealBackend { server }
    }
}

impl Backend for RealBackend {
    fn open(
        &self,
        name: &'static str,
        auth: Option<AuthInfo>,
        expirable: bool,
    ) -> BoxFuture<'_, Sess> {
        async move {
            let proxy = ChaosProxy::start(self.server.addr())
                .await
                .expect("start proxy");
            let timeout = if expirable {
                SHORT_SESSION
            } else {
                LONG_SESSION
            };
            let mut options = ZkOptions::new(proxy.connect_string())
                .with_session_timeout(timeout)
                .with_connection_timeout(Duration::from_secs(10))
                .with_seed(7);
            if let Some(auth) = auth {
                options = options.with_auth(auth);
            }
            let zk = ZkCoordinator::connect(options).await.expect("connect");
            Sess {
                name,
                zk: Arc::new(zk),
                control: Control::Real {
                    proxy,
                    server: self.server.clone(),
                },
            }
        }
        .boxed()
    }
}

impl Sess {
    /// Makes the ensemble expire this session and waits until the client has seen
    /// [`SessionState::Expired`] and the transport has opened its next session. The session must
    /// have been opened `expirable`.
    ///
    /// Returns false when that did not happen within [`PATIENCE`].
    pub async fn expire(&self) -> bool {
        let old = self.zk.session_id();
        let mut states = self.zk.session_states();
        match &self.control {
            Control::Sim { ensemble, client } => {
                // As on the real side: the client is cut off until the ensemble has expired
                // the session, and learns of it when it reconnects.
                ensemble.inject(Fault::Partition {
                    client: *client,
                    server: None,
                    direction: Direction::Both,
                    duration: SHORT_SESSION * 2 + Duration::from_secs(1),
                });
                if !wait_expired(&mut states).await {
                    return false;
                }
            }
            Control::Real { proxy, server } => {
                // A marker ephemeral tells when the server (not only the client) has
                // expired the session.
                let marker = format!("/conformance-expiry-{old:x}");
                let create = Op::Create {
                    path: marker.clone(),
                    data: Vec::new(),
                    acl: docent::Acl::open(),
                    mode: CreateMode::Ephemeral,
                };
                if self.zk.submit(create).await.is_err() {
                    return false;
                }
                let observer = ZkCoordinator::connect(
                    ZkOptions::new(server.connect_string())
                        .with_session_timeout(LONG_SESSION)
                        .with_seed(7),
                )
                .await
                .expect("connect observer");
                proxy.cut();
                if !wait_expired(&mut states).await {
                    return false;
                }
                let gone = async {
                    loop {
                        let op = Op::Exists {
                            path: marker.clone(),
                            watch: false,
                        };
                        match observer.submit(op).await.map(|r| r.result) {
                            Ok(OpResult::Exists(None)) => return,
                            _ => tokio::time::sleep(Duration::from_millis(50)).await,
                        }
                    }
                };
                if tokio::time::timeout(PATIENCE, gone).await.is_err() {
                    return false;
                }
                proxy.heal();
            }
        }
        let reconnected = async {
            while let Some(state) = states.next().await {
                if let SessionState::Connected { session_id, .. } = state {
                    if session_id != old {
                        return true;
                    }
                }
            }
            false
        };
        tokio::time::timeout(PATIENCE, reconnected)
            .await
            .unwrap_or(false)
    }
}

/// Waits (at most [`PATIENCE`]) for [`SessionState::Expired`] on `states`.
async fn wait_expired(states: &mut futures::stream::BoxStream<'static, SessionState>) -> bool {
    let wait = async {
        while let Some(state) = states.next().await {
            if state == SessionState::Expired {
                return true;
            }
        }
        false
    };
    tokio::time::timeout(PATIENCE, wait).await.unwrap_or(false)
}
