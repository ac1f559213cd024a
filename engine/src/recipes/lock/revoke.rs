//! Revocation (Curator's `Revoker` and `makeRevocable`): anyone may ask a holder to let go.
//!
//! A revocable holder keeps a data watch on its own lock node. [`Revoker::attempt_revoke`] sets
//! that node's data to the ASCII bytes `__REVOKE__`; the holder's watch fires, it reads the
//! data again (re-arming the watch) and, on exactly that value, reports that revocation was
//! asked ([`LockEvent::RevocationRequested`](super::LockEvent::RevocationRequested)). Letting
//! go is the holder's decision: the request is a message, not a release.
//!
//! ```text
//!            watch(node)                     data == "__REVOKE__"
//!   Off ───────────────► Reading ──getData──► Armed ────────────────► Revoke (outcome)
//!    ▲                    ▲  │ connection lost   │ watch fired
//!    │ stop               │  └── retried on ───┐ │
//!    └────────────────    └──── reconnect ◄────┘─┘ (read again, watch again)
//! ```

use std::collections::VecDeque;

use crate::framework::link::Link;
use crate::framework::sub::{Reply, Sub};
use crate::framework::Client;
use crate::machine::{Token, Tokens};
use crate::op::{Op, OpResult};
use crate::Error;

/// The data that asks a holder to revoke (Curator's `Revoker.REVOKE_MESSAGE`).
pub const REVOKE_MESSAGE: &[u8] = b"__REVOKE__";

/// Asks lock holders to let go.
#[derive(Debug, Clone, Copy)]
pub struct Revoker;

impl Revoker {
    /// Asks the holder of `node` (a lock node, e.g. a guard's [`node`](super::LockGuard::node)
    /// or one listed by a Curator process) to revoke, by writing `__REVOKE__` to it. A node
    /// that is gone is not an error: its holder already let go.
    pub async fn attempt_revoke(client: &Client, node: &str) -> Result<(), Error> {
        let op = Op::SetData {
            path: node.to_owned(),
            data: REVOKE_MESSAGE.to_vec(),
            version: None,
        };
        match client.submit(op).await {
            Ok(_) | Err(Error::NoNode) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// The holder's side: a data watch on its own lock node.
#[derive(Debug, Default)]
pub(crate) struct RevokeWatch {
    /// The node watched (`None`: off).
    node: Option<String>,
    /// A getData in flight, and the connection epoch it was sent in.
    reading: Option<(Token, u64)>,
    /// The owner's link, as last handed over.
    link: Link,
    /// The getData whose watch is armed.
    armed: Option<Token>,
    /// A read failed for want of a connection: read again once it is back.
    retry: bool,
    ops: VecDeque<(Token, Op)>,
    asked: bool,
}

impl RevokeWatch {
    /// Watches `node` for revocation requests (reads it at once).
    pub(crate) fn watch(&mut self, node: &str, tokens: &mut Tokens) {
        self.node = Some(node.to_owned());
        self.armed = None;
        self.read(tokens);
    }

    /// True while a node is watched.
    pub(crate) fn is_on(&self) -> bool {
        self.node.is_some()
    }

    /// Stops watching: what is in flight is claimed and ignored.
    pub(crate) fn stop(&mut self) {
        self.node = None;
        self.retry = false;
    }

    fn read(&mut self, tokens: &mut Tokens) {
        let Some(path) = self.node.clone() else {
            return;
        };
        let token = tokens.next();
        self.reading = Some((token, self.link.epoch()));
        self.retry = false;
        self.ops
            .push_back((token, Op::GetData { path, watch: true }));
    }
}

impl Sub for RevokeWatch {
    /// Revocation was asked.
    type Outcome = ();

    fn handle_op(&mut self, token: Token, result: &Reply, tokens: &mut Tokens) -> bool {
        let Some((_, sent)) = self.reading.filter(|(t, _)| *t == token) else {
            return false;
        };
        self.reading = None;
        if self.node.is_none() {
            return true;
        }
        match result {
            Ok(OpResult::Data { data, .. }) => {
                self.armed = Some(token);
                self.asked |= data == REVOKE_MESSAGE;
            }
            // Gone: the lock is not ours any more (the lock machine learns it from its queue).
            Err(Error::NoNode) => self.node = None,
            // No reply: read again once connected (now, if it came back since).
            Err(_) if self.link.ready_after(sent) => self.read(tokens),
            Err(_) => self.retry = true,
            Ok(_) => {}
        }
        true
    }

    fn handle_watch(&mut self, token: Token, tokens: &mut Tokens) -> bool {
        if self.armed != Some(token) {
            return false;
        }
        self.armed = None;
        self.read(tokens);
        true
    }

    fn handle_link(&mut self, link: &Link, tokens: &mut Tokens) {
        self.link = *link;
        if self.retry && link.is_connected() {
            self.read(tokens);
        }
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_outcome(&mut self) -> Option<()> {
        std::mem::take(&mut self.asked).then_some(())
    }

    fn is_done(&self) -> bool {
        self.node.is_none() && self.reading.is_none()
    }
}
