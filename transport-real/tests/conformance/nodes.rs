//! Scenarios about single nodes: create modes, the error codes, versions, sequential names,
//! children, path rules and the data limit.

use std::time::Duration;

use docent::{CreateMode, Op};

use super::script::Ctx;

/// Defines `pub fn $name(cx: &mut Ctx) -> BoxFuture<'_, ()>` from an async body.
#[macro_export]
macro_rules! scenario {
    ($name:ident, |$cx:ident| $body:block) => {
        pub fn $name($cx: &mut $crate::script::Ctx) -> futures::future::BoxFuture<'_, ()> {
            Box::pin(async move $body)
        }
    };
}

scenario!(create_persistent, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"base").await;
    cx.mk(&a, "n", b"hello").await;
    cx.get(&a, "n").await;
    cx.exists(&a, "n").await;
    cx.mk(&a, "n", b"again").await;
    cx.get(&a, "").await;
    cx.children(&a, "").await;
});

scenario!(create_errors, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "missing/child", b"").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "eph", CreateMode::Ephemeral).await;
    cx.mk(&a, "eph/child", b"").await;
    cx.mk_mode(&a, "eph/seq-", CreateMode::EphemeralSequential)
        .await;
    cx.op(&a, Ctx::create("/", b"", CreateMode::Persistent))
        .await;
});

scenario!(create_ephemeral, |cx| {
    let a = cx.open("a").await;
    let b = cx.open("b").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "mine", CreateMode::Ephemeral).await;
    cx.mk_mode(&b, "theirs", CreateMode::Ephemeral).await;
    cx.exists(&a, "mine").await;
    cx.exists(&a, "theirs").await;
    cx.exists(&b, "mine").await;
    cx.get(&b, "").await;
});

scenario!(create_sequential, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "q-", CreateMode::PersistentSequential).await;
    cx.mk_mode(&a, "q-", CreateMode::PersistentSequential).await;
    cx.mk_mode(&a, "plain", CreateMode::Persistent).await;
    cx.mk_mode(&a, "e-", CreateMode::EphemeralSequential).await;
    cx.mk_mode(&a, "q-", CreateMode::PersistentSequential).await;
    cx.children(&a, "").await;
});

scenario!(sequential_empty_name, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    let base = cx.p("");
    cx.op(
        &a,
        Ctx::create(&format!("{base}/"), b"", CreateMode::PersistentSequential),
    )
    .await;
    cx.op(
        &a,
        Ctx::create(&format!("{base}/"), b"", CreateMode::EphemeralSequential),
    )
    .await;
    cx.op(
        &a,
        Ctx::create(&format!("{base}/"), b"", CreateMode::Persistent),
    )
    .await;
    cx.children(&a, "").await;
});

scenario!(sequential_after_deletes, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "x-", CreateMode::PersistentSequential).await;
    cx.get(&a, "").await;
    cx.del(&a, "x-0000000000", None).await;
    cx.get(&a, "").await;
    cx.mk(&a, "other", b"").await;
    cx.get(&a, "").await;
    cx.del(&a, "other", None).await;
    cx.get(&a, "").await;
    cx.mk_mode(&a, "x-", CreateMode::PersistentSequential).await;
    cx.get(&a, "").await;
    cx.mk(&a, "other", b"").await;
    cx.mk(&a, "other", b"").await;
    cx.get(&a, "").await;
    cx.mk_mode(&a, "x-", CreateMode::PersistentSequential).await;
    cx.get(&a, "").await;
    cx.del(&a, "other", None).await;
    cx.del(&a, "x-0000000002", None).await;
    cx.mk_mode(&a, "x-", CreateMode::PersistentSequential).await;
    cx.children(&a, "").await;
});

scenario!(sequential_per_parent, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "p1", b"").await;
    cx.mk(&a, "p2", b"").await;
    cx.mk_mode(&a, "p1/s-", CreateMode::PersistentSequential)
        .await;
    cx.mk_mode(&a, "p2/s-", CreateMode::PersistentSequential)
        .await;
    cx.mk_mode(&a, "p1/s-", CreateMode::PersistentSequential)
        .await;
    cx.children(&a, "p1").await;
    cx.children(&a, "p2").await;
});

scenario!(create_container, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "box", CreateMode::Container).await;
    cx.get(&a, "box").await;
    cx.mk_mode(&a, "box/item", CreateMode::Persistent).await;
    cx.exists(&a, "box").await;
    cx.mk_mode(&a, "box/e", CreateMode::Ephemeral).await;
    cx.mk_mode(&a, "box/inner", CreateMode::Container).await;
    cx.children(&a, "box").await;
});

scenario!(create_ttl, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(
        &a,
        "t",
        CreateMode::PersistentWithTtl(Duration::from_secs(3600)),
    )
    .await;
    cx.mk_mode(
        &a,
        "ts-",
        CreateMode::PersistentSequentialWithTtl(Duration::from_secs(3600)),
    )
    .await;
    cx.mk_mode(&a, "zero", CreateMode::PersistentWithTtl(Duration::ZERO))
        .await;
    cx.mk_mode(&a, "t/child", CreateMode::Persistent).await;
    cx.get(&a, "t").await;
    cx.children(&a, "").await;
});

