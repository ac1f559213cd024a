//! The client side inside the simulation, behaving like ZooKeeper's Java client: connect to a
//! server from the list, ping when idle, give up on a connection after 2/3 of the session
//! timeout of silence, fail pending ops with ConnectionLoss, reconnect elsewhere with the
//! session id and password, re-register watches (setWatches), and learn of expiry only on
//! reconnect. After expiry it opens a new session at once (the Coordinator's contract).
//!
//! ```text
//!  Idle ──tick──► Connecting ──Connected──► Connected
//!   ▲                 │ timeout / refused        │ silence ≥ read timeout, FIN
//!   └─────────────────┴──────────────────────────┘ (Disconnected; Expired on reconnect)
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use docent::{AddWatchMode, EventType, Id, Instant, Op, OpResult, SessionState, WatchedEvent};
use docent::{Error, Error::ConnectionLoss};

use super::ensemble::{Ensemble, Ev};
use super::server::ToServer;
use super::watches::{ClientWatch, ClientWatches};
use super::{acl, ClientId, ClientOptions, ConnId, OpId, Output, WatchId, WatchKind};

/// What a server sends.
#[derive(Debug)]
pub(crate) enum ToClient {
    Connected {
        session: i64,
        passwd: u64,
        timeout: Duration,
    },
    Expired,
    Reply {
        xid: i32,
        zxid: i64,
        result: Result<OpResult, Error>,
    },
    Event(WatchedEvent),
    Pong,
    /// The server closed the TCP connection.
    Fin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Idle { retry_at: Instant },
    Connecting { conn: ConnId },
    Connected { conn: ConnId },
    Closed,
}

#[derive(Debug)]
struct Sent {
    xid: i32,
    op: OpId,
    watch: Option<(String, Ask)>,
    close: bool,
}

#[derive(Debug)]
pub(crate) struct Client {
    opts: ClientOptions,
    ids: Arc<[Id]>,
    order: Vec<usize>,
    next: usize,
    pub(crate) phase: Phase,
    pub(crate) session: i64,
    passwd: u64,
    pub(crate) timeout: Duration,
    last_zxid: i64,
    xid: i32,
    sent: VecDeque<Sent>,
    outbox: VecDeque<(OpId, Op, bool)>,
    watches: ClientWatches,
    last_recv: Instant,
    last_send: Instant,
    tick_at: Option<Instant>,
    pub(crate) paused_until: Option<Instant>,
    pub(crate) crashed: bool,
    renewing: bool,
    pub(crate) clock_offset_ms: i64,
}

impl Client {
    pub(crate) fn new(opts: ClientOptions, order: Vec<usize>, now: Instant) -> Client {
        Client {
            ids: acl::session_ids(&opts.auth).into(),
            timeout: opts.session_timeout,
            opts,
            order,
            next: 0,
            phase: Phase::Idle { retry_at: now },
            session: 0,
            passwd: 0,
            last_zxid: 0,
            xid: 0,
            sent: VecDeque::new(),
            outbox: VecDeque::new(),
            watches: ClientWatches::default(),
            last_recv: now,
            last_send: now,
            tick_at: None,
            paused_until: None,
            crashed: false,
            renewing: false,
            clock_offset_ms: 0,
        }
    }

    fn read_timeout(&self) -> Duration {
        self.timeout * 2 / 3
    }

    fn connect_timeout(&self) -> Duration {
        self.timeout / self.order.len().max(1) as u32
    }
}

/// What kind of watch a watched read asked for.
#[derive(Debug, Clone, Copy)]
enum Ask {
    Data,
    Exists,
    Children,
    Persistent,
    Recursive,
}

fn ask_of(op: &Op) -> Option<(String, Ask)> {
    match op {
        Op::GetData { path, watch: true } => Some((path.clone(), Ask::Data)),
        Op::Exists { path, watch: true } => Some((path.clone(), Ask::Exists)),
        Op::GetChildren { path, watch: true } => Some((path.clone(), Ask::Children)),
        Op::AddWatch {
            path,
            mode: AddWatchMode::Persistent,
        } => Some((path.clone(), Ask::Persistent)),
        Op::AddWatch {
            path,
            mode: AddWatchMode::PersistentRecursive,
        } => Some((path.clone(), Ask::Recursive)),
        _ => None,
    }
}

