//! What a [`ZkCoordinator`](crate::ZkCoordinator) needs to know to open sessions.

use std::time::Duration;

use docent::{AuthInfo, Error};

use docent::ensemble::{ConnectString, EnsembleProvider};

/// Options for [`ZkCoordinator::connect`](crate::ZkCoordinator::connect).
///
/// ```
/// use std::time::Duration;
/// use docent::AuthInfo;
/// use docent_zk::ZkOptions;
///
/// let options = ZkOptions::new("zk1:2181,zk2:2181/app")
///     .with_session_timeout(Duration::from_secs(10))
///     .with_auth(AuthInfo::digest("alice", "secret"));
/// assert_eq!(options.session_timeout, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkOptions {
    /// `host:port[,host:port...][/chroot]`. With an [`ensemble`](ZkOptions::ensemble)
    /// provider only its chroot counts, and it may be just `/chroot` or empty.
    pub connect_string: String,
    /// The session timeout to ask for (the server clamps it to its own bounds).
    pub session_timeout: Duration,
    /// How long [`connect`](crate::ZkCoordinator::connect) waits for the first session, and the
    /// timeout of each connection attempt.
    pub connection_timeout: Duration,
    /// Credentials sent on every connection (`addAuthInfo`), e.g. [`AuthInfo::digest`].
    pub auth: Vec<AuthInfo>,
    /// Accept read-only servers: a server cut off from its quorum then serves reads, and the
    /// engine reports [`SessionState::Connected`](docent::SessionState::Connected) with
    /// `read_only: true` (Curator's READ_ONLY); writes fail with
    /// [`Error::NotReadOnly`](docent::Error::NotReadOnly).
    ///
    /// The servers must run with `-Dreadonlymode.enabled=true` and, since ZooKeeper 3.7,
    /// `localSessionsEnabled=true` (a read-only server only accepts local sessions; see
    /// [`ServerOptions::read_only_mode`](crate::testing::ServerOptions::read_only_mode)).
    /// A read-write session is never downgraded: when the quorum is lost it expires first, then
    /// a read-only session opens. A read-only session lasts as long as its connection: when the
    /// client finds a read-write server again (or loses its server), that session ends
    /// (expired) and a new one opens.
    pub read_only: bool,
    /// The engine's seed; `None` draws one from the operating system.
    pub seed: Option<u64>,
    /// Where the servers come from while the client runs; `None`: the connect string's servers
    /// ([`EnsembleProvider::fixed`]). The connect string's chroot always applies.
    pub ensemble: Option<EnsembleProvider>,
    /// Follow the ensemble's own configuration (`/zookeeper/config`, ZooKeeper 3.5+) into a
    /// provider that accepts it (Curator's `EnsembleTracker`).
    ///
    /// **Off by default, unlike Curator.** Following a changing server list routes the
    /// session through an in-process relay (see the crate docs: `zookeeper-client` has no
    /// `updateServerList`), which costs one loopback hop per request: on the floor bench
    /// (`cargo bench -p docent-zk --bench floor`) the median `exists` round trip went from
    /// 212 to 256 µs on a loaded 2-core machine. Turn it on for ensembles that are
    /// reconfigured while clients run; an [`ensemble`](ZkOptions::ensemble) provider turns
    /// the relay on by itself.
    pub track_ensemble: bool,
}

impl Default for ZkOptions {
    /// `127.0.0.1:2181`, a 40 s session timeout (the Clojure `curator` guide's default; Curator's
    /// is 60 s), a 15 s connection timeout (Curator's default).
    fn default() -> Self {
        ZkOptions {
            connect_string: "127.0.0.1:2181".into(),
            session_timeout: Duration::from_secs(40),
            connection_timeout: Duration::from_secs(15),
            auth: Vec::new(),
            read_only: false,
            seed: None,
            ensemble: None,
            track_ensemble: false,
        }
    }
}

impl ZkOptions {
    /// Default options for `connect_string`.
    pub fn new(connect_string: impl Into<String>) -> Self {
        ZkOptions {
            connect_string: connect_string.into(),
            ..ZkOptions::default()
        }
    }

    /// Sets the requested session timeout.
    pub fn with_session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// Sets the connection timeout.
    pub fn with_connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Adds credentials.
    pub fn with_auth(mut self, auth: AuthInfo) -> Self {
        self.auth.push(auth);
        self
    }

    /// Allows read-only servers.
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Fixes the engine's seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Takes the servers from `provider` (an Exhibitor poller's, or one shared by several
    /// clients) instead of the connect string; the connect string still gives the chroot.
    pub fn with_ensemble_provider(mut self, provider: EnsembleProvider) -> Self {
        self.ensemble = Some(provider);
        self
    }

    /// Turns the ensemble tracker on or off.
    pub fn with_ensemble_tracker(mut self, track: bool) -> Self {
        self.track_ensemble = track;
        self
    }

    /// Checks the options and parses the connect string.
    pub fn validate(&self) -> Result<ConnectString, Error> {
        let parsed = match &self.ensemble {
            Some(provider) => {
                ConnectString::for_provider(&self.connect_string, provider.servers())?
            }
            None => ConnectString::parse(&self.connect_string)?,
        };
        if self.session_timeout.is_zero() || self.session_timeout.as_millis() > i32::MAX as u128 {
            return Err(Error::InvalidArgument(format!(
                "session timeout {:?} out of range",
                self.session_timeout
            )));
        }
        if self.connection_timeout.is_zero() {
            return Err(Error::InvalidArgument(
                "connection timeout must be positive".into(),
            ));
        }
        if let Some(auth) = self.auth.iter().find(|a| a.scheme.is_empty()) {
            return Err(Error::InvalidArgument(format!(
                "auth with an empty scheme: {auth:?}"
            )));
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(ZkOptions::new("a:1/x").validate().is_ok());
        assert!(matches!(
            ZkOptions::new("a:x").validate(),
            Err(Error::InvalidConnectString { .. })
        ));
        assert!(matches!(
            ZkOptions::new("a:1")
                .with_session_timeout(Duration::ZERO)
                .validate(),
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            ZkOptions::new("a:1")
                .with_connection_timeout(Duration::ZERO)
                .validate(),
            Err(Error::InvalidArgument(_))
        ));
    }
}
