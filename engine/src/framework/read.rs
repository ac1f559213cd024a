//! Fluent builders for reads, data and ACL updates, sync and transactions.

use crate::framework::retry_loop::Replay;
use crate::framework::Client;
use crate::op::{MultiOp, MultiResult, Op, OpResult, Reply, Watch};
use crate::path;
use crate::types::{Acl, CreateMode, Stat};
use crate::Error;

fn unexpected() -> Error {
    tracing::error!("the transport answered with the wrong result type");
    Error::MarshallingError
}

/// `client.get_data()`, `get_children()` and `exists()`: an optional watch, then `.at(path)`.
#[derive(Debug)]
#[must_use]
pub struct ReadBuilder<K> {
    client: Client,
    watch: bool,
    _kind: K,
}

/// Marker: get data.
#[derive(Debug, Clone, Copy)]
pub struct GetData;
/// Marker: get children.
#[derive(Debug, Clone, Copy)]
pub struct GetChildren;
/// Marker: exists.
#[derive(Debug, Clone, Copy)]
pub struct Exists;

impl<K> ReadBuilder<K> {
    /// Leave a one-shot watch; it comes back with the result.
    pub fn watched(mut self) -> Self {
        self.watch = true;
        self
    }

    async fn read(self, op: Op) -> Result<Reply, Error> {
        self.client.run(op, Replay::Read).await
    }
}

impl ReadBuilder<GetData> {
    /// The node's data, stat, and the watch if one was asked for.
    pub async fn at(self, path: &str) -> Result<(Vec<u8>, Stat, Option<Watch>), Error> {
        let op = Op::GetData {
            path: path.to_owned(),
            watch: self.watch,
        };
        let reply = self.read(op).await?;
        match reply.result {
            OpResult::Data { data, stat } => Ok((data, stat, reply.watch)),
            _ => Err(unexpected()),
        }
    }
}

impl ReadBuilder<GetChildren> {
    /// The node's children (in the server's order), its stat, and the watch if asked for.
    pub async fn at(self, path: &str) -> Result<(Vec<String>, Stat, Option<Watch>), Error> {
        let op = Op::GetChildren {
            path: path.to_owned(),
            watch: self.watch,
        };
        let reply = self.read(op).await?;
        match reply.result {
            OpResult::Children { children, stat } => Ok((children, stat, reply.watch)),
            _ => Err(unexpected()),
        }
    }
}

impl ReadBuilder<Exists> {
    /// The node's stat (None when absent), and the watch if asked for (set either way).
    pub async fn at(self, path: &str) -> Result<(Option<Stat>, Option<Watch>), Error> {
        let op = Op::Exists {
            path: path.to_owned(),
            watch: self.watch,
        };
        let reply = self.read(op).await?;
        match reply.result {
            OpResult::Exists(stat) => Ok((stat, reply.watch)),
            _ => Err(unexpected()),
        }
    }
}

/// `client.set_data()` and `client.set_acl()`: an optional expected version, then `.at(..)`.
#[derive(Debug)]
#[must_use]
pub struct SetBuilder<K> {
    client: Client,
    version: Option<i32>,
    _kind: K,
}

/// Marker: set data.
#[derive(Debug, Clone, Copy)]
pub struct SetData;
/// Marker: set ACL.
#[derive(Debug, Clone, Copy)]
pub struct SetAcl;

impl<K> SetBuilder<K> {
    /// Only at this version (data version for set data, ACL version for set ACL).
    pub fn version(mut self, version: i32) -> Self {
        self.version = Some(version);
        self
    }

    async fn write(self, op: Op) -> Result<Stat, Error> {
        match self.client.run(op, Replay::Write).await?.result {
            OpResult::Stat(stat) => Ok(stat),
            _ => Err(unexpected()),
        }
    }
}

impl SetBuilder<SetData> {
    /// Replaces the node's data; returns its new stat.
    pub async fn at(self, path: &str, data: impl Into<Vec<u8>>) -> Result<Stat, Error> {
        let op = Op::SetData {
            path: path.to_owned(),
            data: data.into(),
            version: self.version,
        };
        self.write(op).await
    }
}

impl SetBuilder<SetAcl> {
    /// Replaces the node's ACL; returns its new stat.
    pub async fn at(self, path: &str, acl: Vec<Acl>) -> Result<Stat, Error> {
        let op = Op::SetAcl {
            path: path.to_owned(),
            acl,
            version: self.version,
        };
        self.write(op).await
    }
}

