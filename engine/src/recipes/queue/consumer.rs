//! The consumer of a [`DistributedQueue`](super::DistributedQueue): a loop that takes item
//! nodes one at a time and hands their items to an [`ItemStream`] (see the module docs for
//! the two modes and their diagram).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::future::{self, Either};
use futures::{FutureExt, StreamExt};

use crate::framework::{Client, StateCell};
use crate::op::{MultiOp, Op};
use crate::recipes::guard::LeaseCore;
use crate::recipes::queue::format::{self, Kind, QUEUE_PREFIX};
use crate::recipes::queue::item::{EpochClock, ItemLease, ItemStream, QueueItem};
use crate::recipes::queue::listing::{list_watched, reconnected, transient, watch_gone, Changed};
use crate::recipes::queue::QueueState;
use crate::types::CreateMode;
use crate::{path, Error};

/// What taking one node came to.
enum Taken {
    /// Its items were delivered (and acknowledged or dropped).
    Delivered,
    /// Gone, unreadable or already being consumed elsewhere: on to the next.
    Skipped,
    /// Another consumer holds its lock: this resolves when the lock goes.
    Locked(Changed),
    /// The connection failed: list again once it is back.
    Relist,
    /// The queue was closed or the stream dropped.
    Stop,
}

/// How the consumer's items ended.
enum Acks {
    All,
    Dropped,
    /// The item lock's session ended before every item was handed out.
    Lost,
    Stop,
}

/// The consumer loop's state.
pub(crate) struct Consumer {
    client: Client,
    path: String,
    lock_path: Option<String>,
    kind: Kind,
    /// The delay queue's clock: items are due at their name's time.
    clock: Option<EpochClock>,
    state: Arc<StateCell<QueueState>>,
    lease: Arc<StateCell<ItemLease>>,
    losses: Arc<StateCell<u64>>,
    /// Nodes reported corrupt: left alone from now on.
    bad: BTreeSet<String>,
    tx: mpsc::UnboundedSender<Result<QueueItem, Error>>,
}

impl Consumer {
    pub(crate) fn new(
        client: &Client,
        path: String,
        lock_path: Option<String>,
        (kind, clock): (Kind, Option<EpochClock>),
        state: Arc<StateCell<QueueState>>,
        (lease, losses): (Arc<StateCell<ItemLease>>, Arc<StateCell<u64>>),
    ) -> (Consumer, ItemStream) {
        let (tx, rx) = mpsc::unbounded();
        let consumer = Consumer {
            client: client.clone(),
            path,
            lock_path,
            kind,
            clock,
            state,
            lease,
            losses,
            bad: BTreeSet::new(),
            tx,
        };
        (consumer, ItemStream(rx))
    }

    fn stopped(&self) -> bool {
        self.state.get() == QueueState::Closed || self.tx.is_closed()
    }

    /// Resolves when the queue is closed.
    fn closing(&self) -> Changed {
        let mut state = self.state.watch();
        async move {
            state.wait_for(|s| *s == QueueState::Closed).await;
        }
        .boxed()
    }

    fn report(&self, error: Error) {
        if error == Error::Closed {
            return; // the client is closed: the stream ends with the loop
        }
        tracing::warn!(path = %self.path, %error, "queue consumer");
        let _ = self.tx.unbounded_send(Err(error));
    }

    /// Takes nodes until the queue is closed or the stream dropped.
    pub(crate) async fn run(mut self) {
        while !self.stopped() {
            let (children, changed) = match list_watched(&self.client, &self.path).await {
                Ok(listed) => listed,
                Err(e) if transient(&e) => match reconnected(&self.client, None).await {
                    Ok(_) => continue,
                    Err(_) => return,
                },
                Err(e) => return self.report(e),
            };
            let mut wake = vec![changed, self.closing()];
            let mut took = false;
            let now_ms = self.clock.as_ref().map(EpochClock::now);
            for name in format::sorted(children, QUEUE_PREFIX, self.kind) {
                if self.bad.contains(&name) {
                    continue;
                }
                if let (Some(now), Some(due)) = (now_ms, format::due_of(&name)) {
                    if due > now {
                        // Sorted by due time: the rest are later still. Wake when it is due.
                        let wait = Duration::from_millis((due - now) as u64);
                        let at = self.client.now() + wait;
                        wake.push(self.client.coordinator().sleep_until(at));
                        break;
                    }
                }
                match self.take(&name).await {
                    Taken::Delivered => took = true,
                    Taken::Skipped => {}
                    Taken::Locked(gone) => wake.push(gone),
                    Taken::Relist => {
                        took = true;
                        break;
                    }
                    Taken::Stop => return,
                }
            }
            if !took {
                future::select_all(wake).await;
            }
        }
    }

