//! What a sub-machine knows about the connection: whether it is up, and how many times it has
//! come up. An op that failed because the connection dropped is retried only once the
//! connection came back *after* the op was sent, whatever order the driver delivered the
//! failure and the new connection state in.
//!
//! A machine keeps one `Link`, records every connection state in it, and hands it to its
//! sub-machines ([`Sub::handle_link`](crate::framework::sub::Sub::handle_link)): they learn the
//! connection from the owner's link, never from a state of their own making.

use crate::framework::ConnectionState;

/// Connection bookkeeping shared by the sub-machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    connected: bool,
    /// Incremented on every CONNECTED / RECONNECTED / READ_ONLY.
    epoch: u64,
    session_id: i64,
    /// The last state recorded was LOST.
    lost: bool,
}

impl Default for Link {
    /// Assumed connected until told otherwise: an op sent while that is wrong fails and is
    /// retried on the next connection.
    fn default() -> Self {
        Link {
            connected: true,
            epoch: 0,
            session_id: 0,
            lost: false,
        }
    }
}

impl Link {
    /// Records a connection state; true when it is a (re)connection.
    pub(crate) fn handle(&mut self, state: ConnectionState, session_id: i64) -> bool {
        self.session_id = session_id;
        self.connected = state.is_connected();
        self.lost = state == ConnectionState::Lost;
        if self.connected {
            self.epoch += 1;
        }
        self.connected
    }

    pub(crate) fn epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn session_id(&self) -> i64 {
        self.session_id
    }

    /// True when an op sent at `sent_epoch` that failed for want of a connection may be retried
    /// now: connected, and the connection came back since.
    pub(crate) fn ready_after(&self, sent_epoch: u64) -> bool {
        self.connected && self.epoch > sent_epoch
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected
    }

    /// True when the last state recorded was LOST: the session is gone (or must be presumed
    /// gone), with whatever was in flight in it.
    pub(crate) fn is_lost(&self) -> bool {
        self.lost
    }
}
