use super::machine::*;
use crate::framework::ErrorPolicy;
use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::path;
use crate::recipes::lock::Lease;
use crate::recipes::testing::*;
use crate::rng::Rng;
use crate::time::Instant;
use crate::types::{EventType, Stat, WatchedEvent};
use crate::{ConnectionState, Error};

const SESSION: i64 = 7;
const FOREIGN: &str = "_c_0a0a0a0a-0000-4000-8000-000000000000-lease-0000000001";

fn semaphore(max: MaxSource) -> SemaphoreMachine {
    let mut m = SemaphoreMachine::new(
        "/s",
        max,
        b"me".to_vec(),
        ErrorPolicy::Standard,
        Rng::new(1, 0),
    );
    let out = feed(&mut m, connected(SESSION));
    assert!(out.ops.is_empty() && out.events.is_empty());
    m
}

fn acquire(m: &mut SemaphoreMachine, count: usize) -> Out<SemaphoreMachine> {
    feed(
        m,
        Input::Command(SemaphoreCommand::Acquire {
            count,
            deadline: None,
        }),
    )
}

fn watch_fired<C>(token: Token) -> Input<C> {
    Input::Watch {
        token,
        event: WatchedEvent {
            kind: EventType::NodeChildrenChanged,
            path: String::new(),
        },
    }
}

/// Asserts `ops` are a protected create in `dir` named `<name><seq>` and an unwatched listing
/// of `dir` behind it.
fn assert_enrol(ops: &[(Token, Op)], dir: &str, name: &str) {
    assert_eq!(ops.len(), 2, "{ops:?}");
    let Op::Create { path, mode, .. } = &ops[0].1 else {
        panic!("{ops:?}")
    };
    assert!(
        path.starts_with(&format!("{dir}/_c_")) && path.ends_with(name),
        "{path}"
    );
    assert!(mode.is_sequential() && mode.is_ephemeral());
    let listing = Op::GetChildren {
        path: dir.into(),
        watch: false,
    };
    assert_eq!(ops[1].1, listing);
}

/// The creation mutex is granted: its create lands and its listing shows it alone. Returns
/// the mutex node and the ops that follow (the lease's create and listing).
fn mutex_granted(
    m: &mut SemaphoreMachine,
    ops: &[(Token, Op)],
    czxid: i64,
) -> (String, Out<SemaphoreMachine>) {
    assert_enrol(ops, "/s/locks", "-lock-");
    let (node, result) = created(&ops[0].1, 1, czxid, SESSION);
    assert!(feed(m, done(ops[0].0, Ok(result))).ops.is_empty());
    let out = feed(m, done(ops[1].0, Ok(children(&[path::name(&node)]))));
    (node, out)
}

/// The lease create lands as `seq`; the pipelined listing shows `others` and our node.
fn lease_listed(
    m: &mut SemaphoreMachine,
    ops: &[(Token, Op)],
    seq: i32,
    czxid: i64,
    others: &[&str],
) -> (String, Out<SemaphoreMachine>) {
    assert_enrol(ops, "/s/leases", "-lease-");
    let (node, result) = created(&ops[0].1, seq, czxid, SESSION);
    assert!(feed(m, done(ops[0].0, Ok(result))).ops.is_empty());
    let mut names = others.to_vec();
    names.push(path::name(&node));
    let out = feed(m, done(ops[1].0, Ok(children(&names))));
    (node, out)
}

fn delete(path: &str) -> Op {
    Op::Delete {
        path: path.into(),
        version: None,
    }
}

#[test]
fn a_lease_is_created_under_the_creation_mutex_which_goes_right_after_the_grant() {
    let mut m = semaphore(MaxSource::Fixed(2));
    let out = acquire(&mut m, 1);
    assert!(out.events.is_empty());
    let (mutex, out) = mutex_granted(&mut m, &out.ops, 10);
    // Only now the lease: a protected create in leases/ with its listing behind it.
    let (lease, out) = lease_listed(&mut m, &out.ops, 2, 11, &[FOREIGN]);
    assert_eq!(out.ops.len(), 1, "{:?}", out.ops);
    assert_eq!(
        out.ops[0].1,
        delete(&mutex),
        "the creation mutex is released"
    );
    assert_eq!(
        out.events,
        vec![SemaphoreEvent::Acquired(vec![Lease {
            node: lease.clone(),
            token: 11
        }])]
    );
    assert_eq!(m.leases().count(), 1);
    assert!(!m.is_acquiring());

    let out = feed(
        &mut m,
        Input::Command(SemaphoreCommand::Release {
            node: lease.clone(),
        }),
    );
    assert_eq!(out.events, vec![SemaphoreEvent::Released(lease.clone())]);
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&delete(&lease)]
    );
    assert_eq!(m.leases().count(), 0);
}

