//! The committed log's entries: what the leader ordered, applied by every server in zxid order.

use std::collections::BTreeSet;
use std::sync::Arc;

use docent::{Id, Op};

/// One committed transaction. Each server applies the log in order with the same
/// deterministic function, so every server computes the same results at its own pace.
#[derive(Debug, Clone)]
pub(crate) struct Txn {
    /// Its zxid: the leader's epoch in the high 32 bits, a counter in the low 32.
    pub(crate) zxid: i64,
    /// The leader's wall clock when it ordered the txn (ctime / mtime), in Unix milliseconds.
    pub(crate) time: i64,
    /// The session that asked for it (0 for the server's own txns).
    pub(crate) session: i64,
    /// The authenticated ids of the asking connection (for ACL checks).
    pub(crate) ids: Arc<[Id]>,
    /// What to do.
    pub(crate) body: TxnBody,
}

/// What a transaction does.
#[derive(Debug, Clone)]
pub(crate) enum TxnBody {
    /// A new session with this negotiated timeout.
    CreateSession,
    /// The session ends (closed by its client or expired by the leader): its ephemerals go.
    CloseSession,
    /// A client's write (create, delete, set data, set ACL, multi), checked on apply. A failed
    /// write still takes a zxid, as ZooKeeper's error txns do.
    Write(Op),
    /// The leader's container / TTL reaper deletes this node if it still qualifies.
    DeleteContainer(String),
    /// Test hook ([`Fault::AgeVersion`](super::Fault::AgeVersion)): the node's data version
    /// becomes `version`.
    AgeVersion {
        /// The node.
        path: String,
        /// Its new data version.
        version: i32,
    },
    /// A reconfiguration: these servers are the members from now on; `/zookeeper/config`
    /// lists them (with wildcard client addresses if `wildcard`).
    Reconfig {
        /// The new members.
        members: BTreeSet<usize>,
        /// Whether client addresses are `0.0.0.0`.
        wildcard: bool,
    },
}

/// A committed log entry and when the leader committed it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) txn: Txn,
    pub(crate) commit_at: docent::Instant,
}
