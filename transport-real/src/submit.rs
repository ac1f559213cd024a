//! Running one [`Op`] on a `zookeeper-client` session.
//!
//! # Call-time submission
//! `zookeeper-client` queues a request inside the (synchronous) call that builds its future, not
//! at the future's first poll. Its futures borrow the client, though, so the owned future this
//! module returns wraps the call in an `async` block, which would only run at first poll.
//! [`submit`] therefore polls that block once, right away, with a no-op waker: the request is in
//! the session's queue before `submit` returns, and requests leave in call order. (A later poll
//! with the caller's waker registers that waker; futures re-register on every poll.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use docent::{Error, MultiOp, MultiResult, Op, OpResult, ReadOp, ReadResult, Reply, Watch};
use futures::future::BoxFuture;
use futures::stream::StreamExt;
use futures::FutureExt;
use tokio::sync::watch;
use zookeeper_client as zk;

use crate::convert;

/// Queues `op` on `client` now and returns its result future. Once the session is abandoned
/// (`abandoned` changes) the op ends with [`Error::ConnectionLoss`] and a watch it left ends
/// with an Expired event.
pub(crate) fn submit(
    client: &zk::Client,
    op: Op,
    abandoned: watch::Receiver<u64>,
) -> BoxFuture<'static, Result<Reply, Error>> {
    // ZooKeeper's own path rules, as the Java client applies them: zookeeper-client's checks
    // differ (BadArguments, and characters outside the BMP pass).
    if let Err(e) = op.validate() {
        return futures::future::ready(Err(e)).boxed();
    }
    let client = client.clone();
    let mut fut: BoxFuture<'static, Result<Reply, Error>> = async move {
        let run = run(&client, op);
        let reply = tokio::select! {
            reply = run => reply?,
            () = abandon(abandoned.clone()) => return Err(Error::ConnectionLoss),
        };
        Ok(until_abandoned(reply, abandoned))
    }
    .boxed();
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    match Pin::new(&mut fut).poll(&mut cx) {
        Poll::Ready(result) => futures::future::ready(result).boxed(),
        Poll::Pending => fut,
    }
}

