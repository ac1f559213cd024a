//! Curator's `LeaderSelector`, fenced: run a function while you lead.
//!
//! Your `take_leadership` function runs each time this participant becomes leader; leadership
//! ends when it returns (and, with auto-requeue, the participant queues again). If the
//! connection is SUSPENDED (standard error policy) or LOST, or `interrupt_leadership` is
//! called, the function's future is dropped at its next await point and the losing callback
//! (the seed's `losingfn`) is told why. Nodes are Curator's mutex nodes (`_c_<uuid>-lock-<seq>`)
//! holding the participant id.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::selector::LeaderSelector;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let (tx, rx) = futures::channel::oneshot::channel();
//! let tx = std::sync::Mutex::new(Some(tx));
//! let selector = LeaderSelector::builder(&client, "/service-leader", move |leadership| {
//!     let tx = tx.lock().unwrap().take();
//!     async move {
//!         if let Some(tx) = tx {
//!             let _ = tx.send(leadership.token());
//!         }
//!     }
//! })
//! .id("worker-1")
//! .start()
//! .await?;
//! let token = rx.await.unwrap();
//! assert!(token > 0);
//! selector.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod machine;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::future::{self, Either};
use futures::{FutureExt, StreamExt};

pub use crate::recipes::guard::{LeaderState, Leadership};
pub use machine::{CancelReason, SelectorCommand, SelectorEvent, SelectorMachine, LOCK_NAME};

use crate::framework::driver::{recipe_span, spawn_machine_in, Driven, EventStream};
use crate::framework::{Client, StateWatch};
use crate::recipes::guard::LeaseCore;
use crate::recipes::lock::checked;
use crate::recipes::participants::{self, Participant};
use crate::recipes::wait::finish_closing;
use crate::recipes::watched::Watched;
use crate::Error;

type LeadFn = dyn Fn(Leadership) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;
type LosingFn = dyn Fn(CancelReason) + Send + Sync;
type Core = Watched<SelectorMachine, LeaderState>;

/// The selector leads from `TakeLeadership` until the function must stop or was released.
fn leader_state(_: &SelectorMachine, events: &[SelectorEvent], old: &LeaderState) -> LeaderState {
    events.iter().fold(*old, |state, event| match event {
        SelectorEvent::TakeLeadership { token, .. } => LeaderState::Leader { token: *token },
        SelectorEvent::Cancel(_) | SelectorEvent::Released => LeaderState::NotLeader,
        _ => state,
    })
}

/// Configures a [`LeaderSelector`].
#[must_use]
pub struct SelectorBuilder {
    client: Client,
    path: String,
    id: String,
    auto_requeue: bool,
    lead: Arc<LeadFn>,
    losing: Option<Arc<LosingFn>>,
}

impl std::fmt::Debug for SelectorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectorBuilder")
            .field("path", &self.path)
            .field("id", &self.id)
            .field("auto_requeue", &self.auto_requeue)
            .finish_non_exhaustive()
    }
}

impl SelectorBuilder {
    /// The participant id written into our node (default: empty).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Queue again each time leadership ends (default: false, as in Curator).
    pub fn auto_requeue(mut self, on: bool) -> Self {
        self.auto_requeue = on;
        self
    }

    /// Called when leadership is cancelled, with the reason (the seed's `losingfn`).
    pub fn on_losing(mut self, f: impl Fn(CancelReason) + Send + Sync + 'static) -> Self {
        self.losing = Some(Arc::new(f));
        self
    }

    /// Validates the path and joins the election; the selector runs when this returns.
    pub async fn start(self) -> Result<LeaderSelector, Error> {
        let path = checked(&self.path)?;
        let machine = SelectorMachine::new(
            path.clone(),
            self.id.as_bytes().to_vec(),
            self.client.error_policy(),
            self.auto_requeue,
            self.client.next_rng(),
        );
        let machine = Watched::new(machine, LeaderState::NotLeader, leader_state);
        let span = recipe_span("selector", &path, &self.id);
        let driven = Arc::new(spawn_machine_in(&self.client, machine, span));
        let runner = run(
            self.client.clone(),
            driven.clone(),
            self.id.clone(),
            self.lead,
            self.losing,
        );
        self.client.coordinator().spawn(runner.boxed());
        driven.command(SelectorCommand::Requeue)?;
        Ok(LeaderSelector {
            client: self.client,
            path,
            id: self.id,
            driven,
        })
    }
}

