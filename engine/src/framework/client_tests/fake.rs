//! A small in-memory `Coordinator` for the client and driver tests: one tree, a log of every op
//! in submission order, scripted faults, a manual clock, and tasks spawned onto a `LocalPool`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use futures::channel::{mpsc, oneshot};
use futures::future::{self, BoxFuture};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};

use crate::op::{MultiOp, MultiResult, Op, OpResult, ReadOp, ReadResult, Reply, Watch};
use crate::time::Instant;
use crate::types::{EventType, SessionState, Stat, WatchedEvent};
use crate::{Coordinator, Error};

pub(super) const SESSION: i64 = 0x51;
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
pub(super) struct State {
    pub(super) nodes: BTreeMap<String, (Vec<u8>, Stat)>,
    /// Every op as the server saw it (namespaced), in submission order.
    pub(super) log: Vec<Op>,
    /// Scripted faults for the next submits: (apply the op anyway?, error to answer).
    pub(super) faults: VecDeque<(bool, Error)>,
    /// Scripted replies of the wrong type for the next submits (nothing applied).
    odd: VecDeque<OpResult>,
    sessions: Vec<mpsc::UnboundedSender<SessionState>>,
    current: Option<SessionState>,
    watches: Vec<(String, oneshot::Sender<WatchedEvent>)>,
    zxid: i64,
    seq: BTreeMap<String, i32>,
    now: Instant,
}

pub(super) struct Fake {
    pub(super) state: Mutex<State>,
    spawner: mpsc::UnboundedSender<BoxFuture<'static, ()>>,
}

impl Fake {
    pub(super) fn new(spawner: mpsc::UnboundedSender<BoxFuture<'static, ()>>) -> Fake {
        let mut state = State::default();
        state.nodes.insert("/".into(), (vec![], Stat::default()));
        Fake {
            state: Mutex::new(state),
            spawner,
        }
    }

    pub(super) fn session(&self, s: SessionState) {
        let mut st = self.state.lock().unwrap();
        st.current = Some(s);
        st.sessions.retain(|tx| tx.unbounded_send(s).is_ok());
    }

    pub(super) fn connect(&self) {
        self.session(SessionState::Connected {
            session_id: SESSION,
            timeout: TIMEOUT,
            read_only: false,
        });
    }

    pub(super) fn log(&self) -> Vec<Op> {
        self.state.lock().unwrap().log.clone()
    }

    pub(super) fn fault(&self, apply: bool, error: Error) {
        self.state.lock().unwrap().faults.push_back((apply, error));
    }

    /// The next submit is answered with `result`, whatever it asked (a broken transport).
    pub(super) fn answer(&self, result: OpResult) {
        self.state.lock().unwrap().odd.push_back(result);
    }

    pub(super) fn has(&self, path: &str) -> bool {
        self.state.lock().unwrap().nodes.contains_key(path)
    }
}

impl State {
    fn fire(&mut self, path: &str, kind: EventType) {
        let (hit, rest) = std::mem::take(&mut self.watches)
            .into_iter()
            .partition(|(p, _)| p == path);
        self.watches = rest;
        for (_, tx) in hit {
            let _ = tx.send(WatchedEvent {
                kind,
                path: path.to_owned(),
            });
        }
    }

    fn create(
        &mut self,
        path: &str,
        data: &[u8],
        ephemeral: bool,
        seq: bool,
    ) -> Result<(String, Stat), Error> {
        let parent = crate::path::parent(path)
            .ok_or(Error::NodeExists)?
            .to_owned();
        if !self.nodes.contains_key(&parent) {
            return Err(Error::NoNode);
        }
        let mut path = path.to_owned();
        if seq {
            let n = self.seq.entry(parent.clone()).or_default();
            path = format!("{path}{n:010}");
            *n += 1;
        }
        if self.nodes.contains_key(&path) {
            return Err(Error::NodeExists);
        }
        self.zxid += 1;
        let stat = Stat {
            czxid: self.zxid,
            ephemeral_owner: if ephemeral { SESSION } else { 0 },
            data_length: data.len() as i32,
            ..Stat::default()
        };
        self.nodes.insert(path.clone(), (data.to_vec(), stat));
        self.fire(&path, EventType::NodeCreated);
        Ok((path, stat))
    }

    fn delete(&mut self, path: &str, version: Option<i32>) -> Result<(), Error> {
        let (_, stat) = self.nodes.get(path).ok_or(Error::NoNode)?;
        if version.is_some_and(|v| v != stat.version) {
            return Err(Error::BadVersion);
        }
        let prefix = format!("{path}/");
        if self.nodes.keys().any(|k| k.starts_with(&prefix)) {
            return Err(Error::NotEmpty);
        }
        self.nodes.remove(path);
        self.fire(path, EventType::NodeDeleted);
        Ok(())
    }

    fn set(&mut self, path: &str, data: &[u8], version: Option<i32>) -> Result<Stat, Error> {
        let (old, stat) = self.nodes.get_mut(path).ok_or(Error::NoNode)?;
        if version.is_some_and(|v| v != stat.version) {
            return Err(Error::BadVersion);
        }
        *old = data.to_vec();
        stat.version += 1;
        let stat = *stat;
        self.fire(path, EventType::NodeDataChanged);
        Ok(stat)
    }

