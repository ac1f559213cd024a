//! Scenarios about watches: which events fire for which change, one-shot semantics,
//! persistent and recursive watches, and watches of one session fired by another.

use docent::{Acl, AddWatchMode, CreateMode, MultiOp, Op};

use crate::scenario;

fn get_w(path: String) -> Op {
    Op::GetData { path, watch: true }
}

fn children_w(path: String) -> Op {
    Op::GetChildren { path, watch: true }
}

fn exists_w(path: String) -> Op {
    Op::Exists { path, watch: true }
}

fn add_watch(path: String, mode: AddWatchMode) -> Op {
    Op::AddWatch { path, mode }
}

scenario!(exists_watch_lifecycle, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.watch(&a, "absent", exists_w(cx.p("n"))).await;
    cx.mk(&a, "n", b"").await;
    cx.fired("absent").await;
    cx.watch(&a, "present", exists_w(cx.p("n"))).await;
    cx.set(&a, "n", b"x", None).await;
    cx.fired("present").await;
    cx.watch(&a, "gone", exists_w(cx.p("n"))).await;
    cx.del(&a, "n", None).await;
    cx.fired("gone").await;
});

scenario!(reads_of_missing_nodes_leave_no_watch, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.watch(&a, "data", get_w(cx.p("n"))).await;
    cx.watch(&a, "kids", children_w(cx.p("n"))).await;
    cx.watch(&a, "exists", exists_w(cx.p("n"))).await;
    cx.mk(&a, "n", b"").await;
    cx.fired("exists").await;
    cx.quiet(&a, "data").await;
    cx.quiet(&a, "kids").await;
});

scenario!(data_watch_is_one_shot, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "n", b"0").await;
    cx.watch(&a, "w1", get_w(cx.p("n"))).await;
    cx.watch(&a, "w2", exists_w(cx.p("n"))).await;
    cx.set(&a, "n", b"1", None).await;
    cx.set(&a, "n", b"2", None).await;
    cx.fired("w1").await;
    cx.fired("w2").await;
    cx.watch(&a, "w3", get_w(cx.p("n"))).await;
    cx.quiet(&a, "w3").await;
    cx.set(&a, "n", b"3", None).await;
    cx.fired("w3").await;
});

scenario!(delete_fires_data_child_and_exists_watches, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "n", b"").await;
    cx.watch(&a, "data", get_w(cx.p("n"))).await;
    cx.watch(&a, "kids", children_w(cx.p("n"))).await;
    cx.watch(&a, "exists", exists_w(cx.p("n"))).await;
    cx.watch(&a, "parent", children_w(cx.p(""))).await;
    cx.watch(&a, "parent-data", get_w(cx.p(""))).await;
    cx.del(&a, "n", None).await;
    cx.fired("data").await;
    cx.fired("kids").await;
    cx.fired("exists").await;
    cx.fired("parent").await;
    cx.quiet(&a, "parent-data").await;
});

scenario!(child_create_fires_child_watch_only, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.watch(&a, "kids", children_w(cx.p(""))).await;
    cx.watch(&a, "data", get_w(cx.p(""))).await;
    cx.watch(&a, "exists", exists_w(cx.p(""))).await;
    cx.watch(&a, "child", exists_w(cx.p("c"))).await;
    cx.mk(&a, "c", b"").await;
    cx.fired("kids").await;
    cx.fired("child").await;
    cx.quiet(&a, "data").await;
    cx.quiet(&a, "exists").await;
});

scenario!(child_data_change_does_not_fire_parent, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "c", b"").await;
    cx.watch(&a, "kids", children_w(cx.p(""))).await;
    cx.watch(&a, "child-kids", children_w(cx.p("c"))).await;
    cx.set(&a, "c", b"x", None).await;
    cx.quiet(&a, "kids").await;
    cx.quiet(&a, "child-kids").await;
    cx.del(&a, "c", None).await;
    cx.fired("kids").await;
    cx.fired("child-kids").await;
});

scenario!(watch_fired_by_other_session, |cx| {
    let a = cx.open("a").await;
    let b = cx.open("b").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "n", b"").await;
    cx.watch(&a, "data", get_w(cx.p("n"))).await;
    cx.watch(&a, "kids", children_w(cx.p("n"))).await;
    cx.set(&b, "n", b"from b", None).await;
    cx.fired("data").await;
    cx.mk(&b, "n/c", b"").await;
    cx.fired("kids").await;
    cx.get(&a, "n").await;
});

