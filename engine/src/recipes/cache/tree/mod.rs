//! Curator's `CuratorCache` / `TreeCache`: a whole subtree, on one persistent recursive watch
//! where the server has them (ZooKeeper 3.6+), on one-shot watches per node otherwise.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::cache::{CacheState, TreeCache, TreeEvent, TreeOptions};
//! use futures::StreamExt;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! client.create().parents().data(b"8080".to_vec()).at("/services/web/port").await?;
//! let cache = TreeCache::start(&client, "/services", TreeOptions::default().max_depth(1)).await?;
//! cache.await_initialized().await?;
//! assert_eq!(cache.state(), CacheState::Initialized);
//! assert!(cache.current_data("/services/web").is_some());
//! assert!(cache.current_data("/services/web/port").is_none()); // below max depth
//! // The snapshot first: every cached node, then `Initialized`.
//! let mut events = cache.events().skip(3);
//! client.set_data().at("/services/web", b"up".to_vec()).await?;
//! match events.next().await {
//!     Some(TreeEvent::NodeChanged(node)) => assert_eq!(node.data, Some(b"up".to_vec())),
//!     other => panic!("unexpected {other:?}"),
//! }
//! cache.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod machine;
mod options;

use std::collections::BTreeMap;

pub use machine::{TreeEvent, TreeMachine};
pub use options::{Selector, TreeOptions};

use super::{Cache, ChildData};
use crate::framework::Client;
use crate::{path, Error};

/// A cache of a whole subtree (Curator's `CuratorCache`, with `TreeCache`'s options).
pub type TreeCache = Cache<TreeMachine>;

impl Cache<TreeMachine> {
    /// Starts caching the tree at `root` (which need not exist): the cache runs when this
    /// returns and loads in the background; see [`await_initialized`](Self::await_initialized).
    pub async fn start(
        client: &Client,
        root: &str,
        options: TreeOptions,
    ) -> Result<TreeCache, Error> {
        path::validate(root)?;
        let machine = TreeMachine::new(root.to_owned(), options);
        Ok(Cache::run(client, "tree cache", root, machine))
    }

    /// The root path.
    pub fn root(&self) -> &str {
        self.path()
    }

    /// Every cached node by full path (a consistent copy).
    pub fn snapshot(&self) -> BTreeMap<String, ChildData> {
        self.inspect(TreeMachine::snapshot)
    }

    /// One cached node.
    pub fn current_data(&self, path: &str) -> Option<ChildData> {
        self.inspect(|m| m.current_data(path).cloned())
    }

    /// The cached children of `path` by name (`None` when `path` is not cached).
    pub fn current_children(&self, path: &str) -> Option<BTreeMap<String, ChildData>> {
        self.inspect(|m| m.current_children(path))
    }
}

#[cfg(test)]
mod tests;
