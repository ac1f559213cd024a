//! The touch of a TTL node's child (Curator's `PersistentTtlNode`): every `ttl / 2` a setData
//! of `<node>/touch`, or its create as a PERSISTENT_WITH_TTL node when it is missing.
//!
//! ```text
//!  tick (due, node present) ─► SET touch ──ok──────────────► idle until the next period
//!                                 │ NoNode
//!                                 ▼
//!                              CREATE touch (TTL) ──NodeExists──► SET touch
//! ```
//!
//! While the child is touched it keeps its parent (a container) from being reaped; once the
//! touching stops the child expires after its TTL, and then the container goes too. A failed
//! touch is not retried before the next period.

use std::collections::VecDeque;
use std::time::Duration;

use crate::framework::sub::Reply;
use crate::machine::{Token, Tokens};
use crate::op::Op;
use crate::time::Instant;
use crate::types::{Acl, CreateMode};
use crate::Error;

/// How often the child is touched, as a fraction of its TTL (Curator's default factor).
const TOUCHES_PER_TTL: u32 = 2;

/// Keeps a TTL child alive.
#[derive(Debug)]
pub(crate) struct Touch {
    path: String,
    ttl: Duration,
    /// When to touch next; `None` until the node is first present (then at once).
    next: Option<Instant>,
    /// The touch op in flight, and whether it is the create.
    in_flight: Option<(Token, bool)>,
}

impl Touch {
    pub(crate) fn new(path: String, ttl: Duration) -> Touch {
        Touch {
            path,
            ttl,
            next: None,
            in_flight: None,
        }
    }

    /// When the next touch is due.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.next
    }

    fn set(&mut self, tokens: &mut Tokens, ops: &mut VecDeque<(Token, Op)>) {
        let token = tokens.next();
        let op = Op::SetData {
            path: self.path.clone(),
            data: Vec::new(),
            version: None,
        };
        ops.push_back((token, op));
        self.in_flight = Some((token, false));
    }

    /// Touches when due and the node is `present`.
    pub(crate) fn tick(
        &mut self,
        now: Instant,
        present: bool,
        tokens: &mut Tokens,
        ops: &mut VecDeque<(Token, Op)>,
    ) {
        if !present || self.next.is_some_and(|next| now < next) {
            return;
        }
        self.next = Some(now + self.ttl / TOUCHES_PER_TTL);
        if self.in_flight.is_none() {
            self.set(tokens, ops);
        }
    }

    /// Feeds an op result; false when `token` is not the touch's.
    pub(crate) fn handle_op(
        &mut self,
        token: Token,
        result: &Reply,
        tokens: &mut Tokens,
        ops: &mut VecDeque<(Token, Op)>,
    ) -> bool {
        let Some((_, creating)) = self.in_flight.filter(|f| f.0 == token) else {
            return false;
        };
        self.in_flight = None;
        match result {
            // The child is missing (not its parent: that is the create's NoNode).
            Err(Error::NoNode) if !creating => {
                let token = tokens.next();
                let op = Op::Create {
                    path: self.path.clone(),
                    data: Vec::new(),
                    acl: Acl::open(),
                    mode: CreateMode::PersistentWithTtl(self.ttl),
                };
                ops.push_back((token, op));
                self.in_flight = Some((token, true));
            }
            Err(Error::NodeExists) => self.set(tokens, ops),
            // Done, or failed: the next period tries again.
            _ => {}
        }
        true
    }
}
