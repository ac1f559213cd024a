//! One server: its tree, how far it has applied the log, its client connections with their
//! FIFO request pipelines (ZooKeeper's CommitProcessor), and its watch tables.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use docent::{AddWatchMode, Error, EventType, Id, Op, OpResult, WatchedEvent};

use super::client::ToClient;
use super::ensemble::{Ensemble, Tracked};
use super::tree::{DataTree, Trigger};
use super::txn::TxnBody;
use super::watches::{ServerWatch, ServerWatches, WatchPaths};
use super::wire;
use super::ConnId;

/// What a client sends.
#[derive(Debug)]
pub(crate) enum ToServer {
    Connect {
        session: i64,
        passwd: u64,
        timeout: Duration,
        last_zxid: i64,
        ids: Arc<[Id]>,
    },
    SetWatches {
        relative_zxid: i64,
        paths: WatchPaths,
    },
    Request {
        xid: i32,
        op: Op,
    },
    Ping,
    Close {
        xid: i32,
    },
    /// The client closed the TCP connection.
    Fin,
}

/// A request waiting its turn in a connection's pipeline.
#[derive(Debug)]
enum Pending {
    Read {
        xid: i32,
        op: Op,
    },
    Write {
        xid: i32,
        idx: usize,
        done: Option<(i64, Result<OpResult, Error>)>,
    },
    Sync {
        xid: i32,
        idx: usize,
    },
    Ping,
    NewSession {
        idx: usize,
        session: i64,
        passwd: u64,
        timeout: Duration,
    },
    Close {
        xid: i32,
        idx: usize,
    },
    SetWatches {
        relative_zxid: i64,
        paths: WatchPaths,
    },
}

#[derive(Debug)]
pub(crate) struct ServerConn {
    session: i64,
    ids: Arc<[Id]>,
    queue: VecDeque<Pending>,
}

#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) tree: DataTree,
    pub(crate) applied: usize,
    pub(crate) apply_at: Option<docent::Instant>,
    pub(crate) up: bool,
    pub(crate) lag: Duration,
    watches: ServerWatches,
    conns: BTreeMap<ConnId, ServerConn>,
    triggers: Vec<Trigger>,
}

impl Server {
    pub(crate) fn new(tree: DataTree) -> Server {
        Server {
            tree,
            applied: 0,
            apply_at: None,
            up: true,
            lag: Duration::ZERO,
            watches: ServerWatches::default(),
            conns: BTreeMap::new(),
            triggers: Vec::new(),
        }
    }
}

impl Ensemble {
    pub(crate) fn server_receive(&mut self, conn: ConnId, pkt: ToServer) {
        let Some(s) = self.conns.get(&conn).map(|c| c.server) else {
            return;
        };
        if let ToServer::Fin = pkt {
            self.server_forget(s, conn);
            self.conns.remove(&conn);
            return;
        }
        if let ToServer::Connect {
            session,
            passwd,
            timeout,
            last_zxid,
            ids,
        } = pkt
        {
            return self.server_connect(s, conn, session, passwd, timeout, last_zxid, ids);
        }
        if let ToServer::Request { op, .. } = &pkt {
            if wire::too_long(op) {
                // Over `jute.maxbuffer`: the server drops the connection unread.
                self.server_close(s, conn);
                return;
            }
        }
        let Some(sc) = self.servers[s].conns.get_mut(&conn) else {
            return;
        };
        let session = sc.session;
        let pending = match pkt {
            ToServer::Request { xid, op } if op.is_write() => {
                let ids = sc.ids.clone();
                let idx = self.propose(session, ids, TxnBody::Write(op));
                Pending::Write {
                    xid,
                    idx,
                    done: None,
                }
            }
            ToServer::Request {
                xid,
                op: Op::Sync { .. },
            } => Pending::Sync {
                xid,
                idx: self.log.len(),
            },
            ToServer::Request { xid, op } => Pending::Read { xid, op },
            ToServer::Ping => Pending::Ping,
            ToServer::SetWatches {
                relative_zxid,
                paths,
            } => Pending::SetWatches {
                relative_zxid,
                paths,
            },
            ToServer::Close { xid } => {
                self.tracker.remove(&session);
                let idx = self.propose(session, Arc::from(Vec::new()), TxnBody::CloseSession);
                Pending::Close { xid, idx }
            }
            ToServer::Connect { .. } | ToServer::Fin => unreachable!("handled above"),
        };
        self.touch(session);
        if let Some(sc) = self.servers[s].conns.get_mut(&conn) {
            sc.queue.push_back(pending);
        }
        self.pump(s, conn);
    }

