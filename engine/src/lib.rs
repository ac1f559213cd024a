//! # docent
//!
//! ZooKeeper recipes — leader election, locks, caches and service discovery — written as
//! sans-IO state machines over a [`Coordinator`], wire-compatible with Apache Curator 5.x,
//! with a fencing token on every lease.
//!
//! The engine has no runtime and no sockets. A transport supplies the [`Coordinator`]:
//! `docent-zk` for a real ZooKeeper session (`docent_zk::connect("zk1:2181,zk2:2181/app")`
//! returns a [`Client`]), `docent-sim` for the simulated ensemble (embedded on tokio, or
//! deterministic inside madsim).
//!
//! **Wire compatibility with Curator** means the same nodes as Curator's recipes: the same
//! protected names (`_c_<uuid>-latch-<seq>`, `-lock-`), the same sort order, the same node
//! data and the same service-discovery JSON, so docent and Java Curator processes share
//! elections, locks and services on one ensemble. (Both speak ZooKeeper's own protocol; there
//! is no protocol between them.)
//!
//! **Errors** say who is at fault: [`Error::kind`] sorts them into the caller's mistake, the
//! server's answer, a connection trouble with an unknown outcome, a session gone, corrupt data
//! from a foreign peer, a refusal by the server, and a few more ([`ErrorKind`]).
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
//! The recipes' handles do this for you with [`framework::driver`] (which also batches plain
//! reads into `multiRead` and runs commands in the caller's task; [`machine`] says exactly what
//! it promises). By hand, a complete loop feeds connection states, watch events, replies and
//! timeouts, in that order of preference when several are ready:
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use std::task::Poll;
//!
//! use futures::future::{self, BoxFuture};
//! use futures::stream::{BoxStream, FuturesUnordered, SelectAll};
//! use futures::{FutureExt, StreamExt};
//!
//! use docent::recipes::latch::{LatchEvent, LatchMachine};
//! use docent::{Client, CreateMode, ErrorPolicy, Input, Instant, Machine, Reply, Token};
//! use docent::{Watch, WatchedEvent};
//!
//! /// Runs `machine` over `client` until `done` accepts one of its events.
//! async fn drive<M: Machine>(client: &Client, mut machine: M, done: impl Fn(&M::Event) -> bool) {
//!     let mut states = client.connection_states(); // starts with the current state
//!     let mut replies = FuturesUnordered::new();
//!     let mut watches: SelectAll<BoxStream<'static, (Token, WatchedEvent)>> = SelectAll::new();
//!     let mut timer: Option<(Instant, BoxFuture<'static, ()>)> = None;
//!     loop {
//!         // Drain every output after every input. Ops leave now, in poll order.
//!         while let Some((token, op)) = machine.poll_op() {
//!             replies.push(client.submit(op).map(move |reply| (token, reply)));
//!         }
//!         while let Some(event) = machine.poll_event() {
//!             if done(&event) {
//!                 return;
//!             }
//!         }
//!         let wanted = machine.poll_timeout();
//!         if wanted != timer.as_ref().map(|(at, _)| *at) {
//!             timer = wanted.map(|at| (at, client.coordinator().sleep_until(at)));
//!         }
//!         // The next input: a connection state, a watch event, a reply, or the timer.
//!         let input = future::poll_fn(|cx| {
//!             if let Poll::Ready(Some(state)) = states.poll_next_unpin(cx) {
//!                 let session_id = client.session_id();
//!                 return Poll::Ready(Input::Connection { state, session_id });
//!             }
//!             // Events before replies (see the machine contract in `docent::machine`).
//!             if let Poll::Ready(Some((token, event))) = watches.poll_next_unpin(cx) {
//!                 return Poll::Ready(Input::Watch { token, event });
//!             }
//!             if let Poll::Ready(Some((token, reply))) = replies.poll_next_unpin(cx) {
//!                 let result = reply.map(|reply: Reply| {
//!                     match reply.watch {
//!                         Some(Watch::OneShot(fired)) => {
//!                             watches.push(fired.map(move |e| (token, e)).into_stream().boxed())
//!                         }
//!                         Some(Watch::Persistent(events)) => {
//!                             watches.push(events.map(move |e| (token, e)).boxed())
//!                         }
//!                         _ => {}
//!                     }
//!                     reply.result
//!                 });
//!                 return Poll::Ready(Input::OpDone { token, result });
//!             }
//!             if let Some((_, sleep)) = &mut timer {
//!                 if sleep.poll_unpin(cx).is_ready() {
//!                     return Poll::Ready(Input::Timeout);
//!                 }
//!             }
//!             Poll::Pending
//!         })
//!         .await;
//!         if matches!(input, Input::Timeout) {
//!             timer = None;
//!         }
//!         machine.handle(client.now(), input);
//!     }
//! }
//!
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = Client::builder(ensemble.connect()).build()?;
//! // Someone else leads first; they step down once our latch has joined.
//! let mode = CreateMode::EphemeralSequential;
//! let theirs = client.create().parents().mode(mode).at("/election/latch-").await?;
//! let other = client.clone();
//! tokio::spawn(async move {
//!     while other.get_children().at("/election").await.unwrap().0.len() < 2 {
//!         tokio::task::yield_now().await;
//!     }
//!     other.delete().at(&theirs).await.unwrap(); // our latch's watch fires
//! });
//! let latch = LatchMachine::new("/election".into(), "me", ErrorPolicy::Standard, client.rng(0));
//! drive(&client, latch, |event| matches!(event, LatchEvent::IsLeader { .. })).await;
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod coordinator;
pub mod coverage;
pub mod discovery;
pub mod ensemble;
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
pub use error::{Error, ErrorKind};
pub use framework::{Client, ClientOptions, ConnectionState, ErrorPolicy, RetryPolicy};
pub use machine::{Input, Machine, Token, Tokens};
pub use op::{MultiOp, MultiResult, Op, OpResult, ReadOp, ReadResult, Reply, Watch};
pub use time::Instant;
pub use types::{
    Acl, AddWatchMode, AuthInfo, CreateMode, EventType, Id, Perms, SessionState, Stat, WatchedEvent,
};
