//! What the lease queue gives up: a node deleted in the background, or a create still in
//! flight whose node is deleted once it exists.

use std::collections::VecDeque;

use crate::framework::guaranteed::GuaranteedDelete;
use crate::framework::link::Link;
use crate::framework::sub::{Reply, Sub};
use crate::machine::{Token, Tokens};
use crate::op::Op;
use crate::recipes::enroll::Enroll;

/// A node given up: deleted in the background. A create still in flight is let finish
/// first, then what it made is deleted (a failed protected create cleans up after itself).
#[derive(Debug)]
pub(super) struct Discard {
    stage: Stage,
    link: Link,
    ops: VecDeque<(Token, Op)>,
}

#[derive(Debug)]
pub(super) enum Stage {
    Create(Box<Enroll>),
    Delete(GuaranteedDelete),
    /// A failed guaranteed delete means the session is gone, and the node with it.
    Done,
}

impl Discard {
    pub(super) fn new(stage: Stage, link: Link) -> Discard {
        let mut discard = Discard {
            stage,
            link,
            ops: VecDeque::new(),
        };
        discard.collect();
        discard
    }

    /// Collects the stage's ops; turns a finished create into the delete of its node.
    fn settle(&mut self, tokens: &mut Tokens) {
        self.collect();
        let Stage::Create(enroll) = &mut self.stage else {
            return;
        };
        match enroll.poll_outcome() {
            None => {}
            Some(Ok((created, _))) => {
                let delete = GuaranteedDelete::started(created.path, &self.link, tokens);
                self.stage = Stage::Delete(delete);
                self.collect();
            }
            Some(Err(_)) => self.stage = Stage::Done,
        }
    }

    fn collect(&mut self) {
        match &mut self.stage {
            Stage::Create(enroll) => enroll.drain_ops(&mut self.ops),
            Stage::Delete(delete) => Sub::drain_ops(delete, &mut self.ops),
            Stage::Done => {}
        }
    }
}

impl Sub for Discard {
    type Outcome = ();

    fn handle_op(&mut self, token: Token, result: &Reply, tokens: &mut Tokens) -> bool {
        let mine = match &mut self.stage {
            Stage::Create(enroll) => enroll.handle_op(token, result, tokens),
            Stage::Delete(delete) => Sub::handle_op(delete, token, result, tokens),
            Stage::Done => false,
        };
        if mine {
            self.settle(tokens);
        }
        mine
    }

    fn handle_link(&mut self, link: &Link, tokens: &mut Tokens) {
        self.link = *link;
        match &mut self.stage {
            Stage::Create(enroll) => enroll.handle_link(link, tokens),
            Stage::Delete(delete) => Sub::handle_link(delete, link, tokens),
            Stage::Done => {}
        }
        self.settle(tokens);
    }

    fn poll_op(&mut self) -> Option<(Token, Op)> {
        self.ops.pop_front()
    }

    fn poll_outcome(&mut self) -> Option<()> {
        self.is_done().then_some(())
    }

    fn is_done(&self) -> bool {
        self.ops.is_empty()
            && match &self.stage {
                Stage::Create(_) => false,
                Stage::Delete(delete) => Sub::is_done(delete),
                Stage::Done => true,
            }
    }
}
