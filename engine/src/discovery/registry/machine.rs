//! The sans-IO registry: which instances this process has registered, and keeping their nodes
//! written across reconnects and sessions.
//!
//! ```text
//!  per instance:            want = Register | Update (Register wins), waiters
//!
//!     idle ──want & connected──► write in flight ──ok──► idle (waiters: Ok)
//!      ▲                            │ NodeExists → delete + create (pipelined)
//!      │                            │ NoNode     → container parents + create (pipelined)
//!      │                            │ set NoNode → want Register (the node vanished)
//!      │                            │ connection → want again, sent once reconnected
//!      └────── other error (waiters: Err) ◄┘
//!
//!  CONNECTED / RECONNECTED ─► want = Register for every instance (with its current content)
//!  unregister ─► forgotten at once (never written again) + guaranteed delete of its node
//! ```
//!
//! Every write sends the instance's **current** content, so an update made while a
//! re-registration is in flight is written after it (want = Update), and a re-registration
//! never resurrects old content. An unregistered instance leaves the map before its delete is
//! sent; replies to its earlier writes are ignored, and ZooKeeper's per-session FIFO order
//! applies the delete after any of them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::discovery::instance::{instance_path, ServiceInstance, ServiceType};
use crate::framework::guaranteed::{waits_for_connection, GuaranteedDelete};
use crate::framework::link::Link;
use crate::framework::sub::Children;
use crate::framework::ConnectionState;
use crate::machine::{Input, Machine, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::time::Instant;
use crate::types::{Acl, CreateMode};
use crate::{path, Error};

/// How many times one write re-tries after NodeExists / NoNode before reporting it.
const MAX_ROUNDS: u32 = 3;

/// Commands from [`ServiceDiscovery`](crate::discovery::ServiceDiscovery). `request` comes
/// back in [`RegistryEvent::Completed`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RegistryCommand {
    /// Register (or re-register with new content) an instance.
    Register {
        /// Request id.
        request: u64,
        /// The instance.
        instance: ServiceInstance,
    },
    /// Replace a registered instance's content (same name and id).
    Update {
        /// Request id.
        request: u64,
        /// The new content.
        instance: ServiceInstance,
    },
    /// Forget an instance and delete its node.
    Unregister {
        /// Request id.
        request: u64,
        /// The instance's id.
        id: String,
    },
    /// Unregister everything and stop.
    Close,
}

/// What the registry reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RegistryEvent {
    /// A command finished. Register / update: the content is written (or the write failed;
    /// [`Error::NotConnected`] when the session was lost first, the instance then stays
    /// registered and is written on reconnection; [`Error::Closed`] when it was unregistered
    /// first). Unregister: the node is gone.
    Completed {
        /// The command's request id.
        request: u64,
        /// Its outcome.
        result: Result<(), Error>,
    },
    /// An instance's node was written (created or updated) at `path`.
    Written {
        /// The instance's id.
        id: String,
        /// Its node.
        path: String,
    },
    /// Writing an instance failed for a reason a retry will not fix; it is tried again on the
    /// next reconnection or change.
    Failed {
        /// The instance's id.
        id: String,
        /// Why.
        error: Error,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Want {
    Update,
    Register,
}

/// How a create is preceded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Plain,
    /// After NodeExists: delete the node first.
    Replace,
    /// After NoNode: create the parents first.
    Parents,
}

#[derive(Debug)]
struct Entry {
    instance: ServiceInstance,
    /// The node we last created (for DYNAMIC_SEQUENTIAL, with its suffix).
    node: Option<String>,
    written: bool,
    in_flight: Option<Token>,
    want: Option<Want>,
    rounds: u32,
    waiters: Vec<u64>,
}

#[derive(Debug)]
struct Flight {
    id: String,
    want: Want,
    epoch: u64,
    path: String,
}

