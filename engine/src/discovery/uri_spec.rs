//! Curator's `UriSpec`: a URI template whose `{variables}` are filled from a service instance.
//!
//! `{scheme}://{address}:{port}` → `http://192.168.1.241:1234`. The variables are `scheme`
//! (`https` when the instance has an SSL port, else `http`), `name`, `id`, `address`, `port`,
//! `ssl-port`, `registration-time-utc`, `service-type` (lower case), and the escapes `{[}` and
//! `{]}` for literal braces. A variable without a value renders empty. Text inside braces is
//! trimmed, as Curator's parser does.

use std::fmt;
use std::str::FromStr;

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
    fn display_round_trips() {
        for s in ["{scheme}://{address}:{port}/x", "{[}{]}", "plain"] {
            assert_eq!(UriSpec::parse(s).unwrap().to_string(), s);
        }
    }
}
