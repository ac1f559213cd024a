//! The client side inside the simulation, behaving like ZooKeeper's Java client: connect to a
//! server from the list, ping when idle, give up on a connection after 2/3 of the session
//! timeout of silence, fail pending ops with ConnectionLoss, reconnect elsewhere with the
//! session id and password, re-register watches (setWatches), and learn of expiry only on
//! reconnect. After expiry it opens a new session at once (the Coordinator's contract).
//!
//! Its server list can change (ZooKeeper's `updateServerList`): a client whose server is still
//! listed stays; otherwise it drops the connection and reconnects to a listed server with its
//! session id, password and last zxid, like any reconnect. A chroot prefixes every path sent
//! (except `getConfig`'s) and is stripped from every path received.
//!
//! ```text
//!  Idle ──tick──► Connecting ──Connected──► Connected
//!   ▲                 │ timeout / refused        │ silence ≥ read timeout, FIN
//!   └─────────────────┴──────────────────────────┘ (Disconnected; Expired on reconnect)
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use docent::{
    path, AddWatchMode, EventType, Id, Instant, MultiResult, Op, OpResult, SessionState,
    WatchedEvent,
};
use docent::{Error, Error::ConnectionLoss};

use super::acl;
use super::config::ClientOptions;
use super::ctx::{Ctx, Ev};
use super::msg::{ClientId, ConnId, OpId, Output, ToClient, ToServer, WatchKind};
use super::watches::{ClientWatch, ClientWatches};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
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
    id: ClientId,
    opts: ClientOptions,
    ids: Arc<[Id]>,
    order: Vec<usize>,
    next: usize,
    phase: Phase,
    session: i64,
    passwd: u64,
    timeout: Duration,
    last_zxid: i64,
    xid: i32,
    sent: VecDeque<Sent>,
    outbox: VecDeque<(OpId, Op, bool)>,
    watches: ClientWatches,
    last_recv: Instant,
    last_send: Instant,
    tick_at: Option<Instant>,
    paused_until: Option<Instant>,
    crashed: bool,
    renewing: bool,
    clock_offset_ms: i64,
    submitted: u64,
}

impl Client {
    /// Client `id`, to try `order`'s servers in turn; it starts connecting at its first tick.
    pub(crate) fn new(
        id: ClientId,
        opts: ClientOptions,
        order: Vec<usize>,
        now: Instant,
    ) -> Client {
        Client {
            id,
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
            submitted: 0,
        }
    }

    fn read_timeout(&self) -> Duration {
        self.timeout * 2 / 3
    }

    fn connect_timeout(&self) -> Duration {
        self.timeout / self.order.len().max(1) as u32
    }
}