/// The registry machine.
#[derive(Debug)]
pub struct RegistryMachine {
    base: String,
    tokens: Tokens,
    link: Link,
    entries: BTreeMap<String, Entry>,
    flights: BTreeMap<Token, Flight>,
    /// Sequential creates of unregistered instances: delete what they made.
    withdrawn: BTreeSet<Token>,
    /// Guaranteed deletes, each with the unregister request it answers.
    deletes: Children<GuaranteedDelete, Option<u64>>,
    /// Unregister requests: deletes outstanding, first error.
    unregisters: BTreeMap<u64, (usize, Option<Error>)>,
    closing: bool,
    ops: VecDeque<(Token, Op)>,
    events: VecDeque<RegistryEvent>,
}

impl RegistryMachine {
    /// A registry under `base` (a valid path).
    pub fn new(base: impl Into<String>) -> RegistryMachine {
        RegistryMachine {
            base: base.into(),
            tokens: Tokens::default(),
            link: Link::default(),
            entries: BTreeMap::new(),
            flights: BTreeMap::new(),
            withdrawn: BTreeSet::new(),
            deletes: Children::default(),
            unregisters: BTreeMap::new(),
            closing: false,
            ops: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The locally registered instances (current content), by id.
    pub fn instances(&self) -> impl Iterator<Item = &ServiceInstance> {
        self.entries.values().map(|e| &e.instance)
    }

    /// The node path of `instance` (for DYNAMIC_SEQUENTIAL, the prefix of its name).
    pub fn instance_path(&self, instance: &ServiceInstance) -> String {
        instance_path(&self.base, &instance.name, &instance.id)
    }

    fn complete(&mut self, request: u64, result: Result<(), Error>) {
        self.events
            .push_back(RegistryEvent::Completed { request, result });
    }

    fn register(&mut self, request: u64, instance: ServiceInstance) {
        if self.closing {
            return self.complete(request, Err(Error::Closed));
        }
        let id = instance.id.clone();
        let renamed = self.entries.get(&id).is_some_and(|e| {
            e.instance.name != instance.name || e.instance.service_type != instance.service_type
        });
        if renamed {
            self.withdraw(&id, None);
        }
        let entry = self.entries.entry(id.clone()).or_insert_with(|| Entry {
            instance: instance.clone(),
            node: None,
            written: false,
            in_flight: None,
            want: None,
            rounds: 0,
            waiters: Vec::new(),
        });
        entry.instance = instance;
        entry.want = Some(Want::Register);
        entry.waiters.push(request);
        self.advance(&id);
    }

    fn update(&mut self, request: u64, instance: ServiceInstance) {
        let Some(entry) = self.entries.get_mut(&instance.id) else {
            let why = format!("instance {} is not registered", instance.id);
            return self.complete(request, Err(Error::InvalidArgument(why)));
        };
        if entry.instance.name != instance.name
            || entry.instance.service_type != instance.service_type
        {
            let why = format!(
                "update of {} changes its name or type: register it instead",
                instance.id
            );
            return self.complete(request, Err(Error::InvalidArgument(why)));
        }
        let id = instance.id.clone();
        entry.instance = instance;
        entry.want = entry.want.max(Some(Want::Update));
        entry.waiters.push(request);
        self.advance(&id);
    }

    /// Forgets `id` for good and deletes its node.
    fn withdraw(&mut self, id: &str, request: Option<u64>) {
        let Some(entry) = self.entries.remove(id) else {
            if let Some(request) = request {
                self.complete(request, Ok(()));
            }
            return;
        };
        for waiter in entry.waiters {
            self.complete(waiter, Err(Error::Closed));
        }
        let sequential = entry.instance.service_type == ServiceType::DynamicSequential;
        if let Some(token) = entry.in_flight {
            self.flights.remove(&token);
            if sequential {
                self.withdrawn.insert(token);
            }
        }
        let targets: Vec<String> = if sequential {
            entry.node.into_iter().collect()
        } else {
            vec![self.instance_path(&entry.instance)]
        };
        if let Some(request) = request {
            if targets.is_empty() {
                return self.complete(request, Ok(()));
            }
            self.unregisters.insert(request, (targets.len(), None));
        }
        for target in targets {
            self.start_delete(target, request);
        }
    }

    fn start_delete(&mut self, node: String, request: Option<u64>) {
        let delete = GuaranteedDelete::started(node, &self.link, &mut self.tokens);
        self.deletes.push(request, delete);
        self.pump_deletes();
    }

    fn pump_deletes(&mut self) {
        for (request, outcome) in self.deletes.drain(&mut self.ops) {
            let Some(request) = request else { continue };
            let Some((left, error)) = self.unregisters.get_mut(&request) else {
                continue;
            };
            *left -= 1;
            if error.is_none() {
                *error = outcome.err();
            }
            if *left == 0 {
                let error = error.take();
                self.unregisters.remove(&request);
                self.complete(request, error.map_or(Ok(()), Err));
            }
        }
    }

    /// Starts the entry's pending write if it can go now; completes waiters once in sync.
    fn advance(&mut self, id: &str) {
        let Some(entry) = self.entries.get_mut(id) else {
            return;
        };
        if entry.in_flight.is_some() {
            return;
        }
        match entry.want {
            None => {
                let waiters = std::mem::take(&mut entry.waiters);
                for waiter in waiters {
                    self.complete(waiter, Ok(()));
                }
            }
            Some(_) if !self.link.is_connected() => {}
            Some(want) => {
                entry.want = None;
                entry.rounds = 0;
                self.send(id, want, Step::Plain);
            }
        }
    }

    fn send(&mut self, id: &str, want: Want, step: Step) {
        let Some(entry) = self.entries.get_mut(id) else {
            return;
        };
        let data = entry.instance.to_json();
        let path = instance_path(&self.base, &entry.instance.name, &entry.instance.id);
        let (want, op, target) = if want == Want::Update && entry.written {
            let target = entry.node.clone().unwrap_or(path);
            let op = Op::SetData {
                path: target.clone(),
                data,
                version: None,
            };
            (Want::Update, op, target)
        } else {
            let mode = entry.instance.service_type.create_mode();
            let old = if mode.is_sequential() {
                entry.node.take()
            } else {
                None
            };
            match step {
                Step::Plain => {}
                Step::Replace => {
                    let token = self.tokens.next();
                    let delete = Op::Delete {
                        path: path.clone(),
                        version: None,
                    };
                    self.ops.push_back((token, delete));
                }
                Step::Parents => {
                    for parent in path::ancestors(&path) {
                        let token = self.tokens.next();
                        let create = Op::Create {
                            path: parent.to_owned(),
                            data: Vec::new(),
                            acl: Acl::open(),
                            mode: CreateMode::Container,
                        };
                        self.ops.push_back((token, create));
                    }
                }
            }
            if let Some(old) = old {
                // A re-registered sequential instance replaces its old node.
                self.start_delete(old, None);
            }
            let op = Op::Create {
                path: path.clone(),
                data,
                acl: Acl::open(),
                mode,
            };
            (Want::Register, op, path)
        };
        let token = self.tokens.next();
        self.ops.push_back((token, op));
        let epoch = self.link.epoch();
        self.flights.insert(
            token,
            Flight {
                id: id.to_owned(),
                want,
                epoch,
                path: target,
            },
        );
        if let Some(entry) = self.entries.get_mut(id) {
            entry.in_flight = Some(token);
        }
    }

    fn on_op_done(&mut self, token: Token, result: Result<OpResult, Error>) {
        if self.deletes.handle_op(token, &result, &mut self.tokens) {
            return self.pump_deletes();
        }
        if self.withdrawn.remove(&token) {
            if let Ok(OpResult::Created { path, .. }) = result {
                self.start_delete(path, None);
            }
            return;
        }
        let Some(flight) = self.flights.remove(&token) else {
            return; // a pipelined helper op (delete before create, parents): the create decides
        };
        let id = flight.id;
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.in_flight = None;
        let retry = entry.rounds < MAX_ROUNDS;
        match (flight.want, result) {
            (_, Ok(OpResult::Created { path, .. })) => {
                entry.node = Some(path.clone());
                entry.written = true;
                self.events.push_back(RegistryEvent::Written {
                    id: id.clone(),
                    path,
                });
            }
            (_, Ok(OpResult::Stat(_))) => {
                self.events.push_back(RegistryEvent::Written {
                    id: id.clone(),
                    path: flight.path,
                });
            }
            (Want::Register, Err(Error::NodeExists)) if retry => {
                entry.rounds += 1;
                return self.send(&id, Want::Register, Step::Replace);
            }
            (Want::Register, Err(Error::NoNode)) if retry => {
                entry.rounds += 1;
                return self.send(&id, Want::Register, Step::Parents);
            }
            (Want::Update, Err(Error::NoNode)) => {
                // The node vanished (e.g. a session ended): create it again.
                entry.want = Some(Want::Register);
            }
            (want, Err(error)) if waits_for_connection(&error) => {
                entry.want = entry.want.max(Some(want));
                if !self.link.ready_after(flight.epoch) {
                    return; // sent again on the next (re)connection
                }
            }
            (_, Ok(other)) => {
                let error = Error::unexpected_reply(&flight.path, "registry write", &other);
                self.fail(&id, error)
            }
            (_, Err(error)) => self.fail(&id, error),
        }
        self.advance(&id);
    }

    fn fail(&mut self, id: &str, error: Error) {
        let waiters = self
            .entries
            .get_mut(id)
            .map(|e| std::mem::take(&mut e.waiters))
            .unwrap_or_default();
        self.events.push_back(RegistryEvent::Failed {
            id: id.to_owned(),
            error: error.clone(),
        });
        for waiter in waiters {
            self.complete(waiter, Err(error.clone()));
        }
    }

    fn on_connection(&mut self, state: ConnectionState, session_id: i64) {
        self.link.handle(state, session_id);
        self.deletes.handle_link(&self.link, &mut self.tokens);
        self.pump_deletes();
        let ids: Vec<String> = self.entries.keys().cloned().collect();
        match state {
            ConnectionState::Connected | ConnectionState::Reconnected => {
                for id in ids {
                    if let Some(entry) = self.entries.get_mut(&id) {
                        entry.want = Some(Want::Register);
                    }
                    self.advance(&id);
                }
            }
            ConnectionState::Lost => {
                for id in ids {
                    let waiters = self
                        .entries
                        .get_mut(&id)
                        .map(|e| std::mem::take(&mut e.waiters))
                        .unwrap_or_default();
                    for waiter in waiters {
                        self.complete(waiter, Err(Error::NotConnected));
                    }
                }
            }
            _ => {}
        }
    }

    fn close(&mut self) {
        self.closing = true;
        let ids: Vec<String> = self.entries.keys().cloned().collect();
        for id in ids {
            self.withdraw(&id, None);
        }
    }
}

impl Machine for RegistryMachine {
    type Command = RegistryCommand;
    type Event = RegistryEvent;

    fn handle(&mut self, _now: Instant, input: Input<RegistryCommand>) {
        match input {
            Input::OpDone { token, result } => self.on_op_done(token, result),
            Input::Connection { state, session_id } => self.on_connection(state, session_id),
            Input::Command(RegistryCommand::Register { request, instance }) => {
                self.register(request, instance)
            }
            Input::Command(RegistryCommand::Update { request, instance }) => {
                self.update(request, instance)
            }
            Input::Command(RegistryCommand::Unregister { request, id }) => {
                self.withdraw(&id, Some(request))
            }
            Input::Command(RegistryCommand::Close) => self.close(),
            Input::Watch { .. } | Input::Timeout => {}
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<RegistryEvent> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    fn is_done(&self) -> bool {
        self.closing
            && self.deletes.is_empty()
            && self.withdrawn.is_empty()
            && self.ops.is_empty()
            && self.events.is_empty()
    }
}
