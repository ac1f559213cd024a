//! Fencing: writes that succeed only while a lease is still ours.
//!
//! A lease (lock, leadership, permit) is a node of our session. A guarded write is a multi
//! whose first operation checks that node: if the lease is gone (released, expired, or taken
//! over after a pause) nothing of the write is applied. The fencing token (the node's
//! creation zxid) is for systems outside ZooKeeper: they keep the highest token they have seen
//! and refuse older ones.

use crate::op::{MultiOp, Op};
use crate::Error;

/// A multi that applies `ops` only while the lease node `node` exists.
pub fn guarded(node: &str, ops: Vec<MultiOp>) -> Op {
    let mut all = Vec::with_capacity(ops.len() + 1);
    all.push(MultiOp::Check {
        path: node.to_owned(),
        version: None,
    });
    all.extend(ops);
    Op::Multi(all)
}

/// True when a guarded write failed because the lease was gone (its check failed).
pub fn is_fenced_out(error: &Error) -> bool {
    matches!(error, Error::MultiFailed { index: 0, error } if **error == Error::NoNode)
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
}