#[test]
fn a_full_semaphore_waits_on_a_watched_listing_holding_the_mutex() {
    let mut m = semaphore(MaxSource::Fixed(1));
    let out = acquire(&mut m, 1);
    let (mutex, out) = mutex_granted(&mut m, &out.ops, 10);
    let (lease, out) = lease_listed(&mut m, &out.ops, 2, 11, &[FOREIGN]);
    // Full: list again, with a watch; the mutex stays ours.
    let listing = Op::GetChildren {
        path: "/s/leases".into(),
        watch: true,
    };
    assert_eq!(out.ops.len(), 1);
    assert_eq!(out.ops[0].1, listing);
    assert!(out.events.is_empty());
    let lt = out.ops[0].0;
    let ours = path::name(&lease).to_owned();
    let out = feed(&mut m, done(lt, Ok(children(&[FOREIGN, &ours]))));
    assert!(
        out.ops.is_empty() && out.events.is_empty(),
        "still full: wait"
    );
    // The holder leaves: the watch fires, a new watched listing, granted, mutex released.
    let out = feed(&mut m, watch_fired(lt));
    assert_eq!(out.ops.len(), 1);
    assert_eq!(out.ops[0].1, listing);
    let out = feed(&mut m, done(out.ops[0].0, Ok(children(&[&ours]))));
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&delete(&mutex)]
    );
    assert_eq!(
        out.events,
        vec![SemaphoreEvent::Acquired(vec![Lease {
            node: lease,
            token: 11
        }])]
    );
}

#[test]
fn acquire_many_takes_the_mutex_once_per_lease_release_and_retake_in_one_batch() {
    let mut m = semaphore(MaxSource::Fixed(3));
    let out = acquire(&mut m, 2);
    let (mutex, out) = mutex_granted(&mut m, &out.ops, 10);
    let (first, out) = lease_listed(&mut m, &out.ops, 1, 11, &[]);
    assert!(out.events.is_empty());
    assert_eq!(out.ops.len(), 3, "{:?}", out.ops);
    assert_eq!(out.ops[0].1, delete(&mutex));
    let (second_mutex, out) = {
        let ops = &out.ops[1..];
        assert_enrol(ops, "/s/locks", "-lock-");
        let (node, result) = created(&ops[0].1, 2, 12, SESSION);
        feed(&mut m, done(out.ops[0].0, Ok(OpResult::Deleted)));
        feed(&mut m, done(ops[0].0, Ok(result)));
        let listed = feed(&mut m, done(ops[1].0, Ok(children(&[path::name(&node)]))));
        (node, listed)
    };
    let first_name = path::name(&first).to_owned();
    let (second, out) = lease_listed(&mut m, &out.ops, 2, 13, &[&first_name]);
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&delete(&second_mutex)]
    );
    assert_eq!(
        out.events,
        vec![SemaphoreEvent::Acquired(vec![
            Lease {
                node: first,
                token: 11
            },
            Lease {
                node: second,
                token: 13
            },
        ])]
    );
}

#[test]
fn a_deadline_gives_back_the_taken_lease_the_waiting_one_and_the_mutex() {
    let mut m = semaphore(MaxSource::Fixed(1));
    let deadline = Instant::ZERO + std::time::Duration::from_secs(1);
    let out = feed(
        &mut m,
        Input::Command(SemaphoreCommand::Acquire {
            count: 2,
            deadline: Some(deadline),
        }),
    );
    assert_eq!(m.poll_timeout(), Some(deadline));
    let (mutex, out) = mutex_granted(&mut m, &out.ops, 10);
    let (lease, _) = lease_listed(&mut m, &out.ops, 2, 11, &[FOREIGN]);
    m.handle(deadline, Input::Timeout);
    let out = drain(&mut m);
    assert_eq!(
        out.events,
        vec![SemaphoreEvent::AcquireFailed(Error::Timeout)]
    );
    let ops: Vec<_> = out.ops.iter().map(|o| o.1.clone()).collect();
    assert_eq!(ops, vec![delete(&mutex), delete(&lease)]);
    assert_eq!(m.poll_timeout(), None);
    assert!(!m.is_acquiring());
}