/// `client.transaction()`: operations applied atomically by `commit`.
#[derive(Debug)]
#[must_use]
pub struct TransactionBuilder {
    client: Client,
    ops: Vec<MultiOp>,
}

impl TransactionBuilder {
    /// Create `path` with `data` in `mode`, open ACL.
    pub fn create(self, path: &str, data: impl Into<Vec<u8>>, mode: CreateMode) -> Self {
        self.create_with_acl(path, data, mode, Acl::open())
    }

    /// Create with an explicit ACL.
    pub fn create_with_acl(
        mut self,
        path: &str,
        data: impl Into<Vec<u8>>,
        mode: CreateMode,
        acl: Vec<Acl>,
    ) -> Self {
        self.ops.push(MultiOp::Create {
            path: path.to_owned(),
            data: data.into(),
            acl,
            mode,
        });
        self
    }

    /// Fail unless `path` exists (at `version`, when given).
    pub fn check(mut self, path: &str, version: Option<i32>) -> Self {
        self.ops.push(MultiOp::Check {
            path: path.to_owned(),
            version,
        });
        self
    }

    /// Set `path`'s data (at `version`, when given).
    pub fn set_data(mut self, path: &str, data: impl Into<Vec<u8>>, version: Option<i32>) -> Self {
        self.ops.push(MultiOp::SetData {
            path: path.to_owned(),
            data: data.into(),
            version,
        });
        self
    }

    /// Delete `path` (at `version`, when given).
    pub fn delete(mut self, path: &str, version: Option<i32>) -> Self {
        self.ops.push(MultiOp::Delete {
            path: path.to_owned(),
            version,
        });
        self
    }

    /// Applies every operation, or none ([`Error::MultiFailed`] says which failed). A
    /// transaction with a sequential create is not retried after an unknown outcome.
    pub async fn commit(self) -> Result<Vec<MultiResult>, Error> {
        let once = self
            .ops
            .iter()
            .any(|op| matches!(op, MultiOp::Create { mode, .. } if mode.is_sequential()));
        let replay = if once { Replay::Once } else { Replay::Write };
        match self.client.run(Op::Multi(self.ops), replay).await?.result {
            OpResult::Multi(results) => Ok(results),
            _ => Err(unexpected()),
        }
    }
}

impl Client {
    /// `client.get_data().watched().at(path)`.
    pub fn get_data(&self) -> ReadBuilder<GetData> {
        self.reader(GetData)
    }

    /// `client.get_children().watched().at(path)`.
    pub fn get_children(&self) -> ReadBuilder<GetChildren> {
        self.reader(GetChildren)
    }

    /// `client.exists().watched().at(path)`.
    pub fn exists(&self) -> ReadBuilder<Exists> {
        self.reader(Exists)
    }

    /// `client.set_data().version(v).at(path, data)`.
    pub fn set_data(&self) -> SetBuilder<SetData> {
        self.setter(SetData)
    }

    /// `client.set_acl().version(v).at(path, acl)`.
    pub fn set_acl(&self) -> SetBuilder<SetAcl> {
        self.setter(SetAcl)
    }

    /// The node's ACL and stat.
    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat), Error> {
        let op = Op::GetAcl {
            path: path.to_owned(),
        };
        match self.run(op, Replay::Read).await?.result {
            OpResult::Acl { acl, stat } => Ok((acl, stat)),
            _ => Err(unexpected()),
        }
    }

    /// Brings the connected server up to date with the leader (before a read that must not be
    /// stale).
    pub async fn sync(&self, path: &str) -> Result<(), Error> {
        path::validate(path)?;
        let op = Op::Sync {
            path: path.to_owned(),
        };
        self.run(op, Replay::Read).await.map(|_| ())
    }

    /// A transaction: `client.transaction().create(..).check(..).commit()`.
    pub fn transaction(&self) -> TransactionBuilder {
        TransactionBuilder {
            client: self.clone(),
            ops: Vec::new(),
        }
    }

    fn reader<K>(&self, kind: K) -> ReadBuilder<K> {
        ReadBuilder {
            client: self.clone(),
            watch: false,
            _kind: kind,
        }
    }

    fn setter<K>(&self, kind: K) -> SetBuilder<K> {
        SetBuilder {
            client: self.clone(),
            version: None,
            _kind: kind,
        }
    }
}
