//! The operations a machine can ask for, and what comes back.

use std::fmt;

use futures::future::BoxFuture;
use futures::stream::BoxStream;

use crate::path;
use crate::types::{Acl, AddWatchMode, CreateMode, Stat, WatchedEvent};
use crate::Error;

/// One ZooKeeper request. Paths are as the server sees them once a namespace is applied; the
/// [`Client`](crate::Client) prefixes and strips its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Create a node.
    Create {
        /// Its path (for sequential modes, the prefix of the name).
        path: String,
        /// Its data.
        data: Vec<u8>,
        /// Its ACL.
        acl: Vec<Acl>,
        /// Its mode.
        mode: CreateMode,
    },
    /// Delete a node, optionally only at `version`.
    Delete {
        /// The node.
        path: String,
        /// Expected version; `None` for any.
        version: Option<i32>,
    },
    /// Replace a node's data.
    SetData {
        /// The node.
        path: String,
        /// The new data.
        data: Vec<u8>,
        /// Expected version; `None` for any.
        version: Option<i32>,
    },
    /// Read a node's data and stat, optionally leaving a data watch.
    GetData {
        /// The node.
        path: String,
        /// Leave a one-shot data watch.
        watch: bool,
    },
    /// List a node's children (with the node's stat), optionally leaving a child watch.
    GetChildren {
        /// The node.
        path: String,
        /// Leave a one-shot child watch.
        watch: bool,
    },
    /// Stat a node, optionally leaving an exists watch (set even when the node is absent).
    Exists {
        /// The node.
        path: String,
        /// Leave a one-shot exists watch.
        watch: bool,
    },
    /// Read a node's ACL.
    GetAcl {
        /// The node.
        path: String,
    },
    /// Replace a node's ACL.
    SetAcl {
        /// The node.
        path: String,
        /// The new ACL.
        acl: Vec<Acl>,
        /// Expected ACL version; `None` for any.
        version: Option<i32>,
    },
    /// Bring the connected server up to date with the leader before later reads.
    Sync {
        /// The path (ZooKeeper ignores it beyond validation).
        path: String,
    },
    /// Apply all of `ops` atomically, or none.
    Multi(Vec<MultiOp>),
    /// Several reads in one request (ZooKeeper 3.6+ `multiRead`), answered together from one
    /// state of the server's tree; each read succeeds or fails on its own. No watches.
    MultiRead(Vec<ReadOp>),
    /// Add a persistent or persistent-recursive watch (ZooKeeper 3.6+).
    AddWatch {
        /// The node.
        path: String,
        /// Which kind.
        mode: AddWatchMode,
    },
}

/// One operation inside a [`Op::Multi`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultiOp {
    /// Fail the multi unless the node exists at `version` (`None`: at any version).
    Check {
        /// The node.
        path: String,
        /// Expected version.
        version: Option<i32>,
    },
    /// Create a node.
    Create {
        /// Path.
        path: String,
        /// Data.
        data: Vec<u8>,
        /// ACL.
        acl: Vec<Acl>,
        /// Mode.
        mode: CreateMode,
    },
    /// Delete a node.
    Delete {
        /// Path.
        path: String,
        /// Expected version.
        version: Option<i32>,
    },
    /// Set a node's data.
    SetData {
        /// Path.
        path: String,
        /// Data.
        data: Vec<u8>,
        /// Expected version.
        version: Option<i32>,
    },
}

/// One read inside an [`Op::MultiRead`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadOp {
    /// A node's data and stat.
    GetData {
        /// The node.
        path: String,
    },
    /// A node's children (without its stat: ZooKeeper's `multiRead` sends none).
    GetChildren {
        /// The node.
        path: String,
    },
}

impl ReadOp {
    /// The path the read touches.
    pub fn path(&self) -> &str {
        match self {
            ReadOp::GetData { path } | ReadOp::GetChildren { path } => path,
        }
    }