async fn run(client: &zk::Client, op: Op) -> Result<Reply, Error> {
    let plain = |result| Ok(Reply::plain(result));
    match op {
        Op::Create {
            path,
            data,
            acl,
            mode,
        } => {
            let acls: Vec<zk::Acl> = acl.iter().map(convert::to_zk_acl).collect();
            let (zk_mode, ttl) = convert::create_mode(mode);
            let mut options = zk_mode.with_acls(zk::Acls::new(&acls));
            if let Some(ttl) = ttl {
                options = options.with_ttl(ttl);
            }
            let (stat, sequence) = client
                .create(&path, &data, &options)
                .await
                .map_err(convert::error)?;
            let path = if mode.is_sequential() {
                format!("{path}{sequence}")
            } else {
                path
            };
            plain(OpResult::Created {
                path,
                stat: convert::stat(&stat),
            })
        }
        Op::Delete { path, version } => {
            client
                .delete(&path, version)
                .await
                .map_err(convert::error)?;
            plain(OpResult::Deleted)
        }
        Op::SetData {
            path,
            data,
            version,
        } => {
            let stat = client
                .set_data(&path, &data, version)
                .await
                .map_err(convert::error)?;
            plain(OpResult::Stat(convert::stat(&stat)))
        }
        Op::GetData { path, watch: false } => {
            let (data, stat) = client.get_data(&path).await.map_err(convert::error)?;
            plain(OpResult::Data {
                data,
                stat: convert::stat(&stat),
            })
        }
        Op::GetData { path, watch: true } => {
            let (data, stat, watcher) = client
                .get_and_watch_data(&path)
                .await
                .map_err(convert::error)?;
            Ok(watched(
                OpResult::Data {
                    data,
                    stat: convert::stat(&stat),
                },
                watcher,
            ))
        }
        Op::GetChildren { path, watch: false } => {
            let (children, stat) = client.get_children(&path).await.map_err(convert::error)?;
            plain(OpResult::Children {
                children,
                stat: convert::stat(&stat),
            })
        }
        Op::GetChildren { path, watch: true } => {
            let (children, stat, watcher) = client
                .get_and_watch_children(&path)
                .await
                .map_err(convert::error)?;
            Ok(watched(
                OpResult::Children {
                    children,
                    stat: convert::stat(&stat),
                },
                watcher,
            ))
        }
        Op::Exists { path, watch: false } => {
            let stat = client.check_stat(&path).await.map_err(convert::error)?;
            plain(OpResult::Exists(stat.as_ref().map(convert::stat)))
        }
        Op::Exists { path, watch: true } => {
            let (stat, watcher) = client
                .check_and_watch_stat(&path)
                .await
                .map_err(convert::error)?;
            Ok(watched(
                OpResult::Exists(stat.as_ref().map(convert::stat)),
                watcher,
            ))
        }
        Op::GetAcl { path } => {
            let (acl, stat) = client.get_acl(&path).await.map_err(convert::error)?;
            plain(OpResult::Acl {
                acl: acl.iter().map(convert::from_zk_acl).collect(),
                stat: convert::stat(&stat),
            })
        }
        Op::SetAcl { path, acl, version } => {
            let acls: Vec<zk::Acl> = acl.iter().map(convert::to_zk_acl).collect();
            let stat = client
                .set_acl(&path, &acls, version)
                .await
                .map_err(convert::error)?;
            plain(OpResult::Stat(convert::stat(&stat)))
        }
        Op::Sync { path } => {
            client.sync(&path).await.map_err(convert::error)?;
            plain(OpResult::Synced)
        }
        Op::AddWatch { path, mode } => {
            let mode = match mode {
                docent::AddWatchMode::Persistent => zk::AddWatchMode::Persistent,
                docent::AddWatchMode::PersistentRecursive => zk::AddWatchMode::PersistentRecursive,
            };
            let watcher = client.watch(&path, mode).await.map_err(convert::error)?;
            Ok(Reply {
                result: OpResult::WatchAdded,
                watch: Some(persistent(watcher)),
            })
        }
        Op::Multi(ops) => multi(client, ops).await,
        Op::MultiRead(reads) => multi_read(client, reads).await,
        // `Op` is non-exhaustive; an op added later is refused until it is mapped.
        #[allow(unreachable_patterns)]
        _ => Err(Error::Unimplemented),
    }
}

async fn multi_read(client: &zk::Client, reads: Vec<ReadOp>) -> Result<Reply, Error> {
    let mut reader = client.new_multi_reader();
    for read in &reads {
        let added = match read {
            ReadOp::GetData { path } => reader.add_get_data(path),
            ReadOp::GetChildren { path } => reader.add_get_children(path),
            #[allow(unreachable_patterns)]
            _ => return Err(Error::Unimplemented),
        };
        added.map_err(convert::error)?;
    }
    let results = reader.commit().await.map_err(convert::error)?;
    let results = results
        .into_iter()
        .map(|result| match result {
            zk::MultiReadResult::Data { data, stat } => Ok(ReadResult::Data {
                data,
                stat: convert::stat(&stat),
            }),
            zk::MultiReadResult::Children { children } => Ok(ReadResult::Children { children }),
            zk::MultiReadResult::Error { err } => Err(convert::error(err)),
            // A result kind this version does not know (the client's enum is non-exhaustive).
            other => Err(Error::unexpected_reply("", "multiRead", &other)),
        })
        .collect();
    Ok(Reply::plain(OpResult::MultiRead(results)))
}

