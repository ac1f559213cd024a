//! Service discovery, wire-compatible with Curator's `curator-x-discovery`.
//!
//! Instances register under `basePath/serviceName/instanceId` as Curator's JSON (see
//! [`ServiceInstance::to_json`]); parents are CONTAINER nodes; the node's mode follows the
//! [`ServiceType`]. [`ServiceDiscovery`] registers, updates, unregisters and queries;
//! a [`ServiceCache`] keeps one service's instances in memory through watches; a
//! [`ServiceProvider`] picks one instance from a cache with a [`ProviderStrategy`], skipping
//! disabled, filtered and down instances.
//!
//! ```text
//!  ServiceDiscovery ── RegistryMachine (sans-IO): local instances, re-registered on
//!        │                                        CONNECTED / RECONNECTED
//!        ├── query_for_names / query_for_instances (pipelined) / query_for_instance
//!        └── ServiceCache ── CacheMachine (sans-IO): the children cache's machine + JSON → snapshot
//!                 └── ServiceProvider: filters, down instances, strategy → one instance
//! ```
//!
//! The walk-through of the seeds, in Rust:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), docent::Error> {
//! use docent::discovery::*;
//! let ensemble = docent_sim::EmbeddedEnsemble::start(1);
//! let client = docent::Client::builder(ensemble.connect()).build()?;
//! let instance = ServiceInstance::builder("some-service")
//!     .uri_spec("{scheme}://{address}:{port}".parse()?)
//!     .address("192.168.1.241")
//!     .port(1234)
//!     .payload_string("testing 123")
//!     .build(&client)?;
//! let discovery = ServiceDiscovery::start(&client, "/foo").await?;
//! discovery.register(&instance).await?;
//! assert_eq!(discovery.query_for_names().await?, vec!["some-service"]);
//! assert_eq!(discovery.query_for_instances("some-service").await?.instances.len(), 1);
//! let provider = ServiceProvider::builder(&discovery, "some-service")
//!     .strategy(RoundRobin::default())
//!     .build()
//!     .await?;
//! let picked = provider.get_instance().expect("one instance");
//! assert_eq!(picked.build_uri(), "http://192.168.1.241:1234");
//! provider.note_error(&picked);
//! let cache = ServiceCache::start(&discovery, "some-service", ServiceCacheOptions::default()).await?;
//! assert_eq!(cache.instances().len(), 1);
//! provider.close().await?;
//! cache.close().await?;
//! discovery.close().await?;
//! client.close().await?;
//! # Ok(())
//! # }
//! ```

pub mod cache;
mod instance;
mod json;
pub mod provider;
pub mod registry;
mod render;
mod service;
mod strategy;
mod uri_spec;

pub use cache::{CacheEvent, InstanceSource, ServiceCache, ServiceCacheOptions, Snapshot};
pub use instance::{Payload, ServiceInstance, ServiceInstanceBuilder, ServiceType};
pub use provider::{
    DownInstancePolicy, ProviderStrategy, Random, RoundRobin, ServiceProvider,
    ServiceProviderBuilder, Sticky,
};
pub use registry::{RegistryCommand, RegistryEvent, RegistryMachine};
pub use service::{Discovered, ServiceDiscovery};
pub use uri_spec::{fields, UriPart, UriSpec};
