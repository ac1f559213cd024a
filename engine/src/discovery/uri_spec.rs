//! Curator's `UriSpec`: a URI template whose `{variables}` are filled from a service instance.
//!
//! `{scheme}://{address}:{port}` → `http://192.168.1.241:1234`. The variables are `scheme`
//! (`https` when the instance has an SSL port, else `http`), `name`, `id`, `address`, `port`,
//! `ssl-port`, `registration-time-utc`, `service-type` (lower case), and the escapes `{[}` and
//! `{]}` for literal braces. A variable without a value renders empty. Text inside braces is
//! trimmed, as Curator's parser does.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::discovery::instance::ServiceInstance;
use crate::Error;

/// One token of a [`UriSpec`]: literal text, or the name of a variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UriPart {
    /// The literal text, or the variable's name.
    pub value: String,
    /// True for a `{variable}`.
    pub variable: bool,
}

impl UriPart {
    /// Literal text.
    pub fn literal(value: impl Into<String>) -> UriPart {
        UriPart {
            value: value.into(),
            variable: false,
        }
    }

    /// A variable.
    pub fn variable(name: impl Into<String>) -> UriPart {
        UriPart {
            value: name.into(),
            variable: true,
        }
    }
}

/// A URI template (Curator's `UriSpec`); stored in the instance JSON as its parts.
///
/// ```
/// use docent::discovery::UriSpec;
/// let spec: UriSpec = "{scheme}://{address}:{port}{[}x{]}".parse().unwrap();
/// assert_eq!(spec.parts().len(), 8);
/// assert_eq!(spec.build(None), "http://:{x}");
/// assert_eq!(spec.to_string(), "{scheme}://{address}:{port}{[}x{]}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct UriSpec {
    parts: Vec<UriPart>,
}

/// The variable names Curator defines.
pub mod fields {
    /// `http`, or `https` when the instance has an SSL port.
    pub const SCHEME: &str = "scheme";
    /// The service name.
    pub const NAME: &str = "name";
    /// The instance id.
    pub const ID: &str = "id";
    /// The address.
    pub const ADDRESS: &str = "address";
    /// The port.
    pub const PORT: &str = "port";
    /// The SSL port.
    pub const SSL_PORT: &str = "ssl-port";
    /// The registration time (ms since the Unix epoch).
    pub const REGISTRATION_TIME_UTC: &str = "registration-time-utc";
    /// The service type, lower case.
    pub const SERVICE_TYPE: &str = "service-type";
    /// A literal `{`.
    pub const OPEN_BRACE: &str = "[";
    /// A literal `}`.
    pub const CLOSE_BRACE: &str = "]";
}

impl UriSpec {
    /// Parses a template; [`Error::InvalidArgument`] for a `{` inside a variable, a `}`
    /// without its `{`, or an unclosed variable (Curator rejects the same).
    pub fn parse(spec: &str) -> Result<UriSpec, Error> {
        let bad = |why: &str| Err(Error::InvalidArgument(format!("uri spec {spec:?}: {why}")));
        let mut parts = Vec::new();
        let mut inside = false;
        let mut text = String::new();
        for c in spec.chars() {
            match c {
                '{' if inside => return bad("{ is not allowed inside of a variable"),
                '}' if !inside => return bad("} must be preceded by {"),
                '{' | '}' => {
                    if !text.is_empty() {
                        let token = std::mem::take(&mut text);
                        parts.push(if inside {
                            UriPart::variable(token.trim())
                        } else {
                            UriPart::literal(token)
                        });
                    }
                    inside = c == '{';
                }
                _ => text.push(c),
            }
        }
        if inside {
            return bad("final variable not closed, expected }");
        }
        if !text.is_empty() {
            parts.push(UriPart::literal(text));
        }
        Ok(UriSpec { parts })
    }

    /// A spec from its parts (as read from JSON).
    pub fn from_parts(parts: Vec<UriPart>) -> UriSpec {
        UriSpec { parts }
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[UriPart] {
        &self.parts
    }

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
        for part in &self.parts {
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

impl FromStr for UriSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<UriSpec, Error> {
        UriSpec::parse(s)
    }
}

impl fmt::Display for UriSpec {
    /// The template text (`{name}` for variables).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            if part.variable {
                write!(f, "{{{}}}", part.value)?;
            } else {
                f.write_str(&part.value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::instance::{ServiceInstance, ServiceType};

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
    fn parses_variables_literals_and_trims_inside_braces() {
        let spec = UriSpec::parse("{scheme}://{ address }:{port}").unwrap();
        assert_eq!(
            spec.parts(),
            &[
                UriPart::variable("scheme"),
                UriPart::literal("://"),
                UriPart::variable("address"),
                UriPart::literal(":"),
                UriPart::variable("port"),
            ]
        );
        // Empty braces add nothing (Java's tokenizer yields no token between them).
        assert_eq!(UriSpec::parse("a{}b").unwrap().parts().len(), 2);
        assert_eq!(UriSpec::parse("").unwrap().parts(), &[]);
    }

    #[test]
    fn rejects_what_curator_rejects() {
        for bad in ["{a{b}}", "a}", "{open", "x{y"] {
            assert!(
                matches!(UriSpec::parse(bad), Err(Error::InvalidArgument(_))),
                "{bad}"
            );
        }
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

    #[test]
    fn display_round_trips() {
        for s in ["{scheme}://{address}:{port}/x", "{[}{]}", "plain"] {
            assert_eq!(UriSpec::parse(s).unwrap().to_string(), s);
        }
    }
}
