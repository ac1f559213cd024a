//! Group members and persistent nodes shared with Apache Curator 5.4 (Debian's jars): a
//! `GroupMember` group with members in both languages, seen the same (ids and payloads) from
//! both sides as payloads change and members leave; a Curator `PersistentNode` read and deleted
//! from docent (Curator recreates it), and a docent `PersistentNode` read and deleted from Java
//! (docent recreates it). Missing Java or jars make these tests fail with what to install.

mod common;
#[path = "interop/java.rs"]
mod java;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use docent::recipes::nodes::{GroupMember, GroupOptions, NodeOptions, PersistentNode};
use docent::{Client, CreateMode};
use java::JavaPeer;

const WAIT: Duration = Duration::from_secs(30);

async fn peer(connect_string: &str) -> JavaPeer {
    java::ready_peer("GroupPeer.java", "GroupPeer", &[connect_string]).await
}

async fn client(connect_string: &str) -> Client {
    Client::builder(Arc::new(connect(connect_string).await))
        .build()
        .unwrap()
}

/// `members a=1,b=2` as a map (`members ` alone: empty).
fn parse_members(line: &str) -> BTreeMap<String, String> {
    let list = line.strip_prefix("members ").expect(line);
    list.split(',')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect(kv);
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn as_text(members: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    members
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v).unwrap()))
        .collect()
}

/// Waits until docent's member and the Java member both see exactly `want`.
async fn both_see(rust: &GroupMember, java: &mut JavaPeer, want: &[(&str, &str)]) {
    let want: BTreeMap<String, String> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ours = as_text(rust.current_members());
        let theirs = parse_members(&java.ask("members", |_| {}).await);
        if ours == want && theirs == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "docent sees {ours:?}, Curator sees {theirs:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_with_members_in_both_languages_is_seen_the_same() {
    let server = shared_server().await;
    let docent = client(&server.connect_string()).await;
    let mut java = peer(&server.connect_string()).await;
    let group = "/interop/group";
    let options = GroupOptions::default().id("rust").data(b"r1".to_vec());
    let rust = GroupMember::start(&docent, group, options).await.unwrap();
    assert_eq!(
        java.ask(&format!("join {group} java j1"), |_| {}).await,
        "ok"
    );
    both_see(&rust, &mut java, &[("java", "j1"), ("rust", "r1")]).await;
    rust.set_data(b"r2".to_vec()).await.unwrap();
    assert_eq!(java.ask("set j2", |_| {}).await, "ok");
    both_see(&rust, &mut java, &[("java", "j2"), ("rust", "r2")]).await;
    // The members' nodes are Curator's layout: `<group>/<id>`, ephemeral, data = payload.
    let (data, stat, _) = docent.get_data().at("/interop/group/java").await.unwrap();
    assert_eq!(
        (data.as_slice(), stat.ephemeral_owner != 0),
        (&b"j2"[..], true)
    );
    assert_eq!(java.ask("leave", |_| {}).await, "ok");
    let deadline = tokio::time::Instant::now() + WAIT;
    while as_text(rust.current_members()).contains_key("java") {
        assert!(tokio::time::Instant::now() < deadline, "java never left");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        as_text(rust.current_members()),
        BTreeMap::from([("rust".to_string(), "r2".to_string())])
    );
    rust.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_nodes_recreated_across_languages() {
    let server = shared_server().await;
    let docent = client(&server.connect_string()).await;
    let mut java = peer(&server.connect_string()).await;
    // Curator's node: read from docent, deleted from docent, recreated by Curator.
    let theirs = "/interop/pnode/java";
    let reply = java.ask(&format!("node {theirs} jdata"), |_| {}).await;
    assert_eq!(reply, format!("node {theirs}"));
    let (data, stat, _) = docent.get_data().at(theirs).await.unwrap();
    assert_eq!(data, b"jdata");
    docent.delete().at(theirs).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok((data, again, _)) = docent.get_data().at(theirs).await {
            assert_eq!(data, b"jdata");
            assert_ne!(again.czxid, stat.czxid, "a new node");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Curator never recreated it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(java.ask("nodeclose", |_| {}).await, "ok");
    // docent's node: read from Java, deleted from Java, recreated by docent.
    let ours = "/interop/pnode/rust";
    let options = NodeOptions::default()
        .mode(CreateMode::Ephemeral)
        .data(b"rdata".to_vec());
    let node = PersistentNode::start(&docent, ours, options).await.unwrap();
    assert!(node.await_initial_create(WAIT).await.unwrap());
    assert_eq!(java.ask(&format!("get {ours}"), |_| {}).await, "data rdata");
    assert_eq!(java.ask(&format!("delete {ours}"), |_| {}).await, "ok");
    let deadline = tokio::time::Instant::now() + WAIT;
    while java.ask(&format!("get {ours}"), |_| {}).await != "data rdata" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "docent never recreated it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    node.close().await.unwrap();
    assert_eq!(java.ask(&format!("get {ours}"), |_| {}).await, "missing");
    java.send("quit");
}