    async fn take(&mut self, name: &str) -> Taken {
        let node = path::join(&self.path, name);
        match self.lock_path.clone() {
            Some(locks) => self.take_locked(&node, &path::join(&locks, name)).await,
            None => self.take_unlocked(&node).await,
        }
    }

    /// Without a lock path: read, delete, deliver (at most once).
    async fn take_unlocked(&mut self, node: &str) -> Taken {
        let Some((items, version)) = self.read(node).await else {
            return Taken::Skipped;
        };
        match self.client.delete().version(version).at(node).await {
            Ok(()) => {}
            Err(Error::NoNode | Error::BadVersion) => return Taken::Skipped,
            Err(e) if e.is_unknown_outcome() => {
                // Deleted by us or by another consumer: never delivered twice, maybe never.
                self.report(e);
                return Taken::Skipped;
            }
            Err(e) if transient(&e) => return Taken::Relist,
            Err(e) => {
                self.report(e);
                return Taken::Skipped;
            }
        }
        match self.deliver(node, items, None, 0).await {
            Acks::Stop => Taken::Stop,
            Acks::All | Acks::Dropped | Acks::Lost => Taken::Delivered,
        }
    }

    /// With a lock path: lock, read, deliver, and delete after the acknowledgement (at
    /// least once).
    async fn take_locked(&mut self, node: &str, lock: &str) -> Taken {
        let (token, session) = match self.lock(lock).await {
            Ok(Some(ours)) => ours,
            Ok(None) => {
                return match watch_gone(&self.client, lock).await {
                    Ok(gone) => Taken::Locked(gone),
                    Err(_) => Taken::Relist,
                }
            }
            Err(e) if transient(&e) => return Taken::Relist,
            Err(e) => {
                self.report(e);
                return Taken::Skipped;
            }
        };
        let Some((items, _)) = self.read(node).await else {
            self.unlock(lock, session).await;
            return Taken::Skipped;
        };
        if self.client.session_id() != session {
            // The lock went with the session it was made in (a long pause, a partition):
            // the item may already be another consumer's.
            return Taken::Relist;
        }
        ItemLease::set(
            &self.lease,
            &self.losses,
            ItemLease {
                token: Some(token),
                suspended: false,
            },
        );
        let lease = (lock, token);
        let acks = self.deliver(node, items, Some(lease), session).await;
        ItemLease::set(&self.lease, &self.losses, ItemLease::default());
        match acks {
            Acks::All => self.finish(node, lock, session).await,
            Acks::Dropped => self.unlock(lock, session).await,
            Acks::Lost => return Taken::Relist,
            Acks::Stop => {
                self.unlock(lock, session).await;
                return Taken::Stop;
            }
        }
        Taken::Delivered
    }

    /// Creates the item lock `lock`: its token and session when it is ours, `None` when
    /// another session holds it (or held it a moment ago). An unknown outcome is resolved by looking at the owner.
    async fn lock(&self, lock: &str) -> Result<Option<(i64, i64)>, Error> {
        let create = self.client.create().mode(CreateMode::Ephemeral).parents();
        match create.at_with_stat(lock).await {
            Ok(created) => return Ok(Some((created.stat.czxid, created.stat.ephemeral_owner))),
            Err(e) if e == Error::NodeExists || e.is_unknown_outcome() => {}
            Err(e) => return Err(e),
        }
        match self.client.exists().at(lock).await? {
            (Some(stat), _) if stat.ephemeral_owner == self.client.session_id() => {
                Ok(Some((stat.czxid, stat.ephemeral_owner)))
            }
            // Another session's, or gone again (its holder let go, or our session ended):
            // the caller watches it go.
            _ => Ok(None),
        }
    }

