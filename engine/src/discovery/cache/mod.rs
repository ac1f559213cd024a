//! [`ServiceCache`]: one service's instances, kept in memory by watches (Curator's
//! `ServiceCache`).
//!
//! The watch loop is the discovery's own small [`CacheMachine`]. Providers read through the
//! [`InstanceSource`] seam, so a cache built on the general-purpose recipe caches (or a fixed
//! list, in tests) can stand in for it.

pub mod machine;

use std::fmt;
use std::sync::Arc;

pub use machine::{CacheCommand, CacheEvent, CacheMachine, Snapshot};

use crate::discovery::instance::{check_segment, service_path, ServiceInstance};
use crate::discovery::strategy::ProviderStrategy;
use crate::discovery::ServiceDiscovery;
use crate::framework::driver::{spawn_machine, wait_for, Driven, EventStream};
use crate::framework::Client;
use crate::{path, Error};

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

/// A watched, in-memory view of one service's instances.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// # let discovery: docent::discovery::ServiceDiscovery = unimplemented!();
/// use docent::discovery::{RoundRobin, ServiceCache};
/// let cache = ServiceCache::start(&discovery, "some-service").await?;
/// assert_eq!(cache.instances().len(), 1);
/// let picked = cache.pick(&mut RoundRobin::default());
/// cache.close().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ServiceCache {
    name: String,
    driven: Driven<CacheMachine>,
}

impl ServiceCache {
    /// Starts watching service `name` and waits for the first complete load (Curator's
    /// `start()`); the cache then follows every change, across disconnects and sessions.
    pub async fn start(discovery: &ServiceDiscovery, name: &str) -> Result<ServiceCache, Error> {
        let cache = ServiceCache::spawn(discovery.client(), discovery.base_path(), name)?;
        cache.ready().await?;
        Ok(cache)
    }

    /// Starts watching service `name` under `base_path` without waiting for the first load.
    pub fn spawn(client: &Client, base_path: &str, name: &str) -> Result<ServiceCache, Error> {
        path::validate(base_path)?;
        check_segment("service name", name)?;
        let machine = CacheMachine::new(service_path(base_path, name));
        Ok(ServiceCache {
            name: name.to_owned(),
            driven: spawn_machine(client, machine),
        })
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
        self.driven.inspect(CacheMachine::snapshot)
    }

    /// Picks one instance with `strategy` (no filters; see
    /// [`ServiceProvider`](crate::discovery::ServiceProvider) for those).
    pub fn pick(&self, strategy: &mut dyn ProviderStrategy) -> Option<Arc<ServiceInstance>> {
        let snapshot = self.instances();
        strategy
            .pick(&snapshot)
            .and_then(|i| snapshot.get(i).cloned())
    }

    /// Changes from now on.
    pub fn events(&self) -> EventStream<CacheEvent> {
        self.driven.subscribe()
    }

    /// Stops watching.
    pub async fn close(self) {
        let _ = self.driven.command(CacheCommand::Close);
        self.driven.finished().await;
    }
}

impl InstanceSource for ServiceCache {
    fn snapshot(&self) -> Snapshot {
        self.instances()
    }
}

#[cfg(test)]
mod tests;
