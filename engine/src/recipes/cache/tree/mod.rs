//! Curator's `CuratorCache` / `TreeCache`: a whole subtree, on one persistent recursive watch
//! where the server has them (ZooKeeper 3.6+), on one-shot watches per node otherwise.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::cache::{TreeCache, TreeEvent, TreeOptions};
//! use futures::StreamExt;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! client.create().parents().data(b"8080".to_vec()).at("/services/web/port").await?;
//! let cache = TreeCache::start(&client, "/services", TreeOptions::default().max_depth(1))?;
//! cache.await_initialized().await?;
//! assert!(cache.current_data("/services/web").is_some());
//! assert!(cache.current_data("/services/web/port").is_none()); // below max depth
//! let mut events = cache.events();
//! client.set_data().at("/services/web", b"up".to_vec()).await?;
//! match events.next().await {
//!     Some(TreeEvent::NodeChanged(node)) => assert_eq!(node.data, Some(b"up".to_vec())),
//!     other => panic!("unexpected {other:?}"),
//! }
//! cache.close().await;
//! # Ok(())
//! # }
//! ```

pub mod machine;
mod options;

use std::collections::BTreeMap;

pub use machine::{TreeEvent, TreeMachine};
pub use options::{Selector, TreeOptions};

use super::{CacheCommand, ChildData};
use crate::framework::driver::{spawn_machine, wait_for, Driven, EventStream};
use crate::framework::Client;
use crate::{path, Error};

/// A cache of a whole subtree (Curator's `CuratorCache`, with `TreeCache`'s options).
#[derive(Debug)]
pub struct TreeCache {
    root: String,
    driven: Driven<TreeMachine>,
}

impl TreeCache {
    /// Starts caching the tree at `root` (which need not exist). Loads in the background; see
    /// [`await_initialized`](Self::await_initialized).
    pub fn start(client: &Client, root: &str, options: TreeOptions) -> Result<TreeCache, Error> {
        path::validate(root)?;
        let machine = TreeMachine::new(root.to_owned(), options);
        Ok(TreeCache {
            root: root.to_owned(),
            driven: spawn_machine(client, machine),
        })
    }

    /// The root path.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Every cached node by full path (a consistent copy).
    pub fn snapshot(&self) -> BTreeMap<String, ChildData> {
        self.driven.inspect(TreeMachine::snapshot)
    }

    /// One cached node.
    pub fn current_data(&self, path: &str) -> Option<ChildData> {
        self.driven.inspect(|m| m.current_data(path).cloned())
    }

    /// The cached children of `path` by name (`None` when `path` is not cached).
    pub fn current_children(&self, path: &str) -> Option<BTreeMap<String, ChildData>> {
        self.driven.inspect(|m| m.current_children(path))
    }

    /// True once the initial load is complete.
    pub fn is_initialized(&self) -> bool {
        self.driven.inspect(TreeMachine::is_initialized)
    }

    /// Waits for the initial load (it waits for a connection).
    pub async fn await_initialized(&self) -> Result<(), Error> {
        wait_for(&self.driven, |m| m.is_initialized().then_some(())).await
    }

    /// Events from now on (unbounded: a slow listener never stalls the cache).
    pub fn events(&self) -> EventStream<TreeEvent> {
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
