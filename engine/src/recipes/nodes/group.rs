//! Curator's `GroupMember`: membership in a group, and a view of everyone in it.
//!
//! The member's node is `<membershipPath>/<id>`, EPHEMERAL, holding its payload (a
//! [`PersistentNode`](super::PersistentNode) in ephemeral mode, so it comes back after a
//! deletion or an expired session); a [`PathChildrenCache`] of the membership path shows the
//! group. Java Curator members of the same path are members of the same group.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use std::time::Duration;
//! use docent::recipes::nodes::{GroupMember, GroupOptions};
//! use futures::StreamExt;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let a = GroupMember::start(&client, "/group", GroupOptions::default().id("a").data(b"1".to_vec())).await?;
//! let b = GroupMember::start(&client, "/group", GroupOptions::default().id("b").data(b"2".to_vec())).await?;
//! b.await_initial_create(Duration::from_secs(5)).await?;
//! // The cache's events tell when the group changed.
//! let mut events = a.events();
//! while a.current_members().len() < 2 {
//!     events.next().await;
//! }
//! let members = a.current_members();
//! assert_eq!((members["a"].as_slice(), members["b"].as_slice()), (&b"1"[..], &b"2"[..]));
//! b.close().await?;
//! a.close().await?;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use super::{NodeOptions, NodeState, PersistentNode};
use crate::framework::{Client, StateWatch};
use crate::recipes::cache::{
    CacheEventStream, ChildrenEvent, ChildrenOptions, PathChildrenCache, StartMode,
};
use crate::types::CreateMode;
use crate::{path, Error};

/// Options of a [`GroupMember`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct GroupOptions {
    id: String,
    data: Vec<u8>,
}

impl GroupOptions {
    /// This member's id: its node's name (required).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// This member's payload, its node's data.
    pub fn data(mut self, data: Vec<u8>) -> Self {
        self.data = data;
        self
    }
}

/// A member of a group (Curator's `GroupMember`).
#[derive(Debug)]
pub struct GroupMember {
    id: String,
    node: PersistentNode,
    cache: PathChildrenCache,
}

impl GroupMember {
    /// Joins the group at `path` as `options.id`; the member runs when this returns (its
    /// node is being created, the cache is loading).
    pub async fn start(
        client: &Client,
        path: &str,
        options: GroupOptions,
    ) -> Result<GroupMember, Error> {
        let member = path::join(path, &options.id);
        if options.id.is_empty() || path::parent(&member) != Some(path) {
            return Err(Error::InvalidArgument(format!(
                "a group member's id must be a single node name, not {:?}",
                options.id
            )));
        }
        let node_options = NodeOptions::default()
            .mode(CreateMode::Ephemeral)
            .data(options.data);
        let node = PersistentNode::start(client, &member, node_options).await?;
        let cache_options = ChildrenOptions::default().mode(StartMode::PostInitializedEvent);
        let cache = match PathChildrenCache::start(client, path, cache_options).await {
            Ok(cache) => cache,
            Err(e) => {
                let _ = node.close().await;
                return Err(e);
            }
        };
        Ok(GroupMember {
            id: options.id,
            node,
            cache,
        })
    }

    /// This member's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Every member the cache shows, id → payload; this member is always in it (with its
    /// newest payload until the cache shows its node), as in Curator.
    pub fn current_members(&self) -> BTreeMap<String, Vec<u8>> {
        members_of(&self.cache, &self.node, &self.id)
    }

    /// The state of this member's node, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<NodeState> {
        self.node.watch_state()
    }

    /// The state of this member's node now.
    pub fn state(&self) -> NodeState {
        self.node.state()
    }

    /// Replaces this member's payload: returns once it is written.
    pub async fn set_data(&self, data: Vec<u8>) -> Result<(), Error> {
        self.node.set_data(data).await
    }

    /// Waits at most `timeout` for this member's node to be present the first time.
    pub async fn await_initial_create(&self, timeout: Duration) -> Result<bool, Error> {
        self.node.await_initial_create(timeout).await
    }

    /// Waits for the cache's initial load of the group.
    pub async fn await_initialized(&self) -> Result<(), Error> {
        self.cache.await_initialized().await
    }

    /// The group's changes as the cache sees them (a snapshot first, then each change).
    pub fn events(&self) -> CacheEventStream<ChildrenEvent> {
        self.cache.events()
    }

    /// Leaves the group: deletes this member's node and stops the cache.
    pub async fn close(self) -> Result<(), Error> {
        let node = self.node.close().await;
        let cache = self.cache.close().await;
        node.and(cache)
    }
}

fn members_of(
    cache: &PathChildrenCache,
    node: &PersistentNode,
    id: &str,
) -> BTreeMap<String, Vec<u8>> {
    let mut members: BTreeMap<String, Vec<u8>> = cache
        .current_data_all()
        .into_iter()
        .map(|child| {
            (
                path::name(&child.path).to_owned(),
                child.data.unwrap_or_default(),
            )
        })
        .collect();
    members.entry(id.to_owned()).or_insert_with(|| node.data());
    members
}
