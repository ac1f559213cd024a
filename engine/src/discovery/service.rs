//! [`ServiceDiscovery`]: register this process's instances and query everyone's.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use futures::future;
use futures::StreamExt;

use crate::discovery::instance::{check_segment, instance_path, service_path, ServiceInstance};
use crate::discovery::json::read_at;
use crate::discovery::registry::{RegistryCommand, RegistryEvent, RegistryMachine};
use crate::framework::driver::{recipe_span, spawn_machine_in, Driven, EventStream};
use crate::framework::Client;
use crate::recipes::wait::until;
use crate::{path, Error};

/// What a query for a service's instances found.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovered {
    /// The readable instances, ordered by id.
    pub instances: Vec<ServiceInstance>,
    /// Nodes that could not be read (foreign or corrupt data, no permission), with why. They
    /// never hide the rest of the service (CURATOR-574).
    pub unreadable: Vec<(String, Error)>,
}

/// Service discovery under one base path (Curator's `ServiceDiscovery`).
///
/// Instances live at `basePath/serviceName/instanceId` with Curator's JSON, so docent and Java
/// Curator processes discover each other. Registered instances are re-registered, with their
/// current content, on every CONNECTED and RECONNECTED, until unregistered.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), docent::Error> {
/// use docent::discovery::{ServiceDiscovery, ServiceInstance, UriSpec};
/// let ensemble = docent_sim::EmbeddedEnsemble::start(1);
/// let client = docent::Client::builder(ensemble.connect()).build()?;
/// let instance = ServiceInstance::builder("some-service")
///     .uri_spec("{scheme}://{address}:{port}".parse()?)
///     .address("192.168.1.241")
///     .port(1234)
///     .payload_string("testing 123")
///     .build(&client)?;
/// let discovery = ServiceDiscovery::start(&client, "/foo").await?;
/// discovery.register(&instance).await?;
/// assert_eq!(discovery.query_for_names().await?, vec!["some-service"]);
/// let found = discovery.query_for_instances("some-service").await?;
/// assert_eq!(found.instances, vec![instance]);
/// discovery.close().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ServiceDiscovery {
    client: Client,
    base: String,
    registry: Arc<Driven<RegistryMachine>>,
    requests: AtomicU64,
}

