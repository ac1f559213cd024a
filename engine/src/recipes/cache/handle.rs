//! The cache handle ([`Cache`]) every cache is: its state, its events for subscribers that may
//! come late ([`CacheEventStream`]), and closing.
//!
//! A late subscriber's stream starts with a snapshot of what the cache holds (an addition per
//! cached node, then the end of the initial load if it is over), then every change; the
//! snapshot is taken and the subscription made under the machine's lock, so no change falls
//! between them and none is in both.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};

use crate::framework::driver::{recipe_span, spawn_machine_in, wait_for, Driven, EventStream};
use crate::framework::{Client, StateWatch};
use crate::machine::Machine;
use crate::recipes::cache::core::CacheInputs;
use crate::recipes::cache::{CacheCommand, CacheState};
use crate::Error;

/// A running cache: [`NodeCache`](super::NodeCache), [`PathChildrenCache`](super::PathChildrenCache)
/// and [`TreeCache`](super::TreeCache) are this handle over their machines, each with its own
/// `start` and reads.
#[derive(Debug)]
pub struct Cache<M: Machine> {
    path: String,
    driven: Driven<M>,
}

impl<M: CacheInputs> Cache<M>
where
    <M as CacheInputs>::Event: Clone,
{
    /// Runs `machine`, a `recipe` cache of `path` (it starts loading on the first connection).
    pub(crate) fn run(client: &Client, recipe: &'static str, path: &str, machine: M) -> Cache<M> {
        Cache {
            path: path.to_owned(),
            driven: spawn_machine_in(client, machine, recipe_span(recipe, path, "")),
        }
    }

    /// Runs `f` on the machine's current state.
    pub(crate) fn inspect<R>(&self, f: impl FnOnce(&M) -> R) -> R {
        self.driven.inspect(f)
    }

    /// The cached path: the node, the parent of the children, the root of the tree.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// True once the initial load is complete.
    pub fn is_initialized(&self) -> bool {
        self.state() == CacheState::Initialized
    }

    /// Whether the initial load is complete.
    pub fn state(&self) -> CacheState {
        self.driven.inspect(|m| m.core().state())
    }

    /// The state, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<CacheState> {
        self.driven.inspect(|m| m.core().watch_state())
    }

    /// Waits for the initial load (it waits for a connection); [`Error::Closed`] if the cache
    /// stops first. A children cache in [`StartMode::Normal`](super::StartMode::Normal)
    /// reports no end of its initial load, so it cannot be awaited: [`Error::InvalidArgument`].
    pub async fn await_initialized(&self) -> Result<(), Error> {
        if !self.driven.inspect(M::reports_initialized) {
            return Err(Error::InvalidArgument(
                "StartMode::Normal reports no end of the initial load".into(),
            ));
        }
        wait_for(&self.driven, |m| m.core().is_initialized().then_some(())).await
    }

    /// The events, starting with a snapshot (an addition per cached node, parents first,
    /// then the end of the initial load if it is over and the cache reports it), then every
    /// change (unbounded: a slow listener never stalls the cache).
    pub fn events(&self) -> CacheEventStream<<M as CacheInputs>::Event> {
        CacheEventStream::subscribe(&self.driven, M::replay)
    }

    /// Stops the cache; its event streams end. [`Error::Closed`] if it had stopped already
    /// (the client was closed).
    pub async fn close(self) -> Result<(), Error> {
        close_cache(&self.driven).await
    }
}

/// Stops a cache machine and waits for its driver to end; [`Error::Closed`] if it had stopped
/// already (the client was closed first). A cache has nothing to clean up on the ensemble.
pub(crate) async fn close_cache<M>(driven: &Driven<M>) -> Result<(), Error>
where
    M: Machine<Command = CacheCommand>,
    M::Event: Clone,
{
    let sent = driven.command(CacheCommand::Close);
    driven.finished().await;
    sent
}

/// A cache's events: a snapshot of its contents first, then each change. Ends when the cache
/// is closed.
#[derive(Debug)]
pub struct CacheEventStream<E> {
    snapshot: std::vec::IntoIter<E>,
    changes: EventStream<E>,
}

impl<E> CacheEventStream<E> {
    /// Subscribes to `driven`, starting with the events `snapshot` makes of its state.
    pub(crate) fn subscribe<M>(
        driven: &Driven<M>,
        snapshot: impl FnOnce(&M) -> Vec<E>,
    ) -> CacheEventStream<E>
    where
        M: Machine<Event = E>,
    {
        // `inspect` holds the machine's lock, and events are broadcast only under it.
        driven.inspect(|m| CacheEventStream {
            snapshot: snapshot(m).into_iter(),
            changes: driven.subscribe(),
        })
    }
}

// Nothing in it is pinned structurally: the events are moved out, never polled in place.
impl<E> Unpin for CacheEventStream<E> {}

impl<E> Stream for CacheEventStream<E> {
    type Item = E;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<E>> {
        match self.snapshot.next() {
            Some(event) => Poll::Ready(Some(event)),
            None => self.changes.poll_next_unpin(cx),
        }
    }
}
