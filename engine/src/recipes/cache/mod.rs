//! Caches: keep a local, always-readable copy of part of the tree, and tell listeners what
//! changed (Curator's `NodeCache`, `PathChildrenCache`, and `TreeCache` / `CuratorCache`).
//!
//! | cache | what it holds | watches |
//! |---|---|---|
//! | [`NodeCache`] | one node's data and stat | a data watch, an exists watch while absent |
//! | [`PathChildrenCache`] | the children of a node, with their data (optional) and stat | a child watch on the parent, a data watch per child |
//! | [`TreeCache`] | a whole subtree, down to a maximum depth, filtered by a [`Selector`] | one persistent recursive watch (ZooKeeper 3.6+), else one-shot watches per node |
//!
//! All three share these rules:
//!
//! - **Never a state the server never had.** Every change applied to the cache is a read
//!   result or a watch event, applied in the order the session delivered them.
//! - **A node is its creation.** Two reads of one path with different `czxid` are two nodes:
//!   a delete and re-create (even one that happened while disconnected, even with the same
//!   version and data) is reported as a removal followed by an addition.
//! - **Bursts are diffs.** A child watch fire re-lists and diffs; one event is never taken for
//!   one change.
//! - **Reads are pipelined.** A listing's unknown children are read all at once (the driver
//!   submits in poll order), never one round trip per child.
//! - **Reconnects are cheap.** When the same session comes back its watches are still
//!   registered (ZooKeeper re-registers them and fires what was missed): a children cache
//!   re-lists once and reads only new names and reads that failed. Only a new session (after
//!   LOST) re-reads everything, because its watches are gone.
//! - **A cache started while the ensemble is down** sends nothing until the first connection,
//!   then fills; a read that fails for want of a connection is sent again only once the
//!   connection is back.
//! - **Listeners cannot stall the cache**: events go out on the driver's unbounded broadcast,
//!   and a snapshot read takes the machine's lock only for the copy.

pub mod children;
mod core;
mod handle;
pub mod node;
mod reads;
pub mod tree;

pub use children::{ChildrenEvent, ChildrenMachine, ChildrenOptions, PathChildrenCache, StartMode};
pub(crate) use handle::close_cache;
pub use handle::{Cache, CacheEventStream};
pub use node::{NodeCache, NodeEvent, NodeMachine};
pub use tree::{Selector, TreeCache, TreeEvent, TreeMachine, TreeOptions};

use crate::types::Stat;

/// One cached node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildData {
    /// Its full path (as the client sees it, without the namespace).
    pub path: String,
    /// Its stat as of the last read.
    pub stat: Stat,
    /// Its data, unless the cache was told not to keep data.
    pub data: Option<Vec<u8>>,
}

/// Whether a cache has loaded (see each cache's `state()` and `watch_state()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheState {
    /// The initial load is in progress (or waits for the first connection).
    Loading,
    /// The initial load is complete; the cache follows every change.
    Initialized,
}

/// Commands shared by the cache machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheCommand {
    /// Stop watching for good.
    Close,
}

#[cfg(test)]
mod testing;
