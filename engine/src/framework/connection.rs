//! From raw session states to Curator's connection states, sans-IO.
//!
//! ```text
//!  raw input                     current state            emitted
//!  Connected{rw} (first time)    none                  →  CONNECTED
//!  Connected{ro}                 any                   →  READ_ONLY
//!  Disconnected                  CONNECTED/RECONNECTED/READ_ONLY → SUSPENDED (timer armed)
//!  timer: one session timeout    SUSPENDED             →  LOST (injected, once per outage)
//!  Expired / AuthFailed          not LOST              →  LOST
//!  Expired                       LOST (injected)       →  nothing
//!  Connected{rw}, same session   SUSPENDED/LOST/READ_ONLY → RECONNECTED
//!  Connected{rw}, new session    LOST                  →  RECONNECTED
//!  Connected{rw}, new session    not LOST              →  LOST, RECONNECTED
//!  the same raw state again      any                   →  nothing
//! ```
//!
//! The client-side LOST is Curator 3+'s answer to an ensemble that cannot be reached at all:
//! the server cannot tell us the session expired, so once a whole negotiated session timeout
//! has passed in SUSPENDED we assume it did.

use std::collections::VecDeque;
use std::time::Duration;

use crate::coverage;
use crate::framework::ConnectionState;
use crate::time::Instant;
use crate::types::SessionState;

/// Which connection states end leadership and lock ownership (Curator's
/// `ConnectionStateErrorPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ErrorPolicy {
    /// SUSPENDED and LOST (Curator's `StandardConnectionStateErrorPolicy`). The safe default.
    #[default]
    Standard,
    /// Only LOST (`SessionConnectionStateErrorPolicy`): tolerates short partitions, at the price
    /// of a window in which two processes may both believe they lead. Use with fencing.
    SessionOnly,
}

impl ErrorPolicy {
    /// True when `state` must end leadership / lock ownership under this policy.
    pub fn is_error_state(self, state: ConnectionState) -> bool {
        match self {
            ErrorPolicy::Standard => {
                matches!(state, ConnectionState::Suspended | ConnectionState::Lost)
            }
            ErrorPolicy::SessionOnly => state == ConnectionState::Lost,
        }
    }
}

/// Turns raw [`SessionState`]s into [`ConnectionState`]s, injecting LOST on a long outage.
///
/// Inputs: [`handle_session`](Self::handle_session), [`handle_timeout`](Self::handle_timeout).
/// Outputs: [`poll_state`](Self::poll_state) (drain after every input) and
/// [`poll_timeout`](Self::poll_timeout) (ask after every input).
#[derive(Debug, Clone)]
pub struct ConnectionStateManager {
    current: Option<ConnectionState>,
    last_raw: Option<SessionState>,
    session_id: i64,
    session_timeout: Duration,
    /// When the current SUSPENDED began (None when not suspended or LOST already emitted).
    suspended_since: Option<Instant>,
    pending: VecDeque<ConnectionState>,
}

impl ConnectionStateManager {
    /// A manager that has seen nothing yet. `session_timeout` is used until a connection
    /// reports the negotiated one.
    pub fn new(session_timeout: Duration) -> Self {
        ConnectionStateManager {
            current: None,
            last_raw: None,
            session_id: 0,
            session_timeout,
            suspended_since: None,
            pending: VecDeque::new(),
        }
    }

    /// Feeds one raw session state.
    pub fn handle_session(&mut self, now: Instant, state: SessionState) {
        if self.last_raw == Some(state) {
            return;
        }
        self.last_raw = Some(state);
        match state {
            SessionState::Connected {
                session_id,
                timeout,
                read_only,
            } => {
                self.session_timeout = timeout;
                self.suspended_since = None;
                let new_session = self.session_id != 0 && self.session_id != session_id;
                self.session_id = session_id;
                if new_session && self.current != Some(ConnectionState::Lost) {
                    self.emit(ConnectionState::Lost);
                }
                let next = if read_only {
                    ConnectionState::ReadOnly
                } else if self.current.is_none() {
                    ConnectionState::Connected
                } else {
                    ConnectionState::Reconnected
                };
                self.emit(next);
            }
            SessionState::Disconnected => {
                if self.current.is_some_and(ConnectionState::is_connected) {
                    self.suspended_since = Some(now);
                    self.emit(ConnectionState::Suspended);
                }
            }
            SessionState::Expired | SessionState::AuthFailed => {
                self.suspended_since = None;
                if self.current.is_some() {
                    if self.current != Some(ConnectionState::Lost) {
                        coverage::hit("client.lost_expired");
                    }
                    self.emit(ConnectionState::Lost);
                }
            }
            SessionState::Closed => {
                self.suspended_since = None;
            }
        }
    }

