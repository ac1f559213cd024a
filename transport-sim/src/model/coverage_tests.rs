//! The model's coverage points: each counted where, and only where, its path is taken.

use std::collections::BTreeMap;
use std::time::Duration;

use docent::{coverage, CreateMode, Error, Op, OpResult};

use super::tests::{create, Rig};
use super::*;

fn exists(path: &str) -> Op {
    Op::Exists {
        path: path.into(),
        watch: false,
    }
}

fn counted(points: &[(&'static str, u64)]) -> BTreeMap<&'static str, u64> {
    points.iter().copied().collect()
}

/// A create's reply is lost on the leader; the session moves to a lagging follower, where a
/// plain read is stale and a sync waits for the session's own create.
#[test]
fn lost_create_reply_then_lookup_on_a_lagging_follower() {
    let mut r = Rig::new(21);
    let l = r.sim.leader();
    let f = (l + 1) % 3;
    let c = r.client(ClientOptions::default().servers(vec![l, f]));
    r.op(c, exists("/")).unwrap();
    coverage::start();
    let now = r.now();
    let lag = Fault::FollowerLag {
        server: f,
        lag: Duration::from_secs(5),
        duration: Duration::from_secs(60),
    };
    r.sim.inject(now, lag);
    r.sim.inject(now, Fault::LoseReply { client: 0 });
    let lost = r.op(c, create("/x", CreateMode::Persistent));
    assert_eq!(lost, Err(Error::ConnectionLoss));
    // Reconnected to f, which has not applied /x yet.
    assert_eq!(r.op(c, exists("/x")), Ok(OpResult::Exists(None)));
    let now = r.now();
    let sync = r.sim.submit(now, c, Op::Sync { path: "/".into() });
    let found = r.sim.submit(now, c, exists("/x"));
    assert_eq!(r.wait(sync), Ok(OpResult::Synced));
    assert!(matches!(r.wait(found), Ok(OpResult::Exists(Some(_)))));
    assert_eq!(
        coverage::take(),
        counted(&[
            ("fault.follower_lag", 1),
            ("fault.lose_reply", 1),
            ("model.create_reply_lost", 1),
            ("model.session_moved", 1),
            ("model.stale_read", 1),
            ("model.sync_before_own_create", 1),
        ])
    );
}

/// A session cut off past its timeout is expired by the leader; a fault with nothing to act
/// on (a crash of a server that does not exist) is not counted.
#[test]
fn expired_by_the_ensemble_and_faults_that_do_not_strike() {
    let mut r = Rig::new(22);
    let c = r.client(ClientOptions::default().session_timeout(Duration::from_secs(4)));
    r.op(c, exists("/")).unwrap();
    coverage::start();
    let now = r.now();
    let cut = Fault::Partition {
        client: 0,
        server: None,
        direction: Direction::Both,
        duration: Duration::from_secs(10),
    };
    r.sim.inject(now, cut);
    let missing = Fault::CrashServer {
        server: 9,
        downtime: Duration::from_secs(1),
    };
    r.sim.inject(now, missing);
    r.run(Duration::from_secs(12));
    let counts = coverage::take();
    assert_eq!(counts.get("fault.partition"), Some(&1));
    assert_eq!(counts.get("model.session_expired"), Some(&1));
    assert_eq!(counts.get("fault.crash_server"), None);
}
