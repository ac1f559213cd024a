//! Finding ZooKeeper and java, and the small OS helpers the servers need (free ports, temporary
//! directories, four-letter-word commands).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::TestingError;

/// Where the installed ZooKeeper lives: the `java` to run and the class path of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The `java` executable (`$JAVA_HOME/bin/java`, else `java` from `PATH`).
    pub java: PathBuf,
    /// The server's class path.
    pub classpath: String,
}

/// Debian's jar; its manifest names every dependency.
const DEBIAN_JAR: &str = "/usr/share/java/zookeeper.jar";
/// Debian's lib folder as some releases lay it out.
const DEBIAN_LIB: &str = "/usr/share/zookeeper/lib";
/// A logging backend, so that the server's warnings reach its log file (optional).
const SLF4J_SIMPLE: &str = "/usr/share/java/slf4j-simple.jar";

impl Installation {
    /// Looks for ZooKeeper: `$ZOOKEEPER_HOME` (its `lib/` and top-level jars), then
    /// `/usr/share/zookeeper/lib`, then Debian's `/usr/share/java/zookeeper.jar`.
    pub fn find() -> Result<Installation, TestingError> {
        let java = match std::env::var_os("JAVA_HOME") {
            Some(home) if Path::new(&home).join("bin/java").exists() => {
                Path::new(&home).join("bin/java")
            }
            _ => PathBuf::from("java"),
        };
        let mut jars = Vec::new();
        if let Some(home) = std::env::var_os("ZOOKEEPER_HOME") {
            let home = PathBuf::from(home);
            jars.extend(jars_in(&home.join("lib")));
            jars.extend(jars_in(&home));
            if jars.is_empty() {
                return Err(TestingError::NotInstalled(format!(
                    "ZOOKEEPER_HOME={} holds no jars",
                    home.display()
                )));
            }
        } else {
            jars.extend(jars_in(Path::new(DEBIAN_LIB)));
            if jars.is_empty() && Path::new(DEBIAN_JAR).exists() {
                jars.push(PathBuf::from(DEBIAN_JAR));
                if Path::new(SLF4J_SIMPLE).exists() {
                    jars.push(PathBuf::from(SLF4J_SIMPLE));
                }
            }
        }
        if jars.is_empty() {
            return Err(TestingError::NotInstalled(format!(
                "neither {DEBIAN_LIB} nor {DEBIAN_JAR} exists"
            )));
        }
        let classpath = std::env::join_paths(&jars)
            .map_err(|e| TestingError::NotInstalled(format!("bad jar path: {e}")))?
            .to_string_lossy()
            .into_owned();
        Ok(Installation { java, classpath })
    }
}

fn jars_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut jars: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jar"))
        .collect();
    jars.sort();
    jars
}

/// A free TCP port on 127.0.0.1 (free when asked; another process may take it later).
pub(crate) fn free_port() -> Result<u16, TestingError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(TestingError::io("binding a free port"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(TestingError::io("reading a bound port"))
}

/// A directory under the system's temp dir, removed with everything in it on drop.
#[derive(Debug)]
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(label: &str) -> Result<TempDir, TestingError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "docent-zk-{label}-{}-{n}-{}",
            std::process::id(),
            free_port()?
        ));
        std::fs::create_dir_all(&path)
            .map_err(TestingError::io(format!("creating {}", path.display())))?;
        Ok(TempDir(path))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends a four-letter-word command (`ruok`, `srvr`, …) and returns the reply.
pub(crate) async fn four_letter_word(
    addr: std::net::SocketAddr,
    word: &str,
) -> std::io::Result<String> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(word.as_bytes()).await?;
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await?;
        Ok(reply)
    };
    tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}
