//! Request bookkeeping shared by the caches: tokens, the ops queue, which session and
//! connection epoch each read was sent in, and the reads that failed for want of a connection
//! and wait for it to come back.
//!
//! A cache never retries a failed read in a loop: it parks the read here and sends it again
//! only once the connection came back *after* the read was sent ([`Link::ready_after`]), so a
//! down ensemble costs nothing and a reconnect costs one read per parked purpose.
//!
//! **Batching.** Unwatched `getData` reads queued together leave as `multiRead` requests of up
//! to [`MULTI_READ_BATCH`] reads (ZooKeeper 3.6+): a large load or a refresh costs a few
//! requests, not one per node. The machine still sees one token and one result per read
//! ([`Reads::unbatch`]). A server without `multiRead` answers `Unimplemented` once; the reads
//! are then queued again one by one and batching stays off.

use std::collections::{BTreeMap, VecDeque};

use crate::framework::link::Link;
use crate::framework::{ConnectionState, MULTI_READ_BATCH};
use crate::machine::{Token, Tokens};
use crate::op::{Op, OpResult, ReadOp, ReadResult};
use crate::Error;

/// What a (re)connection means for the watches a cache holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reconnect {
    /// Not connected (SUSPENDED, LOST).
    Down,
    /// The first connection: start loading.
    First,
    /// The same session is back: its watches are still registered with the server.
    SameSession,
    /// A new session: every watch of the old one is gone.
    NewSession,
}

/// One read in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent<P> {
    /// Why it was sent.
    pub(crate) purpose: P,
    /// The connection epoch it was sent in.
    pub(crate) epoch: u64,
    /// The session it was sent in (a watch it leaves lives as long as that session).
    pub(crate) session: i64,
}

/// Tokens, ops and parked reads of one cache.
#[derive(Debug)]
pub(crate) struct Reads<P> {
    tokens: Tokens,
    link: Link,
    /// The session of the last connected state (0 before the first).
    session: Option<i64>,
    ops: VecDeque<(Token, Op)>,
    pending: BTreeMap<Token, Sent<P>>,
    /// Failed reads waiting for a connection newer than their epoch.
    parked: Vec<(P, u64)>,
    /// Whether unwatched reads may leave as `multiRead` (until the server refuses one).
    batching: bool,
    /// The reads behind each `multiRead` in flight, in order.
    batches: BTreeMap<Token, Vec<(Token, Op)>>,
}

impl<P: Clone> Reads<P> {
    pub(crate) fn new() -> Reads<P> {
        Reads {
            tokens: Tokens::default(),
            link: Link::default(),
            session: None,
            ops: VecDeque::new(),
            pending: BTreeMap::new(),
            parked: Vec::new(),
            batching: true,
            batches: BTreeMap::new(),
        }
    }

    /// Queues `op` for `purpose`; returns its token.
    pub(crate) fn send(&mut self, op: Op, purpose: P) -> Token {
        let token = self.tokens.next();
        self.pending.insert(
            token,
            Sent {
                purpose,
                epoch: self.link.epoch(),
                session: self.session.unwrap_or(0),
            },
        );
        self.ops.push_back((token, op));
        token
    }

    /// The result of each read behind `token`: the result itself for a single read, one per
    /// read for a `multiRead` batch. A server without `multiRead` gets the batch's reads
    /// queued again one by one (and nothing is returned).
    pub(crate) fn unbatch(
        &mut self,
        token: Token,
        result: Result<OpResult, Error>,
    ) -> Vec<(Token, Result<OpResult, Error>)> {
        let Some(reads) = self.batches.remove(&token) else {
            return vec![(token, result)];
        };
        match result {
            Ok(OpResult::MultiRead(results)) if results.len() == reads.len() => reads
                .into_iter()
                .zip(results)
                .map(|((token, _), r)| {
                    let r = r.and_then(|r| match r {
                        ReadResult::Data { data, stat } => Ok(OpResult::Data { data, stat }),
                        _ => Err(Error::MarshallingError),
                    });
                    (token, r)
                })
                .collect(),
            Err(Error::Unimplemented) => {
                self.batching = false;
                for op in reads.into_iter().rev() {
                    self.ops.push_front(op);
                }
                Vec::new()
            }
            Ok(_) => Self::fail_all(reads, Error::MarshallingError),
            Err(e) => Self::fail_all(reads, e),
        }
    }

