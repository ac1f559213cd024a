//! Nodes kept present while a recipe runs: Curator's `PersistentNode`, `PersistentTtlNode`
//! and `GroupMember`.
//!
//! A [`PersistentNode`] creates its node (protected in sequential modes, with container
//! parents), recreates it when it is deleted or goes with an expired session, writes new data
//! with [`set_data`](PersistentNode::set_data), and deletes it on [`close`](PersistentNode::close)
//! (a guaranteed delete). Every create mode works, TTL modes included.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use std::time::Duration;
//! use docent::recipes::nodes::{NodeOptions, NodeState, PersistentNode};
//! use docent::CreateMode;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let options = NodeOptions::default().mode(CreateMode::Ephemeral).data(b"v1".to_vec());
//! let node = PersistentNode::start(&client, "/services/me", options).await?;
//! assert!(node.await_initial_create(Duration::from_secs(5)).await?);
//! // Someone deletes it: it comes back, with the newest data.
//! node.set_data(b"v2".to_vec()).await?;
//! let NodeState::Present { stat, .. } = node.state() else { unreachable!() };
//! client.delete().at("/services/me").await?;
//! let mut state = node.watch_state();
//! state.wait_for(|s| matches!(s, NodeState::Present { stat: new, .. } if new.czxid != stat.czxid)).await;
//! assert_eq!(client.get_data().at("/services/me").await?.0, b"v2".to_vec());
//! node.close().await?;
//! assert!(client.exists().at("/services/me").await?.0.is_none());
//! # Ok(())
//! # }
//! ```
//!
//! The machine is drawn in [`machine`]; the TTL touch in `touch.rs`.

pub mod group;
pub mod machine;
mod touch;
pub mod ttl;

use std::sync::Arc;
use std::time::Duration;

pub use group::{GroupMember, GroupOptions};
pub use machine::{NodeCommand, NodeEvent, NodeMachine, NodeState};
pub use ttl::{PersistentTtlNode, TtlOptions, TOUCH_NAME};

use crate::framework::driver::{recipe_span, spawn_machine_in, wait_for, Driven, EventStream};
use crate::framework::{Client, StateWatch};
use crate::op::Op;
use crate::recipes::wait::{finish_closing, until};
use crate::types::{Acl, CreateMode};
use crate::{path, wire, Error};

/// Options of a [`PersistentNode`].
#[derive(Debug, Clone)]
#[must_use]
pub struct NodeOptions {
    mode: CreateMode,
    data: Vec<u8>,
}

impl Default for NodeOptions {
    /// [`CreateMode::Ephemeral`] (Curator's usual choice), empty data.
    fn default() -> Self {
        NodeOptions {
            mode: CreateMode::Ephemeral,
            data: Vec::new(),
        }
    }
}

impl NodeOptions {
    /// The node's create mode; sequential modes create protected nodes.
    pub fn mode(mut self, mode: CreateMode) -> Self {
        self.mode = mode;
        self
    }

    /// The node's initial data.
    pub fn data(mut self, data: Vec<u8>) -> Self {
        self.data = data;
        self
    }
}

/// Checks what a node recipe would create: a valid path (not the root) for `mode`, data that
/// fits in a request, a TTL ZooKeeper accepts.
fn validated(path: &str, mode: CreateMode, data: &[u8]) -> Result<String, Error> {
    path::validate_create(path, mode.is_sequential())?;
    if path == "/" {
        return Err(Error::InvalidArgument(
            "the root cannot be a recipe's node".into(),
        ));
    }
    if mode.ttl().is_some_and(|ttl| ttl.is_zero()) {
        return Err(Error::InvalidArgument(
            "a TTL node needs a TTL above zero".into(),
        ));
    }
    checked_data(path, data)?;
    Ok(path.to_owned())
}

