//! Curator's `LeaderLatch`, fenced: join an election and learn whether you lead.
//!
//! Participants are `<path>/_c_<uuid>-latch-<seq>` nodes holding their id, so docent and
//! Curator processes share one election. Leadership comes with a fencing token (the latch
//! node's creation zxid) and ends on SUSPENDED (standard error policy) and LOST.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::latch::{CloseMode, LeaderLatch};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let latch = LeaderLatch::start(&client, "/election", "node-1")?;
//! let token = latch.await_leadership().await?;
//! assert!(latch.has_leadership() && token > 0);
//! assert_eq!(latch.leader().await?.map(|p| p.id), Some("node-1".to_string()));
//! latch.close(CloseMode::Silent).await?;
//! # Ok(())
//! # }
//! ```

pub mod machine;

use std::time::Duration;

pub use machine::{CloseMode, LatchCommand, LatchEvent, LatchMachine, LATCH_NAME};

use crate::framework::driver::{spawn_machine, wait_for, Driven, EventStream};
use crate::framework::Client;
use crate::recipes::lock::checked;
use crate::recipes::participants::{self, Participant};
use crate::recipes::wait::{finish_closing, until};
use crate::Error;

/// A participant in a leader election (Curator's `LeaderLatch`).
#[derive(Debug)]
pub struct LeaderLatch {
    client: Client,
    path: String,
    id: String,
    driven: Driven<LatchMachine>,
}

impl LeaderLatch {
    /// Joins the election at `path` as `id` (the id is the node's data; may be empty).
    pub fn start(client: &Client, path: &str, id: &str) -> Result<LeaderLatch, Error> {
        let path = checked(path)?;
        let machine = LatchMachine::new(path.clone(), id, client.error_policy(), client.next_rng());
        Ok(LeaderLatch {
            client: client.clone(),
            path,
            id: id.to_owned(),
            driven: spawn_machine(client, machine),
        })
    }

    /// Our participant id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// True while we lead.
    pub fn has_leadership(&self) -> bool {
        self.token().is_some()
    }

    /// The fencing token while we lead.
    pub fn token(&self) -> Option<i64> {
        self.driven.inspect(LatchMachine::leadership)
    }

    /// Waits until we lead; returns the fencing token.
    pub async fn await_leadership(&self) -> Result<i64, Error> {
        wait_for(&self.driven, LatchMachine::leadership).await
    }

    /// Waits at most `timeout` to lead; `Ok(None)` when the time ran out.
    pub async fn await_leadership_timeout(&self, timeout: Duration) -> Result<Option<i64>, Error> {
        let deadline = self.client.now() + timeout;
        until(&self.client, Some(deadline), self.await_leadership())
            .await
            .transpose()
    }

    /// Leadership changes from now on.
    pub fn events(&self) -> EventStream<LatchEvent> {
        self.driven.subscribe()
    }

    /// Everyone in the election, the leader first.
    pub async fn participants(&self) -> Result<Vec<Participant>, Error> {
        participants::read(&self.client, &self.path, LATCH_NAME).await
    }

    /// The current leader, if any.
    pub async fn leader(&self) -> Result<Option<Participant>, Error> {
        Ok(self.participants().await?.into_iter().find(|p| p.is_leader))
    }

    /// Leaves the election: our node is deleted; `mode` says whether to report `NotLeader`.
    pub async fn close(self, mode: CloseMode) -> Result<(), Error> {
        let _ = self.driven.command(LatchCommand::Close(mode));
        finish_closing(&self.client, self.driven).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
