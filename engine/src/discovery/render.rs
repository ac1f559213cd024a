//! Rendering a [`UriSpec`] for a [`ServiceInstance`]: the predefined variables take their
//! values from the instance (Curator's `UriSpec.build`).

use std::collections::BTreeMap;

use crate::discovery::instance::ServiceInstance;
use crate::discovery::uri_spec::{fields, UriSpec};

impl ServiceInstance {
    /// The instance's URI from its spec (empty without one).
    pub fn build_uri(&self) -> String {
        self.uri_spec
            .as_ref()
            .map(|s| s.build(Some(self)))
            .unwrap_or_default()
    }
}

impl UriSpec {
    /// Renders the template for `instance` (without one, only `scheme` = `http` and the brace
    /// escapes have values).
    pub fn build(&self, instance: Option<&ServiceInstance>) -> String {
        self.build_with(instance, &BTreeMap::new())
    }

    /// Renders the template; `variables` add values and override the predefined ones.
    pub fn build_with(
        &self,
        instance: Option<&ServiceInstance>,
        variables: &BTreeMap<String, String>,
    ) -> String {
        let mut out = String::new();
        for part in self.parts() {
            if !part.variable {
                out.push_str(&part.value);
            } else if let Some(value) = variables.get(&part.value) {
                out.push_str(value);
            } else if let Some(value) = predefined(&part.value, instance) {
                out.push_str(&value);
            } else {
                tracing::debug!(variable = %part.value, "uri spec variable not found");
            }
        }
        out
    }
}

fn predefined(name: &str, instance: Option<&ServiceInstance>) -> Option<String> {
    let text = |v: Option<String>| Some(v.unwrap_or_default());
    match (name, instance) {
        (fields::OPEN_BRACE, _) => Some("{".into()),
        (fields::CLOSE_BRACE, _) => Some("}".into()),
        (fields::SCHEME, i) => Some(
            if i.is_some_and(|i| i.ssl_port.is_some()) {
                "https"
            } else {
                "http"
            }
            .into(),
        ),
        (_, None) => None,
        (fields::NAME, Some(i)) => Some(i.name.clone()),
        (fields::ID, Some(i)) => Some(i.id.clone()),
        (fields::ADDRESS, Some(i)) => text(i.address.clone()),
        (fields::PORT, Some(i)) => text(i.port.map(|p| p.to_string())),
        (fields::SSL_PORT, Some(i)) => text(i.ssl_port.map(|p| p.to_string())),
        (fields::REGISTRATION_TIME_UTC, Some(i)) => Some(i.registration_time_utc.to_string()),
        (fields::SERVICE_TYPE, Some(i)) => Some(i.service_type.as_str().to_ascii_lowercase()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::instance::ServiceType;

    fn instance(ssl: Option<u16>) -> ServiceInstance {
        let mut b = ServiceInstance::builder("svc")
            .id("i-1")
            .address("192.168.1.241")
            .port(1234)
            .registration_time_utc(1400195776978)
            .service_type(ServiceType::DynamicSequential);
        if let Some(p) = ssl {
            b = b.ssl_port(p);
        }
        b.build_with(&mut crate::rng::Rng::new(1, 0), 0).unwrap()
    }

    #[test]
    fn builds_every_variable() {
        let spec = UriSpec::parse(
            "{scheme}|{name}|{id}|{address}|{port}|{ssl-port}|{registration-time-utc}|{service-type}|{[}{]}|{nope}",
        )
        .unwrap();
        assert_eq!(
            spec.build(Some(&instance(None))),
            "http|svc|i-1|192.168.1.241|1234||1400195776978|dynamic_sequential|{}|"
        );
        assert_eq!(
            spec.build(Some(&instance(Some(443)))),
            "https|svc|i-1|192.168.1.241|1234|443|1400195776978|dynamic_sequential|{}|"
        );
        assert_eq!(spec.build(None), "http||||||||{}|");
    }

    #[test]
    fn seed_walkthrough_uri() {
        let spec: UriSpec = "{scheme}://{address}:{port}".parse().unwrap();
        assert_eq!(
            spec.build(Some(&instance(None))),
            "http://192.168.1.241:1234"
        );
    }

    #[test]
    fn variables_override_predefined_ones() {
        let spec = UriSpec::parse("{scheme}://{host}").unwrap();
        let vars = BTreeMap::from([
            ("scheme".to_string(), "grpc".to_string()),
            ("host".to_string(), "h".to_string()),
        ]);
        assert_eq!(spec.build_with(None, &vars), "grpc://h");
    }
}