/// Fails with [`Error::DataTooLarge`] when `data` would not fit in a create of `path`.
fn checked_data(path: &str, data: &[u8]) -> Result<(), Error> {
    wire::check_len(&Op::Create {
        path: path.to_owned(),
        data: data.to_vec(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    })
}

/// The handle shared by the node recipes.
#[derive(Debug)]
struct Handle {
    client: Client,
    path: String,
    driven: Arc<Driven<NodeMachine>>,
}

impl Handle {
    fn run(client: &Client, recipe: &'static str, path: String, machine: NodeMachine) -> Handle {
        let span = recipe_span(recipe, &path, "");
        Handle {
            client: client.clone(),
            driven: Arc::new(spawn_machine_in(client, machine, span)),
            path,
        }
    }

    fn state(&self) -> NodeState {
        self.driven.inspect(NodeMachine::state)
    }

    fn watch_state(&self) -> StateWatch<NodeState> {
        self.driven.inspect(NodeMachine::watch)
    }

    fn actual_path(&self) -> Option<String> {
        self.driven.inspect(|m| m.actual_path().map(str::to_owned))
    }

    fn data(&self) -> Vec<u8> {
        self.driven.inspect(|m| m.data().to_vec())
    }

    async fn set_data(&self, data: Vec<u8>) -> Result<(), Error> {
        checked_data(&self.path, &data)?;
        self.driven.command(NodeCommand::SetData(data))?;
        let gen = self.driven.inspect(|m| m.generations().0);
        wait_for(&self.driven, |m| (m.generations().1 >= gen).then_some(())).await
    }

    async fn await_initial_create(&self, timeout: Duration) -> Result<bool, Error> {
        let deadline = self.client.now() + timeout;
        let present = wait_for(&self.driven, |m| m.actual_path().map(|_| ()));
        Ok(until(&self.client, Some(deadline), present)
            .await
            .transpose()?
            .is_some())
    }

    async fn close(self) -> Result<(), Error> {
        let _ = self.driven.command(NodeCommand::Close);
        finish_closing(&self.client, self.driven).await
    }
}

/// A node kept present while this runs (Curator's `PersistentNode`).
#[derive(Debug)]
pub struct PersistentNode(Handle);

impl PersistentNode {
    /// Starts keeping a node at `path` (in sequential modes, the name prefix: the actual path
    /// gets the server's suffix, see [`actual_path`](Self::actual_path)); missing parents are
    /// created as containers. The recipe runs when this returns.
    pub async fn start(
        client: &Client,
        path: &str,
        options: NodeOptions,
    ) -> Result<PersistentNode, Error> {
        let path = validated(path, options.mode, &options.data)?;
        let machine = NodeMachine::new(
            path.clone(),
            options.mode,
            options.data,
            true,
            client.next_rng(),
        );
        Ok(PersistentNode(Handle::run(client, "node", path, machine)))
    }

    /// Whether the node is present now.
    pub fn state(&self) -> NodeState {
        self.0.state()
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<NodeState> {
        self.0.watch_state()
    }

    /// The node's path while it is present (with its sequence suffix in sequential modes).
    pub fn actual_path(&self) -> Option<String> {
        self.0.actual_path()
    }

    /// The newest data given (what the node holds once written).
    pub fn data(&self) -> Vec<u8> {
        self.0.data()
    }

    /// Replaces the node's data: returns once it is written (it waits for the node and a
    /// connection); every later create uses it.
    pub async fn set_data(&self, data: Vec<u8>) -> Result<(), Error> {
        self.0.set_data(data).await
    }

    /// Waits at most `timeout` for the node to be present the first time; `Ok(false)` when the
    /// time ran out.
    pub async fn await_initial_create(&self, timeout: Duration) -> Result<bool, Error> {
        self.0.await_initial_create(timeout).await
    }

    /// What the recipe did: nodes created, data written, errors it keeps trying through.
    pub fn events(&self) -> EventStream<NodeEvent> {
        self.0.driven.subscribe()
    }

    /// Stops, deleting the node: `Ok` once it is deleted ([`Error::Timeout`] past a session
    /// timeout, the guaranteed delete going on in the background).
    pub async fn close(self) -> Result<(), Error> {
        self.0.close().await
    }
}

#[cfg(test)]
mod tests;
