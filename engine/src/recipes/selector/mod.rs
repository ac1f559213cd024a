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
//!             let _ = tx.send(leadership.token);
//!         }
//!     }
//! })
//! .id("worker-1")
//! .start()?;
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

pub use machine::{CancelReason, SelectorCommand, SelectorEvent, SelectorMachine, LOCK_NAME};

use crate::framework::driver::{spawn_machine, Driven, EventStream};
use crate::framework::Client;
use crate::op::MultiOp;
use crate::recipes::lock::{checked, guarded_on};
use crate::recipes::participants::{self, Participant};
use crate::recipes::wait::until;
use crate::{Error, MultiResult};

type LeadFn = dyn Fn(Leadership) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync;
type LosingFn = dyn Fn(CancelReason) + Send + Sync;

/// What the leadership function gets: who leads, with which fencing token, and a way to make
/// fenced writes.
#[derive(Debug, Clone)]
pub struct Leadership {
    /// The fencing token (our lock node's creation zxid).
    pub token: i64,
    /// Our participant id.
    pub id: String,
    /// Our lock node.
    pub node: String,
    client: Client,
}

impl Leadership {
    /// Applies `ops` atomically only while our leadership node exists.
    pub async fn guarded(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>, Error> {
        guarded_on(&self.client, &self.node, ops).await
    }
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

    /// Validates the path and joins the election.
    pub fn start(self) -> Result<LeaderSelector, Error> {
        let path = checked(&self.path)?;
        let machine = SelectorMachine::new(
            path.clone(),
            self.id.as_bytes().to_vec(),
            self.client.error_policy(),
            self.auto_requeue,
            self.client.next_rng(),
        );
        let driven = Arc::new(spawn_machine(&self.client, machine));
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
    driven: Arc<Driven<SelectorMachine>>,
    id: String,
    lead: Arc<LeadFn>,
    losing: Option<Arc<LosingFn>>,
) {
    let mut events = driven.subscribe();
    while let Some(event) = events.next().await {
        let SelectorEvent::TakeLeadership { token, node } = event else {
            continue;
        };
        let leadership = Leadership {
            token,
            id: id.clone(),
            node,
            client: client.clone(),
        };
        let work = lead(leadership);
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
    driven: Arc<Driven<SelectorMachine>>,
}

impl LeaderSelector {
    /// Starts configuring a selector on `path` that runs `take_leadership` while it leads.
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

    /// True while our leadership function should be running.
    pub fn has_leadership(&self) -> bool {
        self.driven.inspect(SelectorMachine::is_leading)
    }

    /// Queue again after a leadership ended (without auto-requeue).
    pub fn requeue(&self) -> Result<(), Error> {
        self.driven.command(SelectorCommand::Requeue)
    }

    /// Ends the current leadership: the function is cancelled, the lock released.
    pub fn interrupt_leadership(&self) -> Result<(), Error> {
        self.driven.command(SelectorCommand::Interrupt)
    }

    /// Everything the selector does, from now on.
    pub fn events(&self) -> EventStream<SelectorEvent> {
        self.driven.subscribe()
    }

    /// Everyone in the election, the leader first.
    pub async fn participants(&self) -> Result<Vec<Participant>, Error> {
        participants::read(&self.client, &self.path, LOCK_NAME).await
    }

    /// Leaves the election: a running leadership is cancelled and our node deleted.
    pub async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(SelectorCommand::Close);
        let deadline = self.client.now() + self.client.session_timeout();
        // Past one session timeout the clean-up goes on in the background (the runner task
        // keeps the machine alive until it has finished).
        until(&self.client, Some(deadline), self.driven.finished()).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
