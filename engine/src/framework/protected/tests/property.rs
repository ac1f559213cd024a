//! Arbitrary interleavings of replies, lost replies, timeouts, disconnects and expiries never
//! make a protected create leave two nodes, or report success without its node.

use std::collections::{BTreeMap, VecDeque};

use proptest::prelude::*;

use super::super::*;
use crate::rng::Rng;
use crate::ConnectionState::*;

#[derive(Debug, Clone, Copy)]
enum Action {
    /// Apply the oldest in-flight op and reply.
    Deliver,
    /// Apply it, lose the reply, disconnect (`suspend_first`: SUSPENDED arrives before the loss).
    LoseReply { suspend_first: bool },
    /// Do not apply it, fail it with a connection loss, disconnect.
    Drop { suspend_first: bool },
    /// Apply it (or not) and answer with a timeout, staying connected.
    Timeout { applied: bool },
    /// Reconnect the same session.
    Reconnect,
    /// The session expires: LOST, then a new session connects.
    Expire,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => Just(Action::Deliver),
        1 => any::<bool>().prop_map(|suspend_first| Action::LoseReply { suspend_first }),
        1 => any::<bool>().prop_map(|suspend_first| Action::Drop { suspend_first }),
        1 => any::<bool>().prop_map(|applied| Action::Timeout { applied }),
        2 => Just(Action::Reconnect),
        1 => Just(Action::Expire),
    ]
}

/// The tiny tree: path → ephemeral owner; sequence counters per parent.
#[derive(Debug, Default)]
struct Tree {
    nodes: BTreeMap<String, i64>,
    seq: BTreeMap<String, i32>,
    zxid: i64,
}

impl Tree {
    fn apply(&mut self, op: &Op, session: i64) -> Result<OpResult, Error> {
        self.zxid += 1;
        match op {
            Op::Create { path, mode, .. } => {
                let parent = path::parent(path).unwrap();
                if parent != "/" && !self.nodes.contains_key(parent) {
                    return Err(Error::NoNode);
                }
                let mut path = path.clone();
                if mode.is_sequential() {
                    let n = self.seq.entry(parent.to_owned()).or_default();
                    path = format!("{path}{n:010}");
                    *n += 1;
                }
                if self.nodes.contains_key(&path) {
                    return Err(Error::NodeExists);
                }
                let owner = if mode.is_ephemeral() { session } else { 0 };
                self.nodes.insert(path.clone(), owner);
                let stat = Stat {
                    czxid: self.zxid,
                    ephemeral_owner: owner,
                    ..Stat::default()
                };
                Ok(OpResult::Created { path, stat })
            }
            Op::Delete { path, .. } => match self.nodes.remove(path) {
                Some(_) => Ok(OpResult::Deleted),
                None => Err(Error::NoNode),
            },
            Op::GetChildren { path, .. } => {
                if !self.nodes.contains_key(path) {
                    return Err(Error::NoNode);
                }
                let children = self.children(path);
                Ok(OpResult::Children {
                    children,
                    stat: Stat::default(),
                })
            }
            Op::Exists { path, .. } => {
                Ok(OpResult::Exists(self.nodes.get(path).map(|owner| Stat {
                    ephemeral_owner: *owner,
                    ..Stat::default()
                })))
            }
            Op::Sync { .. } => Ok(OpResult::Synced),
            other => panic!("unexpected op {other:?}"),
        }
    }

    fn children(&self, parent: &str) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|p| path::parent(p) == Some(parent))
            .map(|p| path::name(p).to_owned())
            .collect()
    }

    fn expire(&mut self, session: i64) {
        self.nodes.retain(|_, owner| *owner != session);
    }
}

struct World {
    tree: Tree,
    session: i64,
    connected: bool,
    /// In flight: token, op, the session it was sent in.
    wire: VecDeque<(Token, Op, i64)>,
    tokens: Tokens,
    m: ProtectedCreate,
    outcome: Option<Result<Created, Error>>,
    /// The protected nodes when the outcome was reported.
    at_outcome: Vec<String>,
}

impl World {
    fn pump(&mut self) {
        while let Some((t, op)) = self.m.poll_op() {
            self.wire.push_back((t, op, self.session));
        }
        if let Some(o) = self.m.poll_outcome() {
            assert!(self.outcome.is_none(), "two outcomes");
            if let Ok(created) = &o {
                let owner = self.tree.nodes.get(&created.path).copied();
                assert!(owner.is_some(), "success without a node");
                if self.m.is_done() && created.stat.ephemeral_owner != 0 {
                    assert_eq!(owner, Some(self.session), "owned by the live session");
                }
            }
            self.outcome = Some(o);
            self.at_outcome = self.protected();
        }
    }

