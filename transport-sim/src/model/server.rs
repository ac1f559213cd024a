//! One server: its tree, how far it has applied the log, its client connections with their
//! FIFO request pipelines (ZooKeeper's CommitProcessor), and its watch tables.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use docent::{AddWatchMode, Error, EventType, Id, Op, OpResult, WatchedEvent};

use super::ctx::Ctx;
use super::msg::{ConnId, ToClient, ToServer, WatchPaths};
use super::quorum::Quorum;
use super::tree::{DataTree, Trigger};
use super::txn::TxnBody;
use super::watches::{ServerWatch, ServerWatches};
use super::wire;

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
struct ServerConn {
    session: i64,
    ids: Arc<[Id]>,
    queue: VecDeque<Pending>,
}

/// A client's reconnect to a session the leader knows, password checked: the ensemble closes
/// the session's older connections on every server, then [`Server::attach`]es this one.
#[derive(Debug)]
pub(crate) struct Attach {
    pub(crate) conn: ConnId,
    pub(crate) session: i64,
    ids: Arc<[Id]>,
}

/// One server. Its replication progress (applied, up, lag) is the [`Quorum`]'s.
#[derive(Debug)]
pub(crate) struct Server {
    id: usize,
    tree: DataTree,
    watches: ServerWatches,
    conns: BTreeMap<ConnId, ServerConn>,
    triggers: Vec<Trigger>,
}

impl Server {
    /// Server number `id`, with an empty tree.
    pub(crate) fn new(id: usize) -> Server {
        Server {
            id,
            tree: DataTree::default(),
            watches: ServerWatches::default(),
            conns: BTreeMap::new(),
            triggers: Vec::new(),
        }
    }

    /// The tree as this server has applied it.
    pub(crate) fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// A packet from a client arrives on `conn`. A reconnect to a known session comes back as
    /// an [`Attach`] for the ensemble to finish.
    pub(crate) fn handle(
        &mut self,
        ctx: &mut Ctx,
        quorum: &mut Quorum,
        conn: ConnId,
        pkt: ToServer,
    ) -> Option<Attach> {
        if let ToServer::Fin = pkt {
            self.forget(conn);
            ctx.drop_conn(conn);
            return None;
        }
        if let ToServer::Connect {
            session,
            passwd,
            timeout,
            last_zxid,
            ids,
        } = pkt
        {
            return self.connect(ctx, quorum, conn, session, passwd, timeout, last_zxid, ids);
        }
        if let ToServer::Request { op, .. } = &pkt {
            if wire::too_long(op) {
                // Over `jute.maxbuffer`: the server drops the connection unread.
                self.close(ctx, conn);
                return None;
            }
        }
        let sc = self.conns.get_mut(&conn)?;
        let session = sc.session;
        let pending = match pkt {
            ToServer::Request { xid, op } if op.is_write() => {
                let ids = sc.ids.clone();
                let idx = quorum.propose(ctx, session, ids, TxnBody::Write(op));
                Pending::Write {
                    xid,
                    idx,
                    done: None,
                }
            }
            ToServer::Request {
                xid,
                op: Op::Sync { .. },
            } => {
                if quorum.lacks_create_of(self.id, session) {
                    docent::coverage::hit("model.sync_before_own_create");
                }
                Pending::Sync {
                    xid,
                    idx: quorum.committed().len(),
                }
            }
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
                quorum.forget(session);
                let idx =
                    quorum.propose(ctx, session, Arc::from(Vec::new()), TxnBody::CloseSession);
                Pending::Close { xid, idx }
            }
            ToServer::Connect { .. } | ToServer::Fin => unreachable!("handled above"),
        };
        quorum.touch(ctx.now(), session);
        if let Some(sc) = self.conns.get_mut(&conn) {
            sc.queue.push_back(pending);
        }
        self.pump(ctx, quorum, conn);
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn connect(
        &mut self,
        ctx: &mut Ctx,
        quorum: &mut Quorum,
        conn: ConnId,
        session: i64,
        passwd: u64,
        timeout: Duration,
        last_zxid: i64,
        ids: Arc<[Id]>,
    ) -> Option<Attach> {
        // A server behind what the client has seen refuses it, as does one not serving (down,
        // no leader, or not in the configuration).
        let serves = quorum.serving() && quorum.up(self.id) && quorum.member(self.id);
        if !serves || last_zxid > self.tree.last_zxid {
            ctx.send_to_client(conn, ToClient::Fin);
            return None;
        }
        if session == 0 {
            let (session, passwd, timeout) = quorum.open_session(ctx, timeout);
            let idx = quorum.propose(ctx, session, ids.clone(), TxnBody::CreateSession);
            let mut sc = ServerConn {
                session,
                ids,
                queue: VecDeque::new(),
            };
            sc.queue.push_back(Pending::NewSession {
                idx,
                session,
                passwd,
                timeout,
            });
            self.conns.insert(conn, sc);
            self.pump(ctx, quorum, conn);
            return None;
        }
        match quorum.tracked(session) {
            Some(t) if t.passwd == passwd => Some(Attach { conn, session, ids }),
            _ => {
                ctx.send_to_client(conn, ToClient::Expired);
                ctx.send_to_client(conn, ToClient::Fin);
                None
            }
        }
    }

