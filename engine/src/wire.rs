//! The size of a request as ZooKeeper's wire format (jute) frames it, and the one data limit.
//!
//! ZooKeeper has no separate limit on node data: a server refuses a packet longer than
//! `jute.maxbuffer` (default `0xfffff`, one byte under 1 MiB) by closing the connection before
//! reading it. The client then sees [`Error::ConnectionLoss`] (an unknown outcome, retried by
//! the fluent API) although nothing was applied. So the [`Client`](crate::Client) refuses such
//! a request before sending it, as the caller's mistake ([`Error::DataTooLarge`], from
//! [`check_len`]); the simulated server drops the connection on it, as ZooKeeper does. Node
//! data of exactly 1 MiB therefore never reaches the tree: the path, the ACL and the headers
//! need room in the same packet.

use crate::{Acl, Error, MultiOp, Op};

/// `jute.maxbuffer`'s default: the longest packet a server reads.
pub const MAX_PACKET: usize = 0xfffff;

const INT: usize = 4;
const LONG: usize = 8;
const BOOL: usize = 1;
/// xid and op type.
const REQUEST_HEADER: usize = INT + INT;
/// A multi's per-op header: type, done, err.
const MULTI_HEADER: usize = INT + BOOL + INT;

fn string(s: &str) -> usize {
    INT + s.len()
}

fn buffer(b: &[u8]) -> usize {
    INT + b.len()
}

fn acls(list: &[Acl]) -> usize {
    INT + list
        .iter()
        .map(|a| INT + string(&a.id.scheme) + string(&a.id.id))
        .sum::<usize>()
}

fn create(path: &str, data: &[u8], acl: &[Acl], ttl: bool) -> usize {
    string(path) + buffer(data) + acls(acl) + INT + if ttl { LONG } else { 0 }
}

fn multi_op(op: &MultiOp) -> usize {
    MULTI_HEADER
        + match op {
            MultiOp::Check { path, .. } | MultiOp::Delete { path, .. } => string(path) + INT,
            MultiOp::Create {
                path,
                data,
                acl,
                mode,
            } => create(path, data, acl, mode.ttl().is_some()),
            MultiOp::SetData { path, data, .. } => string(path) + buffer(data) + INT,
        }
}

/// The length ZooKeeper reads for `op` (the 4-byte length prefix excluded).
pub fn request_len(op: &Op) -> usize {
    REQUEST_HEADER
        + match op {
            Op::Create {
                path,
                data,
                acl,
                mode,
            } => create(path, data, acl, mode.ttl().is_some()),
            Op::Delete { path, .. } => string(path) + INT,
            Op::SetData { path, data, .. } => string(path) + buffer(data) + INT,
            Op::GetData { path, .. } | Op::GetChildren { path, .. } | Op::Exists { path, .. } => {
                string(path) + BOOL
            }
            Op::GetAcl { path } | Op::Sync { path } => string(path),
            Op::SetAcl { path, acl, .. } => string(path) + acls(acl) + INT,
            Op::AddWatch { path, .. } => string(path) + INT,
            Op::Multi(ops) => ops.iter().map(multi_op).sum::<usize>() + MULTI_HEADER,
            // Each read is framed as its single-op request (path and watch flag).
            Op::MultiRead(reads) => {
                reads
                    .iter()
                    .map(|r| MULTI_HEADER + string(r.path()) + BOOL)
                    .sum::<usize>()
                    + MULTI_HEADER
            }
        }
}

/// True when a server would refuse `op`'s packet.
pub fn too_long(op: &Op) -> bool {
    request_len(op) > MAX_PACKET
}

/// Fails with [`Error::DataTooLarge`] when a server would refuse `op`'s packet.
pub fn check_len(op: &Op) -> Result<(), Error> {
    let len = request_len(op);
    if len > MAX_PACKET {
        return Err(Error::DataTooLarge {
            len,
            max: MAX_PACKET,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{CreateMode, Op};

    use super::*;

    fn create_op(path: &str, len: usize) -> Op {
        Op::Create {
            path: path.into(),
            data: vec![0; len],
            acl: Acl::open(),
            mode: CreateMode::Persistent,
        }
    }

    #[test]
    fn create_framing() {
        // header 8 + path 4+2 + data 4+3 + one world:anyone ACL 4+(4+4+5+4+6) + flags 4
        assert_eq!(request_len(&create_op("/a", 3)), 8 + 6 + 7 + 27 + 4);
    }

    #[test]
    fn exactly_one_mib_of_data_is_too_long() {
        assert!(too_long(&create_op("/x", 1024 * 1024)));
        let fits = MAX_PACKET - request_len(&create_op("/x", 0));
        assert!(!too_long(&create_op("/x", fits)));
        assert!(too_long(&create_op("/x", fits + 1)));
        assert_eq!(check_len(&create_op("/x", fits)), Ok(()));
        assert!(matches!(
            check_len(&create_op("/x", fits + 1)),
            Err(Error::DataTooLarge {
                max: MAX_PACKET,
                ..
            })
        ));
    }
}
