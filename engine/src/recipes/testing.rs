//! Helpers for pure machine tests: feed inputs, collect exactly what comes out.

use crate::machine::{Input, Machine, Token};
use crate::op::{Op, OpResult};
use crate::time::Instant;
use crate::types::Stat;
use crate::{ConnectionState, Error};

/// Everything a machine emitted after one input.
pub(crate) struct Out<M: Machine> {
    pub(crate) ops: Vec<(Token, Op)>,
    pub(crate) events: Vec<M::Event>,
}

/// Feeds `input` and drains the machine (the str0m rule).
pub(crate) fn feed<M: Machine>(m: &mut M, input: Input<M::Command>) -> Out<M> {
    m.handle(Instant::ZERO, input);
    drain(m)
}

pub(crate) fn drain<M: Machine>(m: &mut M) -> Out<M> {
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

pub(crate) fn done<C>(token: Token, result: Result<OpResult, Error>) -> Input<C> {
    Input::OpDone { token, result }
}

pub(crate) fn connected<C>(session_id: i64) -> Input<C> {
    Input::Connection {
        state: ConnectionState::Connected,
        session_id,
    }
}

pub(crate) fn state<C>(state: ConnectionState, session_id: i64) -> Input<C> {
    Input::Connection { state, session_id }
}

/// The created result for a sequential create sent as `path`, with sequence `seq`.
pub(crate) fn created(op: &Op, seq: i32, czxid: i64, owner: i64) -> (String, OpResult) {
    let Op::Create { path, .. } = op else {
        panic!("expected a create, got {op:?}");
    };
    let path = format!("{path}{seq:010}");
    let stat = Stat {
        czxid,
        ephemeral_owner: owner,
        ..Stat::default()
    };
    (path.clone(), OpResult::Created { path, stat })
}

pub(crate) fn children(names: &[&str]) -> OpResult {
    OpResult::Children {
        children: names.iter().map(|s| s.to_string()).collect(),
        stat: Stat::default(),
    }
}
