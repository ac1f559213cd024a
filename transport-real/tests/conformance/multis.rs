//! Scenarios about multi: results in order, the failing index, atomicity, sequential names.

use docent::{Acl, CreateMode, MultiOp, Op, ReadOp};

use crate::scenario;

fn create(path: String, mode: CreateMode) -> MultiOp {
    MultiOp::Create {
        path,
        data: b"m".to_vec(),
        acl: Acl::open(),
        mode,
    }
}

fn check(path: String, version: Option<i32>) -> MultiOp {
    MultiOp::Check { path, version }
}

fn set(path: String, data: &[u8], version: Option<i32>) -> MultiOp {
    MultiOp::SetData {
        path,
        data: data.to_vec(),
        version,
    }
}

fn delete(path: String, version: Option<i32>) -> MultiOp {
    MultiOp::Delete { path, version }
}

scenario!(multi_success, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "old", b"").await;
    let ops = vec![
        create(cx.p("new"), CreateMode::Persistent),
        set(cx.p("new"), b"set", Some(0)),
        check(cx.p("new"), Some(1)),
        create(cx.p("new/s-"), CreateMode::PersistentSequential),
        delete(cx.p("old"), Some(0)),
        create(cx.p("e"), CreateMode::Ephemeral),
    ];
    cx.multi(&a, ops).await;
    cx.get(&a, "new").await;
    cx.children(&a, "").await;
    cx.children(&a, "new").await;
});

scenario!(multi_failure_index, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "x", b"").await;
    // Each position fails in turn, with a different error.
    let failing = [
        check(cx.p("missing"), None),
        check(cx.p("x"), Some(7)),
        create(cx.p("x"), CreateMode::Persistent),
        delete(cx.p("missing"), None),
        set(cx.p("x"), b"v", Some(9)),
        create(cx.p("nope/child"), CreateMode::Persistent),
    ];
    for (at, bad) in failing.into_iter().enumerate() {
        let mut ops = vec![
            create(cx.p(&format!("ok{at}-a")), CreateMode::Persistent),
            set(cx.p("x"), b"changed", None),
            create(cx.p(&format!("ok{at}-b")), CreateMode::Persistent),
        ];
        ops.insert(at.min(3), bad);
        cx.multi(&a, ops).await;
    }
    cx.get(&a, "x").await;
    cx.children(&a, "").await;
});

scenario!(multi_rollback_keeps_sequence, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    let ops = vec![
        create(cx.p("s-"), CreateMode::PersistentSequential),
        create(cx.p("s-"), CreateMode::PersistentSequential),
        check(cx.p("missing"), None),
    ];
    cx.multi(&a, ops).await;
    cx.get(&a, "").await;
    let ops = vec![
        create(cx.p("s-"), CreateMode::PersistentSequential),
        create(cx.p("s-"), CreateMode::PersistentSequential),
    ];
    cx.multi(&a, ops).await;
    cx.get(&a, "").await;
});

scenario!(multi_dependent_ops, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    // Later ops see earlier ones: create then delete, delete then re-create.
    let ops = vec![
        create(cx.p("t"), CreateMode::Persistent),
        create(cx.p("t/c"), CreateMode::Persistent),
        delete(cx.p("t/c"), None),
        delete(cx.p("t"), Some(0)),
        create(cx.p("t"), CreateMode::Ephemeral),
        check(cx.p("t"), Some(0)),
    ];
    cx.multi(&a, ops).await;
    cx.exists(&a, "t").await;
    cx.get(&a, "").await;
    // A delete of a node with children fails even if a later op would empty it.
    let ops = vec![
        create(cx.p("u"), CreateMode::Persistent),
        create(cx.p("u/c"), CreateMode::Persistent),
        delete(cx.p("u"), None),
        delete(cx.p("u/c"), None),
    ];
    cx.multi(&a, ops).await;
    let ops = vec![create(cx.p("t/under-ephemeral"), CreateMode::Persistent)];
    cx.multi(&a, ops).await;
});

scenario!(multi_empty_and_checks, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.multi(&a, Vec::new()).await;
    cx.multi(&a, vec![check(cx.p(""), None), check(cx.p(""), Some(0))])
        .await;
    cx.multi(&a, vec![check(cx.p(""), Some(-1))]).await;
    cx.set(&a, "", b"v", None).await;
    cx.multi(&a, vec![check(cx.p(""), Some(1))]).await;
    cx.multi(&a, vec![check(cx.p(""), Some(0))]).await;
});

scenario!(multi_invalid_paths, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.multi(
        &a,
        vec![
            create(cx.p("fine"), CreateMode::Persistent),
            create(format!("{}/bad/", cx.base), CreateMode::Persistent),
        ],
    )
    .await;
    cx.multi(
        &a,
        vec![
            create(cx.p("fine"), CreateMode::Persistent),
            check("relative".into(), None),
        ],
    )
    .await;
    cx.children(&a, "").await;
});

scenario!(multi_acl_and_ephemeral_parent, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    let ro = cx.p("ro");
    cx.op(
        &a,
        Op::Create {
            path: ro.clone(),
            data: Vec::new(),
            acl: Acl::read_only(),
            mode: CreateMode::Persistent,
        },
    )
    .await;
    cx.multi(
        &a,
        vec![check(cx.p("ro"), Some(0)), set(cx.p("ro"), b"no", None)],
    )
    .await;
    cx.multi(
        &a,
        vec![
            create(cx.p("eph"), CreateMode::Ephemeral),
            create(cx.p("eph/c"), CreateMode::Persistent),
        ],
    )
    .await;
    cx.multi(
        &a,
        vec![
            create(cx.p("c"), CreateMode::Container),
            create(cx.p("c/s-"), CreateMode::EphemeralSequential),
            create(cx.p("c/s-"), CreateMode::PersistentSequential),
        ],
    )
    .await;
    cx.children(&a, "c").await;
    cx.exists(&a, "c").await;
});

// `multiRead`: each read answers on its own (data, children, NoNode, NoAuth), in order; an
// empty one answers nothing; an invalid path refuses the whole request.
scenario!(multi_read, |cx| {
    let a = cx.open("a").await;
    let stranger = cx.open_digest("stranger", "eve", "pw").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "x", b"one").await;
    cx.mk(&a, "x/c1", b"").await;
    cx.mk(&a, "x/c2", b"").await;
    cx.set(&a, "x", b"two", Some(0)).await;
    let secret = cx.p("secret");
    cx.op(
        &a,
        Op::Create {
            path: secret.clone(),
            data: b"s".to_vec(),
            acl: vec![Acl::new(
                docent::Perms::READ,
                docent::Id::new("digest", docent_sim::model::digest_id(b"bob:pw")),
            )],
            mode: CreateMode::Persistent,
        },
    )
    .await;
    let get = |path: String| ReadOp::GetData { path };
    let list = |path: String| ReadOp::GetChildren { path };
    let reads = vec![
        get(cx.p("x")),
        list(cx.p("x")),
        get(cx.p("missing")),
        list(cx.p("missing")),
        get(secret.clone()),
        list(cx.p("x/c1")),
        get(cx.p("x/c2")),
    ];
    cx.op(&a, Op::MultiRead(reads.clone())).await;
    cx.op(&stranger, Op::MultiRead(reads)).await;
    cx.op(&a, Op::MultiRead(Vec::new())).await;
    cx.op(
        &a,
        Op::MultiRead(vec![get(cx.p("x")), get("bad//path".into())]),
    )
    .await;
});
