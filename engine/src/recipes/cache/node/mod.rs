//! Curator's `NodeCache`: one node's data and stat, whether or not it exists.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::cache::{CacheState, NodeCache, NodeEvent};
//! use futures::StreamExt;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let cache = NodeCache::start(&client, "/config").await?;
//! cache.await_initialized().await?;
//! assert_eq!(cache.state(), CacheState::Initialized);
//! assert_eq!(cache.current_data(), None); // not created yet
//! let mut events = cache.events();
//! assert_eq!(events.next().await, Some(NodeEvent::Initialized)); // the snapshot: loaded
//! client.create().data(b"v1".to_vec()).at("/config").await?;
//! match events.next().await {
//!     Some(NodeEvent::Created(node)) => assert_eq!(node.data, Some(b"v1".to_vec())),
//!     other => panic!("unexpected {other:?}"),
//! }
//! cache.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod machine;

pub use machine::{NodeEvent, NodeMachine};

use super::{Cache, ChildData};
use crate::framework::Client;
use crate::{path, Error};

/// A cache of one node (Curator's `NodeCache`).
pub type NodeCache = Cache<NodeMachine>;

impl Cache<NodeMachine> {
    /// Starts caching the node at `path` (which need not exist): the cache runs when this
    /// returns and loads in the background; see [`await_initialized`](Self::await_initialized).
    pub async fn start(client: &Client, path: &str) -> Result<NodeCache, Error> {
        path::validate(path)?;
        let machine = NodeMachine::new(path.to_owned());
        Ok(Cache::run(client, "node cache", path, machine))
    }

    /// The node as last read; `None` while it does not exist or before the first read.
    pub fn current_data(&self) -> Option<ChildData> {
        self.inspect(|m| m.current_data().cloned())
    }
}

#[cfg(test)]
mod tests;
