//! A registered service instance (Curator's `ServiceInstance`) and its builder.

use std::fmt;

use crate::discovery::uri_spec::UriSpec;
use crate::framework::Client;
use crate::rng::Rng;
use crate::types::CreateMode;
use crate::{path, Error};

/// How an instance's node lives (Curator's `ServiceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ServiceType {
    /// An EPHEMERAL node: gone with the registering session. The default.
    #[default]
    Dynamic,
    /// An EPHEMERAL_SEQUENTIAL node (`<id><seq>`).
    DynamicSequential,
    /// A PERSISTENT node.
    Static,
    /// A PERSISTENT node, meant to be removed by hand.
    Permanent,
}

impl ServiceType {
    /// The upper-case name Curator writes (`DYNAMIC`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::Dynamic => "DYNAMIC",
            ServiceType::DynamicSequential => "DYNAMIC_SEQUENTIAL",
            ServiceType::Static => "STATIC",
            ServiceType::Permanent => "PERMANENT",
        }
    }

    /// The type named `name` (exact upper case, as Jackson reads enums).
    pub fn from_name(name: &str) -> Option<ServiceType> {
        [
            ServiceType::Dynamic,
            ServiceType::DynamicSequential,
            ServiceType::Static,
            ServiceType::Permanent,
        ]
        .into_iter()
        .find(|t| t.as_str() == name)
    }

    /// The node's create mode.
    pub fn create_mode(self) -> CreateMode {
        match self {
            ServiceType::Dynamic => CreateMode::Ephemeral,
            ServiceType::DynamicSequential => CreateMode::EphemeralSequential,
            ServiceType::Static | ServiceType::Permanent => CreateMode::Persistent,
        }
    }
}

impl fmt::Display for ServiceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An instance's payload.
///
/// Java readers deserialize the payload with Jackson's class-typed polymorphism: a string is
/// read as is, an object needs an `"@class"` property naming a Java class it can build (for a
/// plain map: `java.util.LinkedHashMap`). docent therefore writes strings bare and JSON with the
/// `@class` first when one is named, and refuses to write a JSON object without one.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// Written as a JSON string.
    String(String),
    /// Any JSON value. With a `class`, an object is written as `{"@class":class, …fields}` and
    /// any other value as `[class, value]` (Jackson's forms); without one, as is.
    Json {
        /// The Java class Curator readers should build.
        class: Option<String>,
        /// The value (without the `@class` property).
        value: serde_json::Value,
    },
}

impl Payload {
    /// The string payload, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Payload::String(s) => Some(s),
            Payload::Json { .. } => None,
        }
    }
}

/// One instance of a service, as registered under `basePath/name/id`.
///
/// Build one with [`ServiceInstance::builder`]; read one with [`ServiceInstance::from_json`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceInstance {
    /// The service's name.
    pub name: String,
    /// The instance's id (the node's name).
    pub id: String,
    /// Host name or IP address.
    pub address: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// The SSL port.
    pub ssl_port: Option<u16>,
    /// The payload.
    pub payload: Option<Payload>,
    /// Registration time, milliseconds since the Unix epoch.
    pub registration_time_utc: i64,
    /// How the node lives.
    pub service_type: ServiceType,
    /// The URI template.
    pub uri_spec: Option<UriSpec>,
    /// False to keep providers from picking the instance (default true).
    pub enabled: bool,
}

impl ServiceInstance {
    /// Starts an instance of service `name`.
    pub fn builder(name: impl Into<String>) -> ServiceInstanceBuilder {
        ServiceInstanceBuilder {
            name: name.into(),
            id: None,
            address: None,
            port: None,
            ssl_port: None,
            payload: None,
            registration_time_utc: None,
            service_type: ServiceType::Dynamic,
            uri_spec: None,
            enabled: true,
        }
    }

    /// A copy with another payload (for [`ServiceDiscovery::update`](super::ServiceDiscovery::update)).
    pub fn with_payload(&self, payload: Option<Payload>) -> ServiceInstance {
        ServiceInstance {
            payload,
            ..self.clone()
        }
    }

    /// A copy with `enabled` set.
    pub fn with_enabled(&self, enabled: bool) -> ServiceInstance {
        ServiceInstance {
            enabled,
            ..self.clone()
        }
    }
}

/// Configures a [`ServiceInstance`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ServiceInstanceBuilder {
    name: String,
    id: Option<String>,
    address: Option<String>,
    port: Option<u16>,
    ssl_port: Option<u16>,
    payload: Option<Payload>,
    registration_time_utc: Option<i64>,
    service_type: ServiceType,
    uri_spec: Option<UriSpec>,
    enabled: bool,
}

impl ServiceInstanceBuilder {
    /// The id (default: a random UUID from the client's seeded random source).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The address. **Required**: the engine touches no sockets, so it cannot look up the
    /// host's interfaces; the transports offer a `default_address()` (the first non-loopback
    /// local IP, as Curator picks).
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    /// The port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// The SSL port (makes `{scheme}` render `https`).
    pub fn ssl_port(mut self, port: u16) -> Self {
        self.ssl_port = Some(port);
        self
    }

    /// The payload.
    pub fn payload(mut self, payload: Payload) -> Self {
        self.payload = Some(payload);
        self
    }

