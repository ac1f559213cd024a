//! Sub-machines, and the one piece of plumbing that drives a list of them.
//!
//! A recipe machine is built from smaller sans-IO machines: the protected create, the
//! guaranteed delete, the enrolment in a lock-style queue, the lease queue. Each implements
//! [`Sub`]: it claims the replies and watch events of its own tokens, learns the connection
//! from its owner's [`Link`], and hands out ops and, once something is decided, outcomes.
//!
//! ```text
//!                 handle_op(token) ──► child 1? ──► child 2? ──► … (the first that claims it)
//!   owner ──────  handle_watch(token)   (same)
//!   (Tokens,      handle_link(link) ──► every child
//!    Link)  ◄───  drain: each child's ops, in order; the outcomes of finished children
//! ```
//!
//! The owner keeps the [`Tokens`] (so that every token of a machine tree is unique) and the
//! [`Link`], and sends every op in the order its children yield them. [`Children`] is that
//! plumbing for a list of children (tower's `Service`/`Layer` split is the model): a recipe says
//! only what is specific to it, never how its children are driven.

use std::collections::VecDeque;

use crate::framework::link::Link;
use crate::machine::{Input, Token, Tokens};
use crate::op::{Op, OpResult};
use crate::Error;

/// An op's result, as a sub-machine is fed it.
pub(crate) type Reply = Result<OpResult, Error>;

/// A sans-IO machine driven by another machine.
pub(crate) trait Sub {
    /// What the child reports: once for one-shot children (a create, a delete), one after the
    /// other for long-lived ones (the lease queue's turns).
    type Outcome;

    /// Feeds an op result; false when `token` is not this child's.
    fn handle_op(&mut self, token: Token, result: &Reply, tokens: &mut Tokens) -> bool;

    /// Feeds a watch event; false when `token` is not this child's.
    fn handle_watch(&mut self, _token: Token, _tokens: &mut Tokens) -> bool {
        false
    }

    /// The owner's link changed: the owner has just recorded a connection state in it.
    fn handle_link(&mut self, link: &Link, tokens: &mut Tokens);

    /// The next op to send. Drain after every input.
    fn poll_op(&mut self) -> Option<(Token, Op)>;

    /// The next outcome, if any.
    fn poll_outcome(&mut self) -> Option<Self::Outcome>;

    /// True once nothing more will come out of it.
    fn is_done(&self) -> bool;

    /// Moves every op the child has ready into `ops`, in order.
    fn drain_ops(&mut self, ops: &mut VecDeque<(Token, Op)>) {
        while let Some(op) = self.poll_op() {
            ops.push_back(op);
        }
    }
}

/// Feeds `input` to `child` when it is an op result or a watch event (the inputs a child
/// claims by token); any other input comes back for the owner.
pub(crate) fn route<S: Sub, C>(
    child: &mut S,
    input: Input<C>,
    tokens: &mut Tokens,
) -> Option<Input<C>> {
    match input {
        Input::OpDone { token, result } => {
            child.handle_op(token, &result, tokens);
            None
        }
        Input::Watch { token, .. } => {
            child.handle_watch(token, tokens);
            None
        }
        other => Some(other),
    }
}

/// Children of one kind, each with a tag of the owner's (e.g. the request a delete answers).
#[derive(Debug, Clone)]
pub(crate) struct Children<S, T = ()> {
    list: Vec<(T, S)>,
}

impl<S, T> Default for Children<S, T> {
    fn default() -> Self {
        Children { list: Vec::new() }
    }
}

impl<S: Sub, T> Children<S, T> {
    /// Adds a child (its first ops are collected by the next [`Children::drain`]).
    pub(crate) fn push(&mut self, tag: T, child: S) {
        self.list.push((tag, child));
    }

    /// Offers an op result to each child until one claims it.
    pub(crate) fn handle_op(&mut self, token: Token, result: &Reply, tokens: &mut Tokens) -> bool {
        self.list
            .iter_mut()
            .any(|(_, child)| child.handle_op(token, result, tokens))
    }

    /// Hands every child the owner's new link.
    pub(crate) fn handle_link(&mut self, link: &Link, tokens: &mut Tokens) {
        for (_, child) in &mut self.list {
            child.handle_link(link, tokens);
        }
    }

    /// Moves the children's ops into `ops` (child by child, in order) and returns the outcomes
    /// of the children that finished; those leave the list.
    pub(crate) fn drain(&mut self, ops: &mut VecDeque<(Token, Op)>) -> Vec<(T, S::Outcome)> {
        let mut finished = Vec::new();
        let mut i = 0;
        while i < self.list.len() {
            self.list[i].1.drain_ops(ops);
            if self.list[i].1.is_done() {
                let (tag, mut child) = self.list.remove(i);
                finished.extend(child.poll_outcome().map(|outcome| (tag, outcome)));
            } else {
                i += 1;
            }
        }
        finished
    }

    /// True when no child is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