    /// The same read of another path.
    pub fn with_path(&self, path: String) -> ReadOp {
        match self {
            ReadOp::GetData { .. } => ReadOp::GetData { path },
            ReadOp::GetChildren { .. } => ReadOp::GetChildren { path },
        }
    }
}

impl MultiOp {
    /// Checks the operation's path, as [`Op::validate`] does.
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            MultiOp::Create { path, mode, .. } => path::validate_create(path, mode.is_sequential()),
            other => path::validate(other.path()),
        }
    }

    /// The path the operation touches.
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Check { path, .. }
            | MultiOp::Create { path, .. }
            | MultiOp::Delete { path, .. }
            | MultiOp::SetData { path, .. } => path,
        }
    }
}

impl Op {
    /// The request's name as ZooKeeper calls it (`"create"`, `"getData"`, `"multiRead"`, ...),
    /// for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Create { .. } => "create",
            Op::Delete { .. } => "delete",
            Op::SetData { .. } => "setData",
            Op::GetData { .. } => "getData",
            Op::GetChildren { .. } => "getChildren",
            Op::Exists { .. } => "exists",
            Op::GetAcl { .. } => "getACL",
            Op::SetAcl { .. } => "setACL",
            Op::Sync { .. } => "sync",
            Op::Multi(_) => "multi",
            Op::MultiRead(_) => "multiRead",
            Op::AddWatch { .. } => "addWatch",
        }
    }

    /// Checks the op as ZooKeeper's Java client does before sending it: every path follows
    /// ZooKeeper's path rules ([`path::validate`]; a sequential create's path may end in `/`,
    /// [`path::validate_create`]). Both transports and the [`Client`](crate::Client) apply it,
    /// so a bad path is [`Error::InvalidPath`] everywhere. The size of the request is the
    /// server's rule, not the client's: see [`wire`](crate::wire).
    ///
    /// ```
    /// use docent::Op;
    /// assert!(Op::Sync { path: "/a/b".into() }.validate().is_ok());
    /// assert!(Op::Sync { path: "/a/".into() }.validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            Op::Create { path, mode, .. } => path::validate_create(path, mode.is_sequential()),
            Op::Multi(ops) => ops.iter().try_for_each(MultiOp::validate),
            Op::MultiRead(reads) => reads.iter().try_for_each(|r| path::validate(r.path())),
            other => other.path().map_or(Ok(()), path::validate),
        }
    }

    /// The same op with every path (those of a multi's or a multi-read's parts too) replaced
    /// by `f` of it (a chroot or a namespace).
    ///
    /// ```
    /// use docent::Op;
    ///
    /// let op = Op::Sync { path: "/a".into() }.map_paths(|p| format!("/root{p}"));
    /// assert_eq!(op.path(), Some("/root/a"));
    /// ```
    pub fn map_paths(mut self, f: impl Fn(&str) -> String) -> Op {
        match &mut self {
            Op::Create { path, .. }
            | Op::Delete { path, .. }
            | Op::SetData { path, .. }
            | Op::GetData { path, .. }
            | Op::GetChildren { path, .. }
            | Op::Exists { path, .. }
            | Op::GetAcl { path }
            | Op::SetAcl { path, .. }
            | Op::Sync { path }
            | Op::AddWatch { path, .. } => *path = f(path),
            Op::Multi(ops) => {
                for op in ops {
                    let (MultiOp::Check { path, .. }
                    | MultiOp::Create { path, .. }
                    | MultiOp::Delete { path, .. }
                    | MultiOp::SetData { path, .. }) = op;
                    *path = f(path);
                }
            }
            Op::MultiRead(reads) => {
                for read in reads {
                    let (ReadOp::GetData { path } | ReadOp::GetChildren { path }) = read;
                    *path = f(path);
                }
            }
        }
        self
    }

    /// The path the operation touches (`None` for a multi or a multi-read).
    pub fn path(&self) -> Option<&str> {
        match self {
            Op::Create { path, .. }
            | Op::Delete { path, .. }
            | Op::SetData { path, .. }
            | Op::GetData { path, .. }
            | Op::GetChildren { path, .. }
            | Op::Exists { path, .. }
            | Op::GetAcl { path }
            | Op::SetAcl { path, .. }
            | Op::Sync { path }
            | Op::AddWatch { path, .. } => Some(path),
            Op::Multi(_) | Op::MultiRead(_) => None,
        }
    }

    /// True when the operation leaves a watch on success.
    pub fn watches(&self) -> bool {
        match self {
            Op::GetData { watch, .. }
            | Op::GetChildren { watch, .. }
            | Op::Exists { watch, .. } => *watch,
            Op::AddWatch { .. } => true,
            _ => false,
        }
    }

    /// True when the operation changes the tree.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Op::Create { .. }
                | Op::Delete { .. }
                | Op::SetData { .. }
                | Op::SetAcl { .. }
                | Op::Multi(_)
        )
    }
}