    /// Takes `attach`'s connection into the session (its older ones are closed by now).
    pub(crate) fn attach(&mut self, ctx: &mut Ctx, quorum: &mut Quorum, attach: Attach) {
        let Attach { conn, session, ids } = attach;
        quorum.touch(ctx.now(), session);
        let t = quorum.tracked(session).expect("checked by connect").clone();
        self.conns.insert(
            conn,
            ServerConn {
                session,
                ids,
                queue: VecDeque::new(),
            },
        );
        ctx.send_to_client(
            conn,
            ToClient::Connected {
                session,
                passwd: t.passwd,
                timeout: t.timeout,
            },
        );
    }

    /// The server closes `conn` (the client sees the connection drop).
    fn close(&mut self, ctx: &mut Ctx, conn: ConnId) {
        if self.forget(conn) {
            ctx.send_to_client(conn, ToClient::Fin);
        }
    }

    fn forget(&mut self, conn: ConnId) -> bool {
        if self.conns.remove(&conn).is_some() {
            self.watches.remove_conn(conn);
            true
        } else {
            false
        }
    }

    /// Closes every connection of `session` here.
    pub(crate) fn close_session(&mut self, ctx: &mut Ctx, session: i64) {
        let doomed: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.session == session)
            .map(|(id, _)| *id)
            .collect();
        for c in doomed {
            self.close(ctx, c);
        }
    }

    /// Drops every client connection (a crash, or the leader losing service).
    pub(crate) fn drop_conns(&mut self, ctx: &mut Ctx) {
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            self.close(ctx, c);
        }
    }

    /// Applies every committed txn this server is due to apply by now.
    pub(crate) fn apply_due(&mut self, ctx: &mut Ctx, quorum: &mut Quorum) {
        quorum.apply_started(self.id);
        if !quorum.up(self.id) || !quorum.member(self.id) {
            return;
        }
        while quorum.due(self.id, ctx.now()).is_some() {
            self.apply_one(ctx, quorum);
        }
        quorum.schedule_apply(ctx, self.id);
    }

    /// Applies everything committed at once (a server syncing with a leader).
    pub(crate) fn catch_up(&mut self, ctx: &mut Ctx, quorum: &mut Quorum) {
        while quorum.next_txn(self.id).is_some() {
            self.apply_one(ctx, quorum);
        }
    }

    fn apply_one(&mut self, ctx: &mut Ctx, quorum: &mut Quorum) {
        let idx = quorum.applied(self.id);
        let txn = quorum.next_txn(self.id).expect("a txn to apply");
        let mut triggers = std::mem::take(&mut self.triggers);
        let result = self.tree.apply(txn, &mut triggers);
        let zxid = txn.zxid;
        let session = txn.session;
        let closes = matches!(txn.body, TxnBody::CloseSession);
        let reconfig = match &txn.body {
            TxnBody::Reconfig { members, .. } if quorum.leader() == self.id => {
                Some(members.clone())
            }
            _ => None,
        };
        quorum.mark_applied(self.id);
        if let Some(members) = reconfig {
            quorum.activate(&members);
        }
        // Watch events go out first: a client hears of a change before any later reply.
        let mut targets = Vec::new();
        for (path, kind) in triggers.drain(..) {
            targets.clear();
            self.watches.trigger(&path, kind, &mut targets);
            for &conn in &targets {
                let event = WatchedEvent {
                    kind,
                    path: path.clone(),
                };
                ctx.send_to_client(conn, ToClient::Event(event));
            }
        }
        self.triggers = triggers;
        // Hand the result to the connection waiting for it.
        for sc in self.conns.values_mut() {
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
        let conns: Vec<ConnId> = self.conns.keys().copied().collect();
        for c in conns {
            self.pump(ctx, quorum, c);
        }
        if closes {
            self.close_session(ctx, session);
        }
    }

    /// Answers from the front of `conn`'s pipeline while the front is ready.
    fn pump(&mut self, ctx: &mut Ctx, quorum: &Quorum, conn: ConnId) {
        loop {
            let applied = quorum.applied(self.id);
            let Some(sc) = self.conns.get_mut(&conn) else {
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
            let last = self.tree.last_zxid;
            match p {
                Pending::Read { xid, op } => {
                    if quorum.behind(self.id, ctx.now()) {
                        docent::coverage::hit("model.stale_read");
                    }
                    let result = self.tree.read(&op, &ids);
                    self.register_watch(conn, &op, &result);
                    ctx.send_to_client(
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
                    if ctx.take_lost_reply(conn) {
                        docent::coverage::hit(match result {
                            Ok(OpResult::Created { .. }) => "model.create_reply_lost",
                            _ => "model.write_reply_lost",
                        });
                        ctx.record(
                            || format!("lose reply xid {xid} on {conn:?}"),
                            0x30 ^ xid as u64,
                        );
                        self.close(ctx, conn);
                        return;
                    }
                    ctx.send_to_client(conn, ToClient::Reply { xid, zxid, result });
                }
                Pending::Sync { xid, .. } => ctx.send_to_client(
                    conn,
                    ToClient::Reply {
                        xid,
                        zxid: last,
                        result: Ok(OpResult::Synced),
                    },
                ),
                Pending::Ping => ctx.send_to_client(conn, ToClient::Pong),
                Pending::NewSession {
                    session,
                    passwd,
                    timeout,
                    ..
                } => ctx.send_to_client(
                    conn,
                    ToClient::Connected {
                        session,
                        passwd,
                        timeout,
                    },
                ),
                Pending::Close { xid, .. } => {
                    ctx.send_to_client(
                        conn,
                        ToClient::Reply {
                            xid,
                            zxid: last,
                            result: Ok(OpResult::Deleted),
                        },
                    );
                    self.close(ctx, conn);
                    return;
                }
                Pending::SetWatches {
                    relative_zxid,
                    paths,
                } => self.set_watches(ctx, conn, relative_zxid, paths),
            }
        }
    }

    fn register_watch(&mut self, conn: ConnId, op: &Op, result: &Result<OpResult, Error>) {
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
        self.watches.add(path, kind, conn);
    }

    /// ZooKeeper's `DataTree.setWatches`: re-registers a reconnecting client's watches and
    /// fires the ones whose change it missed (an exists watch on a node created and deleted
    /// while away is simply re-armed: that change is missed).
    fn set_watches(&mut self, ctx: &mut Ctx, conn: ConnId, rel: i64, paths: WatchPaths) {
        let mut events = Vec::new();
        let tree = &self.tree;
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
            self.watches.add(&p, kind, conn);
        }
        for (path, kind) in events {
            ctx.send_to_client(conn, ToClient::Event(WatchedEvent { kind, path }));
        }
    }
}
