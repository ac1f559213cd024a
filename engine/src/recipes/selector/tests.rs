use super::machine::*;
use crate::framework::ErrorPolicy;
use crate::machine::Input;
use crate::op::{Op, OpResult};
use crate::path;
use crate::recipes::testing::*;
use crate::rng::Rng;
use crate::ConnectionState;

const SESSION: i64 = 9;

fn leading(auto_requeue: bool) -> (SelectorMachine, String) {
    let mut m = SelectorMachine::new(
        "/leader".into(),
        b"me".to_vec(),
        ErrorPolicy::Standard,
        auto_requeue,
        Rng::new(5, 0),
    );
    feed(&mut m, connected(SESSION));
    let out = feed(&mut m, Input::Command(SelectorCommand::Requeue));
    let (node, result) = created(&out.ops[0].1, 0, 77, SESSION);
    feed(&mut m, done(out.ops[0].0, Ok(result)));
    let out = feed(
        &mut m,
        done(out.ops[1].0, Ok(children(&[path::name(&node)]))),
    );
    assert_eq!(
        out.events,
        vec![SelectorEvent::TakeLeadership {
            token: 77,
            node: node.clone()
        }]
    );
    assert!(m.is_leading());
    (m, node)
}

#[test]
fn suspension_cancels_leadership_then_auto_requeue_queues_again() {
    let (mut m, node) = leading(true);
    let out = feed(&mut m, state(ConnectionState::Suspended, SESSION));
    assert_eq!(
        out.events,
        vec![SelectorEvent::Cancel(CancelReason::Connection(
            ConnectionState::Suspended
        ))]
    );
    assert!(!m.is_leading());
    // The user's function stops: released at once, queued again right behind the delete.
    let out = feed(&mut m, Input::Command(SelectorCommand::Relinquish));
    assert_eq!(out.events, vec![SelectorEvent::Released]);
    assert_eq!(
        out.ops[0].1,
        Op::Delete {
            path: node,
            version: None
        }
    );
    assert!(
        matches!(out.ops[1].1, Op::Create { .. }),
        "auto-requeue: {:?}",
        out.ops
    );
}

#[test]
fn interrupt_and_no_requeue() {
    let (mut m, _) = leading(false);
    let out = feed(&mut m, Input::Command(SelectorCommand::Interrupt));
    assert_eq!(
        out.events,
        vec![SelectorEvent::Cancel(CancelReason::Interrupted)]
    );
    let out = feed(&mut m, Input::Command(SelectorCommand::Relinquish));
    assert_eq!(out.events, vec![SelectorEvent::Released]);
    assert_eq!(out.ops.len(), 1, "only the delete: {:?}", out.ops);
}

#[test]
fn session_only_policy_leads_through_suspension() {
    let mut m = SelectorMachine::new(
        "/l".into(),
        vec![],
        ErrorPolicy::SessionOnly,
        false,
        Rng::new(5, 0),
    );
    feed(&mut m, connected(SESSION));
    let out = feed(&mut m, Input::Command(SelectorCommand::Requeue));
    let (node, result) = created(&out.ops[0].1, 0, 1, SESSION);
    feed(&mut m, done(out.ops[0].0, Ok(result)));
    feed(
        &mut m,
        done(out.ops[1].0, Ok(children(&[path::name(&node)]))),
    );
    assert!(feed(&mut m, state(ConnectionState::Suspended, SESSION))
        .events
        .is_empty());
    assert!(m.is_leading());
    let out = feed(&mut m, state(ConnectionState::Lost, SESSION));
    assert_eq!(
        out.events,
        vec![SelectorEvent::Cancel(CancelReason::Connection(
            ConnectionState::Lost
        ))]
    );
}

#[test]
fn close_while_leading_cancels_releases_and_finishes() {
    let (mut m, node) = leading(true);
    let out = feed(&mut m, Input::Command(SelectorCommand::Close));
    assert_eq!(
        out.events,
        vec![
            SelectorEvent::Cancel(CancelReason::Closed),
            SelectorEvent::Released
        ]
    );
    let (dt, op) = out.ops[0].clone();
    assert_eq!(
        op,
        Op::Delete {
            path: node,
            version: None
        }
    );
    assert_eq!(out.ops.len(), 1, "no requeue after close");
    assert!(
        !crate::Machine::is_done(&m),
        "the delete is still in flight"
    );
    feed(&mut m, done(dt, Ok(OpResult::Deleted)));
    assert!(crate::Machine::is_done(&m));
}
