//! [`ServiceCache`]: one service's instances, kept in memory by watches (Curator's
//! `ServiceCache`).
//!
//! The watch loop is [`CacheMachine`]: the children cache's machine, its children read as
//! instance JSON. Providers read through the [`InstanceSource`] seam, so another source (a
//! fixed list, in tests) can stand in for it.

pub mod machine;

use std::fmt;
use std::sync::Arc;

pub use machine::{CacheCommand, CacheEvent, CacheMachine, Snapshot};

use crate::discovery::instance::{check_segment, service_path, ServiceInstance};
use crate::discovery::strategy::ProviderStrategy;
use crate::discovery::ServiceDiscovery;
use crate::framework::driver::{recipe_span, spawn_machine_in, wait_for, Driven};
use crate::framework::StateWatch;
use crate::recipes::cache::{close_cache, CacheEventStream};
use crate::Error;

/// Where a provider gets its instances: a snapshot, cheap to take (an `Arc` clone) and
/// replaced by a new `Arc` whenever it changes (providers compare pointers).
pub trait InstanceSource: Send + Sync + fmt::Debug + 'static {
    /// The current instances.
    fn snapshot(&self) -> Snapshot;
}

impl InstanceSource for Snapshot {
    fn snapshot(&self) -> Snapshot {
        self.clone()
    }
}

/// How a [`ServiceCache`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct ServiceCacheOptions {
    await_load: bool,
}

impl Default for ServiceCacheOptions {
    /// `start` waits for the first complete load.
    fn default() -> Self {
        ServiceCacheOptions { await_load: true }
    }
}

impl ServiceCacheOptions {
    /// Whether `start` waits for the first complete load (Curator's `start()` does); without
    /// it, see [`ServiceCache::ready`].
    pub fn await_load(mut self, await_load: bool) -> Self {
        self.await_load = await_load;
        self
    }
}

/// A watched, in-memory view of one service's instances.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// # let discovery: docent::discovery::ServiceDiscovery = unimplemented!();
/// use docent::discovery::{RoundRobin, ServiceCache, ServiceCacheOptions};
/// let cache = ServiceCache::start(&discovery, "some-service", ServiceCacheOptions::default()).await?;
/// assert_eq!(cache.instances().len(), 1);
/// let picked = cache.pick(&mut RoundRobin::default());
/// cache.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ServiceCache {
    name: String,
    driven: Driven<CacheMachine>,
}

impl ServiceCache {
    /// Starts watching service `name` of `discovery`; it runs when this returns, and by
    /// default (see [`ServiceCacheOptions::await_load`]) the first complete load is in. The
    /// cache then follows every change, across disconnects and sessions.
    pub async fn start(
        discovery: &ServiceDiscovery,
        name: &str,
        options: ServiceCacheOptions,
    ) -> Result<ServiceCache, Error> {
        check_segment("service name", name)?;
        let machine = CacheMachine::new(service_path(discovery.base_path(), name));
        let cache = ServiceCache {
            name: name.to_owned(),
            driven: spawn_machine_in(
                discovery.client(),
                machine,
                recipe_span("service cache", discovery.base_path(), name),
            ),
        };
        if options.await_load {
            cache.ready().await?;
        }
        Ok(cache)
    }

    /// Waits for the first complete load.
    pub async fn ready(&self) -> Result<(), Error> {
        wait_for(&self.driven, |m| m.is_ready().then_some(())).await
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current instances, ordered by id.
    pub fn instances(&self) -> Snapshot {
        self.state()
    }

    /// The cache's contents: the current instances, ordered by id.
    pub fn state(&self) -> Snapshot {
        self.driven.inspect(CacheMachine::snapshot)
    }

    /// The contents, now and after each change (the current value first).
    pub fn watch_state(&self) -> StateWatch<Snapshot> {
        self.driven.inspect(CacheMachine::watch_snapshot)
    }

    /// Picks one instance with `strategy` (no filters: a service provider, built on a cache,
    /// adds those).
    pub fn pick(&self, strategy: &mut dyn ProviderStrategy) -> Option<Arc<ServiceInstance>> {
        let snapshot = self.instances();
        strategy
            .pick(&snapshot)
            .and_then(|i| snapshot.get(i).cloned())
    }

    /// The events, starting with a snapshot (`Added` for every instance, then `Ready` once
    /// the first load finished), then every change.
    pub fn events(&self) -> CacheEventStream<CacheEvent> {
        CacheEventStream::subscribe(&self.driven, CacheMachine::replay)
    }

    /// Stops watching; its event streams end. [`Error::Closed`] if it had stopped already (the
    /// client was closed).
    pub async fn close(self) -> Result<(), Error> {
        close_cache(&self.driven).await
    }
}

impl InstanceSource for ServiceCache {
    fn snapshot(&self) -> Snapshot {
        self.instances()
    }
}

#[cfg(test)]
mod tests;
