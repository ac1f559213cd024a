//! The timeline of one run: what each client process and each server went through, the holds
//! and notes the test body marked, and the faults.
//!
//! The harness records it for every seed, cheaply: the driver adds an event when a client's
//! session state changes or a server's state (up, leading, apply lag) differs from the last one
//! seen; [`Sim::note`](super::Sim::note), [`Sim::hold`](super::Sim::hold) and
//! [`Sim::release`](super::Sim::release) add the body's own. A failure report ends with the
//! last events before the violation ([`Timeline::tail`]); `DOCENT_TIMELINE=DIR` also writes
//! it as an HTML page (see the [harness docs](super)).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use docent::SessionState;

use crate::model::{ClientId, Ensemble, Fault};

/// How many events a failure report shows before the violation.
pub(crate) const TAIL: usize = 20;

/// Whose lane an event is drawn on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Lane {
    /// A client process, by name (unnamed clients are `client3`, … by model id).
    Process(String),
    /// A server, by index.
    Server(usize),
}

impl fmt::Display for Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lane::Process(name) => f.write_str(name),
            Lane::Server(s) => write!(f, "server{s}"),
        }
    }
}

/// A server as the model saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerState {
    /// It runs.
    pub up: bool,
    /// It is the leader and serves.
    pub leading: bool,
    /// How late it applies committed txns (a `FollowerLag` fault; ignored while it leads).
    pub lag: Duration,
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.up, self.leading) {
            (false, _) => f.write_str("down")?,
            (true, true) => f.write_str("leads")?,
            (true, false) => f.write_str("follows")?,
        }
        if self.up && !self.lag.is_zero() {
            write!(f, ", applies {:?} late", self.lag)?;
        }
        Ok(())
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum What {
    /// The process's session changed state (the model's view, as its handle reports it).
    Session(SessionState),
    /// The process began holding `lease` with `token`.
    Hold {
        /// The lease's name (`leader`, `lock /x`, …).
        lease: String,
        /// Its fencing token.
        token: i64,
    },
    /// The process stopped holding `lease`.
    Release {
        /// The lease's name.
        lease: String,
        /// The token it held.
        token: i64,
    },
    /// The body's own note.
    Note(String),
    /// The server's state changed.
    Server(ServerState),
}

impl fmt::Display for What {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            What::Session(SessionState::Connected {
                session_id,
                read_only,
                ..
            }) => {
                let ro = if *read_only { " read-only" } else { "" };
                write!(f, "connected{ro} session={session_id:#x}")
            }
            What::Session(SessionState::Disconnected) => f.write_str("disconnected"),
            What::Session(SessionState::Expired) => f.write_str("session expired"),
            What::Session(SessionState::AuthFailed) => f.write_str("auth failed"),
            What::Session(SessionState::Closed) => f.write_str("session closed"),
            What::Session(other) => write!(f, "{other:?}"),
            What::Hold { lease, token } => write!(f, "hold {lease} token={token}"),
            What::Release { lease, token } => write!(f, "release {lease} token={token}"),
            What::Note(text) => write!(f, "note {text}"),
            What::Server(state) => state.fmt(f),
        }
    }
}

/// One event on one lane.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// When (since the start of the run).
    pub at: Duration,
    /// Whose.
    pub lane: Lane,
    /// What.
    pub what: What,
}

/// A fault, when it struck and healed, and the lanes it hit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultSpan {
    /// When it strikes.
    pub at: Duration,
    /// When it heals: `None` for an instant fault, `Duration::MAX` for one that never heals
    /// (a client crash).
    pub until: Option<Duration>,
    /// The fault.
    pub fault: Fault,
    /// The lanes it hits (every server for ensemble-wide faults).
    pub lanes: Vec<Lane>,
}

impl FaultSpan {
    /// The fault's kind (`Partition`, `CrashServer`, …).
    pub fn kind(&self) -> String {
        let text = format!("{:?}", self.fault);
        let end = text.find([' ', '{', '(']).unwrap_or(text.len());
        text[..end].to_owned()
    }
}