    fn apply(&mut self, op: &Op) -> Result<OpResult, Error> {
        match op {
            Op::Create {
                path, data, mode, ..
            } => self
                .create(path, data, mode.is_ephemeral(), mode.is_sequential())
                .map(|(path, stat)| OpResult::Created { path, stat }),
            Op::Delete { path, version } => self.delete(path, *version).map(|()| OpResult::Deleted),
            Op::SetData {
                path,
                data,
                version,
            } => self.set(path, data, *version).map(OpResult::Stat),
            Op::GetData { path, .. } => {
                let (data, stat) = self.nodes.get(path).ok_or(Error::NoNode)?;
                Ok(OpResult::Data {
                    data: data.clone(),
                    stat: *stat,
                })
            }
            Op::Exists { path, .. } => Ok(OpResult::Exists(self.nodes.get(path).map(|n| n.1))),
            Op::GetChildren { path, .. } => {
                let stat = self.nodes.get(path).ok_or(Error::NoNode)?.1;
                let children = self
                    .nodes
                    .keys()
                    .filter(|k| *k != "/" && crate::path::parent(k) == Some(path))
                    .map(|k| crate::path::name(k).to_owned())
                    .collect();
                Ok(OpResult::Children { children, stat })
            }
            Op::Multi(ops) => {
                let backup = (self.nodes.clone(), self.seq.clone(), self.zxid);
                let mut results = Vec::new();
                for (index, op) in ops.iter().enumerate() {
                    let r = match op {
                        MultiOp::Check { path, version } => match self.nodes.get(path) {
                            None => Err(Error::NoNode),
                            Some((_, s)) if version.is_some_and(|v| v != s.version) => {
                                Err(Error::BadVersion)
                            }
                            Some(_) => Ok(MultiResult::Checked),
                        },
                        MultiOp::Create {
                            path, data, mode, ..
                        } => self
                            .create(path, data, mode.is_ephemeral(), mode.is_sequential())
                            .map(|(path, _)| MultiResult::Created { path }),
                        MultiOp::Delete { path, version } => {
                            self.delete(path, *version).map(|()| MultiResult::Deleted)
                        }
                        MultiOp::SetData {
                            path,
                            data,
                            version,
                        } => self.set(path, data, *version).map(MultiResult::DataSet),
                    };
                    match r {
                        Ok(r) => results.push(r),
                        Err(error) => {
                            (self.nodes, self.seq, self.zxid) = backup;
                            return Err(Error::MultiFailed {
                                index,
                                error: Box::new(error),
                            });
                        }
                    }
                }
                Ok(OpResult::Multi(results))
            }
            Op::MultiRead(reads) => Ok(OpResult::MultiRead(
                reads
                    .iter()
                    .map(|read| match read {
                        ReadOp::GetData { path } => {
                            let (data, stat) = self.nodes.get(path).ok_or(Error::NoNode)?;
                            Ok(ReadResult::Data {
                                data: data.clone(),
                                stat: *stat,
                            })
                        }
                        other => panic!("the fake does not do {other:?}"),
                    })
                    .collect(),
            )),
            Op::Sync { .. } => Ok(OpResult::Synced),
            Op::GetAcl { path } => {
                let stat = self.nodes.get(path).ok_or(Error::NoNode)?.1;
                Ok(OpResult::Acl {
                    acl: crate::types::Acl::open(),
                    stat,
                })
            }
            other => panic!("the fake does not do {other:?}"),
        }
    }
}

impl Coordinator for Fake {
    fn submit(&self, op: Op) -> BoxFuture<'static, Result<Reply, Error>> {
        let mut st = self.state.lock().unwrap();
        st.log.push(op.clone());
        if let Some((apply, error)) = st.faults.pop_front() {
            if apply {
                let _ = st.apply(&op);
            }
            return future::ready(Err(error)).boxed();
        }
        if let Some(result) = st.odd.pop_front() {
            return future::ready(Ok(Reply::plain(result))).boxed();
        }
        let result = st.apply(&op);
        let watch = match (&result, op.watches(), op.path()) {
            (Ok(_), true, Some(path)) => {
                let (tx, rx) = oneshot::channel();
                st.watches.push((path.to_owned(), tx));
                Some(Watch::OneShot(
                    rx.map(|e| e.expect("watch dropped")).boxed(),
                ))
            }
            _ => None,
        };
        future::ready(result.map(|result| Reply { result, watch })).boxed()
    }

    fn session_states(&self) -> BoxStream<'static, SessionState> {
        let (tx, rx) = mpsc::unbounded();
        let mut st = self.state.lock().unwrap();
        if let Some(s) = st.current {
            let _ = tx.unbounded_send(s);
        }
        st.sessions.push(tx);
        rx.boxed()
    }

    fn session_id(&self) -> i64 {
        SESSION
    }

    fn session_timeout(&self) -> Duration {
        TIMEOUT
    }

    fn now(&self) -> Instant {
        self.state.lock().unwrap().now
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<'static, ()> {
        if deadline <= self.now() {
            future::ready(()).boxed()
        } else {
            future::pending().boxed()
        }
    }

    fn unix_millis(&self) -> i64 {
        0
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.spawner.unbounded_send(task).expect("executor gone");
    }

    fn seed(&self) -> u64 {
        7
    }

    fn close(&self) -> BoxFuture<'static, Result<(), Error>> {
        self.session(SessionState::Closed);
        future::ready(Ok(())).boxed()
    }
}
