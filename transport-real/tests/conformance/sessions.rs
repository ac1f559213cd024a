//! Scenarios about sessions and the server's own deletes: close, expiry, container and TTL
//! reaping, sync.

use std::time::Duration;

use docent::{AddWatchMode, CreateMode, Op};

use crate::scenario;

scenario!(close_deletes_ephemerals_of_that_session, |cx| {
    let a = cx.open("a").await;
    let b = cx.open("b").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "a-eph", CreateMode::Ephemeral).await;
    cx.mk_mode(&b, "b-eph", CreateMode::Ephemeral).await;
    cx.mk_mode(&b, "b-seq-", CreateMode::EphemeralSequential)
        .await;
    cx.mk_mode(&b, "b-persistent", CreateMode::Persistent).await;
    cx.watch(
        &a,
        "b-eph",
        Op::Exists {
            path: cx.p("b-eph"),
            watch: true,
        },
    )
    .await;
    cx.watch(
        &a,
        "kids",
        Op::GetChildren {
            path: cx.p(""),
            watch: true,
        },
    )
    .await;
    cx.close(&b).await;
    cx.fired("b-eph").await;
    cx.fired("kids").await;
    cx.children(&a, "").await;
    cx.get(&a, "").await;
    cx.exists(&a, "a-eph").await;
});

scenario!(closed_session_refuses_ops, |cx| {
    let a = cx.open("a").await;
    let b = cx.open("b").await;
    cx.mk(&a, "", b"").await;
    cx.watch(
        &b,
        "w",
        Op::Exists {
            path: cx.p("never"),
            watch: true,
        },
    )
    .await;
    cx.close(&b).await;
    cx.fired("w").await;
    cx.exists(&b, "").await;
    cx.mk(&b, "after-close", b"").await;
    cx.exists(&a, "after-close").await;
});

scenario!(session_expiry, |cx| {
    let a = cx.open("a").await;
    let v = cx.open_expirable("v").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&v, "eph", CreateMode::Ephemeral).await;
    cx.mk_mode(&v, "seq-", CreateMode::EphemeralSequential)
        .await;
    cx.mk_mode(&v, "kept", CreateMode::Persistent).await;
    cx.watch(
        &v,
        "v-data",
        Op::GetData {
            path: cx.p("kept"),
            watch: true,
        },
    )
    .await;
    cx.watch(
        &v,
        "v-absent",
        Op::Exists {
            path: cx.p("never"),
            watch: true,
        },
    )
    .await;
    cx.watch(
        &v,
        "v-persistent",
        Op::AddWatch {
            path: cx.p(""),
            mode: AddWatchMode::PersistentRecursive,
        },
    )
    .await;
    cx.watch(
        &a,
        "a-eph",
        Op::Exists {
            path: cx.p("eph"),
            watch: true,
        },
    )
    .await;
    cx.watch(
        &a,
        "a-kids",
        Op::GetChildren {
            path: cx.p(""),
            watch: true,
        },
    )
    .await;
    cx.expire(&v).await;
    cx.fired("v-data").await;
    cx.fired("v-absent").await;
    cx.fired("v-persistent").await;
    cx.fired("a-eph").await;
    cx.fired("a-kids").await;
    cx.children(&a, "").await;
    // The transport's next session works, and owns what it creates.
    cx.mk_mode(&v, "eph", CreateMode::Ephemeral).await;
    cx.exists(&a, "eph").await;
    cx.get(&v, "").await;
});

scenario!(ephemeral_owner_is_the_session, |cx| {
    let a = cx.open("a").await;
    let b = cx.open("b").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "e1", CreateMode::Ephemeral).await;
    cx.mk_mode(&b, "e2", CreateMode::EphemeralSequential).await;
    cx.exists(&b, "e1").await;
    cx.exists(&a, "e20000000001").await;
    cx.op(
        &b,
        Op::Delete {
            path: cx.p("e1"),
            version: None,
        },
    )
    .await;
    cx.exists(&a, "e1").await;
    cx.set(&b, "e20000000001", b"x", None).await;
    cx.exists(&a, "e20000000001").await;
});

scenario!(container_reaped_after_last_child, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "used", CreateMode::Container).await;
    cx.mk_mode(&a, "unused", CreateMode::Container).await;
    cx.mk_mode(&a, "used/child", CreateMode::Persistent).await;
    cx.mk_mode(&a, "full", CreateMode::Container).await;
    cx.mk_mode(&a, "full/child", CreateMode::Persistent).await;
    cx.mk_mode(&a, "full/other", CreateMode::Persistent).await;
    cx.del(&a, "full/other", None).await;
    cx.del(&a, "used/child", None).await;
    cx.await_gone(&a, &cx.p("used")).await;
    cx.let_reaper_run().await;
    cx.exists(&a, "unused").await;
    cx.exists(&a, "full").await;
    cx.get(&a, "").await;
});

scenario!(container_reaping_fires_watches, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk_mode(&a, "box", CreateMode::Container).await;
    cx.mk_mode(&a, "box/e", CreateMode::Ephemeral).await;
    cx.watch(
        &a,
        "box",
        Op::GetData {
            path: cx.p("box"),
            watch: true,
        },
    )
    .await;
    cx.watch(
        &a,
        "kids",
        Op::GetChildren {
            path: cx.p(""),
            watch: true,
        },
    )
    .await;
    cx.del(&a, "box/e", None).await;
    cx.fired("box").await;
    cx.fired("kids").await;
    cx.exists(&a, "box").await;
});

scenario!(ttl_expiry, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    let short = CreateMode::PersistentWithTtl(Duration::from_millis(500));
    cx.mk_mode(&a, "short", short).await;
    cx.mk_mode(&a, "parent", short).await;
    cx.mk_mode(&a, "parent/child", CreateMode::Persistent).await;
    cx.mk_mode(
        &a,
        "long",
        CreateMode::PersistentWithTtl(Duration::from_secs(3600)),
    )
    .await;
    cx.mk_mode(
        &a,
        "seq-",
        CreateMode::PersistentSequentialWithTtl(Duration::from_millis(500)),
    )
    .await;
    cx.await_gone(&a, &cx.p("short")).await;
    cx.await_gone(&a, &cx.p("seq-0000000003")).await;
    cx.let_reaper_run().await;
    cx.exists(&a, "parent").await;
    cx.exists(&a, "long").await;
    cx.del(&a, "parent/child", None).await;
    cx.await_gone(&a, &cx.p("parent")).await;
    cx.children(&a, "").await;
});

scenario!(sync_then_read, |cx| {
    let a = cx.open("a").await;
    let b = cx.open("b").await;
    cx.mk(&a, "", b"").await;
    cx.set(&a, "", b"new", None).await;
    cx.op(&b, Op::Sync { path: cx.p("") }).await;
    cx.get(&b, "").await;
    cx.op(
        &b,
        Op::Sync {
            path: cx.p("missing"),
        },
    )
    .await;
    cx.op(&b, Op::Sync { path: "bad".into() }).await;
    cx.op(&b, Op::Sync { path: "/".into() }).await;
});
