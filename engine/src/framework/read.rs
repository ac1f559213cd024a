//! Fluent builders for reads, data and ACL updates, sync and transactions.

use futures::future::{self, BoxFuture};
use futures::FutureExt;

use crate::framework::retry_loop::Replay;
use crate::framework::Client;
use crate::op::{MultiOp, MultiResult, Op, OpResult, ReadOp, ReadResult, Reply, Watch};
use crate::path;
use crate::types::{Acl, CreateMode, Stat};
use crate::Error;

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
            other => Err(Error::unexpected_reply(path, "getData", &other)),
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
            other => Err(Error::unexpected_reply(path, "getChildren", &other)),
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
            other => Err(Error::unexpected_reply(path, "exists", &other)),
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
        let (path, name) = (op.path().unwrap_or_default().to_owned(), op.name());
        match self.client.run(op, Replay::Write).await?.result {
            OpResult::Stat(stat) => Ok(stat),
            other => Err(Error::unexpected_reply(&path, name, &other)),
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

/// How many reads [`Client::get_data_many`] and the driver put in one `multiRead` request.
pub const MULTI_READ_BATCH: usize = 256;

/// How [`get_data_batch`] sends its requests: the raw [`Client::submit`] (the driver: machines
/// handle failures themselves) or the retry loop ([`Client::get_data_many`]).
pub(crate) type Sender = fn(&Client, Op) -> BoxFuture<'static, Result<Reply, Error>>;

/// A batch's outcome: each path's data and stat, or the failure of the whole request.
pub(crate) type BatchFuture =
    BoxFuture<'static, Result<Vec<Result<(Vec<u8>, Stat), Error>>, Error>>;

/// The one `multiRead` batcher, shared by [`Client::get_data_many`] and the driver.
///
/// Reads the data and stat of `paths` (at most [`MULTI_READ_BATCH`]) with one `multiRead`
/// request, handed to `send` before this returns, and splits its reply into one result per
/// path (a missing node is its own `Err(NoNode)`). A server without `multiRead` (before 3.6)
/// answers `Unimplemented`: the client records it and the reads go again one by one, as they
/// go from then on. Fails as a whole only when the request does.
pub(crate) fn get_data_batch(client: &Client, paths: Vec<String>, send: Sender) -> BatchFuture {
    if !client.multi_read_works() {
        return get_data_each(client, paths, send);
    }
    let reads = paths
        .iter()
        .map(|path| ReadOp::GetData { path: path.clone() });
    let reply = send(client, Op::MultiRead(reads.collect()));
    let client = client.clone();
    async move {
        let results = match reply.await {
            Ok(Reply {
                result: OpResult::MultiRead(results),
                ..
            }) if results.len() == paths.len() => results,
            Ok(other) => return Err(Error::unexpected_reply("", "multiRead", &other.result)),
            Err(Error::Unimplemented) => {
                client.multi_read_refused();
                return get_data_each(&client, paths, send).await;
            }
            Err(e) => return Err(e),
        };
        let each = paths
            .iter()
            .zip(results)
            .map(|(path, result)| match result? {
                ReadResult::Data { data, stat } => Ok((data, stat)),
                other => Err(Error::unexpected_reply(path, "multiRead", &other)),
            });
        Ok(each.collect())
    }
    .boxed()
}

/// One `getData` per path, all handed to `send` before this returns.
fn get_data_each(client: &Client, paths: Vec<String>, send: Sender) -> BatchFuture {
    let replies: Vec<_> = paths
        .into_iter()
        .map(|path| {
            let reply = send(
                client,
                Op::GetData {
                    path: path.clone(),
                    watch: false,
                },
            );
            reply.map(move |reply| match reply?.result {
                OpResult::Data { data, stat } => Ok((data, stat)),
                other => Err(Error::unexpected_reply(&path, "getData", &other)),
            })
        })
        .collect();
    future::join_all(replies).map(Ok).boxed()
}

/// `client.multi_read()`: several reads in one request (ZooKeeper 3.6+), answered from one
/// state of the server's tree.
#[derive(Debug)]
#[must_use]
pub struct MultiReadBuilder {
    client: Client,
    reads: Vec<ReadOp>,
}

impl MultiReadBuilder {
    /// Read `path`'s data and stat.
    pub fn get_data(mut self, path: &str) -> Self {
        self.reads.push(ReadOp::GetData {
            path: path.to_owned(),
        });
        self
    }

    /// List `path`'s children.
    pub fn get_children(mut self, path: &str) -> Self {
        self.reads.push(ReadOp::GetChildren {
            path: path.to_owned(),
        });
        self
    }

    /// Sends every read at once. Each read has its own result (a missing node is its
    /// `Err(NoNode)`); the call fails as a whole only when the request does (a server older
    /// than 3.6 answers [`Error::Unimplemented`]).
    pub async fn run(self) -> Result<Vec<Result<ReadResult, Error>>, Error> {
        match self
            .client
            .run(Op::MultiRead(self.reads), Replay::Read)
            .await?
            .result
        {
            OpResult::MultiRead(results) => Ok(results),
            other => Err(Error::unexpected_reply("", "multiRead", &other)),
        }
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
            other => Err(Error::unexpected_reply("", "multi", &other)),
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
            other => Err(Error::unexpected_reply(path, "getACL", &other)),
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

    /// Several reads in one request: `client.multi_read().get_data(a).get_children(b).run()`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), docent::Error> {
    /// use docent::ReadResult;
    /// let ensemble = docent_sim::EmbeddedEnsemble::start(1);
    /// let client = docent::Client::builder(ensemble.connect()).build()?;
    /// client.create().parents().data(b"up".to_vec()).at("/svc/a").await?;
    /// let read = client.multi_read().get_children("/svc").get_data("/svc/a").run().await?;
    /// assert_eq!(read[0], Ok(ReadResult::Children { children: vec!["a".into()] }));
    /// assert!(matches!(&read[1], Ok(ReadResult::Data { data, .. }) if data == b"up"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn multi_read(&self) -> MultiReadBuilder {
        MultiReadBuilder {
            client: self.clone(),
            reads: Vec::new(),
        }
    }

    /// The data and stat of every path, in order, in as few round trips as the server allows:
    /// `multiRead` requests of up to [`MULTI_READ_BATCH`] reads, all sent at once; on a
    /// server without `multiRead` (before 3.6), one `getData` per path, also all sent at once.
    /// A missing or unreadable node is its own `Err` (`NoNode`, `NoAuth`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), docent::Error> {
    /// let ensemble = docent_sim::EmbeddedEnsemble::start(1);
    /// let client = docent::Client::builder(ensemble.connect()).build()?;
    /// let mut paths: Vec<String> = (0..300).map(|i| format!("/jobs/{i:03}")).collect();
    /// for (i, p) in paths.iter().enumerate() {
    ///     client.create().parents().data(i.to_string()).at(p).await?;
    /// }
    /// paths.push("/jobs/missing".into());
    /// let read = client.get_data_many(&paths).await?; // two multiRead requests
    /// assert_eq!(read.len(), 301);
    /// assert_eq!(read[299].as_ref().unwrap().0, b"299");
    /// assert_eq!(read[300], Err(docent::Error::NoNode));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get_data_many(
        &self,
        paths: &[String],
    ) -> Result<Vec<Result<(Vec<u8>, Stat), Error>>, Error> {
        let retried: Sender = |client, op| {
            let client = client.clone();
            async move { client.run(op, Replay::Read).await }.boxed()
        };
        let batches = paths
            .chunks(MULTI_READ_BATCH)
            .map(|chunk| get_data_batch(self, chunk.to_vec(), retried));
        // join_all polls every batch once before awaiting any: they leave together.
        let mut out = Vec::with_capacity(paths.len());
        for batch in future::join_all(batches).await {
            out.extend(batch?);
        }
        Ok(out)
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