/// The successful result of an [`Op`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpResult {
    /// A node was created at `path` (with the sequence suffix for sequential modes).
    Created {
        /// The created path.
        path: String,
        /// The new node's stat.
        stat: Stat,
    },
    /// The node was deleted.
    Deleted,
    /// The node's new stat (set data, set ACL).
    Stat(Stat),
    /// A node's data and stat.
    Data {
        /// The data.
        data: Vec<u8>,
        /// The stat.
        stat: Stat,
    },
    /// A node's children (names, in the server's order) and the node's stat.
    Children {
        /// Child names.
        children: Vec<String>,
        /// The parent's stat.
        stat: Stat,
    },
    /// The node's stat, or `None` when it does not exist.
    Exists(Option<Stat>),
    /// A node's ACL and stat.
    Acl {
        /// The ACL.
        acl: Vec<Acl>,
        /// The stat.
        stat: Stat,
    },
    /// The sync completed.
    Synced,
    /// Every operation of a multi succeeded, with these results in order.
    Multi(Vec<MultiResult>),
    /// The persistent watch was added.
    WatchAdded,
    /// The results of a [`Op::MultiRead`], in order.
    MultiRead(Vec<Result<ReadResult, Error>>),
}

/// The result of one read of an [`Op::MultiRead`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadResult {
    /// A node's data and stat.
    Data {
        /// The data.
        data: Vec<u8>,
        /// The stat.
        stat: Stat,
    },
    /// A node's children (names, in the server's order).
    Children {
        /// Child names.
        children: Vec<String>,
    },
}

/// The result of one operation of a successful multi.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultiResult {
    /// The check passed.
    Checked,
    /// The node was created at this path.
    Created {
        /// The created path.
        path: String,
    },
    /// The node was deleted.
    Deleted,
    /// The data was set; the node's new stat.
    DataSet(Stat),
}

/// A watch left by a successful watched read.
pub enum Watch {
    /// A one-shot watch: resolves once with the first change, or with an
    /// [`EventType::Session`](crate::types::EventType::Session) event when the session ends first.
    OneShot(BoxFuture<'static, WatchedEvent>),
    /// A persistent watch: every change, until the session ends.
    Persistent(BoxStream<'static, WatchedEvent>),
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Watch::OneShot(_) => f.write_str("Watch::OneShot"),
            Watch::Persistent(_) => f.write_str("Watch::Persistent"),
        }
    }
}

/// What a [`Coordinator`](crate::Coordinator) returns for a submitted op.
#[derive(Debug)]
pub struct Reply {
    /// The result.
    pub result: OpResult,
    /// The watch the op left, if it asked for one.
    pub watch: Option<Watch>,
}

impl Reply {
    /// A reply without a watch.
    pub fn plain(result: OpResult) -> Reply {
        Reply {
            result,
            watch: None,
        }
    }
}