#[test]
fn losing_the_session_gives_the_waiting_lease_up_and_takes_the_mutex_again() {
    let mut m = semaphore(MaxSource::Fixed(1));
    let out = acquire(&mut m, 1);
    let (_, out) = mutex_granted(&mut m, &out.ops, 10);
    let (_, out) = lease_listed(&mut m, &out.ops, 2, 11, &[FOREIGN]);
    assert_eq!(out.ops.len(), 1, "the watched listing");
    let out = feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert!(out.events.is_empty());
    // Nothing is created while disconnected; the lease is not created again by itself.
    assert!(
        out.ops.iter().all(|o| matches!(o.1, Op::Delete { .. })),
        "{:?}",
        out.ops
    );
    let out = feed(&mut m, connected(SESSION + 1));
    let creates: Vec<_> = out
        .ops
        .iter()
        .filter_map(|o| match &o.1 {
            Op::Create { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(creates.len(), 1, "{:?}", out.ops);
    assert!(
        creates[0].starts_with("/s/locks/_c_"),
        "the mutex first: {creates:?}"
    );
    assert!(m.is_acquiring());
}

#[test]
fn a_held_lease_is_lost_with_the_session_and_suspension_is_reported() {
    let mut m = semaphore(MaxSource::Fixed(2));
    let out = acquire(&mut m, 1);
    let (_, out) = mutex_granted(&mut m, &out.ops, 10);
    let (lease, _) = lease_listed(&mut m, &out.ops, 2, 11, &[]);
    let out = feed(&mut m, state(ConnectionState::Suspended, SESSION));
    assert_eq!(out.events, vec![SemaphoreEvent::Suspended]);
    assert!(m.is_suspended());
    let out = feed(&mut m, state(ConnectionState::Reconnected, SESSION));
    assert_eq!(out.events, vec![SemaphoreEvent::Reconnected]);
    let out = feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert_eq!(
        out.events,
        vec![SemaphoreEvent::Lost(Lease {
            node: lease,
            token: 11
        })]
    );
    assert_eq!(m.leases().count(), 0);
}

fn count_data(data: &[u8]) -> OpResult {
    OpResult::Data {
        data: data.to_vec(),
        stat: Stat::default(),
    }
}

#[test]
fn max_leases_from_a_count_node_are_read_watched_and_followed() {
    let mut m = SemaphoreMachine::new(
        "/s",
        MaxSource::Node("/count".into()),
        Vec::new(),
        ErrorPolicy::Standard,
        Rng::new(1, 0),
    );
    let out = feed(&mut m, connected(SESSION));
    let read = Op::GetData {
        path: "/count".into(),
        watch: true,
    };
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&read]
    );
    let rt = out.ops[0].0;
    // Acquiring before the count is known waits for it: no mutex yet.
    assert!(acquire(&mut m, 1).ops.is_empty());
    let out = feed(&mut m, done(rt, Ok(count_data(&1i32.to_be_bytes()))));
    assert_eq!(out.events, vec![SemaphoreEvent::MaxLeases(1)]);
    let (_, out) = mutex_granted(&mut m, &out.ops, 10);
    let (lease, out) = lease_listed(&mut m, &out.ops, 2, 11, &[FOREIGN]);
    let ours = path::name(&lease).to_owned();
    let lt = out.ops[0].0;
    assert!(feed(&mut m, done(lt, Ok(children(&[FOREIGN, &ours]))))
        .ops
        .is_empty());
    // The count goes to 2: read again; the full queue counts again at once.
    let out = feed(&mut m, watch_fired(rt));
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&read]
    );
    let out = feed(
        &mut m,
        done(out.ops[0].0, Ok(count_data(&2i32.to_be_bytes()))),
    );
    assert_eq!(out.events, vec![SemaphoreEvent::MaxLeases(2)]);
    let listing = Op::GetChildren {
        path: "/s/leases".into(),
        watch: true,
    };
    assert_eq!(
        out.ops.iter().map(|o| &o.1).collect::<Vec<_>>(),
        vec![&listing]
    );
    let out = feed(&mut m, done(out.ops[0].0, Ok(children(&[FOREIGN, &ours]))));
    assert!(
        matches!(&out.events[..], [SemaphoreEvent::Acquired(_)]),
        "{:?}",
        out.events
    );
}

