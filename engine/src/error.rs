//! The one error type of the engine layer.
//!
//! Variants say who is at fault: the ensemble (ZooKeeper's error codes), the caller (bad path,
//! an oversize request, malformed connect string), a peer that wrote data we cannot read, or a
//! transport that answered with the wrong kind of reply. [`Error::kind`] sorts them into the
//! few groups a caller acts on, and [`Error::is_retryable`] says when trying again may help.
//!
//! ```
//! use docent::error::{Error, ErrorKind};
//! assert_eq!(Error::NoNode.kind(), ErrorKind::NotFound);
//! assert_eq!(Error::ConnectionLoss.kind(), ErrorKind::Connection);
//! assert!(Error::ConnectionLoss.is_retryable());
//! assert!(!Error::InvalidArgument("zero permits".into()).is_retryable());
//! ```

use std::fmt;

/// Errors from ZooKeeper operations and from the recipes built on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // ---- ZooKeeper's own codes (the ensemble or the session says so) ----
    /// A system error inside the server (code -1).
    #[error("ZooKeeper system error")]
    SystemError,
    /// A runtime inconsistency was found (code -2); also the result of the operations of a
    /// failed multi that follow the failing one.
    #[error("runtime inconsistency")]
    RuntimeInconsistency,
    /// A data inconsistency was found (code -3).
    #[error("data inconsistency")]
    DataInconsistency,
    /// The connection to the server was lost while the operation was in flight (code -4). The
    /// outcome is unknown: a mutation may have been applied.
    #[error("connection lost (the operation's outcome is unknown)")]
    ConnectionLoss,
    /// Error while marshalling or unmarshalling data (code -5).
    #[error("marshalling error")]
    MarshallingError,
    /// The operation is not implemented by this server (code -6).
    #[error("operation not implemented by the server")]
    Unimplemented,
    /// The operation timed out (code -7). The outcome is unknown.
    #[error("operation timed out (the operation's outcome is unknown)")]
    OperationTimeout,
    /// Invalid arguments (code -8).
    #[error("bad arguments")]
    BadArguments,
    /// The session is not known to the server (code -12).
    #[error("unknown session")]
    UnknownSession,
    /// A reconfiguration has no quorum (code -13).
    #[error("new configuration has no quorum")]
    NewConfigNoQuorum,
    /// Another reconfiguration is in progress (code -14).
    #[error("reconfiguration in progress")]
    ReconfigInProgress,
    /// The node does not exist (code -101).
    #[error("node does not exist")]
    NoNode,
    /// Not authorised by the node's ACL (code -102).
    #[error("not authorised")]
    NoAuth,
    /// The expected version does not match the node's (code -103).
    #[error("version mismatch")]
    BadVersion,
    /// Ephemeral nodes may not have children (code -108).
    #[error("ephemeral nodes may not have children")]
    NoChildrenForEphemerals,
    /// The node already exists (code -110).
    #[error("node already exists")]
    NodeExists,
    /// The node has children (code -111).
    #[error("node has children")]
    NotEmpty,
    /// The session has expired (code -112).
    #[error("session expired")]
    SessionExpired,
    /// Invalid callback (code -113).
    #[error("invalid callback")]
    InvalidCallback,
    /// Invalid ACL (code -114).
    #[error("invalid ACL")]
    InvalidAcl,
    /// Client authentication failed (code -115).
    #[error("authentication failed")]
    AuthFailed,
    /// The session moved to another server (code -118).
    #[error("session moved to another server")]
    SessionMoved,
    /// A write was sent to a read-only server (code -119).
    #[error("server is read-only")]
    NotReadOnly,
    /// Ephemeral node on a local session (code -120).
    #[error("ephemeral node on a local session")]
    EphemeralOnLocalSession,
    /// No such watcher (code -121).
    #[error("no such watcher")]
    NoWatcher,
    /// The request timed out on the client (code -122). The outcome is unknown.
    #[error("request timed out (the operation's outcome is unknown)")]
    RequestTimeout,
    /// Reconfiguration is disabled (code -123).
    #[error("reconfiguration disabled")]
    ReconfigDisabled,
    /// The session was closed because SASL authentication is required (code -124).
    #[error("session closed: SASL authentication required")]
    SessionClosedRequireSaslAuth,
    /// A quota was exceeded (code -125).
    #[error("quota exceeded")]
    QuotaExceeded,
    /// The server throttled the request (code -127).
    #[error("request throttled")]
    Throttled,
    /// A ZooKeeper code this version of docent does not know.
    #[error("ZooKeeper error code {0}")]
    Other(i32),

    /// Operation `index` of a multi failed with `error`; nothing of the multi was applied.
    #[error("multi failed at operation {index}: {error}")]
    MultiFailed {
        /// Index of the first failing operation.
        index: usize,
        /// Its error.
        error: Box<Error>,
    },

    // ---- the caller's mistakes ----
    /// The path breaks ZooKeeper's path rules.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A request longer than a server reads (`jute.maxbuffer`, see [`crate::wire`]): a node's
    /// data must leave room for the path and the rest of the packet under 1 MiB.
    #[error("request of {len} bytes exceeds the {max}-byte packet limit (jute.maxbuffer)")]
    DataTooLarge {
        /// The request's length as framed on the wire.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A connect string that cannot be parsed.
    #[error("invalid connect string {input:?}: {reason}")]
    InvalidConnectString {
        /// The string as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An argument that makes no sense (zero permits, empty id, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A lease (lock, leadership) was used that is not held, or no longer: it was released,
    /// lost with the session, or its node was deleted. Guarded writes made with it are refused.
    #[error("the lease at {path} is not held")]
    NotHeld {
        /// The lease node, or the recipe's path when there is no node.
        path: String,
    },

    // ---- peers and the client itself ----
    /// A node holds data that this recipe cannot read (written by a foreign or broken peer).
    #[error("corrupt data at {path}: {reason}")]
    CorruptData {
        /// The node.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The transport answered `op` with a reply of the wrong type: a bug in the transport or in
    /// docent, never the server's answer. Built by [`Error::unexpected_reply`].
    #[error("unexpected reply to {op} {path:?}: {reply}")]
    UnexpectedReply {
        /// The path of the request (empty for a multi).
        path: String,
        /// The request's name (`"getData"`, `"multiRead"`, ...; see [`Op::name`](crate::Op::name)).
        op: &'static str,
        /// The reply, as `Debug` prints it.
        reply: String,
    },
    /// Lock `index` (at `path`) of a [`MultiLock`](crate::recipes::multi::MultiLock) failed
    /// with `error`; the locks taken before it were released.
    #[error("multi-lock failed on lock {index} ({path}): {error}")]
    LockFailed {
        /// The failing lock's position in the multi-lock's order.
        index: usize,
        /// Its path.
        path: String,
        /// Its error.
        error: Box<Error>,
    },
    /// The client, recipe or session was closed.
    #[error("closed")]
    Closed,
    /// Waited longer than the caller allowed.
    #[error("timed out")]
    Timeout,
    /// The connection to the ensemble is suspended or lost and the operation cannot proceed.
    #[error("not connected to the ensemble")]
    NotConnected,
}

/// Who is at fault, and so what a caller can do about an [`Error`]; see [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's mistake: a bad path or argument, an oversize request, a malformed connect
    /// string, an op on something not held. Retrying the same call fails the same way.
    Usage,
    /// The server's answer: the node does not exist.
    NotFound,
    /// The server's answer: the node already exists (or, for a delete, still has children).
    Exists,
    /// The server's answer: the node is not at the expected version.
    Version,
    /// The connection failed while the request was in flight, or there is none: the outcome is
    /// unknown (a mutation may have been applied). Retryable.
    Connection,
    /// The session is gone (expired, moved, unknown to the server): its ephemerals are gone.
    SessionGone,
    /// A node holds data this recipe cannot read: written by a foreign or broken peer.
    CorruptData,
    /// The server refused the request: authentication or ACL, a write on a read-only server,
    /// an operation it does not implement, a quota, throttling, reconfiguration rules.
    Refused,
    /// The server failed internally (system error, inconsistency, marshalling, an unknown code).
    ServerFault,
    /// The transport answered with the wrong kind of reply: a bug in it or in docent.
    Internal,
    /// The client, recipe or session was closed.
    Closed,
    /// The caller's own deadline passed.
    Timeout,
}

impl Error {
    /// Who is at fault, and so what the caller can do about it. A failed multi has the kind
    /// of the operation that failed.
    pub fn kind(&self) -> ErrorKind {
        use Error::*;
        match self {
            InvalidPath { .. }
            | DataTooLarge { .. }
            | InvalidConnectString { .. }
            | InvalidArgument(_)
            | NotHeld { .. }
            | BadArguments
            | InvalidAcl
            | InvalidCallback
            | NoChildrenForEphemerals
            | EphemeralOnLocalSession => ErrorKind::Usage,
            NoNode | NoWatcher => ErrorKind::NotFound,
            NodeExists | NotEmpty => ErrorKind::Exists,
            BadVersion => ErrorKind::Version,
            ConnectionLoss | OperationTimeout | RequestTimeout | NotConnected => {
                ErrorKind::Connection
            }
            SessionExpired | SessionMoved | UnknownSession => ErrorKind::SessionGone,
            CorruptData { .. } => ErrorKind::CorruptData,
            NoAuth
            | AuthFailed
            | SessionClosedRequireSaslAuth
            | NotReadOnly
            | Unimplemented
            | QuotaExceeded
            | Throttled
            | NewConfigNoQuorum
            | ReconfigInProgress
            | ReconfigDisabled => ErrorKind::Refused,
            SystemError | RuntimeInconsistency | DataInconsistency | MarshallingError
            | Other(_) => ErrorKind::ServerFault,
            UnexpectedReply { .. } => ErrorKind::Internal,
            MultiFailed { error, .. } | LockFailed { error, .. } => error.kind(),
            Closed => ErrorKind::Closed,
            Timeout => ErrorKind::Timeout,
        }
    }

    /// The error for a reply of the wrong type to a request: logged, and returned as
    /// [`Error::UnexpectedReply`]. `op` is the request's [`Op::name`](crate::Op::name).
    pub fn unexpected_reply(path: &str, op: &'static str, reply: &dyn fmt::Debug) -> Error {
        let reply = format!("{reply:?}");
        tracing::error!(
            path,
            op,
            reply,
            "the transport answered with the wrong reply type"
        );
        Error::UnexpectedReply {
            path: path.to_owned(),
            op,
            reply,
        }
    }

    /// ZooKeeper's numeric code for this error, if it is one of ZooKeeper's.
    pub fn code(&self) -> Option<i32> {
        use Error::*;
        Some(match self {
            SystemError => -1,
            RuntimeInconsistency => -2,
            DataInconsistency => -3,
            ConnectionLoss => -4,
            MarshallingError => -5,
            Unimplemented => -6,
            OperationTimeout => -7,
            BadArguments => -8,
            UnknownSession => -12,
            NewConfigNoQuorum => -13,
            ReconfigInProgress => -14,
            NoNode => -101,
            NoAuth => -102,
            BadVersion => -103,
            NoChildrenForEphemerals => -108,
            NodeExists => -110,
            NotEmpty => -111,
            SessionExpired => -112,
            InvalidCallback => -113,
            InvalidAcl => -114,
            AuthFailed => -115,
            SessionMoved => -118,
            NotReadOnly => -119,
            EphemeralOnLocalSession => -120,
            NoWatcher => -121,
            RequestTimeout => -122,
            ReconfigDisabled => -123,
            SessionClosedRequireSaslAuth => -124,
            QuotaExceeded => -125,
            Throttled => -127,
            Other(code) => *code,
            _ => return None,
        })
    }

    /// The error for ZooKeeper's numeric `code` (0 is not an error and maps to `Other(0)`).
    pub fn from_code(code: i32) -> Error {
        use Error::*;
        match code {
            -1 => SystemError,
            -2 => RuntimeInconsistency,
            -3 => DataInconsistency,
            -4 => ConnectionLoss,
            -5 => MarshallingError,
            -6 => Unimplemented,
            -7 => OperationTimeout,
            -8 => BadArguments,
            -12 => UnknownSession,
            -13 => NewConfigNoQuorum,
            -14 => ReconfigInProgress,
            -101 => NoNode,
            -102 => NoAuth,
            -103 => BadVersion,
            -108 => NoChildrenForEphemerals,
            -110 => NodeExists,
            -111 => NotEmpty,
            -112 => SessionExpired,
            -113 => InvalidCallback,
            -114 => InvalidAcl,
            -115 => AuthFailed,
            -118 => SessionMoved,
            -119 => NotReadOnly,
            -120 => EphemeralOnLocalSession,
            -121 => NoWatcher,
            -122 => RequestTimeout,
            -123 => ReconfigDisabled,
            -124 => SessionClosedRequireSaslAuth,
            -125 => QuotaExceeded,
            -127 => Throttled,
            other => Other(other),
        }
    }

    /// True when the operation may or may not have been applied (connection loss, timeouts).
    /// Recipes resolve such outcomes by looking, never by guessing.
    pub fn is_unknown_outcome(&self) -> bool {
        matches!(
            self,
            Error::ConnectionLoss | Error::OperationTimeout | Error::RequestTimeout
        )
    }

    /// True when the session is gone (expired or closed by the server).
    pub fn is_session_lost(&self) -> bool {
        matches!(self, Error::SessionExpired | Error::SessionMoved)
    }

    /// True when retrying the same operation after a reconnect may succeed (Curator's
    /// `RetryLoop.shouldRetry`): every [`ErrorKind::Connection`] error, and a session that
    /// expired or moved (the retry runs on the next session).
    pub fn is_retryable(&self) -> bool {
        if let Error::LockFailed { error, .. } = self {
            return error.is_retryable();
        }
        matches!(
            self,
            Error::ConnectionLoss
                | Error::OperationTimeout
                | Error::RequestTimeout
                | Error::SessionMoved
                | Error::SessionExpired
                | Error::NotConnected
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for code in [
            -1, -2, -3, -4, -5, -6, -7, -8, -12, -13, -14, -101, -102, -103, -108,
        ]
        .into_iter()
        .chain([
            -110, -111, -112, -113, -114, -115, -118, -119, -120, -121, -122,
        ])
        .chain([-123, -124, -125, -127, -999])
        {
            assert_eq!(Error::from_code(code).code(), Some(code));
        }
        assert_eq!(Error::Closed.code(), None);
    }

    #[test]
    fn kinds_say_who_is_at_fault() {
        assert_eq!(Error::BadVersion.kind(), ErrorKind::Version);
        assert_eq!(Error::NotEmpty.kind(), ErrorKind::Exists);
        assert_eq!(Error::SessionExpired.kind(), ErrorKind::SessionGone);
        assert_eq!(Error::NotReadOnly.kind(), ErrorKind::Refused);
        assert_eq!(Error::MarshallingError.kind(), ErrorKind::ServerFault);
        let failed = Error::MultiFailed {
            index: 1,
            error: Box::new(Error::NoNode),
        };
        assert_eq!(failed.kind(), ErrorKind::NotFound);
        let odd = Error::unexpected_reply("/a", "getData", &"Deleted");
        assert_eq!(odd.kind(), ErrorKind::Internal);
        assert_eq!(odd.code(), None, "not one of ZooKeeper's codes");
        assert!(!odd.is_retryable());
        for e in [
            Error::ConnectionLoss,
            Error::NotConnected,
            Error::SessionMoved,
        ] {
            assert!(e.is_retryable(), "{e}");
        }
    }
}
