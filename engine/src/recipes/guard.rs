//! Leases as values: what a lock's guard and a leadership share.
//!
//! A lease is one node of our session with its fencing token (the node's creation zxid). The
//! value that stands for it offers the token and node, [`lost`](LeaseCore::lost) — a future
//! that resolves once the lease is gone or must be presumed gone — and
//! [`guarded`](LeaseCore::guarded), writes that apply only while the lease node exists.
//!
//! `lost` resolves on the first of:
//! - the recipe's state stops showing this lease as current (SUSPENDED under the standard
//!   error policy, LOST, a release; the loss count of [`Watched`](super::watched) makes a
//!   SUSPENDED that was already followed by RECONNECTED count too);
//! - the lease node is deleted (an `exists` watch on it, armed again after reconnecting);
//! - the recipe's machine stopped (the client was closed).

use std::fmt;
use std::future::Future;

use futures::future::{self, BoxFuture, Shared};
use futures::{FutureExt, StreamExt};

use crate::framework::{Client, StateWatch};
use crate::op::{MultiOp, Op, OpResult, Reply, Watch};
use crate::recipes::fencing;
use crate::recipes::watched::LeaseState;
use crate::{Error, MultiResult};

/// Whether we lead: the state of a [`LeaderLatch`](super::latch::LeaderLatch) or a
/// [`LeaderSelector`](super::selector::LeaderSelector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaderState {
    /// We lead, with this fencing token.
    Leader {
        /// The fencing token (our node's creation zxid).
        token: i64,
    },
    /// We do not lead (yet, or any more).
    NotLeader,
}

impl LeaseState for LeaderState {
    fn current(&self) -> Option<i64> {
        match self {
            LeaderState::Leader { token } => Some(*token),
            LeaderState::NotLeader => None,
        }
    }
}

/// A lease as its guard holds it.
pub(crate) struct LeaseCore<S> {
    client: Client,
    node: String,
    token: i64,
    state: StateWatch<S>,
    /// The recipe's loss count when the lease was handed out (`None`: already lost then).
    since: Option<u64>,
    losses: StateWatch<u64>,
    stopped: Shared<BoxFuture<'static, ()>>,
}

impl<S: LeaseState> LeaseCore<S> {
    /// The lease `token` on `node`, handed out when the recipe's state was `state` and its loss
    /// count `losses`; `stopped` resolves when the recipe's machine stops.
    pub(crate) fn new(
        client: &Client,
        node: String,
        token: i64,
        state: StateWatch<S>,
        losses: (u64, StateWatch<u64>),
        stopped: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        let since = state.get().holds(token).then_some(losses.0);
        LeaseCore {
            client: client.clone(),
            node,
            token,
            state,
            since,
            losses: losses.1,
            stopped: stopped.boxed().shared(),
        }
    }

    pub(crate) fn token(&self) -> i64 {
        self.token
    }

    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    /// True while the recipe's state shows this lease as current.
    pub(crate) fn is_current(&self) -> bool {
        self.state.get().holds(self.token)
    }

    /// Resolves once the lease is gone or must be presumed gone (see the module docs).
    pub(crate) fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        let (since, mut losses) = (self.since, self.losses.clone());
        let counted = async move {
            if let Some(since) = since {
                losses.wait_for(|n| *n != since).await;
            }
        };
        let deleted = node_gone(self.client.clone(), self.node.clone());
        let waits = [
            counted.boxed(),
            deleted.boxed(),
            self.stopped.clone().boxed(),
        ];
        future::select_all(waits).map(|_| ())
    }

    /// The fenced multi: `ops` apply only while the lease node exists; [`Error::NotHeld`] when
    /// the lease is not current here, or its node is gone.
    pub(crate) async fn guarded(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>, Error> {
        if !self.is_current() {
            return Err(Error::NotHeld {
                path: self.node.clone(),
            });
        }
        fencing::guarded_on(&self.client, &self.node, ops).await
    }
}

impl<S> fmt::Debug for LeaseCore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("node", &self.node)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Resolves once `node` does not exist (or the client is closed). Watches it with `exists`;
/// after a failure, tries again once the connection is back.
async fn node_gone(client: Client, node: String) {
    let mut states = client.connection_states();
    loop {
        let exists = Op::Exists {
            path: node.clone(),
            watch: true,
        };
        match client.submit(exists).await {
            Ok(Reply {
                result: OpResult::Exists(Some(_)),
                watch: Some(Watch::OneShot(fired)),
            }) => {
                // Deleted, changed or the session ended: look again.
                fired.await;
            }
            // Gone, or a reply that says nothing sure: presume it gone.
            Ok(_) | Err(Error::Closed) => return,
            Err(_) => loop {
                match states.next().await {
                    Some(state) if state.is_connected() => break,
                    Some(_) => {}
                    None => return,
                }
            },
        }
    }
}

/// Leadership of a [`LeaderLatch`](super::latch::LeaderLatch) or a
/// [`LeaderSelector`](super::selector::LeaderSelector): our id, the fencing token, the node,
/// and fenced writes.
///
/// It is a view of the leadership, not its owner: dropping it changes nothing. A latch leaves
/// the election with [`LeaderLatch::close`](super::latch::LeaderLatch::close); a selector's
/// leadership ends when its leadership function returns, or with
/// [`LeaderSelector::interrupt_leadership`](super::selector::LeaderSelector::interrupt_leadership).
#[derive(Debug)]
pub struct Leadership {
    id: String,
    lease: LeaseCore<LeaderState>,
}

impl Leadership {
    pub(crate) fn new(id: &str, lease: LeaseCore<LeaderState>) -> Leadership {
        Leadership {
            id: id.to_owned(),
            lease,
        }
    }

    /// The fencing token (our node's creation zxid).
    pub fn token(&self) -> i64 {
        self.lease.token()
    }

    /// Our participant id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Our node.
    pub fn node(&self) -> &str {
        self.lease.node()
    }

    /// True while we still lead with this token.
    pub fn is_current(&self) -> bool {
        self.lease.is_current()
    }

    /// Resolves once this leadership is gone or must be presumed gone: SUSPENDED (standard
    /// error policy), LOST, our node deleted, the recipe closed. Made for `select!`.
    pub fn lost(&self) -> impl Future<Output = ()> + Send + 'static {
        self.lease.lost()
    }

    /// Applies `ops` atomically only while our leadership node exists. The results are the
    /// ops' own (no check op), and a failing op's index counts only `ops`;
    /// [`Error::NotHeld`] when we no longer lead.
    pub async fn guarded(&self, ops: Vec<MultiOp>) -> Result<Vec<MultiResult>, Error> {
        self.lease.guarded(ops).await
    }
}