async fn multi(client: &zk::Client, ops: Vec<MultiOp>) -> Result<Reply, Error> {
    let acls: Vec<Vec<zk::Acl>> = ops
        .iter()
        .map(|op| match op {
            MultiOp::Create { acl, .. } => acl.iter().map(convert::to_zk_acl).collect(),
            _ => Vec::new(),
        })
        .collect();
    let mut writer = client.new_multi_writer();
    for (op, acls) in ops.iter().zip(&acls) {
        let added = match op {
            MultiOp::Check { path, version } => {
                writer.add_check_version(path, version.unwrap_or(-1))
            }
            MultiOp::Create {
                path, data, mode, ..
            } => {
                let (zk_mode, ttl) = convert::create_mode(*mode);
                let mut options = zk_mode.with_acls(zk::Acls::new(acls));
                if let Some(ttl) = ttl {
                    options = options.with_ttl(ttl);
                }
                writer.add_create(path, data, &options)
            }
            MultiOp::Delete { path, version } => writer.add_delete(path, *version),
            MultiOp::SetData {
                path,
                data,
                version,
            } => writer.add_set_data(path, data, *version),
            #[allow(unreachable_patterns)]
            _ => return Err(Error::Unimplemented),
        };
        added.map_err(convert::error)?;
    }
    let results = writer.commit().await.map_err(|err| match err {
        zk::MultiWriteError::RequestFailed { source } => convert::error(source),
        zk::MultiWriteError::OperationFailed { index, source } => Error::MultiFailed {
            index,
            error: Box::new(convert::error(source)),
        },
    })?;
    let results = results
        .into_iter()
        .map(|result| match result {
            zk::MultiWriteResult::Check => Ok(MultiResult::Checked),
            zk::MultiWriteResult::Delete => Ok(MultiResult::Deleted),
            zk::MultiWriteResult::Create { path, .. } => Ok(MultiResult::Created { path }),
            zk::MultiWriteResult::SetData { stat } => {
                Ok(MultiResult::DataSet(convert::stat(&stat)))
            }
            // A result kind this version does not know (the client's enum is non-exhaustive).
            other => Err(Error::unexpected_reply("", "multi", &other)),
        })
        .collect::<Result<_, _>>()?;
    Ok(Reply::plain(OpResult::Multi(results)))
}

/// Resolves when the session is abandoned (never, once the coordinator is gone).
async fn abandon(mut abandoned: watch::Receiver<u64>) {
    if abandoned.changed().await.is_err() {
        futures::future::pending::<()>().await;
    }
}

/// The event that ends a watch of an abandoned session.
fn expired() -> docent::WatchedEvent {
    docent::WatchedEvent {
        kind: docent::EventType::Session(docent::SessionState::Expired),
        path: String::new(),
    }
}

/// `reply`'s watch, ending with an Expired event once the session is abandoned.
fn until_abandoned(mut reply: Reply, abandoned: watch::Receiver<u64>) -> Reply {
    reply.watch = reply.watch.map(|watch| match watch {
        Watch::OneShot(event) => Watch::OneShot(
            async move {
                tokio::select! {
                    event = event => event,
                    () = abandon(abandoned) => expired(),
                }
            }
            .boxed(),
        ),
        Watch::Persistent(events) => {
            let start = Some((events, abandon(abandoned).boxed()));
            let events = futures::stream::unfold(start, |state| async move {
                let (mut events, mut gone) = state?;
                tokio::select! {
                    event = events.next() => event.map(|e| (e, Some((events, gone)))),
                    () = &mut gone => Some((expired(), None)),
                }
            });
            Watch::Persistent(events.boxed())
        }
    });
    reply
}

/// A reply carrying a one-shot watch.
fn watched(result: OpResult, watcher: zk::OneshotWatcher) -> Reply {
    let event = async move {
        let event = watcher.changed().await;
        // A one-shot watch fires once: with its change, or with the state that ended it.
        convert::watched_event(event).unwrap_or(docent::WatchedEvent {
            kind: docent::EventType::Session(docent::SessionState::Closed),
            path: String::new(),
        })
    };
    Reply {
        result,
        watch: Some(Watch::OneShot(event.boxed())),
    }
}

/// A persistent watch as a stream that ends after the session-ending event.
fn persistent(watcher: zk::PersistentWatcher) -> Watch {
    let events = futures::stream::unfold(Some(watcher), |watcher| async move {
        let mut watcher = watcher?;
        loop {
            let event = watcher.changed().await;
            if let Some(event) = convert::watched_event(event) {
                let ended = matches!(event.kind, docent::EventType::Session(_));
                return Some((event, (!ended).then_some(watcher)));
            }
        }
    });
    Watch::Persistent(events.boxed())
}