    fn fail_all(reads: Vec<(Token, Op)>, error: Error) -> Vec<(Token, Result<OpResult, Error>)> {
        reads
            .into_iter()
            .map(|(token, _)| (token, Err(error.clone())))
            .collect()
    }

    /// The read sent under `token`, once its result is in (`None` for a token not ours).
    pub(crate) fn complete(&mut self, token: Token) -> Option<Sent<P>> {
        self.pending.remove(&token)
    }

    /// A read sent at `epoch` failed with `error`. A connection failure returns the read when
    /// it may be sent again now, else parks it until the connection comes back. Any other
    /// failure (e.g. `NoAuth`) is not retried: the node is left out of the cache.
    pub(crate) fn retry(&mut self, purpose: P, epoch: u64, error: &Error) -> Option<P> {
        if !error.is_retryable() {
            tracing::warn!(%error, "cache read failed; the node is left out");
            return None;
        }
        if self.link.ready_after(epoch) {
            return Some(purpose);
        }
        self.parked.push((purpose, epoch));
        None
    }

    /// Records a connection state and says what it means for the cache's watches.
    pub(crate) fn connection(&mut self, state: ConnectionState, session_id: i64) -> Reconnect {
        if !self.link.handle(state, session_id) {
            return Reconnect::Down;
        }
        match self.session.replace(session_id) {
            None => Reconnect::First,
            Some(old) if old == session_id => Reconnect::SameSession,
            Some(_) => Reconnect::NewSession,
        }
    }

    /// The parked reads that may be sent again now.
    pub(crate) fn take_ready(&mut self) -> Vec<P> {
        let link = self.link;
        let (ready, parked) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|(_, epoch)| link.ready_after(*epoch));
        self.parked = parked;
        ready.into_iter().map(|(purpose, _)| purpose).collect()
    }

    /// Forgets every parked read (a full reload covers them).
    pub(crate) fn clear_parked(&mut self) {
        self.parked.clear();
    }

    /// True when nothing is in flight and nothing is parked.
    pub(crate) fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.parked.is_empty()
    }

    /// True once a connection has been seen.
    pub(crate) fn is_started(&self) -> bool {
        self.session.is_some()
    }

    /// The connection epoch: how many times the connection came up.
    pub(crate) fn epoch(&self) -> u64 {
        self.link.epoch()
    }

    /// The session of the last connected state.
    pub(crate) fn session(&self) -> i64 {
        self.session.unwrap_or(0)
    }

    /// True while connected.
    pub(crate) fn is_connected(&self) -> bool {
        self.link.is_connected() && self.session.is_some()
    }

    /// The next op to send: when it is an unwatched `getData` and others are queued, every
    /// queued one (up to a batch) leaves with it as one `multiRead`. (Nothing queued has been
    /// sent, so moving reads ahead of one another changes no result.)
    pub(crate) fn poll_op(&mut self) -> Option<(Token, Op)> {
        let first = self.ops.pop_front()?;
        let batchable = |op: &Op| matches!(op, Op::GetData { watch: false, .. });
        if !self.batching || !batchable(&first.1) || !self.ops.iter().any(|(_, op)| batchable(op)) {
            return Some(first);
        }
        let mut batch = vec![first];
        // Ops passed over keep their order at the front; the scan stops at a full batch, so a
        // large load costs one batch's work per call, not the whole queue's.
        let mut passed = Vec::new();
        while batch.len() < MULTI_READ_BATCH {
            let Some((token, op)) = self.ops.pop_front() else {
                break;
            };
            if batchable(&op) {
                batch.push((token, op));
            } else {
                passed.push((token, op));
            }
        }
        for op in passed.into_iter().rev() {
            self.ops.push_front(op);
        }
        let reads = batch
            .iter()
            .map(|(_, op)| ReadOp::GetData {
                path: op.path().expect("getData has a path").to_owned(),
            })
            .collect();
        let token = self.tokens.next();
        self.batches.insert(token, batch);
        Some((token, Op::MultiRead(reads)))
    }

    /// Drops every queued op (on close).
    pub(crate) fn clear_ops(&mut self) {
        self.ops.clear();
    }
}

