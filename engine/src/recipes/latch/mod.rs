//! Curator's `LeaderLatch`, fenced: join an election and learn whether you lead.
//!
//! Participants are `<path>/_c_<uuid>-latch-<seq>` nodes holding their id, so docent and
//! Curator processes share one election. Leadership comes with a fencing token (the latch
//! node's creation zxid) and ends on SUSPENDED (standard error policy) and LOST.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::latch::{LatchOptions, LeaderLatch};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let latch = LeaderLatch::start(&client, "/election", LatchOptions::default().id("node-1")).await?;
//! let leadership = latch.await_leadership().await?;
//! assert!(latch.has_leadership() && leadership.token() > 0);
//! assert_eq!(latch.leader().await?.map(|p| p.id), Some("node-1".to_string()));
//! latch.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! ```text
//!   start ──► NotLeader ──(our node first, owned by our session)──► Leader{token}
//!                 ▲                                                    │
//!                 └──── SUSPENDED (standard policy), LOST, node gone ──┘
//! ```

pub mod machine;

use std::sync::Arc;
use std::time::Duration;

pub use crate::recipes::guard::{LeaderState, Leadership};
pub use machine::{CloseMode, LatchCommand, LatchEvent, LatchMachine, LATCH_NAME};

use crate::framework::driver::{recipe_span, spawn_machine_in, wait_for, Driven, EventStream};
use crate::framework::{Client, StateWatch};
use crate::recipes::guard::LeaseCore;
use crate::recipes::lock::checked;
use crate::recipes::participants::{self, Participant};
use crate::recipes::wait::{finish_closing, until};
use crate::recipes::watched::Watched;
use crate::Error;

/// Options of a [`LeaderLatch`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct LatchOptions {
    id: String,
    close_mode: CloseMode,
}

impl LatchOptions {
    /// Our participant id, written into our node (default: empty).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Whether closing reports `NotLeader` (default: [`CloseMode::Silent`], as in Curator).
    pub fn close_mode(mut self, mode: CloseMode) -> Self {
        self.close_mode = mode;
        self
    }
}

type Core = Watched<LatchMachine, LeaderState>;

fn leader_state(m: &LatchMachine, _: &[LatchEvent], _: &LeaderState) -> LeaderState {
    match m.leadership() {
        Some(token) => LeaderState::Leader { token },
        None => LeaderState::NotLeader,
    }
}

/// A participant in a leader election (Curator's `LeaderLatch`).
#[derive(Debug)]
pub struct LeaderLatch {
    client: Client,
    path: String,
    options: LatchOptions,
    driven: Arc<Driven<Core>>,
}

impl LeaderLatch {
    /// Joins the election at `path`; the latch runs when this returns.
    pub async fn start(
        client: &Client,
        path: &str,
        options: LatchOptions,
    ) -> Result<LeaderLatch, Error> {
        let path = checked(path)?;
        let machine = LatchMachine::new(
            path.clone(),
            &options.id,
            client.error_policy(),
            client.next_rng(),
        );
        let machine = Watched::new(machine, LeaderState::NotLeader, leader_state);
        let span = recipe_span("latch", &path, &options.id);
        Ok(LeaderLatch {
            client: client.clone(),
            path,
            options,
            driven: Arc::new(spawn_machine_in(client, machine, span)),
        })
    }

    /// Our participant id.
    pub fn id(&self) -> &str {
        &self.options.id
    }

    /// Whether we lead.
    pub fn state(&self) -> LeaderState {
        self.driven.inspect(|m| m.state())
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<LeaderState> {
        self.driven.inspect(|m| m.watch())
    }

    /// True while we lead.
    pub fn has_leadership(&self) -> bool {
        matches!(self.state(), LeaderState::Leader { .. })
    }

    /// Waits until we lead. The [`Leadership`] is a view: dropping it leaves the election
    /// as it is; [`close`](LeaderLatch::close) leaves it.
    pub async fn await_leadership(&self) -> Result<Leadership, Error> {
        let (token, node) = wait_for(&self.driven, |m| {
            let token = m.leadership()?;
            Some((token, m.node()?.to_owned()))
        })
        .await?;
        let (state, losses) = self.driven.inspect(|m| (m.watch(), m.losses()));
        let finished = self.driven.finished();
        let lease = LeaseCore::new(&self.client, node, token, state, losses, finished);
        Ok(Leadership::new(&self.options.id, lease))
    }

    /// Waits at most `timeout` to lead; `Ok(None)` when the time ran out.
    pub async fn await_leadership_timeout(
        &self,
        timeout: Duration,
    ) -> Result<Option<Leadership>, Error> {
        let deadline = self.client.now() + timeout;
        until(&self.client, Some(deadline), self.await_leadership())
            .await
            .transpose()
    }

    /// Leadership changes. The stream starts with a snapshot: `IsLeader` first if we lead,
    /// so that a late subscriber misses nothing it needs.
    pub fn events(&self) -> EventStream<LatchEvent> {
        self.driven.subscribe_from(|m| match m.state() {
            LeaderState::Leader { token } => vec![LatchEvent::IsLeader { token }],
            LeaderState::NotLeader => Vec::new(),
        })
    }

    /// Everyone in the election, the leader first.
    pub async fn participants(&self) -> Result<Vec<Participant>, Error> {
        participants::read(&self.client, &self.path, LATCH_NAME).await
    }

    /// The current leader, if any.
    pub async fn leader(&self) -> Result<Option<Participant>, Error> {
        Ok(self.participants().await?.into_iter().find(|p| p.is_leader))
    }

    /// Leaves the election: `NotLeader` is reported if the options' close mode asks for it,
    /// and `Ok` once our node is deleted ([`Error::Timeout`] if that took longer than a
    /// session timeout; it goes on in the background).
    pub async fn close(self) -> Result<(), Error> {
        let _ = self
            .driven
            .command(LatchCommand::Close(self.options.close_mode));
        finish_closing(&self.client, self.driven).await
    }
}

#[cfg(test)]
mod tests;
