//! Fencing: writes that succeed only while a lease is still ours.
//!
//! A lease (lock, leadership, permit) is a node of our session. A guarded write is a multi
//! whose first operation checks that node: if the lease is gone (released, expired, or taken
//! over after a pause) nothing of the write is applied. The fencing token (the node's
//! creation zxid) is for systems outside ZooKeeper: they keep the highest token they have seen
//! and refuse older ones.

use crate::framework::Client;
use crate::op::{MultiOp, Op, OpResult};
use crate::{Error, MultiResult};

/// A multi that applies `ops` only while the lease node `node` exists: the raw op, whose
/// results and error indices count the leading check. Guards' `guarded` (and [`guarded_on`])
/// hide the check.
pub fn guarded(node: &str, ops: Vec<MultiOp>) -> Op {
    let mut all = Vec::with_capacity(ops.len() + 1);
    all.push(MultiOp::Check {
        path: node.to_owned(),
        version: None,
    });
    all.extend(ops);
    Op::Multi(all)
}

/// Applies `ops` atomically only while the lease node `node` exists. The results are the
/// user's ops' alone, and a failing op's [`Error::MultiFailed`] index counts only them; a
/// lease that is gone is [`Error::NotHeld`]. For a lease kept outside its guard, e.g. a node
/// path written down by a process that may since have lost it.
pub async fn guarded_on(
    client: &Client,
    node: &str,
    ops: Vec<MultiOp>,
) -> Result<Vec<MultiResult>, Error> {
    match client.submit(guarded(node, ops)).await.map(|r| r.result) {
        Ok(OpResult::Multi(mut results)) => {
            results.remove(0);
            Ok(results)
        }
        Ok(other) => Err(Error::unexpected_reply(node, "multi", &other)),
        Err(error) => Err(without_check(node, error)),
    }
}

/// A guarded multi's error as the user's ops see it: the check's failure is
/// [`Error::NotHeld`], a later op's index counts from the user's first op.
fn without_check(node: &str, error: Error) -> Error {
    match error {
        Error::MultiFailed { index: 0, .. } => Error::NotHeld {
            path: node.to_owned(),
        },
        Error::MultiFailed { index, error } => Error::MultiFailed {
            index: index - 1,
            error,
        },
        other => other,
    }
}

/// True when a guarded write failed because the lease was gone: [`Error::NotHeld`], or the
/// check of a raw [`guarded`] op failed.
pub fn is_fenced_out(error: &Error) -> bool {
    match error {
        Error::NotHeld { .. } => true,
        Error::MultiFailed { index: 0, error } => **error == Error::NoNode,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_comes_first() {
        let op = guarded(
            "/l/_c_x-lock-0000000001",
            vec![MultiOp::SetData {
                path: "/data".into(),
                data: b"v".to_vec(),
                version: None,
            }],
        );
        let Op::Multi(ops) = op else { panic!() };
        assert_eq!(
            ops[0],
            MultiOp::Check {
                path: "/l/_c_x-lock-0000000001".into(),
                version: None
            }
        );
        assert_eq!(ops.len(), 2);
        assert!(is_fenced_out(&Error::MultiFailed {
            index: 0,
            error: Box::new(Error::NoNode)
        }));
        assert!(!is_fenced_out(&Error::MultiFailed {
            index: 1,
            error: Box::new(Error::NoNode)
        }));
    }

    #[test]
    fn the_check_is_hidden_from_the_users_ops() {
        let node = "/l/_c_x-lock-0000000001";
        let gone = without_check(
            node,
            Error::MultiFailed {
                index: 0,
                error: Box::new(Error::NoNode),
            },
        );
        assert_eq!(gone, Error::NotHeld { path: node.into() });
        assert!(is_fenced_out(&gone));
        let second = without_check(
            node,
            Error::MultiFailed {
                index: 2,
                error: Box::new(Error::BadVersion),
            },
        );
        assert_eq!(
            second,
            Error::MultiFailed {
                index: 1,
                error: Box::new(Error::BadVersion)
            }
        );
        assert!(!is_fenced_out(&second));
        assert_eq!(
            without_check(node, Error::ConnectionLoss),
            Error::ConnectionLoss
        );
    }
}