    /// Call when the instant from [`poll_timeout`](Self::poll_timeout) has passed. Returns
    /// true when it declared LOST: the session is then to be abandoned
    /// ([`Coordinator::abandon_session`](crate::Coordinator::abandon_session)), as Curator
    /// injects a session expiration.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        match self.suspended_since {
            Some(since) if now.saturating_since(since) >= self.session_timeout => {
                self.suspended_since = None;
                coverage::hit("client.lost_injected");
                self.emit(ConnectionState::Lost);
                true
            }
            _ => false,
        }
    }

    /// The next new connection state. Drain after every input.
    #[must_use]
    pub fn poll_state(&mut self) -> Option<ConnectionState> {
        self.pending.pop_front()
    }

    /// When to call [`handle_timeout`](Self::handle_timeout): a session timeout after the
    /// current SUSPENDED began, if LOST has not been emitted for this outage yet.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.suspended_since
            .map(|since| since + self.session_timeout)
    }

    /// The last state emitted (None before the first connection).
    pub fn current(&self) -> Option<ConnectionState> {
        self.current
    }

    /// The id of the last session that connected (0 before the first).
    pub fn session_id(&self) -> i64 {
        self.session_id
    }

    /// The negotiated (or, before the first connection, requested) session timeout.
    pub fn session_timeout(&self) -> Duration {
        self.session_timeout
    }

    fn emit(&mut self, state: ConnectionState) {
        if self.current != Some(state) {
            self.current = Some(state);
            self.pending.push_back(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionState::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    fn at(secs: u64) -> Instant {
        Instant::from_epoch(Duration::from_secs(secs))
    }

    fn connected(session_id: i64) -> SessionState {
        SessionState::Connected {
            session_id,
            timeout: TIMEOUT,
            read_only: false,
        }
    }

    fn feed(m: &mut ConnectionStateManager, now: u64, s: SessionState) -> Vec<ConnectionState> {
        m.handle_session(at(now), s);
        std::iter::from_fn(|| m.poll_state()).collect()
    }

    fn tick(m: &mut ConnectionStateManager, now: u64) -> Vec<ConnectionState> {
        m.handle_timeout(at(now));
        std::iter::from_fn(|| m.poll_state()).collect()
    }

    #[test]
    fn connected_once_then_suspended_and_reconnected() {
        let mut m = ConnectionStateManager::new(Duration::from_secs(30));
        assert_eq!(feed(&mut m, 0, SessionState::Disconnected), vec![]);
        assert_eq!(feed(&mut m, 0, connected(7)), vec![Connected]);
        assert_eq!(m.session_id(), 7);
        assert_eq!(m.session_timeout(), TIMEOUT, "negotiated timeout wins");
        assert_eq!(feed(&mut m, 0, connected(7)), vec![], "duplicate");
        assert_eq!(feed(&mut m, 1, SessionState::Disconnected), vec![Suspended]);
        assert_eq!(m.poll_timeout(), Some(at(11)));
        assert_eq!(
            feed(&mut m, 2, SessionState::Disconnected),
            vec![],
            "duplicate"
        );
        assert_eq!(feed(&mut m, 3, connected(7)), vec![Reconnected]);
        assert_eq!(m.poll_timeout(), None);
        assert_eq!(m.current(), Some(Reconnected));
    }

    #[test]
    fn expiry_is_lost_and_a_new_session_reconnects() {
        let mut m = ConnectionStateManager::new(TIMEOUT);
        feed(&mut m, 0, connected(7));
        assert_eq!(feed(&mut m, 1, SessionState::Disconnected), vec![Suspended]);
        assert_eq!(feed(&mut m, 2, SessionState::Expired), vec![Lost]);
        assert_eq!(m.poll_timeout(), None, "no injected LOST after a real one");
        assert_eq!(feed(&mut m, 3, connected(8)), vec![Reconnected]);
        assert_eq!(m.session_id(), 8);
    }

    #[test]
    fn lost_is_injected_after_a_full_session_timeout() {
        let mut m = ConnectionStateManager::new(TIMEOUT);
        feed(&mut m, 0, connected(7));
        feed(&mut m, 5, SessionState::Disconnected);
        assert_eq!(tick(&mut m, 14), vec![], "early wake-ups do nothing");
        assert_eq!(m.poll_timeout(), Some(at(15)));
        assert_eq!(tick(&mut m, 15), vec![Lost]);
        assert_eq!(m.poll_timeout(), None);
        assert_eq!(tick(&mut m, 100), vec![], "once per outage");
        assert_eq!(
            feed(&mut m, 101, SessionState::Expired),
            vec![],
            "no second LOST"
        );
        assert_eq!(feed(&mut m, 102, connected(8)), vec![Reconnected]);
    }

    #[test]
    fn same_session_back_after_injected_lost_reconnects() {
        let mut m = ConnectionStateManager::new(TIMEOUT);
        feed(&mut m, 0, connected(7));
        feed(&mut m, 0, SessionState::Disconnected);
        assert_eq!(tick(&mut m, 10), vec![Lost]);
        assert_eq!(feed(&mut m, 11, connected(7)), vec![Reconnected]);
    }

    #[test]
    fn the_timer_restarts_with_each_suspension() {
        let mut m = ConnectionStateManager::new(TIMEOUT);
        feed(&mut m, 0, connected(7));
        feed(&mut m, 0, SessionState::Disconnected);
        feed(&mut m, 8, connected(7));
        assert_eq!(feed(&mut m, 9, SessionState::Disconnected), vec![Suspended]);
        assert_eq!(m.poll_timeout(), Some(at(19)));
        assert_eq!(
            tick(&mut m, 12),
            vec![],
            "not measured from the first outage"
        );
        assert_eq!(tick(&mut m, 19), vec![Lost]);
    }

    #[test]
    fn read_only_and_unseen_new_sessions() {
        let mut m = ConnectionStateManager::new(TIMEOUT);
        let ro = SessionState::Connected {
            session_id: 7,
            timeout: TIMEOUT,
            read_only: true,
        };
        assert_eq!(feed(&mut m, 0, ro), vec![ReadOnly]);
        assert_eq!(feed(&mut m, 1, connected(7)), vec![Reconnected]);
        assert_eq!(
            feed(&mut m, 2, connected(9)),
            vec![Lost, Reconnected],
            "a new session id without an Expired still means the old one is gone"
        );
        assert_eq!(feed(&mut m, 3, SessionState::AuthFailed), vec![Lost]);
        assert_eq!(feed(&mut m, 4, SessionState::Closed), vec![]);
    }

    #[test]
    fn error_policies() {
        for (state, standard, session_only) in [
            (Connected, false, false),
            (Suspended, true, false),
            (Reconnected, false, false),
            (Lost, true, true),
            (ReadOnly, false, false),
        ] {
            assert_eq!(ErrorPolicy::Standard.is_error_state(state), standard);
            assert_eq!(ErrorPolicy::SessionOnly.is_error_state(state), session_only);
        }
    }

    #[test]
    fn a_lost_declared_by_timeout_asks_for_the_session_to_be_abandoned() {
        let mut m = ConnectionStateManager::new(TIMEOUT);
        feed(&mut m, 0, connected(1));
        feed(&mut m, 1, SessionState::Disconnected);
        assert!(!m.handle_timeout(at(5)), "not yet");
        assert!(m.handle_timeout(at(11)));
        assert_eq!(std::iter::from_fn(|| m.poll_state()).last(), Some(Lost));
        assert!(!m.handle_timeout(at(30)), "once per outage");
        // The abandoned session's Expired, then the new session: no second LOST.
        assert_eq!(feed(&mut m, 31, SessionState::Expired), vec![]);
        assert_eq!(feed(&mut m, 32, connected(2)), vec![Reconnected]);
    }
}
