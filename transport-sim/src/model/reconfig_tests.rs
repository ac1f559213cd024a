//! Dynamic reconfiguration: membership through the log, `/zookeeper/config`, servers that
//! leave and join, quorums over the new configuration.

use docent::{CreateMode, Error, EventType, Op, OpResult, SessionState};

use super::msg::Output;

use super::tests::{create, ms, Rig};
use super::*;

fn get_config(r: &mut Rig, c: ClientId, watch: bool) -> (OpId, Vec<u8>) {
    let now = r.now();
    let id = r.sim.get_config(now, c, watch);
    match r.wait(id) {
        Ok(OpResult::Data { data, .. }) => (id, data),
        other => panic!("getConfig: {other:?}"),
    }
}

#[test]
fn a_reconfig_is_a_txn_that_rewrites_zookeeper_config_and_fires_its_watch() {
    let mut r = Rig::new(1);
    // Server 0 leads and stays; the client is on server 1; server 2 leaves.
    assert_eq!(r.sim.leader(), 0);
    let c = r.client(ClientOptions::default().servers(vec![1]));
    assert_eq!(
        r.op(c, create("/a", CreateMode::Persistent)).map(|_| ()),
        Ok(())
    );
    let (watched, before) = get_config(&mut r, c, true);
    assert!(before.is_empty(), "a static ensemble has no dynamic config");
    let committed = r.sim.committed();
    r.sim.reconfig(r.now(), &[3], &[2]).unwrap();
    r.run(ms(100));
    assert_eq!(r.sim.committed(), committed + 1, "one txn in the log");
    assert_eq!(r.sim.members(), [0, 1, 3]);
    assert_eq!(
        r.states(c).len(),
        1,
        "the client's server stayed: no disconnect"
    );
    let w = r.watch_of(watched).expect("a data watch");
    assert_eq!(r.events(w), [EventType::NodeDataChanged]);
    let (_, after) = get_config(&mut r, c, false);
    let zxid = r.sim.node(None, "/zookeeper/config").unwrap().1.mzxid;
    let want = format!(
        "server.1=zk1:2888:3888:participant;0.0.0.0:2181\n\
         server.2=zk2:2888:3888:participant;0.0.0.0:2181\n\
         server.4=zk4:2888:3888:participant;0.0.0.0:2181\nversion={zxid:x}"
    );
    assert_eq!(String::from_utf8(after).unwrap(), want);
    let parsed = docent::ensemble::config::EnsembleConfig::parse(want.as_bytes()).unwrap();
    assert_eq!(parsed.version(), Some(zxid as u64));
    assert_eq!(
        parsed.client_hosts(),
        [0, 1, 3].map(|s| (server_host(s), CLIENT_PORT))
    );
    // The new server synced before serving: it has the node created before it joined.
    assert_eq!(r.sim.node(Some(3), "/a").unwrap().0, b"d");
    assert_eq!(r.sim.applied(3), r.sim.committed());
}

#[test]
fn a_removed_server_disconnects_its_clients_who_move_keeping_their_session() {
    let mut r = Rig::new(2);
    let c = r.client(ClientOptions::default().servers(vec![0, 1]));
    let session = r.sim.session_id(c);
    assert_ne!(session, 0);
    r.sim.reconfig(r.now(), &[], &[0]).unwrap();
    r.run(ms(3_000));
    let states = r.states(c);
    assert!(
        states.ends_with(&[SessionState::Disconnected, states[0]]),
        "disconnected, then connected with the same session: {states:?}"
    );
    assert_eq!(r.sim.session_id(c), session);
    assert!(r.sim.session_alive(session));
    // Server 0 refuses clients now: a client that only knows it never connects.
    let stuck = r.client(ClientOptions::default().servers(vec![0]));
    r.run(ms(3_000));
    assert!(r.states(stuck).is_empty(), "{:?}", r.states(stuck));
}

#[test]
fn quorums_follow_the_new_configuration() {
    let mut r = Rig::new(3);
    let c = r.client(ClientOptions::default().servers(vec![4, 3, 2]));
    assert!(r.states(c).is_empty(), "servers 3 and 4 do not exist yet");
    r.sim.reconfig(r.now(), &[3, 4], &[]).unwrap();
    r.run(ms(2_000));
    assert_eq!(r.sim.members(), [0, 1, 2, 3, 4]);
    // Two of five down: three of five still make a quorum (two of three would not have).
    for server in [0, 1] {
        let now = r.now();
        r.sim.inject(
            now,
            Fault::CrashServer {
                server,
                downtime: ms(60_000),
            },
        );
    }
    r.run(ms(2_000));
    assert_eq!(
        r.op(c, create("/five", CreateMode::Persistent)).map(|_| ()),
        Ok(())
    );
    assert!(r.sim.leader() >= 2);
    // A third down: no quorum of five, no service.
    let now = r.now();
    let third = [2, 3, 4]
        .into_iter()
        .find(|&s| s != r.sim.leader())
        .unwrap();
    r.sim.inject(
        now,
        Fault::CrashServer {
            server: third,
            downtime: ms(60_000),
        },
    );
    assert_eq!(
        r.sim.reconfig(r.now(), &[], &[third]),
        Err(Error::ConnectionLoss)
    );
}

