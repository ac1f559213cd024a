//! [`TestingServer`]: one standalone ZooKeeper on a free loopback port.

use std::path::Path;
use std::time::Duration;

use super::install::{free_port, Installation, TempDir};
use super::process::ServerProcess;
use super::TestingError;

/// How test servers are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerOptions {
    /// ZooKeeper's `tickTime`: the server's clock granularity; sessions may not be shorter than
    /// two ticks. Short ticks make expiry quick in tests.
    pub tick_time: Duration,
    /// `maxSessionTimeout` (the default would be 20 ticks).
    pub max_session_timeout: Duration,
    /// Runs with `-Dzookeeper.extendedTypesEnabled=true`, which TTL nodes need.
    pub extended_types: bool,
    /// Runs with `-Dreadonlymode.enabled=true` and `localSessionsEnabled=true`: a cluster member
    /// cut off from its quorum keeps serving reads to clients that allow read-only servers (its
    /// `srvr` says `Mode: read-only`).
    ///
    /// Since ZooKeeper 3.7 (ZOOKEEPER-3863/3864) a read-only server only accepts *local*
    /// sessions, hence the second setting: every new session starts local to its server and
    /// becomes global when it creates its first ephemeral node (`localSessionsUpgradingEnabled`).
    /// A local session cannot move to another server: losing its server expires it.
    pub read_only_mode: bool,
    /// Cluster members run with `reconfigEnabled=true`, their `server.N` lines carry the client
    /// address (so `/zookeeper/config` lists it, as the ensemble tracker needs) and ACL checks
    /// are off (`-Dzookeeper.skipACL=yes`) so that a test may `reconfig`
    /// ([`TestingCluster::reconfigure`](super::TestingCluster::reconfigure)).
    pub reconfig: bool,
    /// How long to wait for a (re)started server to serve.
    pub start_timeout: Duration,
    /// Extra JVM arguments, before the class path.
    pub jvm_args: Vec<String>,
}

impl Default for ServerOptions {
    /// A 200 ms tick, sessions up to 60 s, extended types on, read-only mode and reconfiguration
    /// off, 60 s to start.
    fn default() -> Self {
        ServerOptions {
            tick_time: Duration::from_millis(200),
            max_session_timeout: Duration::from_secs(60),
            extended_types: true,
            read_only_mode: false,
            reconfig: false,
            start_timeout: Duration::from_secs(60),
            jvm_args: Vec::new(),
        }
    }
}

impl ServerOptions {
    /// Sets [`read_only_mode`](Self::read_only_mode).
    ///
    /// ```
    /// let options = docent_zk::testing::ServerOptions::default().with_read_only_mode(true);
    /// assert!(options.read_only_mode);
    /// ```
    pub fn with_read_only_mode(mut self, enabled: bool) -> Self {
        self.read_only_mode = enabled;
        self
    }

    /// The JVM's arguments: small heap and quick start (these JVMs share small machines).
    pub(crate) fn all_jvm_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "-Xms32m",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            "-Dzookeeper.admin.enableServer=false",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        ]
        .map(String::from)
        .to_vec();
        if self.extended_types {
            args.push("-Dzookeeper.extendedTypesEnabled=true".into());
        }
        if self.read_only_mode {
            args.push("-Dreadonlymode.enabled=true".into());
        }
        if self.reconfig {
            args.push("-Dzookeeper.skipACL=yes".into());
        }
        args.extend(self.jvm_args.iter().cloned());
        args
    }

    /// The `zoo.cfg` lines every server gets.
    pub(crate) fn base_config(&self, data_dir: &Path, client: std::net::SocketAddr) -> String {
        let mut config = format!(
            "tickTime={tick}\n\
             initLimit=50\n\
             syncLimit=25\n\
             dataDir={dir}\n\
             clientPort={client_port}\n\
             clientPortAddress={client_host}\n\
             maxSessionTimeout={max}\n\
             maxClientCnxns=0\n\
             admin.enableServer=false\n\
             4lw.commands.whitelist=*\n\
             autopurge.purgeInterval=0\n",
            tick = self.tick_time.as_millis(),
            client_port = client.port(),
            client_host = client.ip(),
            dir = data_dir.display(),
            max = self.max_session_timeout.as_millis(),
        );
        if self.read_only_mode {
            config.push_str("localSessionsEnabled=true\nlocalSessionsUpgradingEnabled=true\n");
        }
        config
    }
}

/// A standalone ZooKeeper server for tests, killed by pid when dropped.
///
/// ```no_run
/// # async fn run() -> Result<(), docent_zk::testing::TestingError> {
/// let mut server = docent_zk::testing::TestingServer::start().await?;
/// println!("{}", server.connect_string()); // 127.0.0.1:<port>
/// server.kill();                            // a crash: sessions stay until they expire
/// server.restart().await?;                  // same port, same data
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct TestingServer {
    process: ServerProcess,
    options: ServerOptions,
    // Dropped after the process (fields drop in order), so the JVM dies before its files go.
    _dir: TempDir,
}

impl TestingServer {
    /// Starts a server with [`ServerOptions::default`].
    pub async fn start() -> Result<TestingServer, TestingError> {
        TestingServer::start_with(ServerOptions::default()).await
    }

    /// Starts a server with `options` and waits until it serves.
    pub async fn start_with(options: ServerOptions) -> Result<TestingServer, TestingError> {
        let install = Installation::find()?;
        let dir = TempDir::new("server")?;
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).map_err(TestingError::io("creating the data dir"))?;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let config = dir.path().join("zoo.cfg");
        std::fs::write(&config, options.base_config(&data, addr))
            .map_err(TestingError::io("writing zoo.cfg"))?;
        let process = ServerProcess::new(
            install,
            config,
            dir.path().join("server.log"),
            addr,
            options.all_jvm_args(),
        );
        let mut server = TestingServer {
            process,
            options,
            _dir: dir,
        };
        server.process.launch()?;
        server
            .process
            .wait_ready(server.options.start_timeout)
            .await?;
        Ok(server)
    }

    /// `127.0.0.1:<port>`.
    pub fn connect_string(&self) -> String {
        self.process.addr().to_string()
    }

    /// The client address, `127.0.0.1:<port>` (e.g. a [`ChaosProxy`](super::ChaosProxy)'s upstream).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.process.addr()
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.process.port()
    }

    /// The JVM's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// Kills the server with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Stops the server with SIGTERM (SIGKILL after 5 s).
    pub async fn stop(&mut self) {
        self.process.stop(Duration::from_secs(5)).await;
    }

    /// Starts the server again (after [`kill`](Self::kill) or [`stop`](Self::stop); a running
    /// server is killed first) on the same port with the same data, and waits until it serves.
    pub async fn restart(&mut self) -> Result<(), TestingError> {
        self.process.kill();
        self.process.launch()?;
        self.process.wait_ready(self.options.start_timeout).await
    }
}