    fn reply(&mut self, token: Token, result: Result<OpResult, Error>) {
        assert!(self
            .m
            .handle_op_done(Instant::ZERO, token, &result, &mut self.tokens));
        self.pump();
    }

    fn conn(&mut self, state: ConnectionState) {
        self.m
            .handle_connection(state, self.session, &mut self.tokens);
        self.pump();
    }

    fn disconnect(&mut self) {
        if self.connected {
            self.connected = false;
            self.conn(Suspended);
        }
    }

    fn step(&mut self, action: Action) {
        match action {
            Action::Reconnect if !self.connected => {
                self.connected = true;
                self.conn(Reconnected);
            }
            Action::Expire => {
                self.tree.expire(self.session);
                self.connected = false;
                self.conn(Lost);
                self.session += 1;
                self.connected = true;
                self.conn(Reconnected);
            }
            Action::Reconnect => {}
            _ => {
                let Some((token, op, sent_in)) = self.wire.pop_front() else {
                    return;
                };
                if sent_in != self.session {
                    return self.reply(token, Err(Error::SessionExpired));
                }
                if !self.connected {
                    return self.reply(token, Err(Error::ConnectionLoss));
                }
                match action {
                    Action::Deliver => {
                        let result = self.tree.apply(&op, self.session);
                        self.reply(token, result);
                    }
                    Action::LoseReply { suspend_first } | Action::Drop { suspend_first } => {
                        if matches!(action, Action::LoseReply { .. }) {
                            let _ = self.tree.apply(&op, self.session);
                        }
                        if suspend_first {
                            self.disconnect();
                        }
                        self.reply(token, Err(Error::ConnectionLoss));
                        self.disconnect();
                    }
                    Action::Timeout { applied } => {
                        if applied {
                            let _ = self.tree.apply(&op, self.session);
                        }
                        self.reply(token, Err(Error::OperationTimeout));
                    }
                    _ => unreachable!(),
                }
            }
        }
    }

    fn protected(&self) -> Vec<String> {
        self.tree
            .children("/latch")
            .into_iter()
            .filter(|c| is_protected(c))
            .collect()
    }

    /// Heals the world and runs to the end.
    fn finish(&mut self) {
        for _ in 0..1000 {
            if self.outcome.is_some() && self.wire.is_empty() {
                return;
            }
            if !self.connected {
                self.step(Action::Reconnect);
            } else if !self.wire.is_empty() {
                self.step(Action::Deliver);
            } else {
                panic!(
                    "stuck: connected, nothing in flight, no outcome: {:?}",
                    self.m
                );
            }
        }
        panic!("no outcome after 1000 healthy steps: {:?}", self.m);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn never_two_nodes_never_success_without_a_node(
        seed in any::<u64>(),
        parent_exists in any::<bool>(),
        ephemeral in any::<bool>(),
        actions in proptest::collection::vec(action(), 0..40),
    ) {
        let mut tree = Tree::default();
        if parent_exists {
            tree.nodes.insert("/latch".into(), 0);
        }
        let mode = if ephemeral { CreateMode::EphemeralSequential } else { CreateMode::PersistentSequential };
        let mut rng = Rng::new(seed, 0);
        let m = ProtectedCreate::new("/latch/latch-", vec![], Acl::open(), mode, true, &mut rng);
        let mut w = World { tree, session: 1, connected: true, wire: VecDeque::new(), tokens: Tokens::default(), m, outcome: None, at_outcome: vec![] };
        w.conn(Connected);
        w.m.start(&mut w.tokens);
        w.pump();
        for a in actions {
            w.step(a);
        }
        w.finish();
        let at_end = w.protected();
        prop_assert!(at_end.iter().all(|n| w.at_outcome.contains(n)), "a node appeared after the outcome: {:?}", at_end);
        match w.outcome.clone().unwrap() {
            Ok(created) => {
                let name = path::name(&created.path).to_owned();
                prop_assert_eq!(&w.at_outcome, &vec![name], "exactly our node");
            }
            Err(e) => {
                prop_assert_eq!(&w.at_outcome, &Vec::<String>::new(), "failed ({:?}) but left nodes", e);
            }
        }
    }
}
