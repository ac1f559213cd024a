//! [`ServiceProvider`]: one instance of a service at a time, picked from a watched cache
//! (Curator's `ServiceProvider`).
//!
//! Each pick takes the cache's snapshot (an `Arc` clone), and only when the snapshot, the
//! noted errors or a down instance's timeout changed does it rebuild the filtered list:
//! a pick allocates nothing beyond the `Arc` it returns.

mod down;

use std::fmt;
use std::sync::{Arc, Mutex};

pub use crate::discovery::strategy::{ProviderStrategy, Random, RoundRobin, Sticky};
pub use down::DownInstancePolicy;

use crate::discovery::cache::{InstanceSource, ServiceCache, ServiceCacheOptions, Snapshot};
use crate::discovery::instance::ServiceInstance;
use crate::discovery::ServiceDiscovery;
use crate::framework::Client;
use crate::time::Instant;
use crate::Error;
use down::DownInstances;

/// A custom instance filter: `false` leaves the instance out.
pub type InstanceFilter = Arc<dyn Fn(&ServiceInstance) -> bool + Send + Sync>;

/// Configures a [`ServiceProvider`]; see [`ServiceProvider::builder`].
#[must_use]
pub struct ServiceProviderBuilder<'a> {
    discovery: &'a ServiceDiscovery,
    name: String,
    strategy: Box<dyn ProviderStrategy>,
    filters: Vec<InstanceFilter>,
    policy: DownInstancePolicy,
    include_disabled: bool,
}

