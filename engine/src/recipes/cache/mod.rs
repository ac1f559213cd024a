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

/// The `Machine` glue the three cache machines share: each has `reads`, `events` and `closed`
/// and its own `on_op_done`, `on_watch` and `on_connection`; closing stops everything at once.
macro_rules! cache_machine {
    ($machine:ty, $event:ty) => {
        impl $crate::machine::Machine for $machine {
            type Command = $crate::recipes::cache::CacheCommand;
            type Event = $event;

            fn handle(
                &mut self,
                _now: $crate::time::Instant,
                input: $crate::machine::Input<Self::Command>,
            ) {
                use $crate::machine::Input;
                match input {
                    Input::OpDone { token, result } => self.on_op_done(token, result),
                    Input::Watch { token, event } => self.on_watch(token, event),
                    Input::Connection { state, session_id } => {
                        self.on_connection(state, session_id)
                    }
                    Input::Timeout => {}
                    Input::Command($crate::recipes::cache::CacheCommand::Close) => {
                        self.closed = true;
                        self.reads.clear_ops();
                    }
                }
            }

            fn poll_op(&mut self) -> Option<($crate::machine::Token, $crate::op::Op)> {
                self.reads.poll_op()
            }

            fn poll_event(&mut self) -> Option<$event> {
                self.events.pop_front()
            }

            fn poll_timeout(&self) -> Option<$crate::time::Instant> {
                None
            }

            fn is_done(&self) -> bool {
                self.closed
            }
        }
    };
}

pub mod children;
pub mod node;
mod reads;
pub mod tree;

pub use children::{ChildrenEvent, ChildrenMachine, ChildrenOptions, PathChildrenCache, StartMode};
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

/// Commands shared by the cache machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheCommand {
    /// Stop watching for good.
    Close,
}

/// How a fresh read of a node relates to what the cache held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing changed.
    Same,
    /// The node is new to the cache.
    Added,
    /// The same node (same czxid) with new data or stat.
    Updated,
    /// Another node under the same path (deleted and re-created): remove, then add.
    Replaced,
}

/// Compares a fresh read with the cached node.
pub(crate) fn compare(old: Option<&ChildData>, new: &ChildData) -> Change {
    match old {
        None => Change::Added,
        Some(old) if old.stat.czxid != new.stat.czxid => Change::Replaced,
        Some(old) if old == new => Change::Same,
        Some(_) => Change::Updated,
    }
}

/// The connection events every cache reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connection {
    Suspended,
    Reconnected,
    Lost,
}

pub(crate) fn connection_event(state: crate::ConnectionState) -> Option<Connection> {
    use crate::ConnectionState::*;
    match state {
        Suspended => Some(Connection::Suspended),
        Reconnected => Some(Connection::Reconnected),
        Lost => Some(Connection::Lost),
        _ => None,
    }
}

#[cfg(test)]
mod testing;