scenario!(delete_rules, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "n", b"").await;
    cx.mk(&a, "n/c", b"").await;
    cx.del(&a, "n", None).await;
    cx.del(&a, "n/c", Some(3)).await;
    cx.del(&a, "n/c", Some(0)).await;
    cx.del(&a, "n/c", None).await;
    cx.del(&a, "missing", None).await;
    cx.set(&a, "n", b"x", None).await;
    cx.del(&a, "n", Some(0)).await;
    cx.del(&a, "n", Some(1)).await;
    cx.get(&a, "").await;
});

scenario!(set_data_versions, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "n", b"one").await;
    cx.set(&a, "n", b"two", Some(0)).await;
    cx.set(&a, "n", b"three", Some(0)).await;
    cx.set(&a, "n", b"three", Some(1)).await;
    cx.set(&a, "n", b"", None).await;
    cx.set(&a, "n", b"same", None).await;
    cx.set(&a, "n", b"same", None).await;
    cx.set(&a, "missing", b"x", None).await;
    cx.set(&a, "missing", b"x", Some(0)).await;
    cx.get(&a, "n").await;
    cx.get(&a, "").await;
});

scenario!(reads_of_missing_nodes, |cx| {
    let a = cx.open("a").await;
    cx.get(&a, "").await;
    cx.exists(&a, "").await;
    cx.children(&a, "").await;
    let base = cx.p("");
    cx.op(&a, Op::GetAcl { path: base.clone() }).await;
    cx.op(
        &a,
        Op::SetAcl {
            path: base,
            acl: docent::Acl::open(),
            version: None,
        },
    )
    .await;
});

scenario!(children_and_stats, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    for name in ["b", "a", "c", "aa", "B"] {
        cx.mk(&a, name, name.as_bytes()).await;
    }
    cx.children(&a, "").await;
    cx.del(&a, "aa", None).await;
    cx.children(&a, "").await;
    cx.children(&a, "a").await;
    cx.op(
        &a,
        Op::GetChildren {
            path: "/zookeeper".into(),
            watch: false,
        },
    )
    .await;
});

scenario!(binary_and_empty_data, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "bin", &[0, 159, 255, 1]).await;
    cx.get(&a, "bin").await;
    cx.mk(&a, "big", &[7u8; 1000]).await;
    cx.get(&a, "big").await;
    cx.set(&a, "big", &[], None).await;
    cx.get(&a, "big").await;
});

scenario!(path_validation, |cx| {
    let a = cx.open("a").await;
    let bad = [
        "",
        "relative",
        "/trailing/",
        "/double//slash",
        "/dot/./x",
        "/dotdot/../x",
        "/nul\u{0}x",
        "/ctl\u{1}x",
        "/del\u{7f}x",
        "/emoji\u{1F600}",
        "/private\u{E000}",
    ];
    for path in bad {
        cx.op(&a, Ctx::create(path, b"", CreateMode::Persistent))
            .await;
        cx.op(
            &a,
            Op::Exists {
                path: path.into(),
                watch: false,
            },
        )
        .await;
    }
    cx.op(
        &a,
        Op::Delete {
            path: "/x/".into(),
            version: None,
        },
    )
    .await;
    cx.op(
        &a,
        Op::GetData {
            path: "x".into(),
            watch: false,
        },
    )
    .await;
    // Dots inside a name are fine.
    let base = cx.p("");
    cx.mk(&a, "", b"").await;
    cx.op(
        &a,
        Ctx::create(&format!("{base}/.x"), b"", CreateMode::Persistent),
    )
    .await;
    cx.op(
        &a,
        Ctx::create(&format!("{base}/..."), b"", CreateMode::Persistent),
    )
    .await;
    cx.op(
        &a,
        Ctx::create(&format!("{base}/ü"), b"", CreateMode::Persistent),
    )
    .await;
});

// ZooKeeper reads no packet over `jute.maxbuffer` (0xfffff bytes): the connection drops
// (connection loss, nothing applied, the session lives on). So 1 MiB of data never fits;
// the largest create is `docent::wire::MAX_PACKET` minus the request's framing.
scenario!(data_limit, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    const MIB: usize = 1024 * 1024;
    for (name, len) in [("under", MIB - 1024), ("exact", MIB), ("over", MIB + 1)] {
        cx.mk(&a, name, &vec![1u8; len]).await;
    }
    // Framing of a create with one world:anyone ACL: header 8, path 4+len, data 4, ACL 27,
    // flags 4.
    let edge = cx.p("edge");
    let largest = docent::wire::MAX_PACKET - (8 + 4 + edge.len() + 4 + 27 + 4);
    cx.mk(&a, "edge", &vec![3u8; largest + 1]).await;
    cx.mk(&a, "edge", &vec![3u8; largest]).await;
    cx.mk(&a, "small", b"").await;
    cx.set(&a, "small", &vec![2u8; MIB - 1024], None).await;
    cx.set(&a, "small", &vec![2u8; MIB], None).await;
    cx.exists(&a, "small").await;
    cx.children(&a, "").await;
});