    /// The items of `node` and its data version; `None` when it is gone or unreadable
    /// (corrupt data is reported and the node left alone from now on).
    async fn read(&mut self, node: &str) -> Option<(Vec<Vec<u8>>, i32)> {
        let (data, stat, _) = match self.client.get_data().at(node).await {
            Ok(read) => read,
            Err(Error::NoNode) => return None,
            Err(e) => {
                if !transient(&e) {
                    self.report(e);
                }
                return None;
            }
        };
        match format::decode(node, &data) {
            Ok(items) => Some((items, stat.version)),
            Err(corrupt) => {
                self.bad.insert(path::name(node).to_owned());
                self.report(corrupt);
                None
            }
        }
    }

    /// Hands `items` to the stream one at a time, each once the one before is acknowledged:
    /// a dropped item gives the node back, and the items after it are not handed out.
    async fn deliver(
        &self,
        node: &str,
        items: Vec<Vec<u8>>,
        lease: Option<(&str, i64)>,
        session: i64,
    ) -> Acks {
        for data in items {
            if lease.is_some() && self.client.session_id() != session {
                // The item lock went with its session: the rest is another consumer's.
                return Acks::Lost;
            }
            let (acks, mut answer) = mpsc::unbounded();
            let lease = lease.map(|(lock, token)| {
                let stopped = self.closing();
                let losses = (self.losses.get(), self.losses.watch());
                LeaseCore::new(
                    &self.client,
                    lock.to_owned(),
                    token,
                    self.lease.watch(),
                    losses,
                    stopped,
                )
            });
            let item = QueueItem {
                data,
                node: node.to_owned(),
                lease,
                acks,
                acked: false,
            };
            if self.tx.unbounded_send(Ok(item)).is_err() {
                return Acks::Stop;
            }
            match future::select(answer.next(), self.closing()).await {
                Either::Left((Some(true), _)) => {}
                Either::Left(_) => return Acks::Dropped,
                Either::Right(_) => return Acks::Stop,
            }
        }
        Acks::All
    }

    /// Deletes an acknowledged `node` with its lock, fenced by the lock: nothing is deleted
    /// once the lock is gone (the item is then another consumer's to deliver again).
    async fn finish(&self, node: &str, lock: &str, session: i64) {
        let ops = vec![
            MultiOp::Check {
                path: lock.to_owned(),
                version: None,
            },
            MultiOp::Delete {
                path: node.to_owned(),
                version: None,
            },
            MultiOp::Delete {
                path: lock.to_owned(),
                version: None,
            },
        ];
        match self.in_session(session, lock, Op::Multi(ops)).await {
            Ok(()) | Err(Error::MultiFailed { index: 0, .. }) => {}
            Err(e) => {
                self.report(e);
                self.unlock(lock, session).await;
            }
        }
    }

    /// Deletes our item lock (the item is delivered again, here or elsewhere).
    async fn unlock(&self, lock: &str, session: i64) {
        let delete = Op::Delete {
            path: lock.to_owned(),
            version: None,
        };
        match self.in_session(session, lock, delete).await {
            Ok(()) | Err(Error::NoNode) => {}
            Err(e) => self.report(e),
        }
    }

    /// Runs `op` on our item lock `lock` while `session` is the client's session. After a
    /// connection loss (an unknown outcome) it looks before replaying: only while the lock
    /// node is still our session's, since once ours is gone (by this very op, or with our
    /// session) a node of that name may be another consumer's, and a replay would delete it.
    async fn in_session(&self, session: i64, lock: &str, op: Op) -> Result<(), Error> {
        loop {
            if self.client.session_id() != session {
                return Ok(());
            }
            match self.client.submit(op.clone()).await {
                Ok(_) => return Ok(()),
                Err(e) if transient(&e) => {}
                Err(e) => return Err(e),
            }
            loop {
                if reconnected(&self.client, None).await.is_err() {
                    return Err(Error::Closed);
                }
                match self.client.exists().at(lock).await {
                    Ok((Some(stat), _)) if stat.ephemeral_owner == session => break,
                    Ok(_) => return Ok(()),
                    Err(e) if transient(&e) => {}
                    Err(e) => return Err(e),
                }
            }
        }
    }
}
