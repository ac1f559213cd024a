//! Fluent builders for creates and deletes (Curator's `create()` and `delete()`).

use std::sync::atomic::Ordering;

use crate::framework::retry_loop::Replay;
use crate::framework::{tasks, Client, Created, ProtectedCreate};
use crate::op::{Op, OpResult};
use crate::path;
use crate::types::{Acl, CreateMode};
use crate::{wire, Error};

/// How many times a create re-makes its parents after NoNode before reporting it.
const PARENT_ROUNDS: u32 = 3;

/// `client.create()`: see [`Client::create`].
#[derive(Debug)]
#[must_use]
pub struct CreateBuilder {
    client: Client,
    mode: CreateMode,
    acl: Vec<Acl>,
    protected: bool,
    parents: bool,
    data: Vec<u8>,
}

impl CreateBuilder {
    /// The create mode (default PERSISTENT).
    pub fn mode(mut self, mode: CreateMode) -> Self {
        self.mode = mode;
        self
    }

    /// The node's ACL (default `world:anyone` with every permission).
    pub fn acl(mut self, acl: Vec<Acl>) -> Self {
        self.acl = acl;
        self
    }

    /// Protected name (`_c_<uuid>-` prefix): an unknown outcome is resolved by looking, never
    /// by blindly creating again. See [`ProtectedCreate`].
    pub fn protected(mut self) -> Self {
        self.protected = true;
        self
    }

    /// Create missing parents as CONTAINER nodes with empty data and an open ACL (Curator's
    /// `creatingParentContainersIfNeeded`), the namespace's own nodes included.
    pub fn parents(mut self) -> Self {
        self.parents = true;
        self
    }

