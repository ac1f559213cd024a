//! ZooKeeper's vocabulary: create modes, node stats, ACLs, watch events and session states.

use std::fmt;
use std::time::Duration;

/// How a node is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CreateMode {
    /// Lives until deleted.
    Persistent,
    /// Persistent, with the parent's `%010d` sequence appended to the name.
    PersistentSequential,
    /// Deleted when the creating session ends.
    Ephemeral,
    /// Ephemeral, with a sequence suffix.
    EphemeralSequential,
    /// Deleted by the server some time after its last child is removed (ZooKeeper 3.5.3+).
    Container,
    /// Persistent, deleted by the server once it has no children and has not been modified for
    /// the TTL (needs `zookeeper.extendedTypesEnabled`).
    PersistentWithTtl(Duration),
    /// [`CreateMode::PersistentWithTtl`] with a sequence suffix.
    PersistentSequentialWithTtl(Duration),
}

impl CreateMode {
    /// True for the modes whose name gets a sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl(_)
        )
    }

    /// True for the modes that vanish with their session.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// The TTL of the TTL modes.
    pub fn ttl(self) -> Option<Duration> {
        match self {
            CreateMode::PersistentWithTtl(ttl) | CreateMode::PersistentSequentialWithTtl(ttl) => {
                Some(ttl)
            }
            _ => None,
        }
    }
}

/// A node's metadata, with all of ZooKeeper's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stat {
    /// Zxid of the change that created the node.
    pub czxid: i64,
    /// Zxid of the change that last modified the node's data.
    pub mzxid: i64,
    /// Creation time, milliseconds since the Unix epoch (server clock).
    pub ctime: i64,
    /// Last modification time, milliseconds since the Unix epoch.
    pub mtime: i64,
    /// Number of changes to the data.
    pub version: i32,
    /// Number of changes to the children.
    pub cversion: i32,
    /// Number of changes to the ACL.
    pub aversion: i32,
    /// Session id of the owner of an ephemeral node, else 0.
    pub ephemeral_owner: i64,
    /// Length of the data.
    pub data_length: i32,
    /// Number of children.
    pub num_children: i32,
    /// Zxid of the change that last modified the children.
    pub pzxid: i64,
}

/// ACL permission bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Perms(pub u32);

impl Perms {
    /// Read data and list children.
    pub const READ: Perms = Perms(1);
    /// Set data.
    pub const WRITE: Perms = Perms(2);
    /// Create children.
    pub const CREATE: Perms = Perms(4);
    /// Delete children.
    pub const DELETE: Perms = Perms(8);
    /// Set the ACL.
    pub const ADMIN: Perms = Perms(16);
    /// Everything.
    pub const ALL: Perms = Perms(31);

    /// True when every bit of `other` is set in `self`.
    pub fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Perms {
    type Output = Perms;
    fn bitor(self, rhs: Perms) -> Perms {
        Perms(self.0 | rhs.0)
    }
}

impl fmt::Debug for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [(1, 'r'), (2, 'w'), (4, 'c'), (8, 'd'), (16, 'a')];
        let s: String = names
            .iter()
            .filter(|(bit, _)| self.0 & bit != 0)
            .map(|(_, c)| *c)
            .collect();
        write!(f, "Perms({s})")
    }
}

/// An identity in an ACL: a scheme (`world`, `auth`, `digest`, `ip`, …) and an id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id {
    /// The scheme.
    pub scheme: String,
    /// The id within the scheme (`anyone`, `user:base64(sha1(user:password))`, `10.0.0.0/8`).
    pub id: String,
}

impl Id {
    /// An id from its parts.
    pub fn new(scheme: impl Into<String>, id: impl Into<String>) -> Id {
        Id {
            scheme: scheme.into(),
            id: id.into(),
        }
    }

    /// `world:anyone`.
    pub fn anyone() -> Id {
        Id::new("world", "anyone")
    }

    /// `auth:` — whoever the creating session authenticated as.
    pub fn authenticated() -> Id {
        Id::new("auth", "")
    }
}

/// One ACL entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Acl {
    /// What the id may do.
    pub perms: Perms,
    /// Who.
    pub id: Id,
}

impl Acl {
    /// An entry from its parts.
    pub fn new(perms: Perms, id: Id) -> Acl {
        Acl { perms, id }
    }

    /// `world:anyone` with every permission (ZooKeeper's `OPEN_ACL_UNSAFE`).
    pub fn open() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, Id::anyone())]
    }

    /// Every permission for the creator's authenticated ids (`CREATOR_ALL_ACL`).
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::new(Perms::ALL, Id::authenticated())]
    }

    /// Read for anyone (`READ_ACL_UNSAFE`).
    pub fn read_only() -> Vec<Acl> {
        vec![Acl::new(Perms::READ, Id::anyone())]
    }
}

/// Credentials added to a session (`addAuthInfo`), e.g. scheme `digest`, auth `user:password`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuthInfo {
    /// The scheme.
    pub scheme: String,
    /// The credentials.
    pub auth: Vec<u8>,
}

impl AuthInfo {
    /// Digest credentials `user:password`.
    pub fn digest(user: &str, password: &str) -> AuthInfo {
        AuthInfo {
            scheme: "digest".into(),
            auth: format!("{user}:{password}").into_bytes(),
        }
    }
}

/// What changed, for a watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// The node was created (exists watch).
    NodeCreated,
    /// The node was deleted.
    NodeDeleted,
    /// The node's data changed.
    NodeDataChanged,
    /// The node's children changed.
    NodeChildrenChanged,
    /// The watch was removed by the server or ended with its session: no further event will
    /// come from it. The state says why.
    Session(SessionState),
}

/// A fired watch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WatchedEvent {
    /// What happened.
    pub kind: EventType,
    /// The node it happened to (empty for session events).
    pub path: String,
}

/// Raw session states as the ZooKeeper client reports them. The framework turns these into
/// Curator's connection states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionState {
    /// Connected to a server; `session_id` is the session's id (a new id means a new session).
    Connected {
        /// The session id.
        session_id: i64,
        /// The timeout the server negotiated.
        timeout: std::time::Duration,
        /// True when connected to a read-only server.
        read_only: bool,
    },
    /// The connection to the server was lost; the session may still be alive.
    Disconnected,
    /// The ensemble expired the session: its ephemerals and watches are gone.
    Expired,
    /// Authentication failed.
    AuthFailed,
    /// The session was closed by this client.
    Closed,
}

/// The kind of watch added by `addWatch` (ZooKeeper 3.6+).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddWatchMode {
    /// Data and child changes of the node itself, not removed when triggered.
    Persistent,
    /// Data changes of the node and of every descendant, created and deleted events for every
    /// descendant; not removed when triggered.
    PersistentRecursive,
}
