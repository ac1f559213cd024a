//! Translations between docent's vocabulary and `zookeeper-client`'s.
//!
//! Every `zookeeper-client` error lands on one [`docent::Error`] code; errors the client raises
//! for a broken or timed-out connection become [`Error::ConnectionLoss`] (outcome unknown), so
//! recipes resolve them by looking, as they must.

use std::time::Duration;

use docent::{Acl, CreateMode, Error, EventType, Id, Perms, SessionState, Stat, WatchedEvent};
use zookeeper_client as zk;

/// Maps a `zookeeper-client` error to docent's.
pub(crate) fn error(err: zk::Error) -> Error {
    use zk::Error as Z;
    match err {
        Z::NoNode => Error::NoNode,
        Z::NoAuth => Error::NoAuth,
        Z::BadVersion => Error::BadVersion,
        Z::NoChildrenForEphemerals => Error::NoChildrenForEphemerals,
        Z::NodeExists => Error::NodeExists,
        Z::NotEmpty => Error::NotEmpty,
        Z::SessionExpired => Error::SessionExpired,
        Z::InvalidAcl => Error::InvalidAcl,
        Z::AuthFailed => Error::AuthFailed,
        Z::SessionMoved => Error::SessionMoved,
        Z::NotReadOnly => Error::NotReadOnly,
        Z::NoWatcher => Error::NoWatcher,
        Z::QuotaExceeded => Error::QuotaExceeded,
        Z::Throttled => Error::Throttled,
        Z::MarshallingError => Error::MarshallingError,
        Z::Unimplemented => Error::Unimplemented,
        Z::ConnectionLoss => Error::ConnectionLoss,
        Z::ReconfigDisabled => Error::ReconfigDisabled,
        Z::RuntimeInconsistent => Error::RuntimeInconsistency,
        Z::UnexpectedErrorCode(code) => Error::from_code(code),
        Z::BadArguments(_) => Error::BadArguments,
        // The reply could not be decoded: the server (or the wire) sent garbage.
        Z::UnmarshalError { .. } => Error::MarshallingError,
        // The client gave up waiting: whatever was in flight has an unknown outcome.
        Z::Timeout => Error::OperationTimeout,
        // I/O failures of the connection reach in-flight requests as custom errors.
        Z::Custom(_) | Z::NoHosts => Error::ConnectionLoss,
        Z::ClientClosed => Error::Closed,
        Z::UnexpectedError(_) => Error::SystemError,
        // `zookeeper_client::Error` is non-exhaustive; a future variant is a system error until
        // it gets its own arm.
        _ => Error::SystemError,
    }
}

/// Maps a node stat.
pub(crate) fn stat(s: &zk::Stat) -> Stat {
    Stat {
        czxid: s.czxid,
        mzxid: s.mzxid,
        ctime: s.ctime,
        mtime: s.mtime,
        version: s.version,
        cversion: s.cversion,
        aversion: s.aversion,
        ephemeral_owner: s.ephemeral_owner,
        data_length: s.data_length,
        num_children: s.num_children,
        pzxid: s.pzxid,
    }
}

const PERMISSIONS: [(Perms, zk::Permission); 5] = [
    (Perms::READ, zk::Permission::READ),
    (Perms::WRITE, zk::Permission::WRITE),
    (Perms::CREATE, zk::Permission::CREATE),
    (Perms::DELETE, zk::Permission::DELETE),
    (Perms::ADMIN, zk::Permission::ADMIN),
];

/// Maps an ACL entry to the client's.
pub(crate) fn to_zk_acl(acl: &Acl) -> zk::Acl {
    let permission = PERMISSIONS
        .iter()
        .filter(|(ours, _)| acl.perms.contains(*ours))
        .fold(zk::Permission::NONE, |all, (_, theirs)| all | *theirs);
    zk::Acl::new(permission, zk::AuthId::new(&acl.id.scheme, &acl.id.id))
}

/// Maps an ACL entry from the client's.
pub(crate) fn from_zk_acl(acl: &zk::Acl) -> Acl {
    let perms = PERMISSIONS
        .iter()
        .filter(|(_, theirs)| acl.permission().has(*theirs))
        .fold(Perms(0), |all, (ours, _)| all | *ours);
    Acl::new(perms, Id::new(acl.scheme(), acl.id()))
}

