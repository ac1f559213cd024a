//! Pure tests of the registry machine: the exact ops and events it emits.

use super::machine::*;
use crate::discovery::instance::{ServiceInstance, ServiceType};
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{Acl, CreateMode, Stat};
use crate::{ConnectionState, Error};

use ConnectionState::*;

const PATH: &str = "/foo/svc/i-1";

struct Out {
    ops: Vec<(Token, Op)>,
    events: Vec<RegistryEvent>,
}

fn feed(m: &mut RegistryMachine, input: Input<RegistryCommand>) -> Out {
    m.handle(Instant::ZERO, input);
    let mut ops = Vec::new();
    while let Some(op) = m.poll_op() {
        ops.push(op);
    }
    let mut events = Vec::new();
    while let Some(e) = m.poll_event() {
        events.push(e);
    }
    Out { ops, events }
}

fn state(m: &mut RegistryMachine, s: ConnectionState) -> Out {
    feed(
        m,
        Input::Connection {
            state: s,
            session_id: 7,
        },
    )
}

fn done(m: &mut RegistryMachine, token: Token, result: Result<OpResult, Error>) -> Out {
    feed(m, Input::OpDone { token, result })
}

fn cmd(m: &mut RegistryMachine, c: RegistryCommand) -> Out {
    feed(m, Input::Command(c))
}

fn instance(payload: &str, kind: ServiceType) -> ServiceInstance {
    ServiceInstance::builder("svc")
        .id("i-1")
        .address("10.0.0.5")
        .port(1234)
        .payload_string(payload)
        .service_type(kind)
        .build_with(&mut Rng::new(1, 0), 1)
        .unwrap()
}

fn create(path: &str, i: &ServiceInstance) -> Op {
    Op::Create {
        path: path.into(),
        data: i.to_json(),
        acl: Acl::open(),
        mode: i.service_type.create_mode(),
    }
}

fn delete(path: &str) -> Op {
    Op::Delete {
        path: path.into(),
        version: None,
    }
}

fn created(path: &str) -> Result<OpResult, Error> {
    Ok(OpResult::Created {
        path: path.into(),
        stat: Stat::default(),
    })
}

fn ops(out: &Out) -> Vec<Op> {
    out.ops.iter().map(|(_, op)| op.clone()).collect()
}

fn completed(request: u64, result: Result<(), Error>) -> RegistryEvent {
    RegistryEvent::Completed { request, result }
}

fn written(path: &str) -> RegistryEvent {
    RegistryEvent::Written {
        id: "i-1".into(),
        path: path.into(),
    }
}

/// A registry with `i` registered and written.
fn registered(i: &ServiceInstance) -> RegistryMachine {
    let mut m = RegistryMachine::new("/foo");
    state(&mut m, Connected);
    let out = cmd(
        &mut m,
        RegistryCommand::Register {
            request: 1,
            instance: i.clone(),
        },
    );
    let out = done(&mut m, out.ops[0].0, created(PATH));
    assert_eq!(out.events, vec![written(PATH), completed(1, Ok(()))]);
    m
}

#[test]
fn register_creates_the_node_by_service_type_with_curator_json() {
    for kind in [
        ServiceType::Dynamic,
        ServiceType::Static,
        ServiceType::Permanent,
    ] {
        let i = instance("p", kind);
        let mut m = RegistryMachine::new("/foo");
        state(&mut m, Connected);
        let out = cmd(
            &mut m,
            RegistryCommand::Register {
                request: 1,
                instance: i.clone(),
            },
        );
        assert_eq!(ops(&out), vec![create(PATH, &i)]);
        assert!(out.events.is_empty());
        let out = done(&mut m, out.ops[0].0, created(PATH));
        assert_eq!(out.events, vec![written(PATH), completed(1, Ok(()))]);
        assert!(out.ops.is_empty());
    }
}

#[test]
fn an_existing_node_is_deleted_then_created_in_one_round_trip() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = RegistryMachine::new("/foo");
    let out = cmd(
        &mut m,
        RegistryCommand::Register {
            request: 1,
            instance: i.clone(),
        },
    );
    let out = done(&mut m, out.ops[0].0, Err(Error::NodeExists));
    assert_eq!(ops(&out), vec![delete(PATH), create(PATH, &i)]);
    // The delete's reply does not matter; the create decides.
    assert!(done(&mut m, out.ops[0].0, Err(Error::NoNode))
        .events
        .is_empty());
    let out = done(&mut m, out.ops[1].0, created(PATH));
    assert_eq!(out.events, vec![written(PATH), completed(1, Ok(()))]);
}

