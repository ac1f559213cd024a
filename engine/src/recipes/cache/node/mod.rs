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

use super::handle::Running;
use super::{CacheEventStream, CacheState, ChildData};
use crate::framework::driver::recipe_span;
use crate::framework::{Client, StateWatch};
use crate::{path, Error};

/// A cache of one node (Curator's `NodeCache`).
#[derive(Debug)]
pub struct NodeCache {
    path: String,
    running: Running<NodeMachine>,
}

impl NodeCache {
    /// Starts caching the node at `path` (which need not exist): the cache runs when this
    /// returns and loads in the background; see [`await_initialized`](Self::await_initialized).
    pub async fn start(client: &Client, path: &str) -> Result<NodeCache, Error> {
        path::validate(path)?;
        Ok(NodeCache {
            path: path.to_owned(),
            running: Running::start(
                client,
                NodeMachine::new(path.to_owned()),
                recipe_span("node cache", path, ""),
            ),
        })
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The node as last read; `None` while it does not exist or before the first read.
    pub fn current_data(&self) -> Option<ChildData> {
        self.running.inspect(|m| m.current_data().cloned())
    }

    /// True once the first read is complete.
    pub fn is_initialized(&self) -> bool {
        self.state() == CacheState::Initialized
    }

    /// Whether the first read is complete.
    pub fn state(&self) -> CacheState {
        self.running.state()
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<CacheState> {
        self.running.watch_state()
    }

    /// Waits for the first read (it waits for a connection).
    pub async fn await_initialized(&self) -> Result<(), Error> {
        self.running.await_initialized().await
    }

    /// The events, starting with a snapshot (`Created` with the node if it exists, then
    /// `Initialized` once the first read is complete), then every change (unbounded: a slow
    /// listener never stalls the cache).
    pub fn events(&self) -> CacheEventStream<NodeEvent> {
        self.running.events()
    }

    /// Stops the cache; its event streams end. [`Error::Closed`] if it had stopped already
    /// (the client was closed).
    pub async fn close(self) -> Result<(), Error> {
        self.running.close().await
    }
}

#[cfg(test)]
mod tests;
