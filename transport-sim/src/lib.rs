//! The simulated ZooKeeper ensemble for docent.
//!
//! - [`model`]: the sans-IO, seeded ZooKeeper model (servers, committed log, sessions,
//!   watches, faults), usable from plain unit tests.
//! - [`EmbeddedEnsemble`]: the model in real time on tokio, handing out [`SimSession`]s (each a
//!   [`docent::Coordinator`]).
//! - `harness` (under `--cfg madsim`): seeded runs inside madsim.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod driver;
#[cfg(not(madsim))]
mod embedded;
pub mod model;
mod rt;

pub use driver::SimSession;
#[cfg(not(madsim))]
pub use embedded::EmbeddedEnsemble;
pub use model::{ClientOptions, Ensemble, Fault, FaultSchedule, SimConfig};