#[test]
fn a_corrupt_count_is_a_typed_error() {
    let mut m = SemaphoreMachine::new(
        "/s",
        MaxSource::Node("/count".into()),
        Vec::new(),
        ErrorPolicy::Standard,
        Rng::new(1, 0),
    );
    let out = feed(&mut m, connected(SESSION));
    assert!(acquire(&mut m, 1).ops.is_empty());
    let out = feed(&mut m, done(out.ops[0].0, Ok(count_data(&[0, 0, 2]))));
    assert!(
        matches!(&out.events[..], [SemaphoreEvent::AcquireFailed(Error::CorruptData { path, .. })] if path == "/count"),
        "{:?}",
        out.events
    );
    let out = acquire(&mut m, 1);
    assert!(matches!(
        &out.events[..],
        [SemaphoreEvent::AcquireFailed(Error::CorruptData { .. })]
    ));
}

#[test]
fn close_gives_everything_back_and_finishes() {
    let mut m = semaphore(MaxSource::Fixed(2));
    let out = acquire(&mut m, 1);
    let (_, out) = mutex_granted(&mut m, &out.ops, 10);
    let (lease, out) = lease_listed(&mut m, &out.ops, 2, 11, &[]);
    feed(&mut m, done(out.ops[0].0, Ok(OpResult::Deleted)));
    let out = feed(&mut m, Input::Command(SemaphoreCommand::Close));
    assert_eq!(out.events, vec![SemaphoreEvent::Released(lease.clone())]);
    assert_eq!(out.ops.len(), 1);
    assert_eq!(out.ops[0].1, delete(&lease));
    assert!(!m.is_done());
    feed(&mut m, done(out.ops[0].0, Ok(OpResult::Deleted)));
    assert!(m.is_done());
}

#[test]
fn an_abandoned_acquire_gives_back_what_it_waits_for_and_what_nobody_received() {
    // Waiting: the lease it created and the creation mutex go.
    let mut m = semaphore(MaxSource::Fixed(1));
    let out = acquire(&mut m, 2);
    let (mutex, out) = mutex_granted(&mut m, &out.ops, 10);
    let (lease, _) = lease_listed(&mut m, &out.ops, 2, 11, &[FOREIGN]);
    let out = feed(&mut m, Input::Command(SemaphoreCommand::Abandon));
    assert_eq!(
        out.events,
        vec![SemaphoreEvent::AcquireFailed(Error::Timeout)]
    );
    let ops: Vec<_> = out.ops.iter().map(|o| o.1.clone()).collect();
    assert_eq!(ops, vec![delete(&mutex), delete(&lease)]);
    assert!(!m.is_acquiring());

    // Granted, but the caller was gone before it saw the grant: the lease goes back.
    let mut m = semaphore(MaxSource::Fixed(2));
    let out = acquire(&mut m, 1);
    let (_, out) = mutex_granted(&mut m, &out.ops, 10);
    let (lease, out) = lease_listed(&mut m, &out.ops, 2, 11, &[FOREIGN]);
    assert!(matches!(out.events[..], [SemaphoreEvent::Acquired(_)]));
    let out = feed(&mut m, Input::Command(SemaphoreCommand::Abandon));
    assert_eq!(out.events, vec![SemaphoreEvent::Released(lease.clone())]);
    let ops: Vec<_> = out.ops.iter().map(|o| o.1.clone()).collect();
    assert_eq!(ops, vec![delete(&lease)]);
    assert_eq!(m.leases().count(), 0);

    // A grant that was received (a later acquire started) is not touched by a late abandon.
    let mut m = semaphore(MaxSource::Fixed(2));
    let out = acquire(&mut m, 1);
    let (_, out) = mutex_granted(&mut m, &out.ops, 10);
    let (_held, _) = lease_listed(&mut m, &out.ops, 2, 11, &[FOREIGN]);
    let _ = acquire(&mut m, 1);
    let out = feed(&mut m, Input::Command(SemaphoreCommand::Abandon));
    assert_eq!(
        out.events,
        vec![SemaphoreEvent::AcquireFailed(Error::Timeout)]
    );
    assert_eq!(m.leases().count(), 1, "the first lease is still held");
}