impl ServiceDiscovery {
    /// Starts discovery under `base_path` (e.g. `/foo`): its registry runs when this
    /// returns; it registers nothing yet.
    pub async fn start(client: &Client, base_path: &str) -> Result<ServiceDiscovery, Error> {
        path::validate(base_path)?;
        Ok(ServiceDiscovery {
            client: client.clone(),
            base: base_path.to_owned(),
            registry: Arc::new(spawn_machine_in(
                client,
                RegistryMachine::new(base_path),
                recipe_span("service registry", base_path, ""),
            )),
            requests: AtomicU64::new(0),
        })
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The base path.
    pub fn base_path(&self) -> &str {
        &self.base
    }

    /// Registers `instance` (or replaces a registered one with the same id): its node is
    /// created (an existing node is deleted first, so watchers fire) and kept written across
    /// reconnects until [`unregister`](Self::unregister). Resolves once written;
    /// [`Error::NotConnected`] if the session is lost first (the instance stays registered
    /// and is written on reconnection).
    pub async fn register(&self, instance: &ServiceInstance) -> Result<(), Error> {
        check_segment("service name", &instance.name)?;
        check_segment("instance id", &instance.id)?;
        self.client.ensure_namespace().await?;
        self.request(|request| RegistryCommand::Register {
            request,
            instance: instance.clone(),
        })
        .await
    }

    /// Replaces a registered instance's data (same name, id and type); later
    /// re-registrations write this content.
    pub async fn update(&self, instance: &ServiceInstance) -> Result<(), Error> {
        self.request(|request| RegistryCommand::Update {
            request,
            instance: instance.clone(),
        })
        .await
    }

    /// Unregisters `instance` (by id): it is never re-registered, and its node is deleted
    /// (guaranteed: retried across connection losses until gone).
    pub async fn unregister(&self, instance: &ServiceInstance) -> Result<(), Error> {
        self.request(|request| RegistryCommand::Unregister {
            request,
            id: instance.id.clone(),
        })
        .await
    }

    /// The instances this process has registered, with their current content.
    pub fn registered(&self) -> Vec<ServiceInstance> {
        self.registry.inspect(|m| m.instances().cloned().collect())
    }

    /// Registry events (written nodes, failures) from now on.
    pub fn events(&self) -> EventStream<RegistryEvent> {
        self.registry.subscribe()
    }

    /// The names of the registered services, sorted.
    pub async fn query_for_names(&self) -> Result<Vec<String>, Error> {
        match self.client.get_children().at(&self.base).await {
            Ok((mut names, _, _)) => {
                names.sort();
                Ok(names)
            }
            Err(Error::NoNode) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Every instance of service `name`: one listing, then every node's data in one
    /// `multiRead` round trip ([`Client::get_data_many`]). Nodes that vanish meanwhile are skipped; unreadable
    /// ones are skipped and reported in [`Discovered::unreadable`].
    pub async fn query_for_instances(&self, name: &str) -> Result<Discovered, Error> {
        check_segment("service name", name)?;
        let dir = service_path(&self.base, name);
        let mut ids = match self.client.get_children().at(&dir).await {
            Ok((ids, _, _)) => ids,
            Err(Error::NoNode) => Vec::new(),
            Err(e) => return Err(e),
        };
        ids.sort();
        let paths: Vec<String> = ids
            .iter()
            .map(|id| instance_path(&self.base, name, id))
            .collect();
        let reads = self.client.get_data_many(&paths).await?;
        let mut found = Discovered {
            instances: Vec::with_capacity(paths.len()),
            unreadable: Vec::new(),
        };
        for (path, read) in paths.into_iter().zip(reads) {
            let data = match read {
                Ok((data, _)) => data,
                Err(Error::NoNode) => continue,
                Err(e) => {
                    found.unreadable.push((path, e));
                    continue;
                }
            };
            match read_at(&path, &data) {
                Ok(instance) => found.instances.push(instance),
                Err(e) => {
                    tracing::warn!(%path, error = %e, "skipping an unreadable service instance");
                    found.unreadable.push((path, e));
                }
            }
        }
        Ok(found)
    }

    /// One instance, or `None` when it is not registered; [`Error::CorruptData`] when its
    /// node cannot be read.
    pub async fn query_for_instance(
        &self,
        name: &str,
        id: &str,
    ) -> Result<Option<ServiceInstance>, Error> {
        check_segment("service name", name)?;
        check_segment("instance id", id)?;
        let path = instance_path(&self.base, name, id);
        match self.client.get_data().at(&path).await {
            Ok((data, _, _)) => read_at(&path, &data).map(Some),
            Err(Error::NoNode) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Unregisters every instance (Curator's `close`) and stops. `Ok` once every node is
    /// deleted; the first unregister's error otherwise. The deletes are guaranteed deletes:
    /// past a session timeout this returns [`Error::Timeout`] and they go on in the background
    /// (for as long as the client lives), so an unreachable ensemble cannot hang `close` and
    /// a STATIC or PERMANENT instance is never abandoned. [`Error::Closed`] if the client was
    /// closed first.
    pub async fn close(self) -> Result<(), Error> {
        let registered = self.registered();
        let deadline = self.client.now() + self.client.session_timeout();
        let unregisters = future::join_all(registered.iter().map(|i| self.unregister(i)));
        let outcome = match until(&self.client, Some(deadline), unregisters).await {
            Some(results) => results.into_iter().collect(),
            None => Err(Error::Timeout),
        };
        // Stop once the deletes (and those of withdrawn creates) are done; the registry runs
        // in the background until then.
        let _ = self.registry.command(RegistryCommand::Close);
        let registry = self.registry.clone();
        let finished = registry.finished();
        self.client.coordinator().spawn(Box::pin(async move {
            finished.await;
            drop(registry);
        }));
        outcome
    }

    async fn request(&self, command: impl FnOnce(u64) -> RegistryCommand) -> Result<(), Error> {
        let request = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        // Subscribe before sending, so the completion cannot be missed.
        let mut events = self.registry.subscribe();
        self.registry.command(command(request))?;
        loop {
            match events.next().await {
                Some(RegistryEvent::Completed { request: r, result }) if r == request => {
                    return result
                }
                Some(_) => {}
                None => return Err(Error::Closed),
            }
        }
    }
}