/// Everything recorded in one run: per client process its session states and the holds and
/// notes the body marked, per server its state, the faults, and the violation if one was
/// marked. See the [harness docs](super#timelines).
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    names: Vec<String>,
    servers: Vec<ServerState>,
    events: Vec<Event>,
    faults: Vec<FaultSpan>,
    open: BTreeMap<(String, String), i64>,
    violation: Option<(Duration, String)>,
    end: Duration,
}

impl Timeline {
    /// An empty timeline whose clients `0..names.len()` are called `names`.
    /// (The first look at the `servers` servers records their state.)
    pub(crate) fn new(names: &[String], servers: usize) -> Timeline {
        Timeline {
            names: names.to_vec(),
            servers: vec![ServerState::default(); servers],
            ..Timeline::default()
        }
    }

    fn process(&self, client: ClientId) -> Lane {
        let i = client.0 as usize;
        Lane::Process(match self.names.get(i) {
            Some(name) => name.clone(),
            None => format!("client{i}"),
        })
    }

    fn push(&mut self, at: Duration, lane: Lane, what: What) {
        self.events.push(Event { at, lane, what });
    }

    /// Records every server whose state differs from the last one seen (cheap when none does).
    pub(crate) fn observe(&mut self, sim: &Ensemble) {
        let at = sim.now().since_epoch();
        let (leader, serving) = (sim.leader(), sim.serving());
        for s in 0..sim.servers() {
            let state = ServerState {
                up: sim.server_up(s),
                leading: serving && leader == s,
                lag: sim.server_lag(s),
            };
            if self.servers.get(s) == Some(&state) {
                continue;
            }
            if s >= self.servers.len() {
                self.servers.resize(s + 1, ServerState::default());
            }
            self.servers[s] = state;
            self.push(at, Lane::Server(s), What::Server(state));
        }
    }

    /// `client`'s session state changed.
    pub(crate) fn session(&mut self, at: Duration, client: ClientId, state: SessionState) {
        let lane = self.process(client);
        self.push(at, lane, What::Session(state));
    }

    /// `fault` strikes at `at`.
    pub(crate) fn fault(&mut self, at: Duration, fault: &Fault) {
        let until = match fault {
            Fault::CrashClient { .. } => Some(Duration::MAX),
            _ => Some(at + fault_duration(fault)).filter(|&u| u > at),
        };
        let lanes = self.lanes_of(fault);
        self.faults.push(FaultSpan {
            at,
            until,
            fault: fault.clone(),
            lanes,
        });
    }

    fn lanes_of(&self, fault: &Fault) -> Vec<Lane> {
        let client = |c: &u32| self.process(ClientId(*c));
        match fault {
            Fault::Partition {
                client: c,
                server: Some(s),
                ..
            } => vec![client(c), Lane::Server(*s)],
            Fault::Partition { client: c, .. }
            | Fault::Delay { client: c, .. }
            | Fault::LoseReply { client: c }
            | Fault::PauseClient { client: c, .. }
            | Fault::CrashClient { client: c }
            | Fault::ExpireSession { client: c }
            | Fault::ClockDrift { client: c, .. } => vec![client(c)],
            Fault::CrashServer { server, .. } | Fault::FollowerLag { server, .. } => {
                vec![Lane::Server(*server)]
            }
            _ => (0..self.servers.len().max(1)).map(Lane::Server).collect(),
        }
    }

    /// `who` holds `lease` with `token` from `at` (a new token ends the old hold).
    pub(crate) fn hold(&mut self, at: Duration, who: &str, lease: &str, token: i64) {
        let key = (who.to_owned(), lease.to_owned());
        match self.open.insert(key, token) {
            Some(old) if old == token => return,
            Some(old) => self.release_event(at, who, lease, old),
            None => {}
        }
        let lease = lease.to_owned();
        self.push(
            at,
            Lane::Process(who.to_owned()),
            What::Hold { lease, token },
        );
    }

    /// `who` stops holding `lease` at `at` (nothing if it held none).
    pub(crate) fn release(&mut self, at: Duration, who: &str, lease: &str) {
        if let Some(token) = self.open.remove(&(who.to_owned(), lease.to_owned())) {
            self.release_event(at, who, lease, token);
        }
    }