/// Where the Java client files a watch once the reply is in (exists on a missing node is an
/// exists watch, on a present node a data watch; failed reads leave none).
fn table_for(ask: Ask, result: &Result<OpResult, Error>) -> Option<ClientWatch> {
    match (ask, result) {
        (Ask::Exists, Ok(OpResult::Exists(None))) => Some(ClientWatch::Exist),
        (Ask::Exists | Ask::Data, Ok(_)) => Some(ClientWatch::Data),
        (Ask::Children, Ok(_)) => Some(ClientWatch::Child),
        (Ask::Persistent, Ok(_)) => Some(ClientWatch::Persistent),
        (Ask::Recursive, Ok(_)) => Some(ClientWatch::Recursive),
        _ => None,
    }
}

impl Ensemble {
    fn client(&mut self, c: ClientId) -> &mut Client {
        &mut self.clients[c.0 as usize]
    }

    fn emit(&mut self, out: Output) {
        self.outputs.push_back(out);
    }

    fn done(&mut self, client: ClientId, op: OpId, result: Result<OpResult, Error>) {
        self.emit(Output::OpDone {
            client,
            op,
            result,
            watch: None,
        });
    }

    pub(crate) fn client_submit(&mut self, c: ClientId, op_id: OpId, op: Op) {
        let cl = self.client(c);
        if cl.crashed || cl.phase == Phase::Closed {
            return self.done(c, op_id, Err(Error::Closed));
        }
        if cl.renewing {
            return self.done(c, op_id, Err(Error::SessionExpired));
        }
        // Client-side checks, as the Java client makes them before sending (paths only: the
        // server drops a connection whose packet is over `jute.maxbuffer`, see `wire`).
        if let Err(e) = op.validate() {
            return self.done(c, op_id, Err(e));
        }
        match cl.phase {
            Phase::Connected { conn } if cl.paused_until.is_none() => {
                self.client_send(c, conn, op_id, op, false)
            }
            _ => cl.outbox.push_back((op_id, op, false)),
        }
    }

    pub(crate) fn client_close(&mut self, c: ClientId, op_id: OpId) {
        let cl = self.client(c);
        match cl.phase {
            Phase::Connected { conn } if cl.paused_until.is_none() => {
                self.client_send(c, conn, op_id, Op::Sync { path: "/".into() }, true)
            }
            Phase::Closed => self.done(c, op_id, Ok(OpResult::Deleted)),
            _ if cl.session == 0 || cl.crashed => {
                self.client_shutdown(c, None);
                self.done(c, op_id, Ok(OpResult::Deleted));
            }
            _ => cl
                .outbox
                .push_back((op_id, Op::Sync { path: "/".into() }, true)),
        }
    }

    fn client_send(&mut self, c: ClientId, conn: ConnId, op_id: OpId, op: Op, close: bool) {
        let now = self.now;
        let cl = self.client(c);
        cl.xid += 1;
        let xid = cl.xid;
        cl.last_send = now;
        let watch = ask_of(&op);
        cl.sent.push_back(Sent {
            xid,
            op: op_id,
            watch,
            close,
        });
        let pkt = if close {
            ToServer::Close { xid }
        } else {
            ToServer::Request { xid, op }
        };
        self.send_to_server(conn, pkt);
    }

    /// Ends the client for good (closed by the user, or crashed).
    fn client_shutdown(&mut self, c: ClientId, state: Option<SessionState>) {
        if let Phase::Connecting { conn } | Phase::Connected { conn } = self.client(c).phase {
            self.send_to_server(conn, ToServer::Fin);
        }
        self.client(c).phase = Phase::Closed;
        self.fail_all(c, Error::Closed);
        self.end_watches(c, docent::SessionState::Closed);
        if let Some(state) = state {
            self.emit(Output::Session { client: c, state });
        }
    }

    /// The client process dies: its connection closes, nothing of it runs again; its session
    /// lives on at the ensemble until expiry.
    pub(crate) fn crash_client(&mut self, c: ClientId) {
        self.client_shutdown(c, Some(SessionState::Closed));
        self.client(c).crashed = true;
    }

    fn fail_all(&mut self, c: ClientId, error: Error) {
        let cl = self.client(c);
        let sent: Vec<OpId> = cl.sent.drain(..).map(|s| s.op).collect();
        let queued: Vec<OpId> = cl.outbox.drain(..).map(|(id, _, _)| id).collect();
        for op in sent.into_iter().chain(queued) {
            self.done(c, op, Err(error.clone()));
        }
    }

