//! Curator's `PathChildrenCache`: the children of one node, with their data and stat.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::recipes::cache::{ChildrenEvent, ChildrenOptions, PathChildrenCache, StartMode};
//! use futures::StreamExt;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! client.create().parents().data(b"idle".to_vec()).at("/workers/w1").await?;
//! let options = ChildrenOptions::default().mode(StartMode::BuildInitial);
//! let cache = PathChildrenCache::start(&client, "/workers", options).await?;
//! // BuildInitial: the snapshot is complete before `start` returns.
//! assert_eq!(cache.current_data("w1").and_then(|c| c.data), Some(b"idle".to_vec()));
//! // The snapshot first (w1, then the end of the initial load), then the changes.
//! let mut events = cache.events().skip(2);
//! client.create().data(b"busy".to_vec()).at("/workers/w2").await?;
//! match events.next().await {
//!     Some(ChildrenEvent::ChildAdded(child)) => assert_eq!(child.path, "/workers/w2"),
//!     other => panic!("unexpected {other:?}"),
//! }
//! cache.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod machine;

use std::collections::BTreeMap;

pub use machine::{ChildrenEvent, ChildrenMachine, StartMode};

use super::{Cache, ChildData};
use crate::framework::Client;
use crate::{path, Error};

/// How a [`PathChildrenCache`] starts and what it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct ChildrenOptions {
    mode: StartMode,
    cache_data: bool,
}

impl Default for ChildrenOptions {
    /// [`StartMode::Normal`], data cached.
    fn default() -> Self {
        ChildrenOptions {
            mode: StartMode::Normal,
            cache_data: true,
        }
    }
}

impl ChildrenOptions {
    /// How the initial children are reported.
    pub fn mode(mut self, mode: StartMode) -> Self {
        self.mode = mode;
        self
    }

    /// Whether to keep the children's data (`false`: stat only, read with exists watches).
    pub fn cache_data(mut self, cache_data: bool) -> Self {
        self.cache_data = cache_data;
        self
    }
}

/// A cache of the children of one node (Curator's `PathChildrenCache`).
pub type PathChildrenCache = Cache<ChildrenMachine>;

impl Cache<ChildrenMachine> {
    /// Starts caching the children of `path` (which need not exist yet): the cache runs when
    /// this returns. With [`StartMode::BuildInitial`] it returns once the initial children
    /// are loaded; it then waits for a connection.
    pub async fn start(
        client: &Client,
        path: &str,
        options: ChildrenOptions,
    ) -> Result<PathChildrenCache, Error> {
        path::validate(path)?;
        let machine = ChildrenMachine::new(path.to_owned(), options.mode, options.cache_data);
        let cache = Cache::run(client, "children cache", path, machine);
        if options.mode == StartMode::BuildInitial {
            cache.await_initialized().await?;
        }
        Ok(cache)
    }

    /// Every cached child, sorted by path (a consistent copy).
    pub fn current_data_all(&self) -> Vec<ChildData> {
        self.snapshot().into_values().collect()
    }

    /// The cached children by full path (a consistent copy).
    pub fn snapshot(&self) -> BTreeMap<String, ChildData> {
        self.inspect(ChildrenMachine::snapshot)
    }

    /// One cached child, by full path or by name.
    pub fn current_data(&self, path_or_name: &str) -> Option<ChildData> {
        self.inspect(|m| m.current_data(path_or_name).cloned())
    }
}

#[cfg(test)]
mod tests;