/// The client's create mode and TTL for `mode`.
pub(crate) fn create_mode(mode: CreateMode) -> (zk::CreateMode, Option<Duration>) {
    match mode {
        CreateMode::Persistent => (zk::CreateMode::Persistent, None),
        CreateMode::PersistentSequential => (zk::CreateMode::PersistentSequential, None),
        CreateMode::Ephemeral => (zk::CreateMode::Ephemeral, None),
        CreateMode::EphemeralSequential => (zk::CreateMode::EphemeralSequential, None),
        CreateMode::Container => (zk::CreateMode::Container, None),
        CreateMode::PersistentWithTtl(ttl) => (zk::CreateMode::Persistent, Some(ttl)),
        CreateMode::PersistentSequentialWithTtl(ttl) => {
            (zk::CreateMode::PersistentSequential, Some(ttl))
        }
        // `CreateMode` is non-exhaustive: a mode added later is refused, not guessed.
        #[allow(unreachable_patterns)]
        _ => (zk::CreateMode::Persistent, Some(Duration::ZERO)),
    }
}

/// The session state for a terminal client state (`None` for the connected ones).
pub(crate) fn terminal_state(state: zk::SessionState) -> Option<SessionState> {
    match state {
        zk::SessionState::Expired => Some(SessionState::Expired),
        zk::SessionState::AuthFailed => Some(SessionState::AuthFailed),
        zk::SessionState::Closed => Some(SessionState::Closed),
        _ => None,
    }
}

/// Maps a watch event. Session events that do not end the watch (disconnected, connected)
/// give `None`: docent's watches only report a session state when no further event will come.
pub(crate) fn watched_event(event: zk::WatchedEvent) -> Option<WatchedEvent> {
    let kind = match event.event_type {
        zk::EventType::NodeCreated => EventType::NodeCreated,
        zk::EventType::NodeDeleted => EventType::NodeDeleted,
        zk::EventType::NodeDataChanged => EventType::NodeDataChanged,
        zk::EventType::NodeChildrenChanged => EventType::NodeChildrenChanged,
        zk::EventType::Session => EventType::Session(terminal_state(event.session_state)?),
    };
    let path = match kind {
        EventType::Session(_) => String::new(),
        _ => event.path,
    };
    Some(WatchedEvent { kind, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acl_round_trip() {
        for acl in [
            Acl::new(Perms::ALL, Id::anyone()),
            Acl::new(Perms::READ | Perms::ADMIN, Id::new("digest", "u:hash=")),
            Acl::new(Perms(0), Id::new("ip", "10.0.0.0/8")),
        ] {
            assert_eq!(from_zk_acl(&to_zk_acl(&acl)), acl);
        }
        assert_eq!(
            to_zk_acl(&Acl::new(Perms::ALL, Id::anyone())).permission(),
            zk::Permission::ALL
        );
    }

    #[test]
    fn errors_keep_their_codes() {
        assert_eq!(error(zk::Error::NodeExists), Error::NodeExists);
        assert_eq!(
            error(zk::Error::UnexpectedErrorCode(-13)),
            Error::NewConfigNoQuorum
        );
        assert_eq!(
            error(zk::Error::UnexpectedErrorCode(-999)),
            Error::Other(-999)
        );
        assert_eq!(
            error(zk::Error::RuntimeInconsistent),
            Error::RuntimeInconsistency
        );
        assert!(error(zk::Error::Timeout).is_unknown_outcome());
        assert!(error(zk::Error::ConnectionLoss).is_unknown_outcome());
        assert_eq!(error(zk::Error::ClientClosed), Error::Closed);
    }

    #[test]
    fn only_terminal_session_events_reach_watches() {
        let ev = |state| zk::WatchedEvent::new_session(state);
        assert_eq!(watched_event(ev(zk::SessionState::Disconnected)), None);
        assert_eq!(watched_event(ev(zk::SessionState::SyncConnected)), None);
        assert_eq!(
            watched_event(ev(zk::SessionState::Expired)),
            Some(WatchedEvent {
                kind: EventType::Session(SessionState::Expired),
                path: String::new()
            })
        );
        let data = zk::WatchedEvent::new(zk::EventType::NodeDataChanged, "/a");
        assert_eq!(
            watched_event(data).map(|e| (e.kind, e.path)),
            Some((EventType::NodeDataChanged, "/a".to_string()))
        );
    }
}
