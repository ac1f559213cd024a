//! Interop with Apache Curator 5.4 (Debian's jars): Java programs compiled by this test with
//! `javac` share one ZooKeeper with docent — one election, one lock, one service registry.
//!
//! Holders and leaders on both sides mark their hold with a file created exclusively (see
//! `interop/InteropPeer.java`), so two holders at once are caught whatever the pipes' delays.
//! Missing Java or jars make these tests fail with what to install; they never skip.

mod common;
#[path = "interop/java.rs"]
mod java;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::discovery::{Payload, ServiceDiscovery, ServiceInstance, UriSpec};
use docent::recipes::latch::{LatchEvent, LatchOptions, LeaderLatch};
use docent::recipes::lock::{Mutex, MutexOptions};
use docent::Client;
use futures::StreamExt;
use java::JavaPeer;
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(20);

async fn peer(connect_string: &str) -> JavaPeer {
    java::ready_peer("InteropPeer.java", "InteropPeer", &[connect_string]).await
}

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

/// The hold marker shared with the Java peer; removed on drop.
struct Marker(PathBuf);

impl Marker {
    fn new(label: &str) -> Marker {
        let path = std::env::temp_dir().join(format!(
            "docent-interop-{label}-{}.held",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        Marker(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// Docent takes the hold: the file must not exist (else Java holds too).
    fn take(&self) {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.0)
            .unwrap_or_else(|e| panic!("docent and Curator hold at once ({e})"));
    }

    fn give_back(&self) {
        std::fs::remove_file(&self.0).expect("docent's hold marker");
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn no_overlap(line: &str) {
    assert_ne!(line, "overlap", "Curator took a hold docent still had");
}

async fn java_leads(peer: &mut JavaPeer) -> bool {
    match peer.ask("latch-has", no_overlap).await.as_str() {
        "has true" => true,
        "has false" => false,
        other => panic!("latch-has: {other}"),
    }
}

/// Leaders seen at one moment (docent's flag, then Curator's): never two.
async fn leaders(latch: &LeaderLatch, peer: &mut JavaPeer) -> usize {
    let n = usize::from(latch.has_leadership()) + usize::from(java_leads(peer).await);
    assert!(n <= 1, "docent and Curator both lead");
    n
}

async fn participants(latch: &LeaderLatch, want: usize) -> Vec<(String, bool)> {
    for _ in 0..500 {
        let all = latch.participants().await.unwrap();
        if all.len() == want {
            return all.into_iter().map(|p| (p.id, p.is_leader)).collect();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never {want} participants");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_one_leader_across_docent_and_curator_with_handover_both_ways() {
    let server = shared_server().await;
    let cs = server.connect_string();
    let marker = Marker::new("latch");
    let mut peer = peer(&cs).await;
    let c = client(&cs).await;

    // docent leads first; Curator joins behind it.
    let options = LatchOptions::default().id("docent-1");
    let latch = LeaderLatch::start(&c, "/interop/latch", options)
        .await
        .unwrap();
    within(LONG, latch.await_leadership()).await.unwrap();
    marker.take();
    let start = format!("latch-start /interop/latch java-1 {}", marker.path());
    assert_eq!(peer.ask(&start, no_overlap).await, "ok");
    let both = participants(&latch, 2).await;
    assert_eq!(
        both,
        vec![("docent-1".into(), true), ("java-1".into(), false)]
    );
    assert_eq!(
        peer.ask("latch-participants", no_overlap).await,
        "participants docent-1:true,java-1:false",
        "Curator sees the same election"
    );
    for _ in 0..5 {
        assert_eq!(leaders(&latch, &mut peer).await, 1);
    }

    // docent → Curator.
    marker.give_back();
    latch.close().await.unwrap();
    loop {
        let line = peer.line(LONG).await;
        no_overlap(&line);
        if line == "event leader" {
            break;
        }
    }
    assert!(java_leads(&mut peer).await);

    // docent joins behind Curator and stays a follower.
    let options = LatchOptions::default().id("docent-2");
    let latch = LeaderLatch::start(&c, "/interop/latch", options)
        .await
        .unwrap();
    let mut events = latch.events();
    let both = participants(&latch, 2).await;
    assert_eq!(
        both,
        vec![("java-1".into(), true), ("docent-2".into(), false)]
    );
    for _ in 0..5 {
        assert_eq!(leaders(&latch, &mut peer).await, 1);
    }

    // Curator → docent.
    assert_eq!(peer.ask("latch-close", no_overlap).await, "ok");
    match within(LONG, events.next()).await {
        Some(LatchEvent::IsLeader { token }) => assert!(token > 0),
        other => panic!("expected leadership, got {other:?}"),
    }
    marker.take();
    assert_eq!(leaders(&latch, &mut peer).await, 1);
    assert_eq!(
        participants(&latch, 1).await,
        vec![("docent-2".into(), true)]
    );
    marker.give_back();
    latch.close().await.unwrap();
    assert_eq!(peer.ask("quit", no_overlap).await, "bye");
}

fn is_lock_node(name: &str) -> bool {
    // _c_<36-char uuid>-lock-<10 digits>
    name.len() == 40 + 5 + 10
        && name.starts_with("_c_")
        && name.as_bytes()[39] == b'-'
        && name[40..].starts_with("lock-")
        && name[45..].bytes().all(|b| b.is_ascii_digit())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutex_shared_with_curator_never_has_two_holders() {
    let server = shared_server().await;
    let cs = server.connect_string();
    let marker = Arc::new(Marker::new("mutex"));
    let mut peer = peer(&cs).await;
    let c = client(&cs).await;
    let lock = Mutex::start(&c, "/interop/mutex", MutexOptions::default());
    let lock = Arc::new(lock.await.unwrap());
    let new = format!("mutex-new /interop/mutex {}", marker.path());
    assert_eq!(peer.ask(&new, no_overlap).await, "ok");

    // docent holds: Curator cannot get in, and waits.
    let held = lock.acquire().await.unwrap();
    marker.take();
    assert_eq!(peer.ask("mutex-try 300", no_overlap).await, "timeout");
    peer.send("mutex-acquire");
    assert_eq!(peer.try_line(Duration::from_millis(300)).await, None);
    let (nodes, _, _) = c.get_children().at("/interop/mutex").await.unwrap();
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    assert!(nodes.iter().all(|n| is_lock_node(n)), "{nodes:?}");

    // docent → Curator.
    marker.give_back();
    held.release().await.unwrap();
    assert_eq!(peer.line(LONG).await, "acquired");
    // A second handle: right after a timed-out try_acquire, the same handle refuses the next
    // acquire until its node's delete has come back (an engine issue, reported).
    let probe = Mutex::start(&c, "/interop/mutex", MutexOptions::default())
        .await
        .unwrap();
    let tried = probe.try_acquire(Duration::from_millis(300)).await;
    assert!(matches!(tried, Ok(None)), "{tried:?}");
    probe.close().await.unwrap();

    // Curator → docent.
    let waiter = {
        let (lock, marker) = (lock.clone(), marker.clone());
        tokio::spawn(async move {
            let lease = lock.acquire().await.unwrap();
            marker.take();
            lease
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "docent got in while Curator held");
    assert_eq!(peer.ask("mutex-release", no_overlap).await, "released");
    let held = within(LONG, waiter).await.unwrap();
    marker.give_back();
    held.release().await.unwrap();

    // Both sides cycle on the lock at once.
    const CYCLES: usize = 40;
    peer.send(&format!("mutex-cycles {CYCLES}"));
    for _ in 0..CYCLES {
        let held = lock.acquire().await.unwrap();
        marker.take();
        tokio::time::sleep(Duration::from_millis(1)).await;
        marker.give_back();
        held.release().await.unwrap();
    }
    let line = peer.line(LONG).await;
    assert_eq!(line, format!("cycles {CYCLES}"));
    Arc::try_unwrap(lock).unwrap().close().await.unwrap();
    assert_eq!(peer.ask("quit", no_overlap).await, "bye");
}

/// An instance as a Java reader sees it: the fields `InteropPeer.view` prints.
fn view(i: &ServiceInstance) -> Value {
    let (payload, class) = match &i.payload {
        None => (Value::Null, Value::Null),
        Some(Payload::String(s)) => (json!(s), json!("java.lang.String")),
        Some(Payload::Json { class, value }) => (value.clone(), json!(class)),
    };
    json!({
        "name": i.name, "id": i.id, "address": i.address, "port": i.port,
        "sslPort": i.ssl_port, "payload": payload, "payloadClass": class,
        "registrationTimeUTC": i.registration_time_utc,
        "serviceType": i.service_type.as_str(), "uri": i.build_uri(), "enabled": i.enabled,
    })
}

async fn java_views(peer: &mut JavaPeer, name: &str) -> Vec<Value> {
    peer.send(&format!("disc-query {name}"));
    let mut views = Vec::new();
    loop {
        let line = peer.line(LONG).await;
        if line == "end" {
            break;
        }
        let Some(text) = line.strip_prefix("instance ") else {
            panic!("disc-query: {line}");
        };
        views.push(serde_json::from_str::<Value>(text).unwrap());
    }
    views.sort_by_key(|v| v["id"].as_str().unwrap_or_default().to_owned());
    views
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_instances_read_the_same_from_both_sides() {
    let server = shared_server().await;
    let cs = server.connect_string();
    let mut peer = peer(&cs).await;
    let c = client(&cs).await;
    let base = "/interop/discovery";
    assert_eq!(
        peer.ask(&format!("disc-start {base}"), no_overlap).await,
        "ok"
    );

    // Curator registers; docent reads.
    for command in [
        "disc-register from-java j-str 8081 string testing 123",
        "disc-register from-java j-map 8082 map color=blue;weight=3",
    ] {
        assert_eq!(peer.ask(command, no_overlap).await, "ok");
    }
    let discovery = ServiceDiscovery::start(&c, base).await.unwrap();
    let found = discovery.query_for_instances("from-java").await.unwrap();
    assert!(found.unreadable.is_empty(), "{:?}", found.unreadable);
    let ours: Vec<Value> = found.instances.iter().map(view).collect();
    assert_eq!(ours, java_views(&mut peer, "from-java").await);
    let map = &found.instances[0];
    assert_eq!(map.id, "j-map");
    assert_eq!(
        map.payload,
        Some(Payload::Json {
            class: Some("java.util.LinkedHashMap".into()),
            value: json!({"color": "blue", "weight": 3}),
        })
    );
    assert_eq!(map.build_uri(), "http://10.0.0.7:8082");
    let text = &found.instances[1];
    assert_eq!(text.payload, Some(Payload::String("testing 123".into())));
    assert!(text.registration_time_utc > 0 && text.enabled);

    // docent registers; Curator reads.
    let spec: UriSpec = "{scheme}://{address}:{port}".parse().unwrap();
    let registered = vec![
        ServiceInstance::builder("from-docent")
            .id("d-map")
            .address("10.0.0.9")
            .port(9002)
            .ssl_port(9443)
            .uri_spec(spec.clone())
            .payload(Payload::Json {
                class: Some("java.util.LinkedHashMap".into()),
                value: json!({"zone": "eu", "n": 7}),
            })
            .build(&c)
            .unwrap(),
        ServiceInstance::builder("from-docent")
            .id("d-str")
            .address("10.0.0.9")
            .port(9001)
            .uri_spec(spec)
            .payload_string("hello \"docent\"")
            .build(&c)
            .unwrap(),
    ];
    for instance in &registered {
        discovery.register(instance).await.unwrap();
    }
    let ours: Vec<Value> = registered.iter().map(view).collect();
    let theirs = java_views(&mut peer, "from-docent").await;
    assert_eq!(ours, theirs);
    assert_eq!(
        theirs[0]["uri"], "https://10.0.0.9:9002",
        "{{scheme}} is https with an SSL port"
    );

    discovery.close().await.unwrap();
    assert_eq!(
        java_views(&mut peer, "from-docent").await,
        Vec::<Value>::new()
    );
    assert_eq!(peer.ask("quit", no_overlap).await, "bye");
}

// ---- revocation (issue 15): Curator's Revoker and docent's, each revoking the other's holder

/// The one lock node under `dir`: its full path.
async fn only_node(c: &Client, dir: &str) -> String {
    let (nodes, _, _) = c.get_children().at(dir).await.unwrap();
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    format!("{dir}/{}", nodes[0])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_across_docent_and_curator() {
    use docent::recipes::lock::{LockEvent, Revoker};
    const DIR: &str = "/interop/revoke";
    let server = shared_server().await;
    let cs = server.connect_string();
    let marker = Marker::new("revoke");
    let mut peer = peer(&cs).await;
    let c = client(&cs).await;
    let lock = Mutex::start(&c, DIR, MutexOptions::default())
        .await
        .unwrap();
    let new = format!("mutex-new {DIR} {}", marker.path());
    assert_eq!(peer.ask(&new, no_overlap).await, "ok");

    // docent's Revoker asks a revocable Curator holder, which lets go; docent takes the lock.
    assert_eq!(peer.ask("mutex-revocable", no_overlap).await, "ok");
    assert_eq!(peer.ask("mutex-acquire", no_overlap).await, "acquired");
    Revoker::attempt_revoke(&c, &only_node(&c, DIR).await)
        .await
        .unwrap();
    assert_eq!(peer.line(LONG).await, "event revoke-requested");
    assert_eq!(peer.ask("mutex-release", no_overlap).await, "released");
    let held = within(LONG, lock.acquire()).await.unwrap();
    marker.take();

    // Curator's Revoker asks a revocable docent holder, which lets go; Curator takes the lock.
    lock.make_revocable().unwrap();
    let mut events = lock.events();
    let revoke = format!("revoke {}", held.node());
    assert_eq!(peer.ask(&revoke, no_overlap).await, "ok");
    peer.send("mutex-acquire");
    let asked = async {
        while let Some(event) = events.next().await {
            if event == LockEvent::RevocationRequested {
                return;
            }
        }
        panic!("the lock's events ended");
    };
    within(LONG, asked).await;
    marker.give_back();
    held.release().await.unwrap();
    assert_eq!(peer.line(LONG).await, "acquired");
    assert_eq!(peer.ask("mutex-release", no_overlap).await, "released");
    lock.close().await.unwrap();
    assert_eq!(peer.ask("quit", no_overlap).await, "bye");
}

// ---- Semaphore (InterProcessSemaphoreV2, 2 leases) shared with Curator ----

/// Two hold slots shared with the Java peer (`Sem` in InteropPeer.java): each holder takes a
/// free slot file, created exclusively; a third holder at once finds none.
struct Slots(PathBuf);

impl Slots {
    fn new() -> Slots {
        let dir = std::env::temp_dir().join(format!("docent-interop-sem-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Slots(dir)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }

    /// Takes a free slot; panics when both are taken (more than 2 holders).
    fn take(&self) -> PathBuf {
        for i in 0..2 {
            let slot = self.0.join(format!("slot{i}"));
            let created = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&slot);
            if created.is_ok() {
                return slot;
            }
        }
        panic!("more than 2 holders across docent and Curator");
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semaphore_shared_with_curator_never_has_more_than_two_holders() {
    use docent::recipes::semaphore::{Semaphore, SemaphoreOptions};
    let server = shared_server().await;
    let cs = server.connect_string();
    let slots = Arc::new(Slots::new());
    let mut peer = peer(&cs).await;
    let c = client(&cs).await;
    let path = "/interop/semaphore";
    let start = || Semaphore::start(&c, path, SemaphoreOptions::max_leases(2));
    let sem = Arc::new(start().await.unwrap());
    let new = format!("sem-new {path} {} 2", slots.path());
    assert_eq!(peer.ask(&new, no_overlap).await, "ok");

    // docent holds both leases: Curator cannot get in, and waits.
    let mut held = sem.acquire_many(2).await.unwrap();
    let mut mine = vec![slots.take(), slots.take()];
    assert_eq!(peer.ask("sem-try 300", no_overlap).await, "timeout");
    peer.send("sem-acquire");
    assert_eq!(peer.try_line(Duration::from_millis(300)).await, None);

    // docent → Curator: one lease given back, Curator's waiter gets it.
    std::fs::remove_file(mine.pop().unwrap()).unwrap();
    held.pop().unwrap().release().await.unwrap();
    assert_eq!(peer.line(LONG).await, "acquired");

    // Curator → docent: full again (one each); docent waits until Curator gives its back.
    let waiter = {
        let (sem, slots) = (sem.clone(), slots.clone());
        tokio::spawn(async move {
            let lease = sem.acquire().await.unwrap();
            (lease, slots.take())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "docent got a third lease");
    assert_eq!(peer.ask("sem-release", no_overlap).await, "released");
    let (lease, slot) = within(LONG, waiter).await.unwrap();
    std::fs::remove_file(slot).unwrap();
    lease.release().await.unwrap();
    std::fs::remove_file(mine.pop().unwrap()).unwrap();
    held.pop().unwrap().release().await.unwrap();

    // Two docent handles and Curator cycle on the two leases at once.
    const CYCLES: usize = 30;
    peer.send(&format!("sem-cycles {CYCLES}"));
    let other = Arc::new(start().await.unwrap());
    let cyclers: Vec<_> = [sem.clone(), other.clone()]
        .into_iter()
        .map(|sem| {
            let slots = slots.clone();
            tokio::spawn(async move {
                for _ in 0..CYCLES {
                    let lease = sem.acquire().await.unwrap();
                    let slot = slots.take();
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    std::fs::remove_file(slot).unwrap();
                    lease.release().await.unwrap();
                }
            })
        })
        .collect();
    for cycler in cyclers {
        within(LONG, cycler).await.unwrap();
    }
    let line = peer.line(LONG).await;
    assert_eq!(line, format!("cycles {CYCLES}"));
    let (leases, _, _) = c
        .get_children()
        .at("/interop/semaphore/leases")
        .await
        .unwrap();
    assert!(leases.is_empty(), "{leases:?}");
    Arc::try_unwrap(sem).unwrap().close().await.unwrap();
    Arc::try_unwrap(other).unwrap().close().await.unwrap();
    assert_eq!(peer.ask("quit", no_overlap).await, "bye");
}