#[test]
fn missing_parents_are_created_as_containers_before_the_node() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = RegistryMachine::new("/foo");
    let out = cmd(
        &mut m,
        RegistryCommand::Register {
            request: 1,
            instance: i.clone(),
        },
    );
    let out = done(&mut m, out.ops[0].0, Err(Error::NoNode));
    let container = |p: &str| Op::Create {
        path: p.into(),
        data: Vec::new(),
        acl: Acl::open(),
        mode: CreateMode::Container,
    };
    assert_eq!(
        ops(&out),
        vec![container("/foo"), container("/foo/svc"), create(PATH, &i)]
    );
    let out = done(&mut m, out.ops[2].0, created(PATH));
    assert_eq!(out.events, vec![written(PATH), completed(1, Ok(()))]);
}

#[test]
fn gives_up_after_repeated_node_exists_and_reports_it() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = RegistryMachine::new("/foo");
    let mut out = cmd(
        &mut m,
        RegistryCommand::Register {
            request: 1,
            instance: i,
        },
    );
    for _ in 0..3 {
        let last = out.ops.last().unwrap().0;
        out = done(&mut m, last, Err(Error::NodeExists));
        assert_eq!(out.ops.len(), 2);
    }
    let last = out.ops.last().unwrap().0;
    let out = done(&mut m, last, Err(Error::NodeExists));
    assert!(out.ops.is_empty());
    assert_eq!(
        out.events,
        vec![
            RegistryEvent::Failed {
                id: "i-1".into(),
                error: Error::NodeExists
            },
            completed(1, Err(Error::NodeExists))
        ]
    );
}

#[test]
fn update_sets_the_data_unconditionally() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = registered(&i);
    let new = i.with_payload(Some(crate::discovery::Payload::String("q".into())));
    let out = cmd(
        &mut m,
        RegistryCommand::Update {
            request: 2,
            instance: new.clone(),
        },
    );
    assert_eq!(
        ops(&out),
        vec![Op::SetData {
            path: PATH.into(),
            data: new.to_json(),
            version: None
        }]
    );
    let out = done(&mut m, out.ops[0].0, Ok(OpResult::Stat(Stat::default())));
    assert_eq!(out.events, vec![written(PATH), completed(2, Ok(()))]);
    assert_eq!(m.instances().next(), Some(&new));
}

#[test]
fn update_of_a_vanished_node_creates_it_again() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = registered(&i);
    let new = i.with_enabled(false);
    let out = cmd(
        &mut m,
        RegistryCommand::Update {
            request: 2,
            instance: new.clone(),
        },
    );
    let out = done(&mut m, out.ops[0].0, Err(Error::NoNode));
    assert_eq!(ops(&out), vec![create(PATH, &new)]);
}

#[test]
fn update_and_unregister_of_unknown_instances() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = RegistryMachine::new("/foo");
    let out = cmd(
        &mut m,
        RegistryCommand::Update {
            request: 1,
            instance: i,
        },
    );
    assert!(matches!(
        &out.events[..],
        [RegistryEvent::Completed {
            request: 1,
            result: Err(Error::InvalidArgument(_))
        }]
    ));
    let out = cmd(
        &mut m,
        RegistryCommand::Unregister {
            request: 2,
            id: "nope".into(),
        },
    );
    assert_eq!(out.events, vec![completed(2, Ok(()))]);
    assert!(out.ops.is_empty());
}

#[test]
fn every_instance_is_reregistered_on_reconnect() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = registered(&i);
    assert!(state(&mut m, Suspended).ops.is_empty());
    let out = state(&mut m, Reconnected);
    assert_eq!(ops(&out), vec![create(PATH, &i)]);
    // Same session: the node is still there, so it is replaced (watchers fire).
    let out = done(&mut m, out.ops[0].0, Err(Error::NodeExists));
    assert_eq!(ops(&out), vec![delete(PATH), create(PATH, &i)]);
    let out = done(&mut m, out.ops[1].0, created(PATH));
    assert_eq!(out.events, vec![written(PATH)]);
    // A new session after LOST: created again.
    state(&mut m, Suspended);
    state(&mut m, Lost);
    let out = feed(
        &mut m,
        Input::Connection {
            state: Reconnected,
            session_id: 8,
        },
    );
    assert_eq!(ops(&out), vec![create(PATH, &i)]);
}

