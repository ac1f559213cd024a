//! Queue interop with Apache Curator 5.4 (Debian's jars): a `DistributedQueue` with Curator's
//! byte-array serializer (`interop/QueuePeer.java`) shared with docent. Java producers and
//! docent consumers, and the reverse: with nothing crashing, every item is consumed exactly
//! once, byte for byte. Missing Java or jars fail the test with what to install.

mod common;
#[path = "interop/java.rs"]
mod java;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::queue::{DistributedQueue, QueueOptions};
use docent::Client;
use futures::StreamExt;
use java::{JavaBuild, JavaPeer};

const LONG: Duration = Duration::from_secs(30);

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Item `i`: text, a zero byte, bytes that are not UTF-8; every tenth is empty.
fn item(side: &str, i: usize) -> Vec<u8> {
    if i % 10 == 9 {
        return Vec::new();
    }
    let mut data = format!("{side}-{i}").into_bytes();
    data.extend([0, 0xff, 0xfe, i as u8]);
    data
}

/// `n` items as batches, one node each: single items and nodes of three, in turn.
fn batches(side: &str, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut items = (0..n).map(|i| item(side, i)).peekable();
    let mut out = Vec::new();
    while items.peek().is_some() {
        let size = if out.len() % 2 == 0 { 1 } else { 3 };
        out.push(items.by_ref().take(size).collect());
    }
    out
}

/// Counts every item consumed (hex) and checks each of `expected` came exactly once.
fn check_exactly_once(expected: &[Vec<u8>], got: &[String]) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for g in got {
        *counts.entry(g.as_str()).or_default() += 1;
    }
    let want: Vec<String> = expected.iter().map(|e| hex(e)).collect();
    let mut wanted: BTreeMap<&str, usize> = BTreeMap::new();
    for w in &want {
        *wanted.entry(w.as_str()).or_default() += 1;
    }
    assert_eq!(counts, wanted, "every item exactly once, byte for byte");
}

async fn peer(build: &Arc<JavaBuild>, args: &[&str]) -> JavaPeer {
    let mut peer = build
        .spawn("QueuePeer", args)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(peer.line(Duration::from_secs(60)).await, "ready");
    peer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn java_producer_docent_consumers() {
    for lock in [Some("/interop/jq1-locks"), None] {
        let server = shared_server().await;
        let path = if lock.is_some() {
            "/interop/jq1"
        } else {
            "/interop/jq1-plain"
        };
        let build = java::shared_build("QueuePeer.java").await;
        let mut args = vec![server.connect_string(), path.to_owned()];
        args.extend(lock.map(str::to_owned));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut java = peer(&build, &args).await;
        let mut options = QueueOptions::default();
        if let Some(lock) = lock {
            options = options.lock_path(lock);
        }
        let (a, b) = (
            client(&server.connect_string()).await,
            client(&server.connect_string()).await,
        );
        let qa = DistributedQueue::start(&a, path, options.clone())
            .await
            .unwrap();
        let qb = DistributedQueue::start(&b, path, options).await.unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for q in [&qa, &qb] {
            let (mut items, tx) = (q.consume().unwrap(), tx.clone());
            tokio::spawn(async move {
                while let Some(item) = items.next().await {
                    let _ = tx.send(hex(&item.expect("no corrupt node").into_data()));
                }
            });
        }
        let batches = batches("java", 25);
        for batch in &batches {
            let words: Vec<String> = batch.iter().map(|i| hex(i)).collect();
            assert_eq!(
                java.ask(&format!("put {}", words.join(" ")), |_| {}).await,
                "ok"
            );
        }
        let expected: Vec<Vec<u8>> = batches.concat();
        let mut got = Vec::new();
        while got.len() < expected.len() {
            got.push(
                tokio::time::timeout(LONG, rx.recv())
                    .await
                    .expect("items in time")
                    .unwrap(),
            );
        }
        // Nothing more comes (no item twice).
        tokio::time::sleep(Duration::from_millis(500)).await;
        while let Ok(extra) = rx.try_recv() {
            got.push(extra);
        }
        check_exactly_once(&expected, &got);
        java.send("quit");
        qa.close().await.unwrap();
        qb.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docent_producer_java_consumers() {
    for lock in [Some("/interop/jq2-locks"), None] {
        let server = shared_server().await;
        let path = if lock.is_some() {
            "/interop/jq2"
        } else {
            "/interop/jq2-plain"
        };
        let build = java::shared_build("QueuePeer.java").await;
        let mut args = vec![server.connect_string(), path.to_owned()];
        args.extend(lock.map(str::to_owned));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut javas = vec![peer(&build, &args).await, peer(&build, &args).await];
        for java in &mut javas {
            assert_eq!(java.ask("consume", |_| {}).await, "ok");
        }
        let c = client(&server.connect_string()).await;
        let mut options = QueueOptions::default();
        if let Some(lock) = lock {
            options = options.lock_path(lock);
        }
        let producer = DistributedQueue::start(&c, path, options).await.unwrap();
        let batches = batches("docent", 25);
        for batch in &batches {
            producer.put_many(batch).await.unwrap();
        }
        let expected: Vec<Vec<u8>> = batches.concat();
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + LONG;
        while got.len() < expected.len() && tokio::time::Instant::now() < deadline {
            for java in &mut javas {
                while let Some(line) = java.try_line(Duration::from_millis(50)).await {
                    let took = line
                        .strip_prefix("took ")
                        .unwrap_or_else(|| panic!("{line}"));
                    got.push(took.to_owned());
                }
            }
        }
        for java in &mut javas {
            while let Some(line) = java.try_line(Duration::from_millis(500)).await {
                got.push(
                    line.strip_prefix("took ")
                        .unwrap_or_else(|| panic!("{line}"))
                        .to_owned(),
                );
            }
            java.send("quit");
        }
        check_exactly_once(&expected, &got);
        producer.close().await.unwrap();
    }
}