    /// A string payload (written bare).
    pub fn payload_string(self, payload: impl Into<String>) -> Self {
        self.payload(Payload::String(payload.into()))
    }

    /// The registration time (default: the transport's wall clock at build time).
    pub fn registration_time_utc(mut self, unix_millis: i64) -> Self {
        self.registration_time_utc = Some(unix_millis);
        self
    }

    /// The service type (default DYNAMIC).
    pub fn service_type(mut self, service_type: ServiceType) -> Self {
        self.service_type = service_type;
        self
    }

    /// The URI template.
    pub fn uri_spec(mut self, spec: UriSpec) -> Self {
        self.uri_spec = Some(spec);
        self
    }

    /// Whether providers may pick the instance (default true).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Validates and builds; the id and registration time default from `client` (its seeded
    /// random source and [`Coordinator::unix_millis`](crate::Coordinator::unix_millis)).
    pub fn build(self, client: &Client) -> Result<ServiceInstance, Error> {
        let now = client.coordinator().unix_millis();
        self.build_with(&mut client.next_rng(), now)
    }

    /// Validates and builds with an explicit random source and wall-clock time.
    pub fn build_with(self, rng: &mut Rng, unix_millis: i64) -> Result<ServiceInstance, Error> {
        let bad = |why: String| Err(Error::InvalidArgument(why));
        check_segment("service name", &self.name)?;
        let id = self.id.unwrap_or_else(|| rng.uuid());
        check_segment("instance id", &id)?;
        let Some(address) = self.address else {
            return bad(format!(
                "instance {id} of {}: an address is required (the transports offer a default)",
                self.name
            ));
        };
        if let Some(Payload::Json {
            class: None,
            value: serde_json::Value::Object(_),
        }) = &self.payload
        {
            return bad(format!(
                "instance {id}: a JSON object payload needs a Java @class for Curator readers \
                 (java.util.LinkedHashMap for a plain map)"
            ));
        }
        Ok(ServiceInstance {
            name: self.name,
            id,
            address: Some(address),
            port: self.port,
            ssl_port: self.ssl_port,
            payload: self.payload,
            registration_time_utc: self.registration_time_utc.unwrap_or(unix_millis),
            service_type: self.service_type,
            uri_spec: self.uri_spec,
            enabled: self.enabled,
        })
    }
}

/// The node of service `name` under `base`: `<base>/<name>`.
pub(crate) fn service_path(base: &str, name: &str) -> String {
    path::join(base, name)
}

/// The node of instance `id` of service `name` under `base`: `<base>/<name>/<id>` (for a
/// DYNAMIC_SEQUENTIAL instance, the prefix of its node's name). The one place it is built.
pub(crate) fn instance_path(base: &str, name: &str, id: &str) -> String {
    path::join(&service_path(base, name), id)
}

/// A name usable as one node name.
pub(crate) fn check_segment(what: &str, name: &str) -> Result<(), Error> {
    if name.is_empty() || name.contains('/') || path::validate(&format!("/{name}")).is_err() {
        return Err(Error::InvalidArgument(format!(
            "{what} {name:?} is not a valid node name"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_seeded_rng_and_the_given_clock() {
        let build = || {
            ServiceInstance::builder("svc")
                .address("10.0.0.5")
                .build_with(&mut Rng::new(9, 1), 1700000000000)
                .unwrap()
        };
        let a = build();
        assert_eq!(a.id, build().id, "same seed, same id");
        assert!(crate::rng::is_uuid(&a.id));
        assert_eq!(a.registration_time_utc, 1700000000000);
        assert_eq!(a.service_type, ServiceType::Dynamic);
        assert!(a.enabled);
    }

    #[test]
    fn validation() {
        let mut rng = Rng::new(1, 0);
        let err = |b: ServiceInstanceBuilder, rng: &mut Rng| b.build_with(rng, 0).unwrap_err();
        assert!(matches!(
            err(ServiceInstance::builder("svc"), &mut rng),
            Error::InvalidArgument(m) if m.contains("address is required")
        ));
        assert!(matches!(
            err(ServiceInstance::builder("a/b").address("h"), &mut rng),
            Error::InvalidArgument(_)
        ));
        assert!(matches!(
            err(ServiceInstance::builder("s").id("").address("h"), &mut rng),
            Error::InvalidArgument(_)
        ));
        let object = Payload::Json {
            class: None,
            value: serde_json::json!({"a": 1}),
        };
        assert!(matches!(
            err(
                ServiceInstance::builder("s").address("h").payload(object),
                &mut rng
            ),
            Error::InvalidArgument(m) if m.contains("@class")
        ));
    }

    #[test]
    fn modes_by_service_type() {
        assert_eq!(ServiceType::Dynamic.create_mode(), CreateMode::Ephemeral);
        assert_eq!(
            ServiceType::DynamicSequential.create_mode(),
            CreateMode::EphemeralSequential
        );
        assert_eq!(ServiceType::Static.create_mode(), CreateMode::Persistent);
        assert_eq!(ServiceType::Permanent.create_mode(), CreateMode::Persistent);
        assert_eq!(
            ServiceType::from_name("DYNAMIC_SEQUENTIAL"),
            Some(ServiceType::DynamicSequential)
        );
        assert_eq!(ServiceType::from_name("dynamic"), None);
    }
}
