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
//!
//! Beside it, the glue a recipe's acquire shares with the others: [`acquired`] waits for the
//! outcome of an acquire (granted, timed out past its deadline, failed, or the machine
//! stopped), and [`Abandon`] gives up an acquire whose future was dropped before it ended.

use std::fmt;
use std::future::Future;

use futures::future::{self, BoxFuture, Shared};
use futures::{FutureExt, StreamExt};

use crate::framework::driver::{Driven, EventStream};
use crate::framework::{Client, StateWatch};
use crate::op::{MultiOp, Op, OpResult, Reply, Watch};
use crate::recipes::fencing;
use crate::recipes::lock::Lease;
use crate::recipes::watched::{LeaseState, Watched};
use crate::{Error, Machine, MultiResult};

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

    /// The lease `lease`, just granted by the recipe that `driven` runs.
    pub(crate) fn granted<M: Machine>(
        client: &Client,
        driven: &Driven<Watched<M, S>>,
        lease: Lease,
    ) -> Self {
        let (state, losses) = driven.inspect(|m| (m.watch(), m.losses()));
        let finished = driven.finished();
        LeaseCore::new(client, lease.node, lease.token, state, losses, finished)
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

/// An event of a recipe that grants acquires: the outcome of an acquire, if it is one.
pub(crate) trait AcquireEvent {
    /// What an acquire is granted.
    type Grant;

    /// `Some(Ok(_))`: granted; `Some(Err(_))`: the acquire ended without it
    /// ([`Error::Timeout`] past its deadline); `None`: another event.
    fn outcome(self) -> Option<Result<Self::Grant, Error>>;
}

/// Waits on `events` (subscribed before the acquire was commanded) for the acquire's outcome:
/// the grant, `None` once its deadline passed, its error, or [`Error::Closed`] when the
/// recipe's machine stopped first.
pub(crate) async fn acquired<E: AcquireEvent>(
    events: &mut EventStream<E>,
) -> Result<Option<E::Grant>, Error> {
    while let Some(event) = events.next().await {
        match event.outcome() {
            Some(Ok(grant)) => return Ok(Some(grant)),
            Some(Err(Error::Timeout)) => return Ok(None),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    }
    Err(Error::Closed)
}

/// Cancel safety of an acquire: dropped before [`defuse`](Abandon::defuse) (the acquire's
/// future was dropped before it ended), it runs `give_up`, so that what the acquire was taking
/// is let go instead of granted to nobody.
pub(crate) struct Abandon<F: FnOnce()> {
    give_up: Option<F>,
}

impl<F: FnOnce()> Abandon<F> {
    pub(crate) fn new(give_up: F) -> Self {
        Abandon {
            give_up: Some(give_up),
        }
    }

    /// The acquire ended: nothing to give up.
    pub(crate) fn defuse(mut self) {
        self.give_up = None;
    }
}

impl<F: FnOnce()> Drop for Abandon<F> {
    fn drop(&mut self) {
        if let Some(give_up) = self.give_up.take() {
            give_up();
        }
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