/// The error of a failed read; a result of the wrong kind counts as a marshalling error.
pub(crate) fn unexpected(result: Result<crate::op::OpResult, Error>) -> Error {
    result.err().unwrap_or(Error::MarshallingError)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Stat;

    fn get(path: &str, watch: bool) -> Op {
        Op::GetData {
            path: path.into(),
            watch,
        }
    }

    fn drain(reads: &mut Reads<&'static str>) -> Vec<(Token, Op)> {
        std::iter::from_fn(|| reads.poll_op()).collect()
    }

    #[test]
    fn unwatched_reads_leave_as_one_multi_read_and_come_back_one_by_one() {
        let mut reads = Reads::new();
        let a = reads.send(get("/a", false), "a");
        let list = reads.send(
            Op::GetChildren {
                path: "/".into(),
                watch: true,
            },
            "list",
        );
        let b = reads.send(get("/b", false), "b");
        let watched = reads.send(get("/c", true), "c");
        let out = drain(&mut reads);
        let batch = Op::MultiRead(vec![
            ReadOp::GetData { path: "/a".into() },
            ReadOp::GetData { path: "/b".into() },
        ]);
        assert_eq!(out[0].1, batch);
        assert_eq!(
            out[1..].iter().map(|(t, _)| *t).collect::<Vec<_>>(),
            vec![list, watched],
            "watched reads and listings leave on their own, in order"
        );
        let stat = Stat::default();
        let answer = OpResult::MultiRead(vec![
            Ok(ReadResult::Data {
                data: b"a".to_vec(),
                stat,
            }),
            Err(Error::NoNode),
        ]);
        assert_eq!(
            reads.unbatch(out[0].0, Ok(answer)),
            vec![
                (
                    a,
                    Ok(OpResult::Data {
                        data: b"a".to_vec(),
                        stat
                    })
                ),
                (b, Err(Error::NoNode)),
            ]
        );
        assert_eq!(reads.complete(a).map(|s| s.purpose), Some("a"));
    }

    #[test]
    fn a_failed_batch_fails_each_read_and_a_lone_read_is_not_batched() {
        let mut reads = Reads::new();
        let a = reads.send(get("/a", false), "a");
        let b = reads.send(get("/b", false), "b");
        let out = drain(&mut reads);
        assert_eq!(out.len(), 1);
        assert_eq!(
            reads.unbatch(out[0].0, Err(Error::ConnectionLoss)),
            vec![
                (a, Err(Error::ConnectionLoss)),
                (b, Err(Error::ConnectionLoss))
            ]
        );
        let c = reads.send(get("/c", false), "c");
        assert_eq!(drain(&mut reads), vec![(c, get("/c", false))]);
    }

    #[test]
    fn a_server_without_multi_read_gets_the_reads_one_by_one() {
        let mut reads = Reads::new();
        let a = reads.send(get("/a", false), "a");
        let b = reads.send(get("/b", false), "b");
        let out = drain(&mut reads);
        assert!(reads
            .unbatch(out[0].0, Err(Error::Unimplemented))
            .is_empty());
        assert_eq!(
            drain(&mut reads),
            vec![(a, get("/a", false)), (b, get("/b", false))]
        );
        let c = reads.send(get("/c", false), "c");
        let d = reads.send(get("/d", false), "d");
        assert_eq!(
            drain(&mut reads),
            vec![(c, get("/c", false)), (d, get("/d", false))],
            "batching stays off"
        );
    }

    #[test]
    fn batches_are_bounded() {
        let mut reads = Reads::new();
        for i in 0..MULTI_READ_BATCH + 3 {
            reads.send(get(&format!("/n{i}"), false), "n");
        }
        let sizes: Vec<usize> = drain(&mut reads)
            .iter()
            .map(|(_, op)| match op {
                Op::MultiRead(r) => r.len(),
                _ => 1,
            })
            .collect();
        assert_eq!(sizes, vec![MULTI_READ_BATCH, 3]);
    }
}