    #[allow(clippy::too_many_arguments)]
    fn server_connect(
        &mut self,
        s: usize,
        conn: ConnId,
        session: i64,
        passwd: u64,
        timeout: Duration,
        last_zxid: i64,
        ids: Arc<[Id]>,
    ) {
        // A server behind what the client has seen refuses it, as does one not serving.
        if !self.serving || !self.servers[s].up || last_zxid > self.servers[s].tree.last_zxid {
            self.send_to_client(conn, ToClient::Fin);
            return;
        }
        let queue = VecDeque::new();
        if session == 0 {
            let tick = self.cfg.tick;
            let timeout = timeout.clamp(tick * 2, tick * 20);
            let (session, passwd) = self.new_session_id();
            let expires_at = self.expiry_for(timeout);
            self.tracker.insert(
                session,
                Tracked {
                    passwd,
                    timeout,
                    expires_at,
                },
            );
            let idx = self.propose(session, ids.clone(), TxnBody::CreateSession);
            let mut sc = ServerConn {
                session,
                ids,
                queue,
            };
            sc.queue.push_back(Pending::NewSession {
                idx,
                session,
                passwd,
                timeout,
            });
            self.servers[s].conns.insert(conn, sc);
            self.pump(s, conn);
            return;
        }
        match self.tracker.get(&session).cloned() {
            Some(t) if t.passwd == passwd => {
                // The session moves here: any older connection of it is closed.
                let stale: Vec<(usize, ConnId)> = self
                    .servers
                    .iter()
                    .enumerate()
                    .flat_map(|(i, srv)| {
                        srv.conns
                            .iter()
                            .filter(|(_, c)| c.session == session)
                            .map(move |(id, _)| (i, *id))
                    })
                    .collect();
                for (i, old) in stale {
                    self.server_close(i, old);
                }
                self.touch(session);
                self.servers[s].conns.insert(
                    conn,
                    ServerConn {
                        session,
                        ids,
                        queue,
                    },
                );
                self.send_to_client(
                    conn,
                    ToClient::Connected {
                        session,
                        passwd,
                        timeout: t.timeout,
                    },
                );
            }
            _ => {
                self.send_to_client(conn, ToClient::Expired);
                self.send_to_client(conn, ToClient::Fin);
            }
        }
    }

    /// The server closes `conn` (the client sees the connection drop).
    pub(crate) fn server_close(&mut self, s: usize, conn: ConnId) {
        if self.server_forget(s, conn) {
            self.send_to_client(conn, ToClient::Fin);
        }
    }

    fn server_forget(&mut self, s: usize, conn: ConnId) -> bool {
        let server = &mut self.servers[s];
        if server.conns.remove(&conn).is_some() {
            server.watches.remove_conn(conn);
            true
        } else {
            false
        }
    }

    /// Drops every client connection of server `s`.
    pub(crate) fn drop_server_conns(&mut self, s: usize) {
        let conns: Vec<ConnId> = self.servers[s].conns.keys().copied().collect();
        for c in conns {
            self.server_close(s, c);
        }
    }

    /// Applies every committed txn that server `s` is due to apply by now.
    pub(crate) fn server_apply(&mut self, s: usize) {
        self.servers[s].apply_at = None;
        if !self.servers[s].up {
            return;
        }
        let lag = if s == self.leader {
            Duration::ZERO
        } else {
            self.servers[s].lag
        };
        while self.servers[s].applied < self.log.len()
            && self.log[self.servers[s].applied].commit_at + lag <= self.now
        {
            self.apply_one(s);
        }
        self.schedule_apply(s);
    }

    /// Applies everything committed at once (a server syncing with a leader).
    pub(crate) fn catch_up(&mut self, s: usize) {
        while self.servers[s].applied < self.log.len() {
            self.apply_one(s);
        }
    }

    fn apply_one(&mut self, s: usize) {
        let idx = self.servers[s].applied;
        let server = &mut self.servers[s];
        let entry = &self.log[idx];
        let mut triggers = std::mem::take(&mut server.triggers);
        let result = server.tree.apply(&entry.txn, &mut triggers);
        server.applied += 1;
        let zxid = entry.txn.zxid;
        let session = entry.txn.session;
        let closes = matches!(entry.txn.body, TxnBody::CloseSession);
        // Watch events go out first: a client hears of a change before any later reply.
        let mut targets = Vec::new();
        for (path, kind) in triggers.drain(..) {
            targets.clear();
            self.servers[s].watches.trigger(&path, kind, &mut targets);
            for &conn in &targets {
                let event = WatchedEvent {
                    kind,
                    path: path.clone(),
                };
                self.send_to_client(conn, ToClient::Event(event));
            }
        }
        self.servers[s].triggers = triggers;
        // Hand the result to the connection waiting for it.
        for sc in self.servers[s].conns.values_mut() {
            if sc.session != session {
                continue;
            }
            for p in sc.queue.iter_mut() {
                if let Pending::Write { idx: i, done, .. } = p {
                    if *i == idx {
                        *done = Some((zxid, result.clone().unwrap_or(Err(Error::SystemError))));
                    }
                }
            }
        }
        let conns: Vec<ConnId> = self.servers[s].conns.keys().copied().collect();
        for c in conns {
            self.pump(s, c);
        }
        if closes {
            let doomed: Vec<ConnId> = self.servers[s]
                .conns
                .iter()
                .filter(|(_, c)| c.session == session)
                .map(|(id, _)| *id)
                .collect();
            for c in doomed {
                self.server_close(s, c);
            }
        }
    }