/// discovery_stale_reregister: an update made while disconnected is what the re-registration
/// writes; nothing older ever reaches the node.
#[test]
fn discovery_stale_reregister_update_while_disconnected() {
    let i = instance("old", ServiceType::Dynamic);
    let mut m = registered(&i);
    state(&mut m, Suspended);
    let new = i.with_payload(Some(crate::discovery::Payload::String("new".into())));
    let out = cmd(
        &mut m,
        RegistryCommand::Update {
            request: 2,
            instance: new.clone(),
        },
    );
    assert!(out.ops.is_empty(), "waits for the connection");
    let out = state(&mut m, Reconnected);
    assert_eq!(ops(&out), vec![create(PATH, &new)], "current content only");
    let out = done(&mut m, out.ops[0].0, Err(Error::NodeExists));
    assert_eq!(ops(&out), vec![delete(PATH), create(PATH, &new)]);
    let out = done(&mut m, out.ops[1].0, created(PATH));
    assert_eq!(out.events, vec![written(PATH), completed(2, Ok(()))]);
}

/// discovery_stale_reregister: an update that arrives while the re-registration is in flight is
/// written after it.
#[test]
fn discovery_stale_reregister_update_during_reregistration() {
    let i = instance("old", ServiceType::Dynamic);
    let mut m = registered(&i);
    state(&mut m, Suspended);
    let out = state(&mut m, Reconnected);
    let reregister = out.ops[0].0;
    let new = i.with_payload(Some(crate::discovery::Payload::String("new".into())));
    let out = cmd(
        &mut m,
        RegistryCommand::Update {
            request: 2,
            instance: new.clone(),
        },
    );
    assert!(out.ops.is_empty(), "one write at a time per instance");
    let out = done(&mut m, reregister, created(PATH));
    assert_eq!(
        ops(&out),
        vec![Op::SetData {
            path: PATH.into(),
            data: new.to_json(),
            version: None
        }]
    );
    let out = done(&mut m, out.ops[0].0, Ok(OpResult::Stat(Stat::default())));
    assert_eq!(out.events, vec![written(PATH), completed(2, Ok(()))]);
}

/// discovery_stale_reregister: unregistering while a re-registration is in flight deletes the
/// node after it (FIFO) and never registers it again.
#[test]
fn discovery_stale_reregister_unregister_during_reregistration() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = registered(&i);
    state(&mut m, Suspended);
    let out = state(&mut m, Reconnected);
    let reregister = out.ops[0].0;
    let out = cmd(
        &mut m,
        RegistryCommand::Unregister {
            request: 2,
            id: "i-1".into(),
        },
    );
    assert_eq!(ops(&out), vec![delete(PATH)], "queued behind the create");
    let unregister = out.ops[0].0;
    // The re-registration's NodeExists reply no longer leads to a replace.
    let late = done(&mut m, reregister, Err(Error::NodeExists));
    assert!(late.ops.is_empty() && late.events.is_empty());
    let out = done(&mut m, unregister, Ok(OpResult::Deleted));
    assert_eq!(out.events, vec![completed(2, Ok(()))]);
    assert!(m.instances().next().is_none());
    state(&mut m, Suspended);
    assert!(state(&mut m, Reconnected).ops.is_empty(), "never again");
}

#[test]
fn unregister_is_a_guaranteed_delete() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = registered(&i);
    let out = cmd(
        &mut m,
        RegistryCommand::Unregister {
            request: 2,
            id: "i-1".into(),
        },
    );
    state(&mut m, Suspended);
    let out = done(&mut m, out.ops[0].0, Err(Error::ConnectionLoss));
    assert!(out.ops.is_empty() && out.events.is_empty());
    let out = state(&mut m, Reconnected);
    assert_eq!(
        ops(&out),
        vec![delete(PATH)],
        "deleted again, not re-registered"
    );
    let out = done(&mut m, out.ops[0].0, Err(Error::NoNode));
    assert_eq!(out.events, vec![completed(2, Ok(()))]);
}