    fn release_event(&mut self, at: Duration, who: &str, lease: &str, token: i64) {
        let lease = lease.to_owned();
        let what = What::Release { lease, token };
        self.push(at, Lane::Process(who.to_owned()), what);
    }

    /// The body's note on `who`'s lane.
    pub(crate) fn note(&mut self, at: Duration, who: &str, text: String) {
        self.push(at, Lane::Process(who.to_owned()), What::Note(text));
    }

    /// A violation at `at` (the earliest one marked is kept).
    pub(crate) fn violation(&mut self, at: Duration, what: &str) {
        if self.violation.as_ref().is_none_or(|(t, _)| at < *t) {
            self.violation = Some((at, what.to_owned()));
        }
    }

    /// The run ended at `end`.
    pub(crate) fn finish(&mut self, end: Duration) {
        self.end = end;
    }

    /// The events, in the order they were recorded (time order, except violations).
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The faults installed or injected, striking before or after the run ended.
    pub fn faults(&self) -> &[FaultSpan] {
        &self.faults
    }

    /// When and what the violation was, if one was marked.
    pub fn violation_mark(&self) -> Option<(Duration, &str)> {
        self.violation
            .as_ref()
            .map(|(at, what)| (*at, what.as_str()))
    }

    /// When the run ended.
    pub fn end(&self) -> Duration {
        self.end
    }

    /// Every lane: the processes (named ones first, in order), then the servers.
    pub fn lanes(&self) -> Vec<Lane> {
        let mut lanes: Vec<Lane> = self.names.iter().cloned().map(Lane::Process).collect();
        let seen = self.events.iter().map(|e| &e.lane);
        for lane in seen.chain(self.faults.iter().flat_map(|f| &f.lanes)) {
            if matches!(lane, Lane::Process(_)) && !lanes.contains(lane) {
                lanes.push(lane.clone());
            }
        }
        lanes.extend((0..self.servers.len()).map(Lane::Server));
        lanes
    }

    /// The last `n` events up to the violation (or the end), fault strikes and heals among
    /// them, as lines like `   12.402s a  hold leader token=4294967303`, then the violation.
    pub fn tail(&self, n: usize) -> Vec<String> {
        let cut = self.violation.as_ref().map_or(self.end, |(at, _)| *at);
        let mut lines: Vec<(Duration, String, String)> = Vec::new();
        for f in self.faults.iter().filter(|f| f.at <= cut) {
            let lane = match f.lanes.as_slice() {
                [one] => one.to_string(),
                _ => "*".to_owned(),
            };
            lines.push((f.at, lane.clone(), format!("fault {:?}", f.fault)));
            if let Some(until) = f.until.filter(|&u| u <= cut) {
                lines.push((until, lane, format!("heals {}", f.kind())));
            }
        }
        // After the faults: a fault comes before what it causes at the same instant.
        for e in self.events.iter().filter(|e| e.at <= cut) {
            lines.push((e.at, e.lane.to_string(), e.what.to_string()));
        }
        lines.sort_by_key(|l| l.0);
        let lines = &lines[lines.len().saturating_sub(n)..];
        let width = lines.iter().map(|l| l.1.len()).max().unwrap_or(1);
        let mut out: Vec<String> = lines
            .iter()
            .map(|(at, lane, what)| line(*at, lane, what, width))
            .collect();
        if let Some((at, what)) = &self.violation {
            let first = what.lines().next().unwrap_or_default();
            out.push(line(*at, "!", &format!("violation: {first}"), width));
        }
        out
    }
}

fn line(at: Duration, lane: &str, what: &str, width: usize) -> String {
    format!("{:>9.3}s {lane:<width$}  {what}", at.as_secs_f64())
}

/// How long `fault` lasts (zero for an instant one).
pub(crate) fn fault_duration(fault: &Fault) -> Duration {
    match fault {
        Fault::Partition { duration, .. }
        | Fault::Delay { duration, .. }
        | Fault::QuorumLoss { duration }
        | Fault::FollowerLag { duration, .. }
        | Fault::PauseClient { duration, .. }
        | Fault::Exhibitor { duration, .. } => *duration,
        Fault::CrashServer { downtime, .. } => *downtime,
        _ => Duration::ZERO,
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
