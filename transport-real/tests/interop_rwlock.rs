//! Interop with Apache Curator 5.4 on one `InterProcessReadWriteLock`: docent and Curator
//! readers share, a writer of either language excludes everyone, the write lock is handed
//! over both ways, docent's downgrade keeps a queued Curator writer out, and readers and
//! writers of both languages cycling at once never overlap.
//!
//! Holds are marked in a directory shared with the Java peers (`interop/RwLockPeer.java`): a
//! reader creates its own file and then looks for the writer's, a writer creates the writer's
//! file exclusively and then looks for readers' — so a forbidden overlap is caught whatever the
//! pipes' delays. Missing Java or jars make these tests fail with what to install.

mod common;
#[path = "interop/java.rs"]
mod java;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::rwlock::{ReadWriteLock, ReadWriteLockOptions};
use docent::Client;
use java::JavaPeer;

const LONG: Duration = Duration::from_secs(30);
const SHORT: Duration = Duration::from_millis(300);

/// A Curator peer on the read–write lock at `path`, marking its holds as `id` in `marks`.
async fn peer(connect_string: &str, path: &str, marks: &Marks, id: &str) -> JavaPeer {
    let mut peer = java::ready_peer("RwLockPeer.java", "RwLockPeer", &[connect_string]).await;
    let new = format!("rw-new {path} {} {id}", marks.path());
    assert_eq!(peer.ask(&new, no_overlap).await, "ok");
    peer
}

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

async fn rwlock(client: &Client, path: &str) -> ReadWriteLock {
    ReadWriteLock::start(client, path, ReadWriteLockOptions::default())
        .await
        .unwrap()
}

fn no_overlap(line: &str) {
    assert_ne!(
        line, "overlap",
        "a Curator hold overlapped one it must not share with"
    );
}

/// The hold marks shared with the Java peers; removed on drop.
struct Marks(PathBuf);