scenario!(set_acl_and_failed_writes_fire_nothing, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "n", b"").await;
    cx.watch(&a, "data", get_w(cx.p("n"))).await;
    cx.watch(&a, "kids", children_w(cx.p(""))).await;
    cx.op(
        &a,
        Op::SetAcl {
            path: cx.p("n"),
            acl: Acl::open(),
            version: None,
        },
    )
    .await;
    cx.set(&a, "n", b"x", Some(5)).await;
    cx.mk(&a, "n", b"").await;
    cx.multi(
        &a,
        vec![
            MultiOp::SetData {
                path: cx.p("n"),
                data: b"y".to_vec(),
                version: None,
            },
            MultiOp::Check {
                path: cx.p("missing"),
                version: None,
            },
        ],
    )
    .await;
    cx.quiet(&a, "data").await;
    cx.quiet(&a, "kids").await;
    cx.multi(
        &a,
        vec![
            MultiOp::SetData {
                path: cx.p("n"),
                data: b"y".to_vec(),
                version: None,
            },
            MultiOp::Create {
                path: cx.p("m"),
                data: Vec::new(),
                acl: Acl::open(),
                mode: CreateMode::Persistent,
            },
        ],
    )
    .await;
    cx.fired("data").await;
    cx.fired("kids").await;
});

scenario!(persistent_watch, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.watch(&a, "p", add_watch(cx.p("n"), AddWatchMode::Persistent))
        .await;
    cx.mk(&a, "n", b"").await;
    cx.set(&a, "n", b"1", None).await;
    cx.set(&a, "n", b"2", None).await;
    cx.mk(&a, "n/c", b"").await;
    cx.set(&a, "n/c", b"x", None).await;
    cx.del(&a, "n/c", None).await;
    cx.del(&a, "n", None).await;
    for _ in 0..6 {
        cx.fired("p").await;
    }
    cx.quiet(&a, "p").await;
    cx.mk(&a, "n", b"").await;
    cx.fired("p").await;
});

scenario!(persistent_recursive_watch, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.watch(
        &a,
        "r",
        add_watch(cx.p(""), AddWatchMode::PersistentRecursive),
    )
    .await;
    cx.mk(&a, "x", b"").await;
    cx.mk(&a, "x/y", b"").await;
    cx.set(&a, "x/y", b"1", None).await;
    cx.set(&a, "", b"base", None).await;
    cx.mk_mode(&a, "x/s-", CreateMode::PersistentSequential)
        .await;
    cx.del(&a, "x/y", None).await;
    for _ in 0..6 {
        cx.fired("r").await;
    }
    cx.quiet(&a, "r").await;
    cx.multi(
        &a,
        vec![
            MultiOp::Create {
                path: cx.p("m1"),
                data: Vec::new(),
                acl: Acl::open(),
                mode: CreateMode::Persistent,
            },
            MultiOp::Create {
                path: cx.p("m1/m2"),
                data: Vec::new(),
                acl: Acl::open(),
                mode: CreateMode::Persistent,
            },
            MultiOp::Delete {
                path: cx.p("m1/m2"),
                version: None,
            },
        ],
    )
    .await;
    for _ in 0..3 {
        cx.fired("r").await;
    }
    cx.quiet(&a, "r").await;
});

// One-shot and persistent watches of one session on different paths. (On the same path,
// ZooKeeper 3.8.0 lets the later one-shot watch replace the persistent one, ZOOKEEPER-4466;
// the model does not copy that bug, so no scenario relies on it.)
scenario!(persistent_and_one_shot_together, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "n", b"").await;
    cx.watch(
        &a,
        "r",
        add_watch(cx.p(""), AddWatchMode::PersistentRecursive),
    )
    .await;
    cx.watch(&a, "p", add_watch(cx.p("n"), AddWatchMode::Persistent))
        .await;
    cx.watch(&a, "once", get_w(cx.p("n"))).await;
    cx.watch(&a, "child", exists_w(cx.p("n/c"))).await;
    cx.set(&a, "n", b"1", None).await;
    cx.fired("once").await;
    cx.fired("r").await;
    cx.mk(&a, "n/c", b"").await;
    cx.fired("child").await;
    cx.fired("r").await;
    cx.fired("p").await;
    cx.fired("p").await;
    cx.quiet(&a, "p").await;
    cx.quiet(&a, "r").await;
});

scenario!(recursive_watch_on_other_session_changes, |cx| {
    let a = cx.open("a").await;
    let b = cx.open("b").await;
    cx.mk(&a, "", b"").await;
    cx.watch(
        &a,
        "r",
        add_watch(cx.p(""), AddWatchMode::PersistentRecursive),
    )
    .await;
    cx.mk_mode(&b, "e", CreateMode::Ephemeral).await;
    cx.fired("r").await;
    cx.close(&b).await;
    cx.fired("r").await;
    cx.quiet(&a, "r").await;
});
