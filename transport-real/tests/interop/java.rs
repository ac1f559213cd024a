//! Java Curator programs for the interop test and the recipe benchmark: compiled with `javac`
//! against Debian's jars into a temporary directory, run as child processes that talk in lines
//! over stdin/stdout, and killed when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

/// The jars a Curator program needs; their manifests name the rest (ZooKeeper, guava, jackson).
const JARS: [&str; 4] = [
    "/usr/share/java/curator-recipes.jar",
    "/usr/share/java/curator-x-discovery.jar",
    "/usr/share/java/curator-framework.jar",
    "/usr/share/java/slf4j-nop.jar",
];

/// Where the Java sources live.
pub fn source(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// Compiled classes in a temporary directory (removed on drop).
#[derive(Debug)]
pub struct JavaBuild {
    dir: PathBuf,
    classpath: String,
}

/// Why Java could not be used: always a failure, never a skip.
pub fn missing(what: &str) -> String {
    format!(
        "{what}: Java interop needs javac (a JDK) and Debian's libcurator-recipes-java, \
         libcurator-discovery-java and libslf4j-java; scripts/test installs them \
         (apt-get install default-jdk-headless libcurator-recipes-java \
         libcurator-discovery-java libslf4j-java)"
    )
}

/// The build of one Java source, shared by the tests of a binary that run at the same time:
/// they must not compile into (and wipe) one class directory while another's JVM loads from it.
static SHARED: tokio::sync::Mutex<Vec<(&'static str, std::sync::Weak<JavaBuild>)>> =
    tokio::sync::Mutex::const_new(Vec::new());

/// `source` compiled once for the tests running now (again after they all dropped it); panics
/// with the reason when Java cannot be used.
pub async fn shared_build(source: &'static str) -> Arc<JavaBuild> {
    let mut builds = SHARED.lock().await;
    if let Some(build) = builds
        .iter()
        .find(|(s, _)| *s == source)
        .and_then(|(_, b)| b.upgrade())
    {
        return build;
    }
    let build = tokio::task::spawn_blocking(move || JavaBuild::compile(&[source]))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));
    let build = Arc::new(build);
    builds.retain(|(s, _)| *s != source);
    builds.push((source, Arc::downgrade(&build)));
    build
}

/// `class` (compiled from `source`, shared as [`shared_build`] does) started with `args`, once
/// it has said `ready`.
pub async fn ready_peer(source: &'static str, class: &str, args: &[&str]) -> JavaPeer {
    let mut peer = shared_build(source)
        .await
        .spawn(class, args)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(peer.line(Duration::from_secs(60)).await, "ready");
    peer
}

impl JavaBuild {
    /// Compiles `sources` (files under `tests/interop/`).
    pub fn compile(sources: &[&str]) -> Result<JavaBuild, String> {
        for jar in JARS {
            if !Path::new(jar).exists() {
                return Err(missing(&format!("{jar} is missing")));
            }
        }
        let dir = std::env::temp_dir().join(format!(
            "docent-interop-{}-{}",
            std::process::id(),
            sources.join("-").replace(".java", "")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let classpath = JARS.join(":");
        let out = Command::new("javac")
            .arg("-nowarn")
            .arg("-d")
            .arg(&dir)
            .arg("-cp")
            .arg(&classpath)
            .args(sources.iter().map(|s| source(s)))
            .output()
            .map_err(|e| missing(&format!("running javac: {e}")))?;
        if !out.status.success() {
            return Err(format!(
                "javac failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let classpath = format!("{}:{classpath}", dir.display());
        Ok(JavaBuild { dir, classpath })
    }

    /// Starts `class` with `args`; its stdout lines arrive on [`JavaPeer::line`].
    pub fn spawn(self: &Arc<Self>, class: &str, args: &[&str]) -> Result<JavaPeer, String> {
        let mut child = Command::new("java")
            .args(["-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-cp"])
            .arg(&self.classpath)
            .arg(class)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| missing(&format!("running java: {e}")))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(JavaPeer {
            _build: self.clone(),
            child,
            stdin,
            lines: rx,
        })
    }
}

impl Drop for JavaBuild {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running Java program, killed on drop.
#[derive(Debug)]
pub struct JavaPeer {
    // Keeps the classes on disk while the JVM runs.
    _build: Arc<JavaBuild>,
    child: Child,
    stdin: ChildStdin,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl JavaPeer {
    /// Sends one command line.
    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to the Java peer");
        self.stdin.flush().expect("flush to the Java peer");
    }

    /// The next output line, within `limit`; panics on timeout or exit.
    pub async fn line(&mut self, limit: Duration) -> String {
        match tokio::time::timeout(limit, self.lines.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => panic!("the Java peer exited"),
            Err(_) => panic!("no line from the Java peer within {limit:?}"),
        }
    }

    /// The next line, if one arrives within `limit`.
    pub async fn try_line(&mut self, limit: Duration) -> Option<String> {
        tokio::time::timeout(limit, self.lines.recv())
            .await
            .ok()
            .flatten()
    }

    /// Sends `command` and returns the first reply line that is not an asynchronous
    /// `event …` or `overlap` line; those are handed to `other`.
    pub async fn ask(&mut self, command: &str, mut other: impl FnMut(&str)) -> String {
        self.send(command);
        loop {
            let line = self.line(Duration::from_secs(30)).await;
            if line.starts_with("event ") || line == "overlap" {
                other(&line);
                continue;
            }
            return line;
        }
    }
}

impl Drop for JavaPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
