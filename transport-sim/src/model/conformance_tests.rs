//! Model fixes found by the sim-vs-real conformance suite (`docent-zk`'s
//! `tests/conformance.rs`), each pinned here against what ZooKeeper 3.8 did.

use docent::{Acl, CreateMode, Error, MultiOp, Op, OpResult, Stat};

use super::tests::{create, ms, Rig};
use super::ClientOptions;

fn stat_of(r: &mut Rig, c: super::ClientId, path: &str) -> Stat {
    match r.op(
        c,
        Op::Exists {
            path: path.into(),
            watch: false,
        },
    ) {
        Ok(OpResult::Exists(Some(stat))) => stat,
        other => panic!("exists {path}: {other:?}"),
    }
}

fn delete(path: &str, version: Option<i32>) -> Op {
    Op::Delete {
        path: path.into(),
        version,
    }
}

/// ZooKeeper persists a parent's cversion as its count of child creates (which names
/// sequential children) and shows clients `2 * creates - numChildren`.
#[test]
fn sequence_numbers_count_creates_while_cversion_counts_changes() {
    let mut r = Rig::new(21);
    let c = r.client(ClientOptions::default());
    r.op(c, create("/q", CreateMode::Persistent)).unwrap();
    r.op(c, create("/q/s-", CreateMode::PersistentSequential))
        .unwrap();
    r.op(c, delete("/q/s-0000000000", None)).unwrap();
    r.op(c, create("/q/x", CreateMode::Persistent)).unwrap();
    r.op(c, delete("/q/x", None)).unwrap();
    let st = stat_of(&mut r, c, "/q");
    assert_eq!((st.cversion, st.num_children), (4, 0));
    match r.op(c, create("/q/s-", CreateMode::PersistentSequential)) {
        Ok(OpResult::Created { path, .. }) => assert_eq!(path, "/q/s-0000000002"),
        other => panic!("{other:?}"),
    }
    let st = stat_of(&mut r, c, "/q");
    assert_eq!((st.cversion, st.num_children), (5, 1));
    // The built-in nodes had children added without a create: -2 for /zookeeper.
    assert_eq!(stat_of(&mut r, c, "/zookeeper").cversion, -2);
}

/// Clients see ephemeralOwner 0 on containers and TTL nodes; the reaper still knows them.
#[test]
fn containers_and_ttl_nodes_show_owner_zero() {
    let mut r = Rig::new(22);
    let c = r.client(ClientOptions::default());
    let created = |r: &mut Rig, path, mode| match r.op(c, create(path, mode)) {
        Ok(OpResult::Created { stat, .. }) => stat.ephemeral_owner,
        other => panic!("{other:?}"),
    };
    assert_eq!(created(&mut r, "/c", CreateMode::Container), 0);
    assert_eq!(
        created(&mut r, "/t", CreateMode::PersistentWithTtl(ms(500))),
        0
    );
    assert_eq!(stat_of(&mut r, c, "/c").ephemeral_owner, 0);
    let session = r.sim.session_id(c);
    assert_eq!(created(&mut r, "/e", CreateMode::Ephemeral), session);
    r.op(c, create("/c/x", CreateMode::Persistent)).unwrap();
    r.op(c, delete("/c/x", None)).unwrap();
    r.run(std::time::Duration::from_secs(25));
    assert!(r.sim.node(None, "/c").is_none(), "container reaped");
    assert!(r.sim.node(None, "/t").is_none(), "TTL node reaped");
}

/// Version -1 is ZooKeeper's "any version" for check, setData, delete and setAcl.
#[test]
fn version_minus_one_matches_any() {
    let mut r = Rig::new(23);
    let c = r.client(ClientOptions::default());
    r.op(c, create("/v", CreateMode::Persistent)).unwrap();
    let set = Op::SetData {
        path: "/v".into(),
        data: b"x".to_vec(),
        version: Some(-1),
    };
    assert!(matches!(r.op(c, set.clone()), Ok(OpResult::Stat(_))));
    assert!(matches!(r.op(c, set), Ok(OpResult::Stat(s)) if s.version == 2));
    let check = Op::Multi(vec![MultiOp::Check {
        path: "/v".into(),
        version: Some(-1),
    }]);
    assert!(matches!(r.op(c, check), Ok(OpResult::Multi(_))));
    let set_acl = Op::SetAcl {
        path: "/v".into(),
        acl: Acl::open(),
        version: Some(-1),
    };
    assert!(matches!(r.op(c, set_acl), Ok(OpResult::Stat(s)) if s.aversion == 1));
    assert_eq!(r.op(c, delete("/v", Some(-1))), Ok(OpResult::Deleted));
    r.op(c, create("/v", CreateMode::Persistent)).unwrap();
    assert_eq!(r.op(c, delete("/v", Some(3))), Err(Error::BadVersion));
}

/// A request over `jute.maxbuffer` (1 MiB of data is) makes the server drop the connection:
/// connection loss, nothing applied, the session survives.
#[test]
fn oversized_request_drops_the_connection() {
    let mut r = Rig::new(24);
    let c = r.client(ClientOptions::default());
    let session = r.sim.session_id(c);
    let big = Op::Create {
        path: "/big".into(),
        data: vec![1; 1024 * 1024],
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    };
    assert_eq!(r.op(c, big), Err(Error::ConnectionLoss));
    r.run(ms(2000));
    assert!(r.sim.node(None, "/big").is_none());
    assert_eq!(r.sim.session_id(c), session);
    let fits = Op::Create {
        path: "/big".into(),
        data: vec![1; 1024 * 1024 - 64],
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    };
    assert!(matches!(r.op(c, fits), Ok(OpResult::Created { .. })));
}
