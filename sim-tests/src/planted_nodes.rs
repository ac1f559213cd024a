//! A planted persistent-node bug: an ephemeral persistent node that trusts NodeExists, as
//! Curator's `PersistentNode` does (NodeExists → setData, node taken for ours). After a new
//! session, a node left by the earlier one (not yet reaped: the ensemble has not expired that
//! session, or a lagging follower still shows it) is taken for ours and given our data; the
//! recipe shows itself present with a node that goes when the old session does.
//!
//! ```text
//!  CREATE ──created──► present (stat of the create) ──► EXISTS (watch)
//!    │ NodeExists (flaw: whoever owns it)                 │ absent ─► CREATE
//!    ▼                                                    │ fired  ─► EXISTS
//!  SET data ──ok──► present (stat of the set) ───────────►┘
//!  (re)connected ─► CREATE again; LOST ─► not present
//! ```
//!
//! Everything else is done right (LOST clears the presence, replies are matched by token), so
//! that the one flaw is what the checks catch.

use std::collections::VecDeque;

use docent::framework::{StateCell, StateWatch};
use docent::recipes::nodes::NodeState;
use docent::{
    Acl, ConnectionState, CreateMode, Error, Input, Instant, Machine, Op, OpResult, Token, Tokens,
};

/// The naive ephemeral persistent node.
#[derive(Debug)]
pub struct NaiveNode {
    path: String,
    data: Vec<u8>,
    tokens: Tokens,
    /// The op whose reply decides the next step.
    current: Option<Token>,
    ops: VecDeque<(Token, Op)>,
    state: StateCell<NodeState>,
}

impl NaiveNode {
    /// A naive ephemeral node at `path` holding `data`; starts at once.
    pub fn new(path: &str, data: Vec<u8>) -> NaiveNode {
        let mut node = NaiveNode {
            path: path.to_owned(),
            data,
            tokens: Tokens::default(),
            current: None,
            ops: VecDeque::new(),
            state: StateCell::new(NodeState::Creating),
        };
        node.create();
        node
    }

    /// The state, now and after each change.
    pub fn watch(&self) -> StateWatch<NodeState> {
        self.state.watch()
    }

    fn send(&mut self, op: Op) {
        let token = self.tokens.next();
        self.ops.push_back((token, op));
        self.current = Some(token);
    }

    fn create(&mut self) {
        self.send(Op::Create {
            path: self.path.clone(),
            data: self.data.clone(),
            acl: Acl::open(),
            mode: CreateMode::Ephemeral,
        });
    }

    fn watch_node(&mut self) {
        self.send(Op::Exists {
            path: self.path.clone(),
            watch: true,
        });
    }

    fn present(&mut self, stat: docent::Stat) {
        self.state.set_if_changed(NodeState::Present {
            path: self.path.clone(),
            stat,
        });
    }

    fn on_reply(&mut self, result: Result<OpResult, Error>) {
        match result {
            Ok(OpResult::Created { stat, .. }) => {
                self.present(stat);
                self.watch_node();
            }
            // The flaw: whoever owns the node, it is ours now.
            Err(Error::NodeExists) => self.send(Op::SetData {
                path: self.path.clone(),
                data: self.data.clone(),
                version: None,
            }),
            Ok(OpResult::Stat(stat)) => {
                self.present(stat);
                self.watch_node();
            }
            Ok(OpResult::Exists(Some(stat))) => self.present(stat),
            Ok(OpResult::Exists(None)) | Err(Error::NoNode) => {
                self.state.set_if_changed(NodeState::Creating);
                self.create();
            }
            // Connection trouble: the next (re)connection creates again.
            _ => self.current = None,
        }
    }
}

impl Machine for NaiveNode {
    type Command = ();
    type Event = ();

    fn handle(&mut self, _now: Instant, input: Input<()>) {
        match input {
            Input::OpDone { token, result } if self.current == Some(token) => {
                self.current = None;
                self.on_reply(result);
            }
            Input::Watch { .. } if self.current.is_none() => self.watch_node(),
            Input::Connection { state, .. } if state.is_connected() => self.create(),
            Input::Connection {
                state: ConnectionState::Lost,
                ..
            } => {
                self.state.set_if_changed(NodeState::Creating);
            }
            _ => {}
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_event(&mut self) -> Option<()> {
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
