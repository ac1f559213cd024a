//! Curator's `PersistentTtlNode`: a container node kept present, with a child `touch` (a
//! PERSISTENT_WITH_TTL node) touched every `ttl / 2`.
//!
//! While the recipe runs the child keeps the container alive; once it stops (closed, or the
//! process died) nothing touches the child, which expires after its TTL, and the container is
//! reaped after it. Closing therefore deletes nothing: the node lingers for about one TTL.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use std::time::Duration;
//! use docent::recipes::nodes::{PersistentTtlNode, TtlOptions};
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let options = TtlOptions::new(Duration::from_secs(10)).data(b"alive".to_vec());
//! let node = PersistentTtlNode::start(&client, "/heartbeats/me", options).await?;
//! assert!(node.await_initial_create(Duration::from_secs(5)).await?);
//! assert_eq!(client.get_data().at("/heartbeats/me").await?.0, b"alive".to_vec());
//! node.close().await?;
//! # Ok(())
//! # }
//! ```

use std::time::Duration;

use super::{validated, Handle, NodeMachine, NodeState};
use crate::framework::{Client, StateWatch};
use crate::types::CreateMode;
use crate::Error;

/// Curator's name of the touched child.
pub const TOUCH_NAME: &str = "touch";

/// Options of a [`PersistentTtlNode`].
#[derive(Debug, Clone)]
#[must_use]
pub struct TtlOptions {
    ttl: Duration,
    data: Vec<u8>,
    child: String,
}

impl TtlOptions {
    /// A node whose touched child lives `ttl` past its last touch.
    pub fn new(ttl: Duration) -> TtlOptions {
        TtlOptions {
            ttl,
            data: Vec::new(),
            child: TOUCH_NAME.to_owned(),
        }
    }

    /// The node's initial data.
    pub fn data(mut self, data: Vec<u8>) -> Self {
        self.data = data;
        self
    }

    /// The touched child's name (default `touch`).
    pub fn child(mut self, name: impl Into<String>) -> Self {
        self.child = name.into();
        self
    }
}

/// A node that outlives its recipe by about one TTL (Curator's `PersistentTtlNode`).
#[derive(Debug)]
pub struct PersistentTtlNode(Handle);

impl PersistentTtlNode {
    /// Starts keeping a container node at `path` and its TTL child alive; the recipe runs
    /// when this returns.
    pub async fn start(
        client: &Client,
        path: &str,
        options: TtlOptions,
    ) -> Result<PersistentTtlNode, Error> {
        let mode = CreateMode::PersistentWithTtl(options.ttl);
        validated(path, mode, &options.data)?;
        let child = crate::path::join(path, &options.child);
        crate::path::validate(&child)?;
        if crate::path::parent(&child) != Some(path) {
            return Err(Error::InvalidArgument(format!(
                "the touched child {:?} must be a single name",
                options.child
            )));
        }
        let machine = NodeMachine::new(
            path.to_owned(),
            CreateMode::Container,
            options.data,
            false,
            client.next_rng(),
        )
        .with_touch(&options.child, options.ttl);
        Ok(PersistentTtlNode(Handle::run(
            client,
            "ttl node",
            path.to_owned(),
            machine,
        )))
    }

    /// Whether the node is present now.
    pub fn state(&self) -> NodeState {
        self.0.state()
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<NodeState> {
        self.0.watch_state()
    }

    /// The newest data given.
    pub fn data(&self) -> Vec<u8> {
        self.0.data()
    }

    /// Replaces the node's data: returns once it is written.
    pub async fn set_data(&self, data: Vec<u8>) -> Result<(), Error> {
        self.0.set_data(data).await
    }

    /// Waits at most `timeout` for the node to be present the first time; `Ok(false)` when the
    /// time ran out.
    pub async fn await_initial_create(&self, timeout: Duration) -> Result<bool, Error> {
        self.0.await_initial_create(timeout).await
    }

    /// Stops touching; the node stays until its child's TTL runs out and it is reaped.
    pub async fn close(self) -> Result<(), Error> {
        self.0.close().await
    }
}
