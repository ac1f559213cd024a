//! Curator's `DistributedDoubleBarrier`: members enter together once `member_qty` have
//! arrived, and leave together once all are done.
//!
//! Nodes are Curator's: `<path>/<uuid>` EPHEMERAL per member (no prefix, no sequence) and
//! `<path>/ready` (PERSISTENT), made by the member that counts enough members, so docent and
//! Java members share one barrier. `member_qty` is a threshold, not a limit: more may enter.
//! The protocol and its state machine are drawn in [`machine`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use std::time::Duration;
//! use docent::recipes::barrier::{DoubleBarrier, DoubleBarrierOptions, DoubleBarrierState};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let options = || DoubleBarrierOptions::member_qty(2);
//! let mut a = DoubleBarrier::start(&client, "/barriers/job", options().id("a")).await?;
//! let mut b = DoubleBarrier::start(&client, "/barriers/job", options().id("b")).await?;
//! // Alone, `a` cannot enter: its enter runs out of time (and takes its node away).
//! assert!(!a.enter(Some(Duration::from_millis(50))).await?);
//! let (a_in, b_in) = futures::join!(a.enter(None), b.enter(None));
//! assert!(a_in? && b_in?);
//! assert_eq!(a.state(), DoubleBarrierState::Inside);
//! let (a_out, b_out) = futures::join!(a.leave(None), b.leave(None));
//! assert!(a_out? && b_out?);
//! a.close().await?;
//! b.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod machine;

use std::sync::Arc;
use std::time::Duration;

pub use machine::{DoubleBarrierCommand, DoubleBarrierMachine, DoubleBarrierState, READY_NODE};

use super::run_call;
use crate::framework::driver::{recipe_span, spawn_machine_in, Driven};
use crate::framework::{Client, StateWatch};
use crate::recipes::lock::checked;
use crate::recipes::wait::finish_closing;
use crate::Error;

/// Options of a [`DoubleBarrier`].
#[derive(Debug, Clone)]
#[must_use]
pub struct DoubleBarrierOptions {
    member_qty: usize,
    id: String,
}

impl DoubleBarrierOptions {
    /// A barrier that lets members in once `qty` have entered (more than 0).
    pub fn member_qty(qty: usize) -> Self {
        DoubleBarrierOptions {
            member_qty: qty,
            id: String::new(),
        }
    }

    /// Who we are, for the logs (default: empty).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }
}

/// A member of a double barrier (Curator's `DistributedDoubleBarrier`).
#[derive(Debug)]
pub struct DoubleBarrier {
    client: Client,
    calls: u64,
    driven: Arc<Driven<DoubleBarrierMachine>>,
}

impl DoubleBarrier {
    /// A member of the barrier at `path` (nothing is written until [`enter`](Self::enter)).
    pub async fn start(
        client: &Client,
        path: &str,
        options: DoubleBarrierOptions,
    ) -> Result<DoubleBarrier, Error> {
        let path = checked(path)?;
        if options.member_qty == 0 {
            return Err(Error::InvalidArgument(
                "a double barrier needs a member count above 0".into(),
            ));
        }
        client.ensure_namespace().await?;
        let span = recipe_span("double barrier", &path, &options.id);
        let machine = DoubleBarrierMachine::new(path, options.member_qty, client.next_rng());
        Ok(DoubleBarrier {
            client: client.clone(),
            calls: 0,
            driven: Arc::new(spawn_machine_in(client, machine, span)),
        })
    }

    /// Our member node, `<path>/<uuid>`.
    pub fn node(&self) -> String {
        self.driven.inspect(|m| m.node().to_owned())
    }

    /// Enters and waits until `member_qty` members have: `Ok(true)` then, `Ok(false)` if
    /// `timeout` passed first (`None`: no limit), our node deleted again.
    pub async fn enter(&mut self, timeout: Option<Duration>) -> Result<bool, Error> {
        let (call, deadline) = self.next_call(timeout);
        let command = DoubleBarrierCommand::Enter { call, deadline };
        run_call(&self.driven, call, command).await
    }

    /// Leaves and waits until every member has: `Ok(true)` then, `Ok(false)` if `timeout`
    /// passed first (`None`: no limit; our node is deleted either way).
    pub async fn leave(&mut self, timeout: Option<Duration>) -> Result<bool, Error> {
        let (call, deadline) = self.next_call(timeout);
        let command = DoubleBarrierCommand::Leave { call, deadline };
        run_call(&self.driven, call, command).await
    }

    fn next_call(&mut self, timeout: Option<Duration>) -> (u64, Option<crate::Instant>) {
        self.calls += 1;
        (self.calls, timeout.map(|t| self.client.now() + t))
    }

    /// Where we stand.
    pub fn state(&self) -> DoubleBarrierState {
        self.driven.inspect(|m| m.state())
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<DoubleBarrierState> {
        self.driven.inspect(|m| m.watch_state())
    }

    /// Stops the member: a call in progress ends with [`Error::Closed`], our node is deleted
    /// (`Ok` once it is; [`Error::Timeout`] past a session timeout, the delete going on in
    /// the background).
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(DoubleBarrierCommand::Close);
        finish_closing(&self.client, self.driven).await
    }
}

#[cfg(test)]
mod tests;
