//! Per fault, the client-visible effect ZooKeeper would produce.

use std::time::Duration;

use docent::{CreateMode, Error, EventType, Op, OpResult, SessionState};

use super::tests::{create, ms, Rig};
use super::*;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn follower(r: &Rig) -> usize {
    (r.sim.leader() + 1) % r.sim.config().servers
}

#[test]
fn partition_fails_pending_ops_with_connection_loss() {
    let mut r = Rig::new(10);
    let c = r.client(ClientOptions::default());
    let now = r.now();
    r.sim.inject(
        now,
        Fault::Partition {
            client: 0,
            server: None,
            direction: Direction::Both,
            duration: secs(3),
        },
    );
    let id = r.sim.submit(
        r.now(),
        c,
        Op::Exists {
            path: "/".into(),
            watch: false,
        },
    );
    assert_eq!(r.wait(id), Err(Error::ConnectionLoss));
    assert_eq!(r.states(c).last(), Some(&SessionState::Disconnected));
    // Healed within the session timeout: the same session comes back.
    r.run(secs(5));
    let sid = r.sim.session_id(c);
    assert!(
        matches!(r.states(c).last(), Some(SessionState::Connected { session_id, .. }) if *session_id == sid)
    );
    assert!(!r.states(c).contains(&SessionState::Expired));
}

#[test]
fn expired_only_after_the_ensemble_expired_it_and_ephemerals_go_per_server() {
    let mut r = Rig::new(11);
    let c = r.client(ClientOptions::default().session_timeout(secs(4)));
    let watcher = r.client(ClientOptions::default());
    r.op(c, create("/eph", CreateMode::Ephemeral)).unwrap();
    let old = r.sim.session_id(c);
    let f = follower(&r);
    let now = r.now();
    r.sim.inject(
        now,
        Fault::FollowerLag {
            server: f,
            lag: secs(3),
            duration: secs(60),
        },
    );
    r.sim.inject(
        now,
        Fault::Partition {
            client: 0,
            server: None,
            direction: Direction::Both,
            duration: secs(12),
        },
    );
    r.run(secs(3));
    assert!(r.sim.session_alive(old), "not expired yet");
    assert!(!r.states(c).contains(&SessionState::Expired));
    r.run(secs(4));
    assert!(!r.sim.session_alive(old), "the leader expired it");
    assert!(r.sim.node(None, "/eph").is_none(), "gone on the leader");
    assert!(
        r.sim.node(Some(f), "/eph").is_some(),
        "the lagging follower has not applied the close"
    );
    assert!(
        !r.states(c).contains(&SessionState::Expired),
        "the client cannot know yet"
    );
    r.run(secs(4));
    assert!(
        r.sim.node(Some(f), "/eph").is_none(),
        "applied the close at its own pace"
    );
    r.run(secs(4));
    let states = r.states(c);
    let exp = states
        .iter()
        .position(|s| *s == SessionState::Expired)
        .expect("learned on reconnect");
    assert!(
        matches!(states[exp + 1], SessionState::Connected { session_id, .. } if session_id != old)
    );
    let _ = watcher;
}

#[test]
fn lagging_follower_reads_stale_until_sync() {
    let mut r = Rig::new(12);
    let l = r.sim.leader();
    let f = (l + 1) % 3;
    let writer = r.client(ClientOptions::default().servers(vec![l]));
    let reader = r.client(ClientOptions::default().servers(vec![f]));
    let now = r.now();
    r.sim.inject(
        now,
        Fault::FollowerLag {
            server: f,
            lag: secs(2),
            duration: secs(30),
        },
    );
    r.op(writer, create("/fresh", CreateMode::Persistent))
        .unwrap();
    assert_eq!(
        r.op(
            reader,
            Op::Exists {
                path: "/fresh".into(),
                watch: false
            }
        ),
        Ok(OpResult::Exists(None))
    );
    // sync, then a read queued right behind it: it waits for the follower to catch up.
    let now = r.now();
    let s = r.sim.submit(now, reader, Op::Sync { path: "/".into() });
    let e = r.sim.submit(
        now,
        reader,
        Op::Exists {
            path: "/fresh".into(),
            watch: false,
        },
    );
    assert_eq!(r.wait(s), Ok(OpResult::Synced));
    assert!(matches!(r.wait(e), Ok(OpResult::Exists(Some(_)))));
}