    fn end_watches(&mut self, c: ClientId, state: SessionState) {
        for watch in self.client(c).watches.drain_all() {
            let event = WatchedEvent {
                kind: EventType::Session(state),
                path: String::new(),
            };
            self.emit(Output::Watch {
                client: c,
                watch,
                event,
                last: true,
            });
        }
    }

    /// The session is over for this client: fail what was in flight, end every watch,
    /// report Expired and open a new session at once (a new handle: no session id, no last
    /// zxid).
    fn client_expired(&mut self, c: ClientId) {
        let now = self.now;
        let cl = self.client(c);
        cl.phase = Phase::Idle { retry_at: now };
        cl.session = 0;
        cl.passwd = 0;
        cl.last_zxid = 0;
        cl.renewing = true;
        self.fail_all(c, Error::SessionExpired);
        self.end_watches(c, SessionState::Expired);
        self.emit(Output::Session {
            client: c,
            state: SessionState::Expired,
        });
        self.client_tick(c);
    }

    /// The client gives its session up (Curator's injected expiration): its connection
    /// closes and it goes on as after an expiry, while the ensemble keeps the old session
    /// (and its ephemerals) until the leader expires it. A client whose options say it does
    /// not abandon keeps trying its session.
    pub(crate) fn client_abandon(&mut self, c: ClientId) {
        let cl = self.client(c);
        if !cl.opts.abandons || cl.crashed || cl.phase == Phase::Closed || cl.session == 0 {
            return;
        }
        if let Phase::Connecting { conn } | Phase::Connected { conn } = cl.phase {
            self.send_to_server(conn, ToServer::Fin);
        }
        self.client_expired(c);
    }

    /// The connection is gone (FIN, silence, refused): fail what was in flight and go idle.
    fn client_lost(&mut self, c: ClientId, was_connected: bool) {
        let now = self.now;
        if let Phase::Connecting { conn } | Phase::Connected { conn } = self.client(c).phase {
            self.send_to_server(conn, ToServer::Fin);
        }
        let backoff = Duration::from_millis(self.random_below(1000));
        self.client(c).phase = Phase::Idle {
            retry_at: now + backoff,
        };
        self.fail_all(c, ConnectionLoss);
        if was_connected {
            self.emit(Output::Session {
                client: c,
                state: SessionState::Disconnected,
            });
        }
        self.client_tick(c);
    }

    pub(crate) fn client_tick(&mut self, c: ClientId) {
        let now = self.now;
        let cl = self.client(c);
        if cl.tick_at.is_some_and(|t| t <= now) {
            cl.tick_at = None;
        }
        if cl.crashed || cl.phase == Phase::Closed {
            return;
        }
        if let Some(until) = cl.paused_until {
            if until > now {
                return self.client_schedule(c, until);
            }
            cl.paused_until = None;
            // What the paused process submitted on a connection that survived the pause.
            if let Phase::Connected { conn } = cl.phase {
                let queued: Vec<(OpId, Op, bool)> = cl.outbox.drain(..).collect();
                for (id, op, close) in queued {
                    self.client_send(c, conn, id, op, close);
                }
            }
        }
        let cl = self.client(c);
        let next = match cl.phase {
            Phase::Idle { retry_at } if retry_at <= now => {
                let server = cl.order[cl.next % cl.order.len()];
                cl.next += 1;
                let (session, passwd, timeout, last_zxid, ids) = (
                    cl.session,
                    cl.passwd,
                    cl.opts.session_timeout,
                    cl.last_zxid,
                    cl.ids.clone(),
                );
                cl.last_recv = now;
                cl.last_send = now;
                let conn = self.open_conn(c, server);
                self.client(c).phase = Phase::Connecting { conn };
                self.send_to_server(
                    conn,
                    ToServer::Connect {
                        session,
                        passwd,
                        timeout,
                        last_zxid,
                        ids,
                    },
                );
                now + self.client(c).connect_timeout()
            }
            Phase::Idle { retry_at } => retry_at,
            Phase::Connecting { .. } => {
                let deadline = cl.last_recv + cl.connect_timeout();
                if deadline <= now {
                    return self.client_lost(c, false);
                }
                deadline
            }
            Phase::Connected { conn } => {
                let dead = cl.last_recv + cl.read_timeout();
                if dead <= now {
                    return self.client_lost(c, true);
                }
                let ping = cl.last_send + cl.read_timeout() / 2;
                if ping <= now {
                    cl.last_send = now;
                    self.send_to_server(conn, ToServer::Ping);
                    let cl = self.client(c);
                    dead.min(now + cl.read_timeout() / 2)
                } else {
                    dead.min(ping)
                }
            }
            Phase::Closed => return,
        };
        self.client_schedule(c, next);
    }

