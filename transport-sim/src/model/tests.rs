//! Model tests: exact ZooKeeper semantics and the client-visible effect of each fault.

use std::time::Duration;

use docent::{Acl, CreateMode, Error, EventType, Instant, MultiOp, Op, OpResult, SessionState};

use super::*;

pub(crate) struct Rig {
    pub(crate) sim: Ensemble,
    pub(crate) outs: Vec<Output>,
}

pub(crate) fn ms(x: u64) -> Duration {
    Duration::from_millis(x)
}

impl Rig {
    pub(crate) fn new(seed: u64) -> Rig {
        let mut cfg = SimConfig::new(seed);
        cfg.record_log = true;
        Rig {
            sim: Ensemble::new(cfg),
            outs: Vec::new(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        self.sim.now()
    }

    pub(crate) fn drain(&mut self) {
        while let Some(o) = self.sim.poll_output() {
            self.outs.push(o);
        }
    }

    /// Advances virtual time by `d`.
    pub(crate) fn run(&mut self, d: Duration) {
        let until = self.sim.now() + d;
        self.sim.run_until(until);
        self.drain();
    }

    pub(crate) fn client(&mut self, opts: ClientOptions) -> ClientId {
        let now = self.now();
        let c = self.sim.add_client(now, opts);
        self.run(ms(50));
        c
    }

    /// Submits and runs until the op is done (at most 60 s).
    pub(crate) fn op(&mut self, c: ClientId, op: Op) -> Result<OpResult, Error> {
        let now = self.now();
        let id = self.sim.submit(now, c, op);
        self.wait(id)
    }

    pub(crate) fn wait(&mut self, id: OpId) -> Result<OpResult, Error> {
        for _ in 0..60_000 {
            self.drain();
            if let Some(r) = self.outs.iter().find_map(|o| match o {
                Output::OpDone { op, result, .. } if *op == id => Some(result.clone()),
                _ => None,
            }) {
                return r;
            }
            self.run(ms(1));
        }
        panic!("op {id:?} never finished");
    }

    pub(crate) fn watch_of(&self, id: OpId) -> Option<WatchId> {
        self.outs.iter().find_map(|o| match o {
            Output::OpDone { op, watch, .. } if *op == id => watch.map(|w| w.0),
            _ => None,
        })
    }

    pub(crate) fn events(&self, w: WatchId) -> Vec<EventType> {
        self.outs
            .iter()
            .filter_map(|o| match o {
                Output::Watch { watch, event, .. } if *watch == w => Some(event.kind),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn states(&self, c: ClientId) -> Vec<SessionState> {
        self.outs
            .iter()
            .filter_map(|o| match o {
                Output::Session { client, state } if *client == c => Some(*state),
                _ => None,
            })
            .collect()
    }
}

pub(crate) fn create(path: &str, mode: CreateMode) -> Op {
    Op::Create {
        path: path.into(),
        data: b"d".to_vec(),
        acl: Acl::open(),
        mode,
    }
}

fn get(path: &str, watch: bool) -> Op {
    Op::GetData {
        path: path.into(),
        watch,
    }
}

#[test]
fn create_and_errors() {
    let mut r = Rig::new(1);
    let c = r.client(ClientOptions::default());
    assert!(matches!(r.states(c)[..], [SessionState::Connected { .. }]));
    let Ok(OpResult::Created { path, stat }) = r.op(c, create("/a", CreateMode::Persistent)) else {
        panic!()
    };
    assert_eq!(path, "/a");
    assert_eq!(
        (
            stat.version,
            stat.cversion,
            stat.ephemeral_owner,
            stat.data_length
        ),
        (0, 0, 0, 1)
    );
    assert_eq!(stat.czxid, stat.mzxid);
    assert_eq!(
        r.op(c, create("/a", CreateMode::Persistent)),
        Err(Error::NodeExists)
    );
    assert_eq!(
        r.op(c, create("/x/y", CreateMode::Persistent)),
        Err(Error::NoNode)
    );
    assert_eq!(
        r.op(
            c,
            Op::Delete {
                path: "/a".into(),
                version: Some(3)
            }
        ),
        Err(Error::BadVersion)
    );
    r.op(c, create("/a/b", CreateMode::Persistent)).unwrap();
    assert_eq!(
        r.op(
            c,
            Op::Delete {
                path: "/a".into(),
                version: None
            }
        ),
        Err(Error::NotEmpty)
    );
    r.op(c, create("/e", CreateMode::Ephemeral)).unwrap();
    assert_eq!(
        r.op(c, create("/e/x", CreateMode::Persistent)),
        Err(Error::NoChildrenForEphemerals)
    );
    let big = Op::SetData {
        path: "/a".into(),
        data: vec![0; docent::wire::MAX_PACKET],
        version: None,
    };
    // Over `jute.maxbuffer`: the server drops the connection.
    assert_eq!(r.op(c, big), Err(Error::ConnectionLoss));
    assert!(matches!(
        r.op(c, get("/a/", false)),
        Err(Error::InvalidPath { .. })
    ));
    let Ok(OpResult::Stat(st)) = r.op(
        c,
        Op::SetData {
            path: "/a".into(),
            data: vec![1, 2],
            version: Some(0),
        },
    ) else {
        panic!()
    };
    assert_eq!((st.version, st.data_length), (1, 2));
    let Ok(OpResult::Children { children, stat }) = r.op(
        c,
        Op::GetChildren {
            path: "/".into(),
            watch: false,
        },
    ) else {
        panic!()
    };
    assert_eq!(children, vec!["a", "e", "zookeeper"]);
    assert_eq!(stat.num_children, 3);
}

#[test]
fn sequence_names_count_the_parents_creates() {
    let mut r = Rig::new(2);
    let c = r.client(ClientOptions::default());
    r.op(c, create("/q", CreateMode::Persistent)).unwrap();
    let name = |r: &mut Rig| match r.op(c, create("/q/n-", CreateMode::PersistentSequential)) {
        Ok(OpResult::Created { path, .. }) => path,
        other => panic!("{other:?}"),
    };
    assert_eq!(name(&mut r), "/q/n-0000000000");
    r.op(c, create("/q/plain", CreateMode::Persistent)).unwrap();
    r.op(
        c,
        Op::Delete {
            path: "/q/plain".into(),
            version: None,
        },
    )
    .unwrap();
    // Two creates so far; the delete moves the visible cversion, not the sequence.
    assert_eq!(name(&mut r), "/q/n-0000000002");
}

#[test]
fn multi_is_all_or_nothing() {
    let mut r = Rig::new(3);
    let c = r.client(ClientOptions::default());
    let ops = vec![
        MultiOp::Create {
            path: "/m".into(),
            data: vec![],
            acl: Acl::open(),
            mode: CreateMode::Persistent,
        },
        MultiOp::Create {
            path: "/m/1".into(),
            data: vec![],
            acl: Acl::open(),
            mode: CreateMode::Persistent,
        },
        MultiOp::Check {
            path: "/m".into(),
            version: Some(5),
        },
    ];
    let err = r.op(c, Op::Multi(ops.clone())).unwrap_err();
    assert_eq!(
        err,
        Error::MultiFailed {
            index: 2,
            error: Box::new(Error::BadVersion)
        }
    );
    assert_eq!(
        r.op(
            c,
            Op::Exists {
                path: "/m".into(),
                watch: false
            }
        ),
        Ok(OpResult::Exists(None))
    );
    let mut ok = ops;
    ok[2] = MultiOp::Check {
        path: "/m".into(),
        version: Some(0),
    };
    let Ok(OpResult::Multi(results)) = r.op(c, Op::Multi(ok)) else {
        panic!()
    };
    assert_eq!(results.len(), 3);
    assert!(r.sim.node(None, "/m/1").is_some());
}

#[test]
fn watches_fire_before_later_replies() {
    let mut r = Rig::new(4);
    let a = r.client(ClientOptions::default());
    let b = r.client(ClientOptions::default());
    r.op(a, create("/w", CreateMode::Persistent)).unwrap();
    let now = r.now();
    let id = r.sim.submit(now, a, get("/w", true));
    r.wait(id).unwrap();
    let w = r.watch_of(id).expect("watch");
    let id2 = r.sim.submit(
        r.now(),
        a,
        Op::Exists {
            path: "/nope".into(),
            watch: true,
        },
    );
    assert_eq!(r.wait(id2), Ok(OpResult::Exists(None)));
    let w2 = r.watch_of(id2).expect("exists watch");
    r.op(
        b,
        Op::SetData {
            path: "/w".into(),
            data: vec![9],
            version: None,
        },
    )
    .unwrap();
    r.op(b, create("/nope", CreateMode::Persistent)).unwrap();
    // a reads after b's writes: its watch events are already in.
    let before = r.outs.len();
    r.op(a, get("/w", false)).unwrap();
    let read_at = r.outs[before..]
        .iter()
        .position(|o| matches!(o, Output::OpDone { .. }))
        .unwrap();
    assert!(r.outs[..before + read_at]
        .iter()
        .any(|o| matches!(o, Output::Watch { watch, .. } if *watch == w)));
    assert_eq!(r.events(w), vec![EventType::NodeDataChanged]);
    assert_eq!(r.events(w2), vec![EventType::NodeCreated]);
}

#[test]
fn persistent_recursive_watch() {
    let mut r = Rig::new(5);
    let a = r.client(ClientOptions::default());
    let id = r.sim.submit(
        r.now(),
        a,
        Op::AddWatch {
            path: "/".into(),
            mode: docent::AddWatchMode::PersistentRecursive,
        },
    );
    r.wait(id).unwrap();
    let w = r.watch_of(id).unwrap();
    r.op(a, create("/p", CreateMode::Persistent)).unwrap();
    r.op(a, create("/p/q", CreateMode::Persistent)).unwrap();
    r.op(
        a,
        Op::Delete {
            path: "/p/q".into(),
            version: None,
        },
    )
    .unwrap();
    assert_eq!(
        r.events(w),
        vec![
            EventType::NodeCreated,
            EventType::NodeCreated,
            EventType::NodeDeleted
        ]
    );
}

#[test]
fn digest_acl() {
    let mut r = Rig::new(6);
    let owner = r.client(ClientOptions::default().auth(docent::AuthInfo::digest("u", "p")));
    let other = r.client(ClientOptions::default());
    let op = Op::Create {
        path: "/s".into(),
        data: vec![],
        acl: Acl::creator_all(),
        mode: CreateMode::Persistent,
    };
    r.op(owner, op).unwrap();
    assert!(r.op(owner, get("/s", false)).is_ok());
    assert_eq!(r.op(other, get("/s", false)), Err(Error::NoAuth));
    assert_eq!(
        r.op(other, create("/s/x", CreateMode::Persistent)),
        Err(Error::NoAuth)
    );
    let Ok(OpResult::Acl { acl, .. }) = r.op(owner, Op::GetAcl { path: "/s".into() }) else {
        panic!()
    };
    assert_eq!(acl[0].id.id, digest_id(b"u:p"));
}

#[test]
fn containers_and_ttl_are_reaped() {
    let mut r = Rig::new(7);
    let c = r.client(ClientOptions::default());
    r.op(c, create("/c", CreateMode::Container)).unwrap();
    r.op(c, create("/never", CreateMode::Container)).unwrap();
    r.op(c, create("/c/x", CreateMode::Persistent)).unwrap();
    r.op(c, create("/t", CreateMode::PersistentWithTtl(ms(1000))))
        .unwrap();
    // Clients see owner 0 on containers and TTL nodes (`DataNode.copyStat`).
    let st = r.sim.node(None, "/c").unwrap().1;
    assert_eq!(st.ephemeral_owner, 0);
    r.op(
        c,
        Op::Delete {
            path: "/c/x".into(),
            version: None,
        },
    )
    .unwrap();
    r.run(Duration::from_secs(21));
    assert!(r.sim.node(None, "/c").is_none(), "emptied container reaped");
    assert!(
        r.sim.node(None, "/never").is_some(),
        "never-used container kept"
    );
    assert!(r.sim.node(None, "/t").is_none(), "expired TTL node reaped");
}

#[test]
fn history_lists_every_state_a_subtree_had() {
    let mut r = Rig::new(9);
    let c = r.client(ClientOptions::default());
    r.op(c, create("/h", CreateMode::Persistent)).unwrap();
    r.op(c, create("/other", CreateMode::Persistent)).unwrap();
    r.op(c, create("/h/x", CreateMode::Persistent)).unwrap();
    let set = |data: &[u8]| Op::SetData {
        path: "/h/x".into(),
        data: data.to_vec(),
        version: None,
    };
    r.op(c, set(b"v1")).unwrap();
    // A multi's inner steps are never visible: only its end state is listed.
    r.op(
        c,
        Op::Multi(vec![
            MultiOp::SetData {
                path: "/h/x".into(),
                data: b"hidden".to_vec(),
                version: None,
            },
            MultiOp::SetData {
                path: "/h/x".into(),
                data: b"v2".to_vec(),
                version: None,
            },
        ]),
    )
    .unwrap();
    let first = r.sim.node(None, "/h/x").unwrap().1;
    r.op(
        c,
        Op::Delete {
            path: "/h/x".into(),
            version: None,
        },
    )
    .unwrap();
    r.op(c, create("/h/x", CreateMode::Persistent)).unwrap();
    let second = r.sim.node(None, "/h/x").unwrap().1;

    let history = r.sim.history("/h");
    assert_eq!(
        history.keys().collect::<Vec<_>>(),
        ["/h", "/h/x"],
        "only the subtree"
    );
    let x = &history["/h/x"];
    let datas: Vec<&[u8]> = x.iter().map(|(d, _)| d.as_slice()).collect();
    assert_eq!(datas, [&b"d"[..], b"v1", b"v2", b"d"]);
    assert_eq!(x[2].1, first);
    assert_eq!(x[3].1, second);
    assert_ne!(first.czxid, second.czxid);
    // The parent's stat moves with its children: created empty, then three child changes.
    let parent: Vec<i32> = history["/h"].iter().map(|(_, s)| s.num_children).collect();
    assert_eq!(parent, [0, 1, 0, 1]);
    assert_eq!(
        history["/h"].last().unwrap().1,
        r.sim.node(None, "/h").unwrap().1
    );
}

#[test]
fn timeout_is_negotiated() {
    let mut r = Rig::new(8);
    let c = r.client(ClientOptions::default().session_timeout(ms(100)));
    assert_eq!(r.sim.session_timeout(c), Duration::from_secs(4));
    let d = r.client(ClientOptions::default().session_timeout(Duration::from_secs(600)));
    assert_eq!(r.sim.session_timeout(d), Duration::from_secs(40));
}

#[test]
fn same_seed_same_events() {
    let run = |seed| {
        let mut r = Rig::new(seed);
        r.sim.install(&FaultSchedule::swarm(
            seed,
            &SwarmConfig::new(3, 3, Duration::from_secs(30)),
        ));
        let cs: Vec<_> = (0..3).map(|_| r.client(ClientOptions::default())).collect();
        for i in 0..50 {
            let c = cs[i % 3];
            let now = r.now();
            let _ = r.sim.submit(
                now,
                c,
                create(&format!("/n{i}"), CreateMode::EphemeralSequential),
            );
            r.run(ms(500));
        }
        (r.sim.event_hash(), r.sim.event_log().to_vec())
    };
    let (h1, l1) = run(42);
    let (h2, l2) = run(42);
    assert_eq!(l1, l2);
    assert_eq!(h1, h2);
    assert_ne!(run(43).0, h1);
}