#[test]
fn read_behind_own_write_sees_it_on_a_lagging_follower() {
    let mut r = Rig::new(13);
    let f = follower(&r);
    let c = r.client(ClientOptions::default().servers(vec![f]));
    let now = r.now();
    r.sim.inject(
        now,
        Fault::FollowerLag {
            server: f,
            lag: secs(1),
            duration: secs(30),
        },
    );
    let w = r
        .sim
        .submit(now, c, create("/mine", CreateMode::Persistent));
    let g = r.sim.submit(
        now,
        c,
        Op::GetData {
            path: "/mine".into(),
            watch: false,
        },
    );
    assert!(r.wait(w).is_ok());
    assert!(matches!(r.wait(g), Ok(OpResult::Data { .. })));
}

#[test]
fn lost_create_reply_yet_the_node_exists() {
    let mut r = Rig::new(14);
    let c = r.client(ClientOptions::default());
    let now = r.now();
    r.sim.inject(now, Fault::LoseReply { client: 0 });
    assert_eq!(
        r.op(c, create("/lost", CreateMode::Persistent)),
        Err(Error::ConnectionLoss)
    );
    r.run(secs(2));
    assert!(matches!(
        r.op(
            c,
            Op::Exists {
                path: "/lost".into(),
                watch: false
            }
        ),
        Ok(OpResult::Exists(Some(_)))
    ));
}

#[test]
fn exists_watch_missed_across_a_disconnect() {
    let mut r = Rig::new(15);
    let a = r.client(ClientOptions::default());
    let b = r.client(ClientOptions::default());
    let id = r.sim.submit(
        r.now(),
        a,
        Op::Exists {
            path: "/blink".into(),
            watch: true,
        },
    );
    r.wait(id).unwrap();
    let w = r.watch_of(id).unwrap();
    let id2 = r.sim.submit(
        r.now(),
        a,
        Op::Exists {
            path: "/stays".into(),
            watch: true,
        },
    );
    r.wait(id2).unwrap();
    let w2 = r.watch_of(id2).unwrap();
    let now = r.now();
    r.sim.inject(
        now,
        Fault::Partition {
            client: 0,
            server: None,
            direction: Direction::Both,
            duration: secs(5),
        },
    );
    r.run(secs(1));
    r.op(b, create("/blink", CreateMode::Persistent)).unwrap();
    r.op(
        b,
        Op::Delete {
            path: "/blink".into(),
            version: None,
        },
    )
    .unwrap();
    r.op(b, create("/stays", CreateMode::Persistent)).unwrap();
    r.run(secs(8));
    assert!(matches!(
        r.states(a).last(),
        Some(SessionState::Connected { .. })
    ));
    assert_eq!(
        r.events(w),
        Vec::<EventType>::new(),
        "created and deleted while away: missed"
    );
    assert_eq!(
        r.events(w2),
        vec![EventType::NodeCreated],
        "setWatches fires the missed creation"
    );
}

#[test]
fn client_never_goes_back_in_zxid() {
    let mut r = Rig::new(16);
    let l = r.sim.leader();
    let f = (l + 1) % 3;
    let c = r.client(ClientOptions::default().servers(vec![l, f]));
    let now = r.now();
    r.sim.inject(
        now,
        Fault::FollowerLag {
            server: f,
            lag: secs(3),
            duration: secs(60),
        },
    );
    r.op(c, create("/z", CreateMode::Persistent)).unwrap();
    // Drop the client's connection to the leader: it reconnects to the lagging follower,
    // which refuses it until it has caught up with what the client has seen.
    let now = r.now();
    r.sim.inject(
        now,
        Fault::Partition {
            client: 0,
            server: Some(l),
            direction: Direction::Both,
            duration: secs(60),
        },
    );
    let id = r.sim.submit(
        r.now(),
        c,
        Op::Exists {
            path: "/z".into(),
            watch: false,
        },
    );
    let _ = r.wait(id);
    let id = r.sim.submit(
        r.now(),
        c,
        Op::Exists {
            path: "/z".into(),
            watch: false,
        },
    );
    let mut result = r.wait(id);
    while result == Err(Error::ConnectionLoss) {
        r.run(ms(100));
        let id = r.sim.submit(
            r.now(),
            c,
            Op::Exists {
                path: "/z".into(),
                watch: false,
            },
        );
        result = r.wait(id);
    }
    assert!(
        matches!(result, Ok(OpResult::Exists(Some(_)))),
        "{result:?}"
    );
}

