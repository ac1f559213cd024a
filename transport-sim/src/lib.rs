//! The simulated ZooKeeper ensemble for docent.
//!
//! - [`model`]: the sans-IO, seeded ZooKeeper model (servers, committed log, sessions,
//!   watches, faults), usable from plain unit tests.
//! - [`EmbeddedEnsemble`]: the model in real time on tokio, handing out [`SimSession`]s (each a
//!   [`docent::Coordinator`]).
//! - [`harness`](mod@harness): run a test body over many seeds, each with a fresh ensemble, named clients
//!   and a fault schedule, inside madsim under `--cfg madsim` (deterministic) and on tokio's
//!   paused clock otherwise; failures print a one-line replay command. See its docs for an
//!   example of testing your own leader logic.
//! - [`check`]: checkers for a test body — leases ([`check::Holds`]: one holder at a time,
//!   tokens in grant order), fencing ([`check::FenceLog`]), caches and registries converging to
//!   the ensemble's ground truth ([`check::converge`](check::converge()), [`check::check_view`]),
//!   caches never inventing ([`check::Seen`]), linearizability ([`check::linear`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod check;
mod driver;
mod embedded;
mod follow;
pub mod harness;
pub mod model;
mod rt;

pub use driver::SimSession;
pub use embedded::EmbeddedEnsemble;
pub use harness::{EnsembleSource, Failure, Harness, Sim};
pub use model::{ClientOptions, Ensemble, Fault, FaultSchedule, SimConfig};