/// Runs the user's function while the machine says we lead.
async fn run(
    client: Client,
    driven: Arc<Driven<Core>>,
    id: String,
    lead: Arc<LeadFn>,
    losing: Option<Arc<LosingFn>>,
) {
    let mut events = driven.subscribe();
    while let Some(event) = events.next().await {
        let SelectorEvent::TakeLeadership { token, node } = event else {
            continue;
        };
        let (state, losses) = driven.inspect(|m| (m.watch(), m.losses()));
        let lease = LeaseCore::new(&client, node, token, state, losses, driven.finished());
        let work = lead(Leadership::new(&id, lease));
        let cancelled = async {
            while let Some(event) = events.next().await {
                if let SelectorEvent::Cancel(reason) = event {
                    return Some(reason);
                }
            }
            None
        };
        if let Either::Right((Some(reason), _)) = future::select(work, Box::pin(cancelled)).await {
            if let Some(losing) = &losing {
                losing(reason);
            }
        }
        if driven.command(SelectorCommand::Relinquish).is_err() {
            return;
        }
    }
}

/// A participant that runs a function while it leads (Curator's `LeaderSelector`).
#[derive(Debug)]
pub struct LeaderSelector {
    client: Client,
    path: String,
    id: String,
    driven: Arc<Driven<Core>>,
}

impl LeaderSelector {
    /// Starts configuring a selector on `path` that runs `take_leadership` while it leads.
    /// The function's [`Leadership`] is a view: its leadership ends when the function returns
    /// (or is cancelled), not when the value is dropped.
    pub fn builder<F, Fut>(client: &Client, path: &str, take_leadership: F) -> SelectorBuilder
    where
        F: Fn(Leadership) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        SelectorBuilder {
            client: client.clone(),
            path: path.to_owned(),
            id: String::new(),
            auto_requeue: false,
            lead: Arc::new(move |l| Box::pin(take_leadership(l))),
            losing: None,
        }
    }

    /// Our participant id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether we lead: [`LeaderState::Leader`] from the moment the leadership function is
    /// started until it must stop or has returned.
    pub fn state(&self) -> LeaderState {
        self.driven.inspect(|m| m.state())
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<LeaderState> {
        self.driven.inspect(|m| m.watch())
    }

    /// True while our leadership function should be running.
    pub fn has_leadership(&self) -> bool {
        self.driven.inspect(|m| m.is_leading())
    }

    /// Queue again after a leadership ended (without auto-requeue).
    pub fn requeue(&self) -> Result<(), Error> {
        self.driven.command(SelectorCommand::Requeue)
    }

    /// Ends the current leadership: the function is cancelled, the lock released.
    pub fn interrupt_leadership(&self) -> Result<(), Error> {
        self.driven.command(SelectorCommand::Interrupt)
    }

    /// Everything the selector does. The stream starts with a snapshot: `TakeLeadership`
    /// first if we lead, so that a late subscriber misses nothing it needs.
    pub fn events(&self) -> EventStream<SelectorEvent> {
        self.driven.subscribe_from(|m| match (m.state(), m.node()) {
            (LeaderState::Leader { token }, Some(node)) => vec![SelectorEvent::TakeLeadership {
                token,
                node: node.to_owned(),
            }],
            _ => Vec::new(),
        })
    }

    /// Everyone in the election, the leader first.
    pub async fn participants(&self) -> Result<Vec<Participant>, Error> {
        participants::read(&self.client, &self.path, LOCK_NAME).await
    }

    /// Leaves the election: a running leadership is cancelled and our node deleted; `Ok` once
    /// it is ([`Error::Timeout`] if that took longer than a session timeout; it goes on in
    /// the background).
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(SelectorCommand::Close);
        finish_closing(&self.client, self.driven).await
    }
}

#[cfg(test)]
mod tests;