    /// The node's data (default empty).
    pub fn data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = data.into();
        self
    }

    /// Creates the node; returns its path (with the sequence suffix for sequential modes).
    pub async fn at(self, path: &str) -> Result<String, Error> {
        self.at_with_stat(path).await.map(|created| created.path)
    }

    /// Creates the node; returns its path and stat.
    pub async fn at_with_stat(self, path: &str) -> Result<Created, Error> {
        let op = Op::Create {
            path: path.to_owned(),
            data: self.data,
            acl: self.acl,
            mode: self.mode,
        };
        // Refused before anything is sent, the namespace's nodes included.
        op.validate()?;
        wire::check_len(&op)?;
        if self.parents {
            self.client.ensure_namespace().await?;
        }
        if self.protected {
            let Op::Create { data, acl, .. } = op else {
                unreachable!("built above")
            };
            let mut rng = self.client.next_rng();
            let create = ProtectedCreate::new(path, data, acl, self.mode, self.parents, &mut rng);
            return tasks::protected_create(&self.client, create).await;
        }
        let replay = if self.mode.is_sequential() {
            Replay::Once
        } else {
            Replay::Write
        };
        let mut rounds = 0;
        loop {
            match self.client.run(op.clone(), replay).await {
                Ok(reply) => match reply.result {
                    OpResult::Created { path, stat } => return Ok(Created { path, stat }),
                    other => return Err(Error::unexpected_reply(path, op.name(), &other)),
                },
                Err(Error::NoNode) if self.parents && rounds < PARENT_ROUNDS => {
                    rounds += 1;
                    for parent in path::ancestors(path) {
                        self.client.create_container(parent, false).await?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// `client.delete()`: see [`Client::delete`].
#[derive(Debug)]
#[must_use]
pub struct DeleteBuilder {
    client: Client,
    version: Option<i32>,
    guaranteed: bool,
    children: bool,
}

impl DeleteBuilder {
    /// Delete only at this version.
    pub fn version(mut self, version: i32) -> Self {
        self.version = Some(version);
        self
    }

    /// Keep deleting, across connection losses and sessions, until the node is gone or the
    /// client is closed, even if the returned future is dropped (Curator's `guaranteed()`).
    /// NoNode counts as success. A failure nobody awaits goes to
    /// [`Client::unhandled_errors`].
    pub fn guaranteed(mut self) -> Self {
        self.guaranteed = true;
        self
    }

    /// Delete the node's descendants first (Curator's `deletingChildrenIfNeeded`).
    pub fn children_if_needed(mut self) -> Self {
        self.children = true;
        self
    }

    /// Deletes the node.
    pub async fn at(self, path: &str) -> Result<(), Error> {
        path::validate(path)?;
        let mut rounds = 0;
        loop {
            if self.children {
                self.client.delete_descendants(path).await?;
            }
            if self.guaranteed {
                return tasks::guaranteed_delete(&self.client, path, self.version).await;
            }
            let op = Op::Delete {
                path: path.to_owned(),
                version: self.version,
            };
            match self.client.run(op, Replay::Write).await {
                Err(Error::NotEmpty) if self.children && rounds < PARENT_ROUNDS => rounds += 1,
                other => return other.map(|_| ()),
            }
        }
    }
}

impl Client {
    /// A create: `client.create().mode(..).acl(..).protected().parents().data(..).at(path)`.
    pub fn create(&self) -> CreateBuilder {
        CreateBuilder {
            client: self.clone(),
            mode: CreateMode::Persistent,
            acl: Acl::open(),
            protected: false,
            parents: false,
            data: Vec::new(),
        }
    }

    /// A delete: `client.delete().version(v).guaranteed().children_if_needed().at(path)`.
    pub fn delete(&self) -> DeleteBuilder {
        DeleteBuilder {
            client: self.clone(),
            version: None,
            guaranteed: false,
            children: false,
        }
    }

    /// Creates a container at `path` unless something is there; `raw`: `path` already
    /// carries the namespace.
    async fn create_container(&self, path: &str, raw: bool) -> Result<(), Error> {
        let op = Op::Create {
            path: path.to_owned(),
            data: Vec::new(),
            acl: Acl::open(),
            mode: CreateMode::Container,
        };
        let result = if raw {
            self.run_raw(op).await
        } else {
            self.run(op, Replay::Read).await.map(|_| ())
        };
        match result {
            Ok(()) | Err(Error::NodeExists) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Makes the namespace's nodes exist (once per client), as Curator does on first use.
    pub(crate) async fn ensure_namespace(&self) -> Result<(), Error> {
        if self.namespace().is_empty() || self.namespace_ready().load(Ordering::Acquire) {
            return Ok(());
        }
        let ns = self.namespace().to_owned();
        for node in path::ancestors(&ns).chain([ns.as_str()]) {
            self.create_container(node, true).await?;
        }
        self.namespace_ready().store(true, Ordering::Release);
        Ok(())
    }

    /// One raw create outside the namespace, retried on connection loss.
    async fn run_raw(&self, op: Op) -> Result<(), Error> {
        let mut attempts = 0;
        loop {
            self.wait_connected().await?;
            match self.coordinator().submit(op.clone()).await {
                Err(e) if e.is_retryable() && attempts < 3 => attempts += 1,
                other => return other.map(|_| ()),
            }
        }
    }

    /// Deletes every descendant of `path` (deepest first); NoNode anywhere is fine.
    async fn delete_descendants(&self, top: &str) -> Result<(), Error> {
        let mut stack = vec![(top.to_owned(), false)];
        while let Some((node, listed)) = stack.pop() {
            if listed {
                if node != top {
                    let op = Op::Delete {
                        path: node,
                        version: None,
                    };
                    match self.run(op, Replay::Read).await {
                        Ok(_) | Err(Error::NoNode) => {}
                        Err(e) => return Err(e),
                    }
                }
                continue;
            }
            stack.push((node.clone(), true));
            let op = Op::GetChildren {
                path: node.clone(),
                watch: false,
            };
            match self.run(op, Replay::Read).await.map(|r| r.result) {
                Ok(OpResult::Children { children, .. }) => {
                    stack.extend(children.iter().map(|c| (path::join(&node, c), false)));
                }
                Ok(other) => return Err(Error::unexpected_reply(&node, "getChildren", &other)),
                Err(Error::NoNode) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