    fn client_schedule(&mut self, c: ClientId, at: Instant) {
        let cl = self.client(c);
        if cl.tick_at.is_some_and(|t| t <= at) {
            return;
        }
        cl.tick_at = Some(at);
        self.schedule(at, Ev::ClientTick(c));
    }

    pub(crate) fn client_receive(&mut self, conn: ConnId, pkt: ToClient) {
        let Some(c) = self.conns.get(&conn).map(|x| x.client) else {
            return;
        };
        let now = self.now;
        let cl = self.client(c);
        let current = matches!(cl.phase, Phase::Connecting { conn: x } | Phase::Connected { conn: x } if x == conn);
        if !current || cl.crashed {
            return;
        }
        if let Some(until) = cl.paused_until.filter(|u| *u > now) {
            // The process is frozen: the packet waits in the socket buffer.
            return self.schedule(until, Ev::ToClient(conn, pkt));
        }
        cl.last_recv = now;
        match pkt {
            ToClient::Fin => {
                let was = matches!(cl.phase, Phase::Connected { .. });
                self.conns.remove(&conn);
                self.client_lost(c, was);
            }
            ToClient::Pong => {}
            ToClient::Expired => {
                self.conns.remove(&conn);
                self.client_expired(c);
            }
            ToClient::Connected {
                session,
                passwd,
                timeout,
            } => {
                cl.session = session;
                cl.passwd = passwd;
                cl.timeout = timeout;
                cl.renewing = false;
                cl.phase = Phase::Connected { conn };
                cl.last_send = now;
                if !cl.watches.is_empty() {
                    let paths = cl.watches.paths();
                    let relative_zxid = cl.last_zxid;
                    self.send_to_server(
                        conn,
                        ToServer::SetWatches {
                            relative_zxid,
                            paths,
                        },
                    );
                }
                self.emit(Output::Session {
                    client: c,
                    state: SessionState::Connected {
                        session_id: session,
                        timeout,
                        read_only: false,
                    },
                });
                let queued: Vec<(OpId, Op, bool)> = self.client(c).outbox.drain(..).collect();
                for (id, op, close) in queued {
                    self.client_send(c, conn, id, op, close);
                }
                self.client_tick(c);
            }
            ToClient::Event(event) => {
                let mut fired = Vec::new();
                cl.watches.materialize(&event.path, event.kind, &mut fired);
                for (watch, last) in fired {
                    self.emit(Output::Watch {
                        client: c,
                        watch,
                        event: event.clone(),
                        last,
                    });
                }
            }
            ToClient::Reply { xid, zxid, result } => {
                let Some(sent) = cl.sent.pop_front() else {
                    return;
                };
                debug_assert_eq!(sent.xid, xid, "replies come in order");
                if zxid > 0 {
                    cl.last_zxid = zxid;
                }
                if sent.close {
                    self.conns.remove(&conn);
                    self.client_shutdown(c, Some(SessionState::Closed));
                    return self.done(c, sent.op, Ok(OpResult::Deleted));
                }
                self.client_reply(c, sent, result);
            }
        }
    }

    fn client_reply(&mut self, c: ClientId, sent: Sent, result: Result<OpResult, Error>) {
        let mut watch = None;
        if let Some((path, ask)) = sent.watch {
            if let Some(table) = table_for(ask, &result) {
                self.next_watch += 1;
                let id = WatchId(self.next_watch);
                self.client(c).watches.add(&path, table, id);
                let kind = match table {
                    ClientWatch::Persistent | ClientWatch::Recursive => WatchKind::Persistent,
                    _ => WatchKind::OneShot,
                };
                watch = Some((id, kind));
            }
        }
        self.emit(Output::OpDone {
            client: c,
            op: sent.op,
            result,
            watch,
        });
    }
}
