//! # docent
//!
//! ZooKeeper recipes — leader election, locks, barriers, counters, caches, queues and service
//! discovery — written as sans-IO state machines over a [`Coordinator`], wire-compatible with
//! Apache Curator 5.x, with a fencing token on every lease.
//!
//! The engine has no runtime and no sockets. A transport supplies the [`Coordinator`]:
//! `docent-zk` for a real ZooKeeper session, `docent-sim` for the simulated ensemble (embedded
//! on tokio, or deterministic inside madsim).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod coordinator;
pub mod discovery;
pub mod error;
pub mod framework;
pub mod machine;
pub mod op;
pub mod path;
pub mod recipes;
pub mod rng;
pub mod time;
pub mod types;

pub use coordinator::Coordinator;
pub use error::Error;
pub use framework::{Client, ConnectionState, ErrorPolicy, RetryPolicy};
pub use machine::{Input, Machine, Token, Tokens};
pub use op::{MultiOp, MultiResult, Op, OpResult, Reply, Watch};
pub use time::Instant;
pub use types::{
    Acl, AddWatchMode, AuthInfo, CreateMode, EventType, Id, Perms, SessionState, Stat, WatchedEvent,
};
