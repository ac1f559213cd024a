//! The embedded ensemble: the model in-process on tokio, in real time, no ZooKeeper
//! installed. For examples, doc tests and users' unit tests.
//!
//! ```
//! use docent::{Acl, Coordinator, CreateMode, Op, OpResult};
//! use docent_sim::EmbeddedEnsemble;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let ensemble = EmbeddedEnsemble::start(3);
//! let zk = ensemble.connect();
//! let reply = zk
//!     .submit(Op::Create {
//!         path: "/hello".into(),
//!         data: b"world".to_vec(),
//!         acl: Acl::open(),
//!         mode: CreateMode::Persistent,
//!     })
//!     .await
//!     .unwrap();
//! assert!(matches!(reply.result, OpResult::Created { ref path, .. } if path == "/hello"));
//! # }
//! ```

use std::sync::Arc;
use std::time::Duration;

use docent::ensemble::EnsembleProvider;

use crate::driver::{Shared, SimSession};
use crate::harness::EnsembleSource;
use crate::model::{ClientOptions, Ensemble, Fault, SimConfig};
use crate::rt::Clock;

/// A simulated ensemble running in real time on the current tokio runtime.
#[derive(Clone)]
pub struct EmbeddedEnsemble {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EmbeddedEnsemble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedEnsemble").finish_non_exhaustive()
    }
}

impl EmbeddedEnsemble {
    /// Starts `servers` servers with default settings (seed 0). Call inside a tokio runtime.
    pub fn start(servers: usize) -> EmbeddedEnsemble {
        EmbeddedEnsemble::with_config(SimConfig::new(0).servers(servers))
    }

    /// Starts an ensemble with `config`. Call inside a tokio runtime.
    pub fn with_config(mut config: SimConfig) -> EmbeddedEnsemble {
        // The embedded ensemble runs in real time: its ctime/mtime start at today's date.
        #[allow(clippy::disallowed_methods)]
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        config.wall_epoch_ms = wall.as_millis() as i64;
        EmbeddedEnsemble {
            shared: Shared::start(Ensemble::new(config), Clock::tokio()),
        }
    }

    /// A new client with default options (10 s session timeout, any server).
    pub fn connect(&self) -> Arc<SimSession> {
        Arc::new(self.shared.connect(ClientOptions::default()))
    }

    /// A new client with `options` (session timeout, which servers, credentials).
    pub fn connect_with(&self, options: ClientOptions) -> Arc<SimSession> {
        Arc::new(self.shared.connect(options))
    }

    /// A new client whose servers come from `source` (Curator's ensemble tracker, or a
    /// simulated Exhibitor whose answers [`Fault::Exhibitor`] sets), and its provider (`None`
    /// for [`EnsembleSource::Static`]). Reconfigure the ensemble with [`Fault::Reconfig`].
    pub fn connect_following(
        &self,
        options: ClientOptions,
        source: EnsembleSource,
    ) -> (Arc<SimSession>, Option<EnsembleProvider>) {
        let servers = self.inspect(Ensemble::servers);
        let (session, provider) = crate::follow::connect(&self.shared, options, source, servers);
        (Arc::new(session), provider)
    }

    /// Injects `fault` now.
    pub fn inject(&self, fault: Fault) {
        self.shared.inject(fault);
    }

    /// Ground truth: runs `f` on the model (brought up to now).
    pub fn inspect<R>(&self, f: impl FnOnce(&Ensemble) -> R) -> R {
        self.shared.with(|sim, _| f(sim))
    }
}