impl fmt::Debug for ServiceProviderBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceProviderBuilder")
            .field("name", &self.name)
            .field("strategy", &self.strategy)
            .field("filters", &self.filters.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl ServiceProviderBuilder<'_> {
    /// The strategy (default [`RoundRobin`]).
    pub fn strategy(mut self, strategy: impl ProviderStrategy) -> Self {
        self.strategy = Box::new(strategy);
        self
    }

    /// Adds a filter; instances it rejects are never picked.
    pub fn filter(mut self, f: impl Fn(&ServiceInstance) -> bool + Send + Sync + 'static) -> Self {
        self.filters.push(Arc::new(f));
        self
    }

    /// The down-instance policy (default: 2 errors within 30 s → down for 30 s).
    pub fn down_instance_policy(mut self, policy: DownInstancePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Also pick instances whose `enabled` is false (left out by default).
    pub fn include_disabled(mut self) -> Self {
        self.include_disabled = true;
        self
    }

    /// Starts a [`ServiceCache`] of the service, waits for its first load, and returns the
    /// provider reading from it (the provider closes it).
    pub async fn build(self) -> Result<ServiceProvider, Error> {
        let options = ServiceCacheOptions::default();
        let cache = ServiceCache::start(self.discovery, &self.name, options).await?;
        let client = self.discovery.client().clone();
        Ok(self.finish(client, Source::Owned(cache)))
    }

    /// A provider reading from an existing source (a shared [`ServiceCache`], a fixed
    /// [`Snapshot`], …).
    pub fn build_on(self, source: Arc<dyn InstanceSource>) -> ServiceProvider {
        let client = self.discovery.client().clone();
        self.finish(client, Source::Shared(source))
    }

    fn finish(self, client: Client, source: Source) -> ServiceProvider {
        ServiceProvider {
            client,
            source,
            picker: Mutex::new(Picker::new(
                self.strategy,
                self.filters,
                self.policy,
                self.include_disabled,
            )),
        }
    }
}

#[derive(Debug)]
enum Source {
    Owned(ServiceCache),
    Shared(Arc<dyn InstanceSource>),
}

impl Source {
    fn snapshot(&self) -> Snapshot {
        match self {
            Source::Owned(cache) => cache.instances(),
            Source::Shared(source) => source.snapshot(),
        }
    }
}

/// Picks instances of one service.
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// # let discovery: docent::discovery::ServiceDiscovery = unimplemented!();
/// use docent::discovery::{RoundRobin, ServiceProvider};
/// let provider = ServiceProvider::builder(&discovery, "some-service")
///     .strategy(RoundRobin::default())
///     .build()
///     .await?;
/// if let Some(instance) = provider.get_instance() {
///     // calling it failed? tell the provider (2 errors in 30 s: left out for 30 s)
///     provider.note_error(&instance);
/// }
/// provider.close().await?;
/// # Ok(())
/// # }
/// ```
pub struct ServiceProvider {
    client: Client,
    source: Source,
    picker: Mutex<Picker>,
}

impl fmt::Debug for ServiceProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceProvider")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl ServiceProvider {
    /// Starts configuring a provider of service `name`.
    pub fn builder<'a>(discovery: &'a ServiceDiscovery, name: &str) -> ServiceProviderBuilder<'a> {
        ServiceProviderBuilder {
            discovery,
            name: name.to_owned(),
            strategy: Box::new(RoundRobin::default()),
            filters: Vec::new(),
            policy: DownInstancePolicy::default(),
            include_disabled: false,
        }
    }

    /// One instance, by the strategy, among the enabled, unfiltered, not-down ones.
    pub fn get_instance(&self) -> Option<Arc<ServiceInstance>> {
        let snapshot = self.source.snapshot();
        let now = self.client.now();
        self.lock().pick(&snapshot, now)
    }

    /// Every instance a pick could return right now.
    pub fn get_all_instances(&self) -> Vec<Arc<ServiceInstance>> {
        let snapshot = self.source.snapshot();
        let now = self.client.now();
        self.lock().eligible(&snapshot, now).to_vec()
    }

    /// Reports that using `instance` failed (counts towards marking it down).
    pub fn note_error(&self, instance: &ServiceInstance) {
        let now = self.client.now();
        self.lock().down.note_error(&instance.id, now);
    }

    /// Stops the provider (and the cache it started; its [`ServiceCache::close`] outcome).
    pub async fn close(self) -> Result<(), Error> {
        match self.source {
            Source::Owned(cache) => cache.close().await,
            Source::Shared(_) => Ok(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Picker> {
        self.picker.lock().expect("provider poisoned")
    }
}

/// The provider's pure core: filters, down instances and the strategy over a snapshot.
pub(crate) struct Picker {
    strategy: Box<dyn ProviderStrategy>,
    filters: Vec<InstanceFilter>,
    include_disabled: bool,
    down: DownInstances,
    /// What `eligible` was built from.
    seen: Option<Snapshot>,
    seen_down: u64,
    valid_until: Option<Instant>,
    eligible: Vec<Arc<ServiceInstance>>,
}

impl Picker {
    pub(crate) fn new(
        strategy: Box<dyn ProviderStrategy>,
        filters: Vec<InstanceFilter>,
        policy: DownInstancePolicy,
        include_disabled: bool,
    ) -> Picker {
        Picker {
            strategy,
            filters,
            include_disabled,
            down: DownInstances::new(policy),
            seen: None,
            seen_down: 0,
            valid_until: None,
            eligible: Vec::new(),
        }
    }

    pub(crate) fn pick(
        &mut self,
        snapshot: &Snapshot,
        now: Instant,
    ) -> Option<Arc<ServiceInstance>> {
        self.eligible(snapshot, now);
        let index = self.strategy.pick(&self.eligible)?;
        self.eligible.get(index).cloned()
    }

    /// The filtered list, rebuilt only when its inputs changed.
    pub(crate) fn eligible(
        &mut self,
        snapshot: &Snapshot,
        now: Instant,
    ) -> &[Arc<ServiceInstance>] {
        let fresh = self.seen.as_ref().is_some_and(|s| Arc::ptr_eq(s, snapshot))
            && self.seen_down == self.down.generation()
            && !matches!(self.valid_until, Some(t) if now >= t);
        if !fresh {
            self.eligible.clear();
            for instance in snapshot.iter() {
                let keep = (self.include_disabled || instance.enabled)
                    && !self.down.is_down(&instance.id, now)
                    && self.filters.iter().all(|f| f(instance));
                if keep {
                    self.eligible.push(instance.clone());
                }
            }
            self.seen = Some(snapshot.clone());
            self.seen_down = self.down.generation();
            self.valid_until = self.down.next_change(now);
        }
        &self.eligible
    }

    #[cfg(test)]
    pub(crate) fn note_error(&mut self, id: &str, now: Instant) {
        self.down.note_error(id, now);
    }
}

#[cfg(test)]
mod tests;