    /// Answers from the front of `conn`'s pipeline while the front is ready.
    fn pump(&mut self, s: usize, conn: ConnId) {
        loop {
            let applied = self.servers[s].applied;
            let Some(sc) = self.servers[s].conns.get_mut(&conn) else {
                return;
            };
            let ready = match sc.queue.front() {
                None => return,
                Some(Pending::Write { done, .. }) => done.is_some(),
                Some(Pending::Sync { idx, .. }) => applied >= *idx,
                Some(Pending::NewSession { idx, .. } | Pending::Close { idx, .. }) => {
                    applied > *idx
                }
                Some(_) => true,
            };
            if !ready {
                return;
            }
            let p = sc.queue.pop_front().expect("front");
            let ids = sc.ids.clone();
            let last = self.servers[s].tree.last_zxid;
            match p {
                Pending::Read { xid, op } => {
                    let result = self.servers[s].tree.read(&op, &ids);
                    self.register_watch(s, conn, &op, &result);
                    self.send_to_client(
                        conn,
                        ToClient::Reply {
                            xid,
                            zxid: last,
                            result,
                        },
                    );
                }
                Pending::Write { xid, done, .. } => {
                    let (zxid, result) = done.expect("ready");
                    let client = self.conns.get(&conn).map(|c| c.client);
                    if client.is_some_and(|c| self.faults.take_lost_reply(c)) {
                        self.record(
                            || format!("lose reply xid {xid} on {conn:?}"),
                            0x30 ^ xid as u64,
                        );
                        self.server_close(s, conn);
                        return;
                    }
                    self.send_to_client(conn, ToClient::Reply { xid, zxid, result });
                }
                Pending::Sync { xid, .. } => self.send_to_client(
                    conn,
                    ToClient::Reply {
                        xid,
                        zxid: last,
                        result: Ok(OpResult::Synced),
                    },
                ),
                Pending::Ping => self.send_to_client(conn, ToClient::Pong),
                Pending::NewSession {
                    session,
                    passwd,
                    timeout,
                    ..
                } => self.send_to_client(
                    conn,
                    ToClient::Connected {
                        session,
                        passwd,
                        timeout,
                    },
                ),
                Pending::Close { xid, .. } => {
                    self.send_to_client(
                        conn,
                        ToClient::Reply {
                            xid,
                            zxid: last,
                            result: Ok(OpResult::Deleted),
                        },
                    );
                    self.server_close(s, conn);
                    return;
                }
                Pending::SetWatches {
                    relative_zxid,
                    paths,
                } => self.set_watches(s, conn, relative_zxid, paths),
            }
        }
    }

    fn register_watch(
        &mut self,
        s: usize,
        conn: ConnId,
        op: &Op,
        result: &Result<OpResult, Error>,
    ) {
        let (path, kind) = match (op, result) {
            (Op::GetData { path, watch: true }, Ok(_)) => (path, ServerWatch::Data),
            (Op::Exists { path, watch: true }, Ok(_)) => (path, ServerWatch::Data),
            (Op::GetChildren { path, watch: true }, Ok(_)) => (path, ServerWatch::Child),
            (
                Op::AddWatch {
                    path,
                    mode: AddWatchMode::Persistent,
                },
                Ok(_),
            ) => (path, ServerWatch::Persistent),
            (
                Op::AddWatch {
                    path,
                    mode: AddWatchMode::PersistentRecursive,
                },
                Ok(_),
            ) => (path, ServerWatch::Recursive),
            _ => return,
        };
        self.servers[s].watches.add(path, kind, conn);
    }

    /// ZooKeeper's `DataTree.setWatches`: re-registers a reconnecting client's watches and
    /// fires the ones whose change it missed (an exists watch on a node created and deleted
    /// while away is simply re-armed: that change is missed).
    fn set_watches(&mut self, s: usize, conn: ConnId, rel: i64, paths: WatchPaths) {
        let mut events = Vec::new();
        let tree = &self.servers[s].tree;
        let mut adds = Vec::new();
        for p in paths.data {
            match tree.stat(&p) {
                None => events.push((p, EventType::NodeDeleted)),
                Some(st) if st.mzxid > rel => events.push((p, EventType::NodeDataChanged)),
                Some(_) => adds.push((p, ServerWatch::Data)),
            }
        }
        for p in paths.exist {
            match tree.stat(&p) {
                Some(_) => events.push((p, EventType::NodeCreated)),
                None => adds.push((p, ServerWatch::Data)),
            }
        }
        for p in paths.child {
            match tree.stat(&p) {
                None => events.push((p, EventType::NodeDeleted)),
                Some(st) if st.pzxid > rel => events.push((p, EventType::NodeChildrenChanged)),
                Some(_) => adds.push((p, ServerWatch::Child)),
            }
        }
        adds.extend(
            paths
                .persistent
                .into_iter()
                .map(|p| (p, ServerWatch::Persistent)),
        );
        adds.extend(
            paths
                .recursive
                .into_iter()
                .map(|p| (p, ServerWatch::Recursive)),
        );
        for (p, kind) in adds {
            self.servers[s].watches.add(&p, kind, conn);
        }
        for (path, kind) in events {
            self.send_to_client(conn, ToClient::Event(WatchedEvent { kind, path }));
        }
    }
}
