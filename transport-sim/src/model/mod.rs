//! The sans-IO ZooKeeper model: an ensemble of servers with a committed log, the clients
//! attached to it, and the network between them, all in virtual time.
//!
//! No clock, no runtime, no threads: every mutator takes `now`, and time only moves when the
//! caller says so. Randomness is ChaCha8 from [`SimConfig::seed`]. The run loop, as in str0m:
//!
//! ```
//! use std::time::Duration;
//! use docent::{Instant, Op, OpResult, CreateMode, Acl};
//! use docent_sim::model::{Ensemble, SimConfig, ClientOptions, Output};
//!
//! let mut sim = Ensemble::new(SimConfig::new(7));
//! let mut now = Instant::ZERO;
//! let c = sim.add_client(now, ClientOptions::default());
//! let op = sim.submit(now, c, Op::Create {
//!     path: "/a".into(), data: b"x".to_vec(), acl: Acl::open(), mode: CreateMode::Persistent,
//! });
//! let mut created = None;
//! while created.is_none() {
//!     while let Some(out) = sim.poll_output() {
//!         if let Output::OpDone { op: done, result, .. } = out {
//!             if done == op { created = Some(result); }
//!         }
//!     }
//!     now = sim.poll_timeout().expect("something is scheduled");
//!     sim.handle_timeout(now);
//! }
//! assert!(matches!(created, Some(Ok(OpResult::Created { .. }))));
//! ```
//!
//! Ordering guarantees kept from ZooKeeper: writes are totally ordered by the leader's log; each
//! server applies it at its own pace (a follower may lag, so its readers see stale data); one
//! session's requests are answered in order, and a read queued behind the session's own write
//! waits for it; a watch event reaches the client before any reply sent after the change.

mod acl;
mod client;
mod config;
mod ctx;
mod ensemble;
mod exhibitor;
mod fault;
mod fault_text;
mod history;
mod msg;
mod quorum;
mod reconfig;
mod server;
mod tree;
mod txn;
mod watches;
mod wire;

pub use acl::digest_id;
pub use config::{ClientOptions, SimConfig};
pub use ensemble::Ensemble;
pub use exhibitor::ExhibitorAnswer;
pub use fault::{Direction, Fault, FaultSchedule, ScheduledFault, SwarmConfig};
pub use fault_text::ParseScheduleError;
pub use history::NodeHistory;
pub use msg::{ClientId, OpId, Output, WatchId, WatchKind};
pub use reconfig::{server_at, server_host, CLIENT_PORT};

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod coverage_tests;
#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod reconfig_tests;
#[cfg(test)]
mod reference_tests;
#[cfg(test)]
mod tests;
