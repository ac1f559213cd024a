//! Counter interop with Apache Curator 5.4 (Debian's jars): a `DistributedAtomicLong`
//! incremented from Java and docent at once ends at the sum of every acknowledged increment,
//! and a `SharedCount` set on one side is seen, with its version, on the other (4-byte
//! big-endian on both). The Java side is `interop/CounterPeer.java`. Missing Java or jars make
//! these tests fail with what to install; they never skip.

mod common;
#[path = "interop/java.rs"]
mod java;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::atomic::{AtomicLong, AtomicOptions, AtomicStatus};
use docent::recipes::shared::{SharedCount, SharedOptions, SharedState};
use docent::{Client, RetryPolicy};
use java::JavaPeer;

const LONG: Duration = Duration::from_secs(60);

async fn peer(connect_string: &str) -> JavaPeer {
    java::ready_peer("CounterPeer.java", "CounterPeer", &[connect_string]).await
}

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

/// The number after `key=` in `line`.
fn field(line: &str, key: &str) -> i64 {
    line.split(' ')
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atomic_long_incremented_from_java_and_docent() {
    let server = shared_server().await;
    let mut java = peer(&server.connect_string()).await;
    let docent = client(&server.connect_string()).await;
    let path = "/interop/counter";
    let options =
        AtomicOptions::default().retry(RetryPolicy::n_times(1000, Duration::from_millis(5)));
    let counter = AtomicLong::start(&docent, path, options).await.unwrap();
    java.send(&format!("increment {path} 200"));
    let mut ours = 0;
    for _ in 0..200 {
        let result = counter.increment().await.unwrap();
        assert_ne!(result.status, AtomicStatus::Unknown, "no faults here");
        ours += result.succeeded() as i64;
    }
    let line = java.line(LONG).await;
    assert!(line.starts_with("incremented "), "{line}");
    let theirs = field(&line, "ok");
    assert_eq!(
        ours + theirs,
        400,
        "every increment was acknowledged: {line}"
    );
    let value = counter.get().await.unwrap().post;
    assert_eq!(
        value,
        ours + theirs,
        "the counter accounts for every acknowledged increment"
    );
    java.send(&format!("long {path}"));
    assert_eq!(java.line(LONG).await, format!("long {value}"));
    let (data, _, _) = docent.get_data().at(path).await.unwrap();
    assert_eq!(data, value.to_be_bytes(), "8 bytes, big-endian");
    counter.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_count_set_on_one_side_seen_on_the_other() {
    let server = shared_server().await;
    let mut java = peer(&server.connect_string()).await;
    let docent = client(&server.connect_string()).await;
    let path = "/interop/count";
    let count = SharedCount::start(&docent, path, SharedOptions::seed(0))
        .await
        .unwrap();
    // Java sets, docent sees it (watch), with the version Java's write made.
    java.send(&format!("count-set {path} 41"));
    assert_eq!(java.line(LONG).await, "count-set");
    let mut states = count.watch_state();
    let state = within(
        LONG,
        states.wait_for(|s| matches!(s, SharedState::Value(v) if v.value == 41)),
    )
    .await
    .unwrap();
    let SharedState::Value(seen) = state else {
        unreachable!()
    };
    // docent compare-and-sets on it; Java sees value and version.
    assert!(count.try_set(&seen, 42).await.unwrap());
    java.send(&format!("count-wait {path} 42"));
    assert_eq!(
        java.line(LONG).await,
        format!("count 42 version {}", seen.version + 1)
    );
    // Java's trySetCount on what it reads; docent's stale try_set then fails.
    java.send(&format!("count-try {path}"));
    assert_eq!(java.line(LONG).await, "tried true");
    assert!(!count.try_set(&seen, 99).await.unwrap(), "stale version");
    let mut states = count.watch_state();
    within(
        LONG,
        states.wait_for(|s| matches!(s, SharedState::Value(v) if v.value == 43)),
    )
    .await
    .unwrap();
    count.close().await.unwrap();
}