#[test]
fn reconfigs_are_refused_as_zookeeper_refuses_them() {
    let mut r = Rig::new(4);
    let now = r.now();
    assert_eq!(r.sim.reconfig(now, &[4], &[]), Err(Error::BadArguments));
    r.sim.inject(
        now,
        Fault::CrashServer {
            server: 1,
            downtime: ms(60_000),
        },
    );
    r.run(ms(1_000));
    let no_quorum = r.sim.reconfig(r.now(), &[], &[r.sim.leader()]);
    assert_eq!(no_quorum, Err(Error::NewConfigNoQuorum));
    r.sim.reconfig(r.now(), &[3], &[]).unwrap();
    assert_eq!(
        r.sim.reconfig(r.now(), &[4], &[]),
        Err(Error::ReconfigInProgress)
    );
    r.run(ms(100));
    assert_eq!(r.sim.members(), [0, 1, 2, 3]);
}

#[test]
fn removing_the_leader_elects_a_member() {
    let mut r = Rig::new(5);
    let c = r.client(ClientOptions::default());
    let leader = r.sim.leader();
    r.sim.reconfig(r.now(), &[3], &[leader]).unwrap();
    r.run(ms(3_000));
    assert_ne!(r.sim.leader(), leader);
    assert!(r.sim.members().contains(&r.sim.leader()));
    assert_eq!(
        r.op(c, create("/after", CreateMode::Persistent))
            .map(|_| ()),
        Ok(())
    );
    assert_eq!(r.sim.applied(3), r.sim.committed());
}

#[test]
fn a_new_server_list_moves_the_client_only_off_an_unlisted_server() {
    let mut r = Rig::new(6);
    let c = r.client(ClientOptions::default().servers(vec![0, 1, 2]));
    let session = r.sim.session_id(c);
    r.sim.update_server_list(r.now(), c, vec![2, 0]);
    r.run(ms(2_000));
    assert_eq!(r.states(c).len(), 1, "still listed: it stays");
    r.sim.update_server_list(r.now(), c, vec![1]);
    r.run(ms(2_000));
    let states = r.states(c);
    assert_eq!(
        states[1..],
        [SessionState::Disconnected, states[0]],
        "moved"
    );
    assert_eq!(r.sim.session_id(c), session);
    // Only server 1 is listed now: removing it leaves the client nowhere to go.
    r.sim.reconfig(r.now(), &[], &[1]).unwrap();
    r.run(ms(5_000));
    assert_eq!(r.states(c).last(), Some(&SessionState::Disconnected));
    r.sim.update_server_list(r.now(), c, vec![2]);
    r.run(ms(3_000));
    assert_eq!(r.states(c).last(), Some(&states[0]), "same session again");
}

#[test]
fn a_chroot_prefixes_what_is_sent_and_strips_what_comes_back() {
    let mut r = Rig::new(7);
    let root = r.client(ClientOptions::default());
    assert!(r.op(root, create("/app", CreateMode::Persistent)).is_ok());
    let c = r.client(ClientOptions::default().chroot("/app"));
    let now = r.now();
    let watched = r.sim.submit(
        now,
        c,
        Op::Exists {
            path: "/x".into(),
            watch: true,
        },
    );
    assert_eq!(r.wait(watched), Ok(OpResult::Exists(None)));
    match r.op(c, create("/x", CreateMode::PersistentSequential)) {
        Ok(OpResult::Created { path, .. }) => assert_eq!(path, "/x0000000000"),
        other => panic!("{other:?}"),
    }
    assert!(r.sim.node(None, "/app/x0000000000").is_some());
    assert!(r.sim.node(None, "/x0000000000").is_none());
    match r.op(c, create("/x", CreateMode::Persistent)) {
        Ok(OpResult::Created { path, .. }) => assert_eq!(path, "/x"),
        other => panic!("{other:?}"),
    }
    let w = r.watch_of(watched).unwrap();
    let event_paths: Vec<String> = r
        .outs
        .iter()
        .filter_map(|o| match o {
            Output::Watch { watch, event, .. } if *watch == w => Some(event.path.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(event_paths, ["/x"]);
    // getConfig ignores the chroot; the chroot survives a move.
    r.sim.reconfig(r.now(), &[3], &[]).unwrap();
    r.run(ms(100));
    let (_, config) = get_config(&mut r, c, false);
    assert!(String::from_utf8(config).unwrap().contains("server.4=zk4"));
    r.sim.update_server_list(r.now(), c, vec![3]);
    r.run(ms(3_000));
    assert_eq!(r.op(c, get("/x")).map(|_| ()), Ok(()));
    assert_eq!(r.op(c, get("/app")), Err(Error::NoNode));
}

fn get(path: &str) -> Op {
    Op::GetData {
        path: path.into(),
        watch: false,
    }
}
