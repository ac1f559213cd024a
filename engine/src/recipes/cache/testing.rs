//! Helpers for the caches' pure machine tests.

use crate::machine::{Input, Token};
use crate::op::{Op, OpResult};
use crate::types::{EventType, Stat, WatchedEvent};

/// A stat with the given creation and modification zxids and version.
pub(crate) fn stat(czxid: i64, mzxid: i64, version: i32) -> Stat {
    Stat {
        czxid,
        mzxid,
        version,
        ..Stat::default()
    }
}

/// A getData result.
pub(crate) fn data(bytes: &[u8], stat: Stat) -> OpResult {
    OpResult::Data {
        data: bytes.to_vec(),
        stat,
    }
}

/// A fired watch.
pub(crate) fn fired<C>(token: Token, kind: EventType, path: &str) -> Input<C> {
    Input::Watch {
        token,
        event: WatchedEvent {
            kind,
            path: path.into(),
        },
    }
}

/// The ops alone.
pub(crate) fn ops(out: &[(Token, Op)]) -> Vec<Op> {
    out.iter().map(|(_, op)| op.clone()).collect()
}

pub(crate) fn get_data(path: &str) -> Op {
    Op::GetData {
        path: path.into(),
        watch: true,
    }
}

pub(crate) fn get_children(path: &str, watch: bool) -> Op {
    Op::GetChildren {
        path: path.into(),
        watch,
    }
}

pub(crate) fn exists(path: &str) -> Op {
    Op::Exists {
        path: path.into(),
        watch: true,
    }
}
