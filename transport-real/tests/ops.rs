//! Operations, errors, sequential names, multi, chroot, auth and pipelining against a real
//! ZooKeeper started by the test binary itself.

mod common;

use std::time::Duration;

use common::*;
use docent::{
    Acl, AuthInfo, Coordinator, CreateMode, Error, MultiOp, MultiResult, Op, OpResult, Perms,
};
use docent_zk::ZkCoordinator;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_ops_and_their_errors() {
    let server = shared_server().await;
    let zk = connect(server.connect_string()).await;
    assert_eq!(
        create(&zk, "/basic", b"v0", CreateMode::Persistent)
            .await
            .unwrap(),
        "/basic"
    );
    assert_eq!(
        create(&zk, "/basic", b"", CreateMode::Persistent).await,
        Err(Error::NodeExists)
    );
    assert_eq!(get_data(&zk, "/basic").await.unwrap(), b"v0");
    assert_eq!(get_data(&zk, "/basic/none").await, Err(Error::NoNode));
    assert_eq!(
        create(&zk, "/none/child", b"", CreateMode::Persistent).await,
        Err(Error::NoNode)
    );

    let set = |data: &[u8], version| Op::SetData {
        path: "/basic".into(),
        data: data.to_vec(),
        version,
    };
    match run(&zk, set(b"v1", Some(0))).await.unwrap() {
        OpResult::Stat(stat) => assert_eq!((stat.version, stat.data_length), (1, 2)),
        other => panic!("{other:?}"),
    }
    assert_eq!(run(&zk, set(b"v2", Some(0))).await, Err(Error::BadVersion));
    assert_eq!(get_data(&zk, "/basic").await.unwrap(), b"v1");

    create(&zk, "/basic/child", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let delete = |path: &str, version| Op::Delete {
        path: path.into(),
        version,
    };
    assert_eq!(run(&zk, delete("/basic", None)).await, Err(Error::NotEmpty));
    assert_eq!(
        run(&zk, delete("/basic/child", Some(3))).await,
        Err(Error::BadVersion)
    );
    assert_eq!(
        run(&zk, delete("/basic/child", Some(0))).await,
        Ok(OpResult::Deleted)
    );

    let eph = create(&zk, "/basic/eph", b"", CreateMode::Ephemeral)
        .await
        .unwrap();
    assert_eq!(
        create(&zk, "/basic/eph/x", b"", CreateMode::Persistent).await,
        Err(Error::NoChildrenForEphemerals)
    );
    match run(
        &zk,
        Op::Exists {
            path: eph.clone(),
            watch: false,
        },
    )
    .await
    .unwrap()
    {
        OpResult::Exists(Some(stat)) => assert_eq!(stat.ephemeral_owner, zk.session_id()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        run(
            &zk,
            Op::Exists {
                path: "/basic/no".into(),
                watch: false
            }
        )
        .await,
        Ok(OpResult::Exists(None))
    );
    assert_eq!(
        run(
            &zk,
            Op::Sync {
                path: "/basic".into()
            }
        )
        .await,
        Ok(OpResult::Synced)
    );
    assert_eq!(
        children(&zk, "/basic").await.unwrap(),
        vec!["eph".to_string()]
    );

    match run(
        &zk,
        Op::GetAcl {
            path: "/basic".into(),
        },
    )
    .await
    .unwrap()
    {
        OpResult::Acl { acl, .. } => assert_eq!(acl, Acl::open()),
        other => panic!("{other:?}"),
    }
    let acl_op = Op::SetAcl {
        path: "/basic".into(),
        acl: Acl::read_only(),
        version: Some(0),
    };
    assert!(matches!(run(&zk, acl_op).await, Ok(OpResult::Stat(stat)) if stat.aversion == 1));
    assert_eq!(run(&zk, set(b"v3", None)).await, Err(Error::NoAuth));
    zk.close().await.unwrap();
    assert_eq!(run(&zk, set(b"v3", None)).await, Err(Error::Closed));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_names_and_call_time_pipelining() {
    let server = shared_server().await;
    let zk = connect(server.connect_string()).await;
    create(&zk, "/seq", b"", CreateMode::Persistent)
        .await
        .unwrap();
    // Submitted now, awaited later and in reverse: the server must still see call order.
    let pending: Vec<_> = (0..40)
        .map(|_| zk.submit(create_op("/seq/n-", b"", CreateMode::PersistentSequential)))
        .collect();
    let listing = zk.submit(Op::GetChildren {
        path: "/seq".into(),
        watch: false,
    });
    let mut names = Vec::new();
    for reply in pending.into_iter().rev() {
        match reply.await.unwrap().result {
            OpResult::Created { path, stat } => {
                assert_eq!(stat.data_length, 0);
                names.push(path);
            }
            other => panic!("{other:?}"),
        }
    }
    names.reverse();
    let expected: Vec<String> = (0..40).map(|i| format!("/seq/n-{i:010}")).collect();
    assert_eq!(names, expected);
    // The read queued behind the creates sees all of them.
    match listing.await.unwrap().result {
        OpResult::Children { children, stat } => {
            assert_eq!(children.len(), 40);
            assert_eq!(stat.num_children, 40);
        }
        other => panic!("{other:?}"),
    }
    let eph = create(&zk, "/seq/e-", b"", CreateMode::EphemeralSequential)
        .await
        .unwrap();
    assert_eq!(eph, "/seq/e-0000000040");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_applies_all_or_reports_the_failing_index() {
    let server = shared_server().await;
    let zk = connect(server.connect_string()).await;
    create(&zk, "/multi", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let mk = |path: &str| MultiOp::Create {
        path: path.into(),
        data: b"x".to_vec(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    };
    let failed = run(
        &zk,
        Op::Multi(vec![
            mk("/multi/a"),
            MultiOp::Check {
                path: "/multi/none".into(),
                version: Some(0),
            },
            mk("/multi/b"),
        ]),
    )
    .await;
    assert_eq!(
        failed,
        Err(Error::MultiFailed {
            index: 1,
            error: Box::new(Error::NoNode)
        })
    );
    assert!(!exists(&zk, "/multi/a").await);

    let ok = run(
        &zk,
        Op::Multi(vec![
            mk("/multi/a"),
            MultiOp::Check {
                path: "/multi".into(),
                version: Some(0),
            },
            MultiOp::SetData {
                path: "/multi/a".into(),
                data: b"y".to_vec(),
                version: Some(0),
            },
            MultiOp::Create {
                path: "/multi/s-".into(),
                data: vec![],
                acl: Acl::open(),
                mode: CreateMode::PersistentSequential,
            },
            MultiOp::Delete {
                path: "/multi/a".into(),
                version: Some(1),
            },
        ]),
    )
    .await
    .unwrap();
    match ok {
        OpResult::Multi(results) => {
            assert_eq!(
                results[0],
                MultiResult::Created {
                    path: "/multi/a".into()
                }
            );
            assert_eq!(results[1], MultiResult::Checked);
            assert!(matches!(results[2], MultiResult::DataSet(stat) if stat.version == 1));
            assert_eq!(
                results[3],
                MultiResult::Created {
                    path: "/multi/s-0000000001".into()
                }
            );
            assert_eq!(results[4], MultiResult::Deleted);
        }
        other => panic!("{other:?}"),
    }
    let bad_version = run(
        &zk,
        Op::Multi(vec![MultiOp::SetData {
            path: "/multi".into(),
            data: vec![],
            version: Some(9),
        }]),
    )
    .await;
    assert_eq!(
        bad_version,
        Err(Error::MultiFailed {
            index: 0,
            error: Box::new(Error::BadVersion)
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chroot_is_applied_and_stripped() {
    let server = shared_server().await;
    let root = connect(server.connect_string()).await;
    create(&root, "/chroot", b"", CreateMode::Persistent)
        .await
        .unwrap();
    let zk = connect(format!("{}/chroot", server.connect_string())).await;
    assert_eq!(
        create(&zk, "/a", b"in", CreateMode::Persistent)
            .await
            .unwrap(),
        "/a"
    );
    assert_eq!(
        create(&zk, "/a/s-", b"", CreateMode::PersistentSequential)
            .await
            .unwrap(),
        "/a/s-0000000000"
    );
    assert_eq!(get_data(&root, "/chroot/a").await.unwrap(), b"in");
    assert_eq!(children(&zk, "/").await.unwrap(), vec!["a".to_string()]);
    let reply = zk
        .submit(Op::GetData {
            path: "/a".into(),
            watch: true,
        })
        .await
        .unwrap();
    let watch = one_shot(reply);
    run(
        &root,
        Op::SetData {
            path: "/chroot/a".into(),
            data: vec![],
            version: None,
        },
    )
    .await
    .unwrap();
    let event = within(Duration::from_secs(10), watch).await;
    assert_eq!(
        (event.kind, event.path.as_str()),
        (docent::EventType::NodeDataChanged, "/a")
    );
    match run(
        &zk,
        Op::Multi(vec![MultiOp::Create {
            path: "/a/m".into(),
            data: vec![],
            acl: Acl::open(),
            mode: CreateMode::Persistent,
        }]),
    )
    .await
    .unwrap()
    {
        OpResult::Multi(results) => assert_eq!(
            results,
            vec![MultiResult::Created {
                path: "/a/m".into()
            }]
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn digest_auth_and_no_auth() {
    let server = shared_server().await;
    let alice = ZkCoordinator::connect(
        options(server.connect_string()).with_auth(AuthInfo::digest("alice", "secret")),
    )
    .await
    .unwrap();
    let op = Op::Create {
        path: "/private".into(),
        data: b"s3cret".to_vec(),
        acl: Acl::creator_all(),
        mode: CreateMode::Persistent,
    };
    run(&alice, op).await.unwrap();
    match run(
        &alice,
        Op::GetAcl {
            path: "/private".into(),
        },
    )
    .await
    .unwrap()
    {
        OpResult::Acl { acl, .. } => {
            assert_eq!(acl.len(), 1);
            assert_eq!(acl[0].perms, Perms::ALL);
            assert_eq!(acl[0].id.scheme, "digest");
            assert!(acl[0].id.id.starts_with("alice:"), "{:?}", acl[0].id);
        }
        other => panic!("{other:?}"),
    }
    let anonymous = connect(server.connect_string()).await;
    assert_eq!(get_data(&anonymous, "/private").await, Err(Error::NoAuth));
    let mallory = ZkCoordinator::connect(
        options(server.connect_string()).with_auth(AuthInfo::digest("alice", "wrong")),
    )
    .await
    .unwrap();
    assert_eq!(get_data(&mallory, "/private").await, Err(Error::NoAuth));
    let alice_again = ZkCoordinator::connect(
        options(server.connect_string()).with_auth(AuthInfo::digest("alice", "secret")),
    )
    .await
    .unwrap();
    assert_eq!(get_data(&alice_again, "/private").await.unwrap(), b"s3cret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_nodes_need_and_get_extended_types() {
    let server = shared_server().await;
    let zk = connect(server.connect_string()).await;
    let path = create(
        &zk,
        "/ttl",
        b"",
        CreateMode::PersistentWithTtl(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    assert_eq!(path, "/ttl");
    let seq = create(
        &zk,
        "/ttl-",
        b"",
        CreateMode::PersistentSequentialWithTtl(Duration::from_secs(60)),
    )
    .await
    .unwrap();
    assert!(
        seq.starts_with("/ttl-") && seq.len() == "/ttl-".len() + 10,
        "{seq}"
    );
}

#[tokio::test]
async fn malformed_connect_strings_fail_before_connecting() {
    for bad in [
        "",
        "host:abc",
        "host:2181,",
        "host:2181/chroot/",
        "[::1:2181",
    ] {
        match ZkCoordinator::connect(options(bad)).await {
            Err(Error::InvalidConnectString { input, .. }) => assert_eq!(input, bad),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn nobody_listening_is_not_connected() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let result = ZkCoordinator::connect(
        options(format!("127.0.0.1:{port}")).with_connection_timeout(Duration::from_secs(1)),
    )
    .await;
    assert_eq!(result.err(), Some(Error::NotConnected));
    assert!(started.elapsed() < Duration::from_secs(30));
}