#[test]
fn a_write_lost_with_the_connection_is_sent_again_once_reconnected() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = RegistryMachine::new("/foo");
    state(&mut m, Connected);
    let out = cmd(
        &mut m,
        RegistryCommand::Register {
            request: 1,
            instance: i.clone(),
        },
    );
    let out = done(&mut m, out.ops[0].0, Err(Error::ConnectionLoss));
    assert!(out.ops.is_empty(), "not before the connection is back");
    state(&mut m, Suspended);
    let out = state(&mut m, Reconnected);
    assert_eq!(ops(&out), vec![create(PATH, &i)]);
    let out = done(&mut m, out.ops[0].0, created(PATH));
    assert_eq!(out.events, vec![written(PATH), completed(1, Ok(()))]);
}

#[test]
fn lost_fails_waiters_but_keeps_the_registration() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = RegistryMachine::new("/foo");
    state(&mut m, Connected);
    state(&mut m, Suspended);
    let out = cmd(
        &mut m,
        RegistryCommand::Register {
            request: 1,
            instance: i.clone(),
        },
    );
    assert!(out.ops.is_empty());
    let out = state(&mut m, Lost);
    assert_eq!(out.events, vec![completed(1, Err(Error::NotConnected))]);
    let out = state(&mut m, Reconnected);
    assert_eq!(ops(&out), vec![create(PATH, &i)]);
}

#[test]
fn sequential_instances_track_their_node() {
    let i = instance("p", ServiceType::DynamicSequential);
    let node = format!("{PATH}0000000003");
    let mut m = RegistryMachine::new("/foo");
    let out = cmd(
        &mut m,
        RegistryCommand::Register {
            request: 1,
            instance: i.clone(),
        },
    );
    assert_eq!(ops(&out), vec![create(PATH, &i)]);
    assert_eq!(
        i.service_type.create_mode(),
        CreateMode::EphemeralSequential
    );
    done(&mut m, out.ops[0].0, created(&node));
    let new = i.with_enabled(false);
    let out = cmd(
        &mut m,
        RegistryCommand::Update {
            request: 2,
            instance: new.clone(),
        },
    );
    assert_eq!(
        ops(&out),
        vec![Op::SetData {
            path: node.clone(),
            data: new.to_json(),
            version: None
        }]
    );
    done(&mut m, out.ops[0].0, Ok(OpResult::Stat(Stat::default())));
    // Re-registration replaces the old sequential node instead of leaving a duplicate.
    state(&mut m, Suspended);
    let out = state(&mut m, Reconnected);
    assert_eq!(ops(&out), vec![delete(&node), create(PATH, &new)]);
}

#[test]
fn close_unregisters_everything_then_finishes() {
    let i = instance("p", ServiceType::Dynamic);
    let mut m = registered(&i);
    let out = cmd(&mut m, RegistryCommand::Close);
    assert_eq!(ops(&out), vec![delete(PATH)]);
    assert!(!m.is_done());
    done(&mut m, out.ops[0].0, Ok(OpResult::Deleted));
    assert!(m.is_done());
    let out = cmd(
        &mut m,
        RegistryCommand::Register {
            request: 5,
            instance: i,
        },
    );
    assert_eq!(out.events, vec![completed(5, Err(Error::Closed))]);
}

/// discovery_stale_reregister: an update whose reply is lost across a reconnect is written by
/// the re-registration that follows, with the updated content, at once.
#[test]
fn discovery_stale_reregister_update_lost_across_reconnect() {
    let i = instance("old", ServiceType::Dynamic);
    let mut m = registered(&i);
    let new = i.with_payload(Some(crate::discovery::Payload::String("new".into())));
    let out = cmd(
        &mut m,
        RegistryCommand::Update {
            request: 2,
            instance: new.clone(),
        },
    );
    let set = out.ops[0].0;
    state(&mut m, Suspended);
    let out = state(&mut m, Reconnected);
    assert!(out.ops.is_empty(), "the update is still in flight");
    // Its failure arrives after the reconnection: re-register now, with the new content.
    let out = done(&mut m, set, Err(Error::ConnectionLoss));
    assert_eq!(ops(&out), vec![create(PATH, &new)]);
    let out = done(&mut m, out.ops[0].0, created(PATH));
    assert_eq!(out.events, vec![written(PATH), completed(2, Ok(()))]);
}
