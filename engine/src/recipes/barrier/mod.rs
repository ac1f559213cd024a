//! Barriers: Curator's `DistributedBarrier` ([`Barrier`]) and `DistributedDoubleBarrier`
//! ([`DoubleBarrier`]), with Curator's node layout so that Java processes share them.
//!
//! A [`Barrier`] is one node: while it exists the barrier is up and waiters wait; removing it
//! lets them all through.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use std::time::Duration;
//! use docent::recipes::barrier::{Barrier, BarrierOptions};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let mut barrier = Barrier::start(&client, "/barriers/deploy", BarrierOptions::default()).await?;
//! barrier.set_barrier().await?;
//! // Up: a wait runs into its timeout.
//! assert!(!barrier.wait_on_barrier(Some(Duration::from_millis(50))).await?);
//! barrier.remove_barrier().await?;
//! assert!(barrier.wait_on_barrier(None).await?);
//! barrier.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ```text
//!   set_barrier ──► node exists (up) ──remove_barrier──► node gone (down)
//!   wait_on_barrier: Idle ──► Waiting ──(a reply says: gone)──► Idle, passed
//!                                 └────(deadline)───────────► Idle, timed out
//! ```
//!
//! The [`double`] module holds the double barrier: members enter together once enough have
//! arrived, and leave together once all are done.

pub mod double;
pub mod machine;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

pub use double::{DoubleBarrier, DoubleBarrierOptions, DoubleBarrierState};
pub use machine::{BarrierCommand, BarrierEvent, BarrierMachine, BarrierState};

use crate::framework::driver::{recipe_span, spawn_machine_in, Driven};
use crate::framework::{Client, StateWatch};
use crate::machine::Machine;
use crate::recipes::lock::checked;
use crate::recipes::wait::finish_closing;
use crate::Error;

/// Options of a [`Barrier`] or a [`DoubleBarrier`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct BarrierOptions {
    id: String,
}

impl BarrierOptions {
    /// Who we are, for the logs (default: empty).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }
}

/// Curator's `DistributedBarrier`: the node at `path` exists = the barrier is up.
#[derive(Debug)]
pub struct Barrier {
    client: Client,
    path: String,
    calls: u64,
    driven: Arc<Driven<BarrierMachine>>,
}

impl Barrier {
    /// A handle on the barrier node `path` (nothing is read or written yet).
    pub async fn start(
        client: &Client,
        path: &str,
        options: BarrierOptions,
    ) -> Result<Barrier, Error> {
        let path = checked(path)?;
        let span = recipe_span("barrier", &path, &options.id);
        let machine = BarrierMachine::new(path.clone());
        Ok(Barrier {
            client: client.clone(),
            path,
            calls: 0,
            driven: Arc::new(spawn_machine_in(client, machine, span)),
        })
    }

    /// The barrier node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Puts the barrier up: creates its node (a PERSISTENT node, parents as containers). Up
    /// already is fine.
    pub async fn set_barrier(&self) -> Result<(), Error> {
        match self.client.create().parents().at(&self.path).await {
            Ok(_) | Err(Error::NodeExists) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Takes the barrier down: deletes its node, which lets every waiter through. Down
    /// already is fine.
    pub async fn remove_barrier(&self) -> Result<(), Error> {
        match self.client.delete().at(&self.path).await {
            Ok(()) | Err(Error::NoNode) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Waits until the barrier is down: `Ok(true)` once a read says its node is gone,
    /// `Ok(false)` if `timeout` passed first (`None`: wait for as long as it takes).
    /// Connection trouble and session events never let a wait through: only a reply does.
    pub async fn wait_on_barrier(&mut self, timeout: Option<Duration>) -> Result<bool, Error> {
        self.calls += 1;
        let call = self.calls;
        let deadline = timeout.map(|t| self.client.now() + t);
        run_call(&self.driven, call, BarrierCommand::Wait { call, deadline }).await
    }

    /// Whether a wait is in progress.
    pub fn state(&self) -> BarrierState {
        self.driven.inspect(|m| m.state())
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<BarrierState> {
        self.driven.inspect(|m| m.watch_state())
    }

    /// Stops the handle (a wait in progress ends with [`Error::Closed`]); the barrier node
    /// stays as it is.
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(BarrierCommand::Close);
        finish_closing(&self.client, self.driven).await
    }
}

/// Sends `command` (call number `call`) and waits for that call's outcome.
async fn run_call<M>(driven: &Driven<M>, call: u64, command: M::Command) -> Result<bool, Error>
where
    M: Machine<Event = BarrierEvent>,
{
    let mut events = driven.subscribe();
    driven.command(command)?;
    while let Some(BarrierEvent::Done {
        call: done,
        outcome,
    }) = events.next().await
    {
        if done == call {
            return outcome;
        }
    }
    Err(Error::Closed)
}

#[cfg(test)]
mod tests;
