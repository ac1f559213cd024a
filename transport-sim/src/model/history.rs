//! Ground truth over time: every state a subtree's nodes ever had, replayed from the
//! committed log (for checkers that must tell a stale read from an invented one).

use std::collections::BTreeMap;

use docent::{Instant, Op, Stat};

use super::tree::DataTree;
use super::txn::{Entry, TxnBody};

/// Every state a node path had: `(data, stat)` as a client would read it, in commit order,
/// across deletes and re-creates (a new `czxid` starts a new node).
pub type NodeHistory = BTreeMap<String, Vec<(Vec<u8>, Stat)>>;

/// Every state that `prefix` and the nodes below it had in the txns of `log` committed by
/// `now`, replayed on a fresh tree (see [`super::Ensemble::history`]).
pub(crate) fn replay(log: &[Entry], now: Instant, prefix: &str) -> NodeHistory {
    let under = |p: &str| {
        p == prefix || prefix == "/" || p.starts_with(prefix) && p[prefix.len()..].starts_with('/')
    };
    let mut tree = DataTree::default();
    let mut out = NodeHistory::new();
    let record = |tree: &DataTree, p: &str, out: &mut NodeHistory| {
        let Some(node) = tree.node(p).filter(|_| under(p)) else {
            return;
        };
        let state = (node.data.clone(), node.client_stat());
        let states = out.entry(p.to_owned()).or_default();
        if states.last() != Some(&state) {
            states.push(state);
        }
    };
    let initial: Vec<String> = tree.nodes().keys().cloned().collect();
    for p in &initial {
        record(&tree, p, &mut out);
    }
    let mut triggers = Vec::new();
    for entry in log.iter().filter(|e| e.commit_at <= now) {
        triggers.clear();
        tree.apply(&entry.txn, &mut triggers);
        // Every change shows up as a watch trigger on its path, except an ACL change and an
        // aged version.
        let mut touched: Vec<&str> = triggers.iter().map(|(p, _)| p.as_str()).collect();
        if let TxnBody::Write(Op::SetAcl { path, .. }) = &entry.txn.body {
            touched.push(path);
        }
        if let TxnBody::AgeVersion { path, .. } = &entry.txn.body {
            touched.push(path);
        }
        for p in touched {
            record(&tree, p, &mut out);
        }
    }
    out
}