impl Marks {
    fn new(label: &str) -> Marks {
        let dir =
            std::env::temp_dir().join(format!("docent-interop-rw-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Marks(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    fn reader(&self, id: &str) -> PathBuf {
        self.0.join(format!("reader-{id}"))
    }

    /// A docent reader holds: its mark, then no writer may be marked.
    fn read(&self, id: &str) {
        std::fs::File::create_new(self.reader(id)).unwrap();
        assert!(
            !self.0.join("writer").exists(),
            "docent reads while a writer holds"
        );
    }

    fn unread(&self, id: &str) {
        std::fs::remove_file(self.reader(id)).expect("docent's reader mark");
    }

    /// A docent writer holds: the writer's mark, created exclusively, then no reader marked.
    fn write(&self) {
        std::fs::File::create_new(self.0.join("writer"))
            .unwrap_or_else(|e| panic!("two writers across docent and Curator ({e})"));
        let readers: Vec<_> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with("reader-"))
            .collect();
        assert!(readers.is_empty(), "docent writes beside {readers:?}");
    }

    fn unwrite(&self) {
        std::fs::remove_file(self.0.join("writer")).expect("docent's writer mark");
    }
}

impl Drop for Marks {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The lock's nodes once there are `n` (bounded wait).
async fn nodes(c: &Client, path: &str, n: usize) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let (mut nodes, _, _) = c.get_children().at(path).await.unwrap();
        if nodes.len() == n {
            nodes.sort_by_key(|n| n[n.len() - 10..].to_owned());
            return nodes;
        }
        assert!(tokio::time::Instant::now() < deadline, "{nodes:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_share_and_writers_exclude_across_docent_and_curator() {
    let server = shared_server().await;
    let cs = server.connect_string();
    let path = "/interop/rwlock";
    let marks = Arc::new(Marks::new("share"));
    let mut reader = peer(&cs, path, &marks, "j1").await;
    let mut writer = peer(&cs, path, &marks, "j2").await;
    let (c, c2) = (client(&cs).await, client(&cs).await);
    let ours = rwlock(&c, path).await;
    let other = Arc::new(rwlock(&c2, path).await);

    // A docent reader and a Curator reader share, both on Curator's layout.
    let read = ours.read().acquire().await.unwrap();
    marks.read("d1");
    assert_eq!(reader.ask("read-try 5000", no_overlap).await, "acquired");
    let both = nodes(&c, path, 2).await;
    assert!(
        both.iter().all(|n| protected_name(n, "__READ__")),
        "{both:?}"
    );

    // Writers of both languages are kept out while they read.
    assert_eq!(writer.ask("write-try 300", no_overlap).await, "timeout");
    assert!(other.write().try_acquire(SHORT).await.unwrap().is_none());

    // A Curator writer queues behind both readers and gets in once both are gone.
    writer.send("write-acquire");
    let three = nodes(&c, path, 3).await;
    assert!(protected_name(&three[2], "__WRIT__"), "{three:?}");
    marks.unread("d1");
    read.release().await.unwrap();
    assert_eq!(
        writer.try_line(SHORT).await,
        None,
        "in beside Curator's reader"
    );
    assert_eq!(reader.ask("read-release", no_overlap).await, "released");
    assert_eq!(writer.line(LONG).await, "acquired");

    // While Curator writes, no reader or writer of either language gets in.
    assert!(ours.read().try_acquire(SHORT).await.unwrap().is_none());
    assert!(other.write().try_acquire(SHORT).await.unwrap().is_none());
    assert_eq!(reader.ask("read-try 300", no_overlap).await, "timeout");

    // Curator writer → docent writer.
    let waiting = {
        let (other, marks) = (other.clone(), marks.clone());
        tokio::spawn(async move {
            let held = other.write().acquire().await.unwrap();
            marks.write();
            held
        })
    };
    tokio::time::sleep(SHORT).await;
    assert!(
        !waiting.is_finished(),
        "docent wrote beside Curator's writer"
    );
    assert_eq!(writer.ask("write-release", no_overlap).await, "released");
    let held = within(LONG, waiting).await.unwrap();

    // docent writer → Curator writer, with a Curator reader queued behind it.
    writer.send("write-acquire");
    nodes(&c, path, 2).await;
    reader.send("read-acquire");
    nodes(&c, path, 3).await;
    assert_eq!(
        writer.try_line(SHORT).await,
        None,
        "in beside docent's writer"
    );
    assert_eq!(
        reader.try_line(SHORT).await,
        None,
        "reads beside docent's writer"
    );
    marks.unwrite();
    held.release().await.unwrap();
    assert_eq!(writer.line(LONG).await, "acquired");
    assert_eq!(
        reader.try_line(SHORT).await,
        None,
        "reads beside Curator's writer"
    );
    assert_eq!(writer.ask("write-release", no_overlap).await, "released");
    assert_eq!(reader.line(LONG).await, "acquired");
    assert_eq!(reader.ask("read-release", no_overlap).await, "released");

    ours.close().await.unwrap();
    Arc::try_unwrap(other).unwrap().close().await.unwrap();
    assert_eq!(nodes(&c, path, 0).await, Vec::<String>::new());
    for mut peer in [reader, writer] {
        assert_eq!(peer.ask("quit", no_overlap).await, "bye");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docent_downgrade_keeps_a_queued_curator_writer_out() {
    let server = shared_server().await;
    let cs = server.connect_string();
    let path = "/interop/rwdowngrade";
    let marks = Marks::new("downgrade");
    let mut writer = peer(&cs, path, &marks, "j").await;
    let c = client(&cs).await;
    let ours = rwlock(&c, path).await;

    let write = ours.write().acquire().await.unwrap();
    marks.write();
    writer.send("write-acquire");
    nodes(&c, path, 2).await;
    // Downgrade: docent reads (its read node named with its write node's sequence), then
    // lets go of the write lock; Curator 5.4's writer sorts that read node ahead of its own.
    let read = ours.read().acquire().await.unwrap();
    marks.unwrite();
    marks.read("d");
    write.release().await.unwrap();
    let held = nodes(&c, path, 2).await;
    assert!(protected_name(&held[0], "__READ__"), "{held:?}");
    assert!(read.node().ends_with(&held[0]), "{held:?}");
    assert!(protected_name(&held[1], "__WRIT__"), "{held:?}");
    assert_eq!(writer.try_line(Duration::from_millis(500)).await, None);
    marks.unread("d");
    read.release().await.unwrap();
    assert_eq!(writer.line(LONG).await, "acquired");
    assert_eq!(writer.ask("write-release", no_overlap).await, "released");
    ours.close().await.unwrap();
    assert_eq!(writer.ask("quit", no_overlap).await, "bye");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_and_writers_of_both_languages_cycle_without_overlap() {
    const CYCLES: usize = 40;
    let server = shared_server().await;
    let cs = server.connect_string();
    let path = "/interop/rwcycles";
    let marks = Arc::new(Marks::new("cycles"));
    let mut peers = vec![
        peer(&cs, path, &marks, "j1").await,
        peer(&cs, path, &marks, "j2").await,
    ];
    for (seed, peer) in peers.iter_mut().enumerate() {
        peer.send(&format!("cycles {CYCLES} {seed}"));
    }
    let mut cyclers = Vec::new();
    for k in 0..2 {
        let c = client(&cs).await;
        let (lock, marks) = (rwlock(&c, path).await, marks.clone());
        cyclers.push(tokio::spawn(async move {
            let id = format!("d{k}");
            for i in 0..CYCLES {
                // One hold in three a write, the two docent handles out of step.
                if (i + k) % 3 == 0 {
                    let held = lock.write().acquire().await.unwrap();
                    marks.write();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    marks.unwrite();
                    held.release().await.unwrap();
                } else {
                    let held = lock.read().acquire().await.unwrap();
                    marks.read(&id);
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    marks.unread(&id);
                    held.release().await.unwrap();
                }
            }
            lock.close().await.unwrap();
        }));
    }
    for cycler in cyclers {
        within(Duration::from_secs(120), cycler).await.unwrap();
    }
    for mut peer in peers {
        let line = peer.line(Duration::from_secs(120)).await;
        assert_eq!(
            line,
            format!("cycles {CYCLES}"),
            "no overlap on Curator's side"
        );
        assert_eq!(peer.ask("quit", no_overlap).await, "bye");
    }
    let c = client(&cs).await;
    assert_eq!(nodes(&c, path, 0).await, Vec::<String>::new());
}
