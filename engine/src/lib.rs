//! # docent
//!
//! ZooKeeper recipes — leader election, locks, caches and service discovery — written as
//! sans-IO state machines over a [`Coordinator`], wire-compatible with Apache Curator 5.x,
//! with a fencing token on every lease.
//!
//! The engine has no runtime and no sockets. A transport supplies the [`Coordinator`]:
//! `docent-zk` for a real ZooKeeper session, `docent-sim` for the simulated ensemble (embedded
//! on tokio, or deterministic inside madsim).
//!
//! ## Quick start
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::latch::{LatchOptions, LeaderLatch};
//! // An in-process simulated ensemble; `docent_zk::ZkCoordinator::connect` for a real one.
//! let ensemble = docent_sim::EmbeddedEnsemble::start(3);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let options = LatchOptions::default().id("host-a");
//! let latch = LeaderLatch::start(&client, "/services/billing/leader", options).await?;
//! let leadership = latch.await_leadership().await?; // fence your writes with it
//! println!("leading with token {}", leadership.token());
//! latch.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## The run loop
//! Every recipe is a [`Machine`]: inputs go in through [`Machine::handle`], and after every
//! input the outputs are drained — ops to send (in order: ZooKeeper applies one session's
//! requests in order, so ops may be pipelined), events for the user, and the next timeout.
//! The recipes' handles do this for you with [`framework::driver`]; by hand it looks like
//! this:
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use docent::framework::ErrorPolicy;
//! use docent::recipes::latch::{LatchEvent, LatchMachine};
//! use docent::rng::Rng;
//! use docent::{ConnectionState, Coordinator, Input, Machine};
//!
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let zk = ensemble.connect();
//! zk.wait_connected().await;
//! let mut latch = LatchMachine::new("/election".into(), "me", ErrorPolicy::Standard, Rng::new(zk.seed(), 0));
//! latch.handle(zk.now(), Input::Connection { state: ConnectionState::Connected, session_id: zk.session_id() });
//! let mut in_flight = std::collections::VecDeque::new();
//! loop {
//!     while let Some((token, op)) = latch.poll_op() {
//!         in_flight.push_back((token, zk.submit(op))); // sent now, in poll order
//!     }
//!     if let Some(LatchEvent::IsLeader { token }) = latch.poll_event() {
//!         assert!(token > 0);
//!         break;
//!     }
//!     let (token, reply) = in_flight.pop_front().expect("the latch is waiting for a reply");
//!     let result = reply.await.map(|reply| reply.result); // (a real loop also feeds watches)
//!     latch.handle(zk.now(), Input::OpDone { token, result });
//! }
//! # }
//! ```
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
pub mod wire;

pub use coordinator::Coordinator;
pub use error::Error;
pub use framework::{Client, ConnectionState, ErrorPolicy, RetryPolicy};
pub use machine::{Input, Machine, Token, Tokens};
pub use op::{MultiOp, MultiResult, Op, OpResult, ReadOp, ReadResult, Reply, Watch};
pub use time::Instant;
pub use types::{
    Acl, AddWatchMode, AuthInfo, CreateMode, EventType, Id, Perms, SessionState, Stat, WatchedEvent,
};
