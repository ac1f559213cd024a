//! The framework layer: what turns a raw session into something recipes can stand on.
//!
//! Curator's connection states, error and retry policies, namespaces, the [`Client`] with its
//! fluent builders, protected creates and guaranteed deletes (as composable sans-IO
//! sub-machines), and the driver that runs any [`Machine`](crate::Machine) over a
//! [`Coordinator`](crate::Coordinator).

mod client;
#[cfg(test)]
mod client_tests;
mod connection;
pub mod driver;
pub mod guaranteed;
pub(crate) mod link;
mod namespace;
pub mod protected;
mod read;
mod retry;
mod retry_loop;
mod state;
mod tasks;
mod write;

pub use client::{Client, ClientBuilder};
pub use connection::{ConnectionStateManager, ErrorPolicy};
pub use driver::{spawn_machine, wait_for, Driven, EventStream};
pub use guaranteed::GuaranteedDelete;
pub use protected::{Created, ProtectedCreate};
pub use read::{
    Exists, GetChildren, GetData, MultiReadBuilder, ReadBuilder, SetAcl, SetBuilder, SetData,
    TransactionBuilder, MULTI_READ_BATCH,
};
pub use retry::{RetryPolicy, MAX_EXPONENTIAL_RETRIES};
pub use state::{StateCell, StateWatch};
pub use write::{CreateBuilder, DeleteBuilder};

/// Curator's connection states, as recipes and users see them.
///
/// ```text
///            ┌──────────── first connect ─────────────┐
///  (start) ──┤                                         ▼
///            │                                    CONNECTED ◄──────────┐
///            │                                         │ disconnected  │
///            │                                         ▼               │ same session back
///            │                                    SUSPENDED ───────────┴─► RECONNECTED
///            │                      expired, or no session for          │
///            │                      a whole session timeout             │
///            │                                         ▼                │
///            │                                       LOST ── new session ┘
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConnectionState {
    /// The first successful connection of this client. Sent once.
    Connected,
    /// The connection was lost; the session may still be alive. Stop acting as leader or lock
    /// holder until RECONNECTED (the standard error policy).
    Suspended,
    /// Connected again after SUSPENDED or LOST (after LOST: a new session).
    Reconnected,
    /// The session is gone (expired, or no contact for a whole session timeout): every
    /// ephemeral node, lock and leadership of it is gone.
    Lost,
    /// Connected to a read-only server.
    ReadOnly,
}

impl ConnectionState {
    /// True for the states in which the session is usable.
    pub fn is_connected(self) -> bool {
        matches!(
            self,
            ConnectionState::Connected | ConnectionState::Reconnected | ConnectionState::ReadOnly
        )
    }
}
