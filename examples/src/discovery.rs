//! The logic of the `service_discovery` example: the seeds' walk-through, and the `register`
//! and `list` subcommands for scripting against a real ensemble.

use std::time::Duration;

use docent::discovery::{
    Payload, RoundRobin, ServiceCache, ServiceCacheOptions, ServiceDiscovery, ServiceInstance,
    ServiceProvider, UriSpec,
};
use docent::{Client, Error};

use crate::leader::Out;

/// The walk-through's service name.
pub const SERVICE: &str = "some-service";
/// The walk-through's base path.
pub const BASE: &str = "/foo";

/// One instance on one line, as the walk-through shows it.
pub fn describe(instance: &ServiceInstance) -> String {
    let payload = match &instance.payload {
        Some(Payload::String(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
        None => "null".to_owned(),
    };
    format!(
        "ServiceInstance{{name='{}', id='{}', address='{}', port={}, payload={}, \
         registrationTimeUTC={}, serviceType={}, uri={}}}",
        instance.name,
        instance.id,
        instance.address.as_deref().unwrap_or("null"),
        instance.port.map_or("null".to_owned(), |p| p.to_string()),
        payload,
        instance.registration_time_utc,
        instance.service_type.as_str(),
        instance.build_uri(),
    )
}

/// The seeds' walk-through, step by step, on `client` (closed at the end).
pub async fn walkthrough(client: Client, address: &str, out: Out) -> Result<(), Error> {
    // An instance of our service; the address defaults to a local, non-loopback one.
    let instance = ServiceInstance::builder(SERVICE)
        .uri_spec(UriSpec::parse("{scheme}://{address}:{port}")?)
        .address(address)
        .port(1234)
        .payload_string("testing 123")
        .build(&client)?;
    out(format!("instance {}", describe(&instance)));
    // Service discovery registers it, through the client, under the base path.
    let discovery = ServiceDiscovery::start(&client, BASE).await?;
    discovery.register(&instance).await?;
    // Which services are registered…
    let names = discovery.query_for_names().await?;
    out(format!("services {names:?}"));
    // …and their instances.
    for found in discovery.query_for_instances(SERVICE).await?.instances {
        out(format!("instances {}", describe(&found)));
    }
    // A provider picks one instance with a strategy: random, round-robin or sticky.
    let provider = ServiceProvider::builder(&discovery, SERVICE)
        .strategy(RoundRobin::default())
        .build()
        .await?;
    let selected = provider
        .get_instance()
        .ok_or_else(|| Error::InvalidArgument("the provider found no instance".into()))?;
    out(format!("provider picked {}", selected.build_uri()));
    // Trouble reaching it? Tell the provider, so it may be treated as down.
    provider.note_error(&selected);
    out(format!("noted an error for {}", selected.id));
    // A service cache keeps the instances in-process, updated by watches.
    let cache = ServiceCache::start(&discovery, SERVICE, ServiceCacheOptions::default()).await?;
    out(format!(
        "cache holds {} instance(s)",
        cache.instances().len()
    ));
    let mut strategy = RoundRobin::default();
    if let Some(picked) = cache.pick(&mut strategy) {
        out(format!("cache picked {}", picked.build_uri()));
    }
    // Close everything we started.
    provider.close().await?;
    cache.close().await?;
    discovery.close().await?;
    client.close().await?;
    out("closed provider, cache, discovery and client".to_owned());
    Ok(())
}

/// What `register` registers.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Service name.
    pub name: String,
    /// Port.
    pub port: u16,
    /// String payload.
    pub payload: String,
    /// Base path.
    pub base: String,
    /// Instance id (default: a random UUID).
    pub id: Option<String>,
    /// Address.
    pub address: String,
}

/// Registers one instance and keeps it registered for `hold` (the client's clock); then
/// unregisters it and closes `client`. `on_registered` gets the instance's JSON.
pub async fn register(
    client: Client,
    registration: &Registration,
    hold: Duration,
    out: Out,
) -> Result<(), Error> {
    let mut builder = ServiceInstance::builder(registration.name.clone())
        .uri_spec(UriSpec::parse("{scheme}://{address}:{port}")?)
        .address(registration.address.clone())
        .port(registration.port)
        .payload_string(registration.payload.clone());
    if let Some(id) = &registration.id {
        builder = builder.id(id.clone());
    }
    let instance = builder.build(&client)?;
    let discovery = ServiceDiscovery::start(&client, &registration.base).await?;
    discovery.register(&instance).await?;
    out(format!("registered {}", json(&instance)));
    crate::sleep(&client, hold).await;
    discovery.close().await?;
    client.close().await?;
    out(format!("unregistered {}", instance.id));
    Ok(())
}

/// Every readable instance of `name` under `base`, one line of Curator-format JSON each
/// (unreadable nodes are reported as `unreadable PATH: ERROR`).
pub async fn list(client: &Client, name: &str, base: &str) -> Result<Vec<String>, Error> {
    let discovery = ServiceDiscovery::start(client, base).await?;
    let found = discovery.query_for_instances(name).await?;
    let mut lines: Vec<String> = found.instances.iter().map(json).collect();
    lines.extend(
        found
            .unreadable
            .iter()
            .map(|(path, e)| format!("unreadable {path}: {e}")),
    );
    discovery.close().await?;
    Ok(lines)
}

fn json(instance: &ServiceInstance) -> String {
    String::from_utf8_lossy(&instance.to_json()).into_owned()
}
