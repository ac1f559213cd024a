//! One ZooKeeper JVM: launched with `java` directly, watched by pid, killed on drop.

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::install::{four_letter_word, Installation};
use super::TestingError;

/// The server's main class (standalone and quorum alike: a config without `server.N` lines
/// runs standalone).
const MAIN_CLASS: &str = "org.apache.zookeeper.server.quorum.QuorumPeerMain";

/// A server process and how to (re)launch it.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    install: Installation,
    config: PathBuf,
    log: PathBuf,
    addr: SocketAddr,
    jvm_args: Vec<String>,
    child: Option<Child>,
}

impl ServerProcess {
    pub(crate) fn new(
        install: Installation,
        config: PathBuf,
        log: PathBuf,
        addr: SocketAddr,
        jvm_args: Vec<String>,
    ) -> ServerProcess {
        ServerProcess {
            install,
            config,
            log,
            addr,
            jvm_args,
            child: None,
        }
    }

    /// The client port.
    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The client address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The JVM's pid while it runs.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the JVM (no-op when it already runs); output goes to the log file.
    pub(crate) fn launch(&mut self) -> Result<(), TestingError> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(TestingError::io(format!("opening {}", self.log.display())))?;
        let log_err = log
            .try_clone()
            .map_err(TestingError::io("duplicating the log handle"))?;
        let child = Command::new(&self.install.java)
            .args(&self.jvm_args)
            .arg("-cp")
            .arg(&self.install.classpath)
            .arg(MAIN_CLASS)
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => TestingError::NotInstalled(format!(
                    "cannot run {}",
                    self.install.java.display()
                )),
                _ => TestingError::Io {
                    what: format!("starting {}", self.install.java.display()),
                    source: e,
                },
            })?;
        tracing::debug!(
            pid = child.id(),
            port = self.addr.port(),
            "ZooKeeper started"
        );
        self.child = Some(child);
        Ok(())
    }

    /// Waits until the server answers `ruok` with `imok` and `srvr` reports a mode (standalone,
    /// leader or follower), i.e. it serves clients.
    pub(crate) async fn wait_ready(&mut self, limit: Duration) -> Result<(), TestingError> {
        let started = tokio::time::Instant::now();
        loop {
            if let Some(child) = &mut self.child {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(self.not_ready(started.elapsed(), Some(status.to_string())));
                }
            }
            if self.child.is_none() {
                return Err(self.not_ready(started.elapsed(), Some("not running".into())));
            }
            let ok = matches!(four_letter_word(self.addr, "ruok").await, Ok(r) if r == "imok")
                && matches!(four_letter_word(self.addr, "srvr").await, Ok(r) if r.contains("Mode:"));
            if ok {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(self.not_ready(started.elapsed(), None));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn not_ready(&self, waited: Duration, exit: Option<String>) -> TestingError {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let mut log = lines[lines.len().saturating_sub(30)..].join("\n");
        if let Some(exit) = exit {
            log.push_str(&format!("\n(process: {exit})"));
        }
        TestingError::NotReady {
            port: self.addr.port(),
            waited,
            log,
        }
    }

    /// Kills the JVM with SIGKILL (a crash: no goodbye to clients) and reaps it.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the JVM with SIGTERM, waiting up to `grace` before SIGKILL.
    pub(crate) async fn stop(&mut self, grace: Duration) {
        let Some(child) = &mut self.child else {
            return;
        };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = tokio::time::Instant::now() + grace;
        while tokio::time::Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                self.child = None;
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.kill();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