/// `result` with `root` stripped from the paths it names.
fn unroot(root: &str, result: OpResult) -> OpResult {
    match result {
        OpResult::Created { path, stat } => OpResult::Created {
            path: path::strip(root, &path),
            stat,
        },
        OpResult::Multi(results) => OpResult::Multi(
            results
                .into_iter()
                .map(|r| match r {
                    MultiResult::Created { path } => MultiResult::Created {
                        path: path::strip(root, &path),
                    },
                    other => other,
                })
                .collect(),
        ),
        other => other,
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

impl Client {
    /// The session this client holds (0 before its first session and while renewing).
    pub(crate) fn session(&self) -> i64 {
        self.session
    }

    /// The negotiated session timeout (the requested one before connecting).
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How far this client's wall clock is off the ensemble's.
    pub(crate) fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms
    }

    /// Ops submitted so far, and those of them not answered yet (sent or queued).
    pub(crate) fn ops(&self) -> (u64, usize) {
        (self.submitted, self.sent.len() + self.outbox.len())
    }

    /// True while the process is frozen (a GC pause).
    pub(crate) fn paused_at(&self, now: Instant) -> bool {
        self.paused_until.is_some_and(|u| u > now)
    }

    /// True once the process has crashed; it never runs again.
    pub(crate) fn crashed(&self) -> bool {
        self.crashed
    }

    /// Shifts this client's wall clock (a clock-drift fault).
    pub(crate) fn drift(&mut self, offset_ms: i64) {
        self.clock_offset_ms += offset_ms;
    }

    /// Freezes the process until `until` (a GC pause; overlapping pauses extend it).
    pub(crate) fn pause(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |u| u.max(until)));
    }

    fn done(&self, ctx: &mut Ctx, op: OpId, result: Result<OpResult, Error>) {
        ctx.emit(Output::OpDone {
            client: self.id,
            op,
            result,
            watch: None,
        });
    }

    /// The user submits `op` (queued while connecting or paused); `rooted`: under the chroot
    /// (every op but `getConfig`).
    pub(crate) fn submit(&mut self, ctx: &mut Ctx, op_id: OpId, op: Op, rooted: bool) {
        self.submitted += 1;
        if self.crashed || self.phase == Phase::Closed {
            return self.done(ctx, op_id, Err(Error::Closed));
        }
        if self.renewing {
            return self.done(ctx, op_id, Err(Error::SessionExpired));
        }
        // Client-side checks, as the Java client makes them before sending (paths only: the
        // server drops a connection whose packet is over `jute.maxbuffer`, see `wire`).
        if let Err(e) = op.validate() {
            return self.done(ctx, op_id, Err(e));
        }
        let op = match &self.opts.chroot {
            Some(root) if rooted => op.map_paths(|p| path::prefix(root, p)),
            _ => op,
        };
        match self.phase {
            Phase::Connected { conn } if self.paused_until.is_none() => {
                self.send(ctx, conn, op_id, op, false)
            }
            _ => self.outbox.push_back((op_id, op, false)),
        }
    }

    /// The user closes the session.
    pub(crate) fn close(&mut self, ctx: &mut Ctx, op_id: OpId) {
        match self.phase {
            Phase::Connected { conn } if self.paused_until.is_none() => {
                self.send(ctx, conn, op_id, Op::Sync { path: "/".into() }, true)
            }
            Phase::Closed => self.done(ctx, op_id, Ok(OpResult::Deleted)),
            _ if self.session == 0 || self.crashed => {
                self.shutdown(ctx, None);
                self.done(ctx, op_id, Ok(OpResult::Deleted));
            }
            _ => self
                .outbox
                .push_back((op_id, Op::Sync { path: "/".into() }, true)),
        }
    }

    fn send(&mut self, ctx: &mut Ctx, conn: ConnId, op_id: OpId, op: Op, close: bool) {
        self.xid += 1;
        let xid = self.xid;
        self.last_send = ctx.now();
        let watch = ask_of(&op);
        self.sent.push_back(Sent {
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
        ctx.send_to_server(conn, pkt);
    }

    /// Ends the client for good (closed by the user, or crashed).
    fn shutdown(&mut self, ctx: &mut Ctx, state: Option<SessionState>) {
        if let Phase::Connecting { conn } | Phase::Connected { conn } = self.phase {
            ctx.send_to_server(conn, ToServer::Fin);
        }
        self.phase = Phase::Closed;
        self.fail_all(ctx, Error::Closed);
        self.end_watches(ctx, SessionState::Closed);
        if let Some(state) = state {
            ctx.emit(Output::Session {
                client: self.id,
                state,
            });
        }
    }

    /// The client process dies: its connection closes, nothing of it runs again; its session
    /// lives on at the ensemble until expiry.
    pub(crate) fn crash(&mut self, ctx: &mut Ctx) {
        self.shutdown(ctx, Some(SessionState::Closed));
        self.crashed = true;
    }

    fn fail_all(&mut self, ctx: &mut Ctx, error: Error) {
        let sent = self.sent.drain(..).map(|s| s.op);
        let queued = self.outbox.drain(..).map(|(id, _, _)| id);
        for op in sent.chain(queued) {
            ctx.emit(Output::OpDone {
                client: self.id,
                op,
                result: Err(error.clone()),
                watch: None,
            });
        }
    }

    fn end_watches(&mut self, ctx: &mut Ctx, state: SessionState) {
        for watch in self.watches.drain_all() {
            let event = WatchedEvent {
                kind: EventType::Session(state),
                path: String::new(),
            };
            ctx.emit(Output::Watch {
                client: self.id,
                watch,
                event,
                last: true,
            });
        }
    }

    /// The session is over for this client: fail what was in flight, end every watch,
    /// report Expired and open a new session at once (a new handle: no session id, no last
    /// zxid).
    fn expired(&mut self, ctx: &mut Ctx) {
        self.phase = Phase::Idle {
            retry_at: ctx.now(),
        };
        self.session = 0;
        self.passwd = 0;
        self.last_zxid = 0;
        self.renewing = true;
        self.fail_all(ctx, Error::SessionExpired);
        self.end_watches(ctx, SessionState::Expired);
        ctx.emit(Output::Session {
            client: self.id,
            state: SessionState::Expired,
        });
        self.tick(ctx);
    }

    /// The client gives its session up (Curator's injected expiration): its connection
    /// closes and it goes on as after an expiry, while the ensemble keeps the old session
    /// (and its ephemerals) until the leader expires it. A client whose options say it does
    /// not abandon keeps trying its session.
    pub(crate) fn abandon(&mut self, ctx: &mut Ctx) {
        if !self.opts.abandons || self.crashed || self.phase == Phase::Closed || self.session == 0 {
            return;
        }
        if let Phase::Connecting { conn } | Phase::Connected { conn } = self.phase {
            ctx.send_to_server(conn, ToServer::Fin);
        }
        self.expired(ctx);
    }

    /// The connection is gone (FIN, silence, refused): fail what was in flight and go idle.
    fn lost(&mut self, ctx: &mut Ctx, was_connected: bool) {
        if let Phase::Connecting { conn } | Phase::Connected { conn } = self.phase {
            ctx.send_to_server(conn, ToServer::Fin);
        }
        let backoff = Duration::from_millis(ctx.random_below(1000));
        self.phase = Phase::Idle {
            retry_at: ctx.now() + backoff,
        };
        self.fail_all(ctx, ConnectionLoss);
        if was_connected {
            ctx.emit(Output::Session {
                client: self.id,
                state: SessionState::Disconnected,
            });
        }
        self.tick(ctx);
    }

    /// The server list changes to `servers` (ZooKeeper's `updateServerList`): a client whose
    /// server is listed stays; one on another server moves to a listed one, keeping its
    /// session. An empty list changes nothing.
    pub(crate) fn update_servers(&mut self, ctx: &mut Ctx, servers: Vec<usize>) {
        if servers.is_empty() || self.crashed || self.phase == Phase::Closed {
            return;
        }
        self.order = servers;
        self.next = 0;
        let (conn, connected) = match self.phase {
            Phase::Connecting { conn } => (conn, false),
            Phase::Connected { conn } => (conn, true),
            _ => return,
        };
        let current = ctx.ends(conn).map(|(_, s)| s);
        match current.and_then(|s| self.order.iter().position(|&x| x == s)) {
            Some(i) => self.next = i + 1,
            None => {
                ctx.record(
                    || format!("client {} moves to {:?}", self.id.0, self.order),
                    0x70 ^ self.id.0 as u64,
                );
                self.lost(ctx, connected);
            }
        }
    }

    /// The client's timer: connect, give up on a silent connection, ping, end a pause.
    pub(crate) fn tick(&mut self, ctx: &mut Ctx) {
        let now = ctx.now();
        if self.tick_at.is_some_and(|t| t <= now) {
            self.tick_at = None;
        }
        if self.crashed || self.phase == Phase::Closed {
            return;
        }
        if let Some(until) = self.paused_until {
            if until > now {
                return self.schedule(ctx, until);
            }
            self.paused_until = None;
            // What the paused process submitted on a connection that survived the pause.
            if let Phase::Connected { conn } = self.phase {
                let queued: Vec<(OpId, Op, bool)> = self.outbox.drain(..).collect();
                for (id, op, close) in queued {
                    self.send(ctx, conn, id, op, close);
                }
            }
        }
        let next = match self.phase {
            Phase::Idle { retry_at } if retry_at <= now => {
                let server = self.order[self.next % self.order.len()];
                self.next += 1;
                self.last_recv = now;
                self.last_send = now;
                let conn = ctx.open_conn(self.id, server);
                self.phase = Phase::Connecting { conn };
                ctx.send_to_server(
                    conn,
                    ToServer::Connect {
                        session: self.session,
                        passwd: self.passwd,
                        timeout: self.opts.session_timeout,
                        last_zxid: self.last_zxid,
                        ids: self.ids.clone(),
                    },
                );
                now + self.connect_timeout()
            }
            Phase::Idle { retry_at } => retry_at,
            Phase::Connecting { .. } => {
                let deadline = self.last_recv + self.connect_timeout();
                if deadline <= now {
                    return self.lost(ctx, false);
                }
                deadline
            }
            Phase::Connected { conn } => {
                let dead = self.last_recv + self.read_timeout();
                if dead <= now {
                    return self.lost(ctx, true);
                }
                let ping = self.last_send + self.read_timeout() / 2;
                if ping <= now {
                    self.last_send = now;
                    ctx.send_to_server(conn, ToServer::Ping);
                    dead.min(now + self.read_timeout() / 2)
                } else {
                    dead.min(ping)
                }
            }
            Phase::Closed => return,
        };
        self.schedule(ctx, next);
    }

    fn schedule(&mut self, ctx: &mut Ctx, at: Instant) {
        if self.tick_at.is_some_and(|t| t <= at) {
            return;
        }
        self.tick_at = Some(at);
        ctx.schedule(at, Ev::ClientTick(self.id));
    }

    /// A packet from a server arrives on `conn`.
    pub(crate) fn handle(&mut self, ctx: &mut Ctx, conn: ConnId, pkt: ToClient) {
        let now = ctx.now();
        let current = matches!(self.phase, Phase::Connecting { conn: x } | Phase::Connected { conn: x } if x == conn);
        if !current || self.crashed {
            return;
        }
        if let Some(until) = self.paused_until.filter(|u| *u > now) {
            // The process is frozen: the packet waits in the socket buffer.
            return ctx.schedule(until, Ev::ToClient(conn, pkt));
        }
        self.last_recv = now;
        match pkt {
            ToClient::Fin => {
                let was = matches!(self.phase, Phase::Connected { .. });
                ctx.drop_conn(conn);
                self.lost(ctx, was);
            }
            ToClient::Pong => {}
            ToClient::Expired => {
                ctx.drop_conn(conn);
                self.expired(ctx);
            }
            ToClient::Connected {
                session,
                passwd,
                timeout,
            } => {
                self.session = session;
                self.passwd = passwd;
                self.timeout = timeout;
                self.renewing = false;
                self.phase = Phase::Connected { conn };
                self.last_send = now;
                if !self.watches.is_empty() {
                    let paths = self.watches.paths();
                    let relative_zxid = self.last_zxid;
                    ctx.send_to_server(
                        conn,
                        ToServer::SetWatches {
                            relative_zxid,
                            paths,
                        },
                    );
                }
                ctx.emit(Output::Session {
                    client: self.id,
                    state: SessionState::Connected {
                        session_id: session,
                        timeout,
                        read_only: false,
                    },
                });
                let queued: Vec<(OpId, Op, bool)> = self.outbox.drain(..).collect();
                for (id, op, close) in queued {
                    self.send(ctx, conn, id, op, close);
                }
                self.tick(ctx);
            }
            ToClient::Event(mut event) => {
                let mut fired = Vec::new();
                self.watches
                    .materialize(&event.path, event.kind, &mut fired);
                if let Some(root) = &self.opts.chroot {
                    event.path = path::strip(root, &event.path);
                }
                for (watch, last) in fired {
                    ctx.emit(Output::Watch {
                        client: self.id,
                        watch,
                        event: event.clone(),
                        last,
                    });
                }
            }
            ToClient::Reply { xid, zxid, result } => {
                let Some(sent) = self.sent.pop_front() else {
                    return;
                };
                debug_assert_eq!(sent.xid, xid, "replies come in order");
                if zxid > 0 {
                    self.last_zxid = zxid;
                }
                if sent.close {
                    ctx.drop_conn(conn);
                    self.shutdown(ctx, Some(SessionState::Closed));
                    return self.done(ctx, sent.op, Ok(OpResult::Deleted));
                }
                self.reply(ctx, sent, result);
            }
        }
    }

    fn reply(&mut self, ctx: &mut Ctx, sent: Sent, result: Result<OpResult, Error>) {
        let result = match &self.opts.chroot {
            Some(root) => result.map(|r| unroot(root, r)),
            None => result,
        };
        let mut watch = None;
        if let Some((path, ask)) = sent.watch {
            if let Some(table) = table_for(ask, &result) {
                let id = ctx.new_watch_id();
                self.watches.add(&path, table, id);
                let kind = match table {
                    ClientWatch::Persistent | ClientWatch::Recursive => WatchKind::Persistent,
                    _ => WatchKind::OneShot,
                };
                watch = Some((id, kind));
            }
        }
        ctx.emit(Output::OpDone {
            client: self.id,
            op: sent.op,
            result,
            watch,
        });
    }
}
