//! Curator's `NodeCache`: one node's data and stat, whether or not it exists.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::cache::{NodeCache, NodeEvent};
//! use futures::StreamExt;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let cache = NodeCache::start(&client, "/config")?;
//! cache.await_initialized().await?;
//! assert_eq!(cache.current_data(), None); // not created yet
//! let mut events = cache.events();
//! client.create().data(b"v1".to_vec()).at("/config").await?;
//! match events.next().await {
//!     Some(NodeEvent::Created(node)) => assert_eq!(node.data, Some(b"v1".to_vec())),
//!     other => panic!("unexpected {other:?}"),
//! }
//! cache.close().await;
//! # Ok(())
//! # }
//! ```

pub mod machine;

pub use machine::{NodeEvent, NodeMachine};

use super::{CacheCommand, ChildData};
use crate::framework::driver::{spawn_machine, wait_for, Driven, EventStream};
use crate::framework::Client;
use crate::{path, Error};

/// A cache of one node (Curator's `NodeCache`).
#[derive(Debug)]
pub struct NodeCache {
    path: String,
    driven: Driven<NodeMachine>,
}

impl NodeCache {
    /// Starts caching the node at `path` (which need not exist). Loads in the background; see
    /// [`await_initialized`](Self::await_initialized).
    pub fn start(client: &Client, path: &str) -> Result<NodeCache, Error> {
        path::validate(path)?;
        Ok(NodeCache {
            path: path.to_owned(),
            driven: spawn_machine(client, NodeMachine::new(path.to_owned())),
        })
    }

    /// The node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The node as last read; `None` while it does not exist or before the first read.
    pub fn current_data(&self) -> Option<ChildData> {
        self.driven.inspect(|m| m.current_data().cloned())
    }

    /// True once the first read is complete.
    pub fn is_initialized(&self) -> bool {
        self.driven.inspect(NodeMachine::is_initialized)
    }

    /// Waits for the first read (it waits for a connection).
    pub async fn await_initialized(&self) -> Result<(), Error> {
        wait_for(&self.driven, |m| m.is_initialized().then_some(())).await
    }

    /// Events from now on (unbounded: a slow listener never stalls the cache).
    pub fn events(&self) -> EventStream<NodeEvent> {
        self.driven.subscribe()
    }

    /// Stops the cache; its events stream ends.
    pub async fn close(self) {
        let _ = self.driven.command(CacheCommand::Close);
        self.driven.finished().await;
    }
}

#[cfg(test)]
mod tests;