#[test]
fn forced_expiry_and_client_crash() {
    let mut r = Rig::new(17);
    let a = r.client(ClientOptions::default());
    let b = r.client(ClientOptions::default().session_timeout(secs(4)));
    r.op(a, create("/a", CreateMode::Ephemeral)).unwrap();
    r.op(b, create("/b", CreateMode::Ephemeral)).unwrap();
    let now = r.now();
    r.sim.inject(now, Fault::ExpireSession { client: 0 });
    r.sim.inject(now, Fault::CrashClient { client: 1 });
    r.run(ms(100));
    assert!(r.sim.node(None, "/a").is_none());
    assert!(
        r.sim.node(None, "/b").is_some(),
        "a crashed client's session lives until expiry"
    );
    r.run(secs(8));
    assert!(r.sim.node(None, "/b").is_none());
    assert!(r.states(a).contains(&SessionState::Expired));
}

#[test]
fn leader_change_and_quorum_loss_drop_connections() {
    let mut r = Rig::new(18);
    let c = r.client(ClientOptions::default());
    let old = r.sim.leader();
    let now = r.now();
    r.sim.inject(now, Fault::LeaderChange);
    r.run(secs(3));
    assert_ne!(r.sim.leader(), old);
    assert!(r.states(c).contains(&SessionState::Disconnected));
    r.op(c, create("/after", CreateMode::Persistent)).unwrap();
    let now = r.now();
    r.sim.inject(now, Fault::QuorumLoss { duration: secs(2) });
    let id = r
        .sim
        .submit(r.now(), c, create("/during", CreateMode::Persistent));
    assert_eq!(r.wait(id), Err(Error::ConnectionLoss));
    r.run(secs(5));
    assert!(r.op(c, create("/later", CreateMode::Persistent)).is_ok());
}

#[test]
fn ops_submitted_during_a_short_pause_go_out_when_it_ends() {
    let mut r = Rig::new(12);
    let c = r.client(ClientOptions::default().session_timeout(secs(10)));
    let now = r.now();
    r.sim.inject(
        now,
        Fault::PauseClient {
            client: 0,
            duration: ms(500),
        },
    );
    let id = r.sim.submit(
        r.now(),
        c,
        Op::Exists {
            path: "/".into(),
            watch: false,
        },
    );
    // The connection outlives the pause, and the queued op is sent when it ends.
    assert!(matches!(r.wait(id), Ok(OpResult::Exists(Some(_)))));
    assert!(!r.states(c).contains(&SessionState::Disconnected));
}

#[test]
fn an_abandoned_session_lives_on_at_the_ensemble_until_it_expires() {
    let mut r = Rig::new(12);
    let c = r.client(ClientOptions::default().session_timeout(secs(4)));
    r.op(c, create("/eph", CreateMode::Ephemeral)).unwrap();
    let old = r.sim.session_id(c);
    let now = r.now();
    r.sim.abandon_session(now, c);
    r.run(ms(500));
    let new = r.sim.session_id(c);
    assert!(new != 0 && new != old, "a new session at once");
    let states = r.states(c);
    assert_eq!(states[states.len() - 2], SessionState::Expired);
    assert!(
        matches!(r.states(c).last(), Some(SessionState::Connected { session_id, .. }) if *session_id == new)
    );
    assert!(
        r.sim.session_alive(old),
        "the ensemble still has the old session"
    );
    let owner = r
        .sim
        .node(None, "/eph")
        .map(|(_, stat, _)| stat.ephemeral_owner);
    assert_eq!(owner, Some(old), "and its ephemeral");
    r.run(secs(6));
    assert!(!r.sim.session_alive(old), "expired by the leader");
    assert!(r.sim.node(None, "/eph").is_none());
    assert!(r.sim.session_alive(new));
}

#[test]
fn an_aged_version_wraps_to_i32_min_and_stays_comparable() {
    let mut r = Rig::new(12);
    let c = r.client(ClientOptions::default());
    r.op(c, create("/n", CreateMode::Persistent)).unwrap();
    let now = r.now();
    let age = Fault::AgeVersion {
        path: "/n".into(),
        version: i32::MAX,
    };
    r.sim.inject(now, age);
    r.run(secs(1));
    let set = |version| Op::SetData {
        path: "/n".into(),
        data: b"x".to_vec(),
        version: Some(version),
    };
    // Every server applied it through the log; the next write wraps as Java's `version + 1`.
    for s in 0..r.sim.config().servers {
        assert_eq!(r.sim.node(Some(s), "/n").unwrap().1.version, i32::MAX);
    }
    assert_eq!(r.op(c, set(i32::MAX - 1)), Err(Error::BadVersion));
    let Ok(OpResult::Stat(stat)) = r.op(c, set(i32::MAX)) else {
        panic!("the write at i32::MAX failed");
    };
    assert_eq!(stat.version, i32::MIN);
    let Ok(OpResult::Stat(stat)) = r.op(c, set(i32::MIN)) else {
        panic!("the write at i32::MIN failed");
    };
    assert_eq!(stat.version, i32::MIN + 1);
}
