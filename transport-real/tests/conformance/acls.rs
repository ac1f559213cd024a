//! Scenarios about ACLs: aversion, permissions per op, digest identities, invalid ACLs.

use docent::{Acl, CreateMode, Id, Op, Perms};

use crate::scenario;

fn create_with(path: &str, acl: Vec<Acl>, mode: CreateMode) -> Op {
    Op::Create {
        path: path.to_owned(),
        data: b"secret".to_vec(),
        acl,
        mode,
    }
}

fn set_acl(path: &str, acl: Vec<Acl>, version: Option<i32>) -> Op {
    Op::SetAcl {
        path: path.to_owned(),
        acl,
        version,
    }
}

scenario!(acl_versions, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    cx.mk(&a, "n", b"").await;
    let n = cx.p("n");
    cx.op(&a, Op::GetAcl { path: n.clone() }).await;
    cx.op(&a, set_acl(&n, Acl::read_only(), Some(1))).await;
    cx.op(&a, set_acl(&n, Acl::open(), Some(0))).await;
    cx.op(&a, set_acl(&n, Acl::open(), None)).await;
    cx.op(&a, set_acl(&n, Acl::open(), Some(2))).await;
    cx.op(&a, Op::GetAcl { path: n.clone() }).await;
    cx.get(&a, "n").await;
});

scenario!(acl_read_only_node, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    let n = cx.p("ro");
    cx.op(
        &a,
        create_with(&n, Acl::read_only(), CreateMode::Persistent),
    )
    .await;
    cx.get(&a, "ro").await;
    cx.set(&a, "ro", b"x", None).await;
    cx.mk(&a, "ro/child", b"").await;
    cx.op(&a, set_acl(&n, Acl::open(), None)).await;
    cx.op(&a, Op::GetAcl { path: n.clone() }).await;
    // Deleting needs DELETE on the parent, not on the node.
    cx.del(&a, "ro", None).await;
});

scenario!(acl_per_permission, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    let anyone = |perms| vec![Acl::new(perms, Id::anyone())];
    let base = cx.p("");
    cx.op(
        &a,
        create_with(
            &format!("{base}/nocreate"),
            anyone(Perms::READ | Perms::DELETE | Perms::WRITE),
            CreateMode::Persistent,
        ),
    )
    .await;
    cx.mk(&a, "nocreate/child", b"").await;
    cx.op(
        &a,
        create_with(
            &format!("{base}/nodelete"),
            anyone(Perms::READ | Perms::CREATE),
            CreateMode::Persistent,
        ),
    )
    .await;
    cx.mk(&a, "nodelete/child", b"").await;
    cx.del(&a, "nodelete/child", None).await;
    cx.op(
        &a,
        create_with(
            &format!("{base}/noread"),
            anyone(Perms::WRITE | Perms::ADMIN),
            CreateMode::Persistent,
        ),
    )
    .await;
    cx.get(&a, "noread").await;
    cx.children(&a, "noread").await;
    cx.exists(&a, "noread").await;
    let noread = cx.p("noread");
    cx.op(&a, Op::GetAcl { path: noread }).await;
    cx.set(&a, "noread", b"w", None).await;
    cx.op(
        &a,
        create_with(
            &format!("{base}/nothing"),
            anyone(Perms(0)),
            CreateMode::Persistent,
        ),
    )
    .await;
    let nothing = cx.p("nothing");
    cx.op(&a, Op::GetAcl { path: nothing }).await;
    cx.exists(&a, "nothing").await;
});

scenario!(acl_digest, |cx| {
    let owner = cx.open_digest("owner", "alice", "secret").await;
    let stranger = cx.open("stranger").await;
    let impostor = cx.open_digest("impostor", "alice", "wrong").await;
    let twin = cx.open_digest("twin", "alice", "secret").await;
    cx.mk(&owner, "", b"").await;
    let n = cx.p("private");
    cx.op(
        &owner,
        create_with(&n, Acl::creator_all(), CreateMode::Persistent),
    )
    .await;
    cx.op(&owner, Op::GetAcl { path: n.clone() }).await;
    cx.get(&owner, "private").await;
    cx.get(&stranger, "private").await;
    cx.set(&stranger, "private", b"x", None).await;
    cx.exists(&stranger, "private").await;
    cx.get(&impostor, "private").await;
    cx.get(&twin, "private").await;
    cx.set(&twin, "private", b"twin", Some(0)).await;
    cx.op(&stranger, Op::GetAcl { path: n.clone() }).await;
    let explicit = vec![Acl::new(
        Perms::READ,
        Id::new("digest", docent_sim::model::digest_id(b"bob:pw")),
    )];
    cx.op(&owner, set_acl(&n, explicit, None)).await;
    cx.get(&owner, "private").await;
    let bob = cx.open_digest("bob", "bob", "pw").await;
    cx.get(&bob, "private").await;
    cx.set(&bob, "private", b"bob", None).await;
});

scenario!(acl_invalid, |cx| {
    let a = cx.open("a").await;
    cx.mk(&a, "", b"").await;
    let base = cx.p("");
    cx.op(
        &a,
        create_with(
            &format!("{base}/auth"),
            Acl::creator_all(),
            CreateMode::Persistent,
        ),
    )
    .await;
    cx.op(
        &a,
        create_with(&format!("{base}/empty"), Vec::new(), CreateMode::Persistent),
    )
    .await;
    cx.op(
        &a,
        create_with(
            &format!("{base}/scheme"),
            vec![Acl::new(Perms::ALL, Id::new("nonsense", "x"))],
            CreateMode::Persistent,
        ),
    )
    .await;
    cx.op(
        &a,
        create_with(
            &format!("{base}/digest"),
            vec![Acl::new(Perms::ALL, Id::new("digest", "no-colon"))],
            CreateMode::Persistent,
        ),
    )
    .await;
    cx.op(
        &a,
        create_with(
            &format!("{base}/ip"),
            vec![Acl::new(Perms::ALL, Id::new("ip", "127.0.0.1"))],
            CreateMode::Persistent,
        ),
    )
    .await;
    cx.op(&a, set_acl(&base, Vec::new(), None)).await;
    cx.op(&a, set_acl(&base, Acl::creator_all(), None)).await;
    cx.children(&a, "").await;
});

scenario!(acl_digest_protects_children, |cx| {
    let owner = cx.open_digest("owner", "carol", "pw").await;
    let stranger = cx.open("stranger").await;
    cx.mk(&owner, "", b"").await;
    let dir = cx.p("dir");
    cx.op(
        &owner,
        create_with(&dir, Acl::creator_all(), CreateMode::Persistent),
    )
    .await;
    cx.mk(&owner, "dir/kid", b"").await;
    cx.mk(&stranger, "dir/intruder", b"").await;
    cx.del(&stranger, "dir/kid", None).await;
    cx.children(&stranger, "dir").await;
    cx.exists(&stranger, "dir/kid").await;
    cx.get(&stranger, "dir/kid").await;
    cx.del(&stranger, "dir", None).await;
    cx.del(&owner, "dir/kid", None).await;
    cx.children(&owner, "dir").await;
});
