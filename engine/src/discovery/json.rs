//! The instance JSON, byte for byte as Curator 5 writes it (Jackson, `JsonInstanceSerializer`
//! in its default compatible mode), and read as tolerantly as Curator reads it.
//!
//! Written: `name, id, address, port, sslPort, payload, registrationTimeUTC, serviceType,
//! uriSpec`, absent values as `null`, no `enabled` field, except `"enabled":false` last for a
//! disabled instance (Curator's non-compatible form; Curator 5 readers ignore or honour it).
//! Strings are escaped as Jackson escapes them (`\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other
//! control characters as `\u00XX` with upper-case hex; `/` and non-ASCII left as is).
//!
//! Read: unknown fields ignored; missing or `null` `enabled` is true, `serviceType` DYNAMIC,
//! `registrationTimeUTC` 0, `name`/`id` empty; any payload JSON accepted. Anything else that
//! does not fit (not an object, a wrong type, an unknown service type, a port outside u16) is
//! [`Error::CorruptData`]. Read from a node (`…/name/node`), the instance must also belong
//! there: its `name` the service's, its `id` the node's (for DYNAMIC_SEQUENTIAL, the node's
//! name before its sequence suffix); otherwise the node holds foreign JSON, also corrupt data.

use serde_json::{Map, Value};

use crate::discovery::instance::{Payload, ServiceInstance, ServiceType};
use crate::discovery::uri_spec::{UriPart, UriSpec};
use crate::Error;

impl ServiceInstance {
    /// The node data, as Curator writes it.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::with_capacity(256);
        out.push_str("{\"name\":");
        write_str(&mut out, &self.name);
        out.push_str(",\"id\":");
        write_str(&mut out, &self.id);
        out.push_str(",\"address\":");
        match &self.address {
            Some(a) => write_str(&mut out, a),
            None => out.push_str("null"),
        }
        out.push_str(",\"port\":");
        write_opt_num(&mut out, self.port);
        out.push_str(",\"sslPort\":");
        write_opt_num(&mut out, self.ssl_port);
        out.push_str(",\"payload\":");
        match &self.payload {
            None => out.push_str("null"),
            Some(p) => write_payload(&mut out, p),
        }
        out.push_str(",\"registrationTimeUTC\":");
        out.push_str(&self.registration_time_utc.to_string());
        out.push_str(",\"serviceType\":\"");
        out.push_str(self.service_type.as_str());
        out.push_str("\",\"uriSpec\":");
        match &self.uri_spec {
            None => out.push_str("null"),
            Some(spec) => {
                out.push_str("{\"parts\":[");
                for (i, part) in spec.parts().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"value\":");
                    write_str(&mut out, &part.value);
                    out.push_str(",\"variable\":");
                    out.push_str(if part.variable { "true" } else { "false" });
                    out.push('}');
                }
                out.push_str("]}");
            }
        }
        if !self.enabled {
            out.push_str(",\"enabled\":false");
        }
        out.push('}');
        out.into_bytes()
    }

    /// Reads node data written by Curator or docent.
    pub fn from_json(bytes: &[u8]) -> Result<ServiceInstance, Error> {
        read_at("", bytes)
    }
}

/// Reads the instance stored at `path` (named in the error; empty: no node, nothing to belong
/// to).
pub(crate) fn read_at(path: &str, bytes: &[u8]) -> Result<ServiceInstance, Error> {
    read(bytes)
        .and_then(|instance| belongs_at(path, &instance).map(|()| instance))
        .map_err(|reason| Error::CorruptData {
            path: path.to_owned(),
            reason,
        })
}

/// An instance read at `…/name/node` must be that service's, and that node's.
fn belongs_at(path: &str, instance: &ServiceInstance) -> Result<(), String> {
    let Some((dir, node)) = path.rsplit_once('/') else {
        return Ok(());
    };
    let service = dir.rsplit('/').next().unwrap_or_default();
    if instance.name != service {
        return Err(format!(
            "names service {:?}, not {service:?}: not an instance of it",
            instance.name
        ));
    }
    // ZooKeeper's sequence suffix: `%010d` of a signed counter.
    let sequence = |rest: &str| {
        rest.len() >= 10
            && rest
                .trim_start_matches('-')
                .bytes()
                .all(|b| b.is_ascii_digit())
    };
    let sequential = instance.service_type == ServiceType::DynamicSequential;
    let same = node == instance.id
        || sequential
            && node
                .strip_prefix(instance.id.as_str())
                .is_some_and(sequence);
    if !same {
        return Err(format!(
            "has id {:?}: not the instance at this node",
            instance.id
        ));
    }
    Ok(())
}

fn write_opt_num(out: &mut String, n: Option<u16>) {
    match n {
        Some(n) => out.push_str(&n.to_string()),
        None => out.push_str("null"),
    }
}

fn write_payload(out: &mut String, payload: &Payload) {
    match payload {
        Payload::String(s) => write_str(out, s),
        Payload::Json { class: None, value } => write_value(out, value),
        Payload::Json {
            class: Some(class),
            value: Value::Object(map),
        } => {
            out.push_str("{\"@class\":");
            write_str(out, class);
            for (k, v) in map.iter().filter(|(k, _)| *k != "@class") {
                out.push(',');
                write_str(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
        Payload::Json {
            class: Some(class),
            value,
        } => {
            out.push('[');
            write_str(out, class);
            out.push(',');
            write_value(out, value);
            out.push(']');
        }
    }
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, v);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, k);
                out.push(':');
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

/// A JSON string as Jackson writes it.
fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let b = c as usize;
                out.push_str("\\u00");
                out.push(HEX[b >> 4] as char);
                out.push(HEX[b & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn read(bytes: &[u8]) -> Result<ServiceInstance, String> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("not a JSON object".into());
    };
    let service_type = match text(&obj, "serviceType")? {
        None => ServiceType::Dynamic,
        Some(name) => {
            ServiceType::from_name(&name).ok_or_else(|| format!("unknown serviceType {name:?}"))?
        }
    };
    Ok(ServiceInstance {
        name: text(&obj, "name")?.unwrap_or_default(),
        id: text(&obj, "id")?.unwrap_or_default(),
        address: text(&obj, "address")?,
        port: port(&obj, "port")?,
        ssl_port: port(&obj, "sslPort")?,
        payload: payload(obj.get("payload")),
        registration_time_utc: match present(&obj, "registrationTimeUTC") {
            None => 0,
            Some(v) => v
                .as_i64()
                .ok_or("registrationTimeUTC is not a 64-bit integer")?,
        },
        service_type,
        uri_spec: uri_spec(present(&obj, "uriSpec"))?,
        enabled: match present(&obj, "enabled") {
            None => true,
            Some(v) => v.as_bool().ok_or("enabled is not a boolean")?,
        },
    })
}

/// The field, unless missing or null.
fn present<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn text(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match present(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

fn port(obj: &Map<String, Value>, key: &str) -> Result<Option<u16>, String> {
    match present(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{key} is not a port number")),
    }
}

fn payload(value: Option<&Value>) -> Option<Payload> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(Payload::String(s.clone())),
        Value::Object(map) => {
            let class = map.get("@class").and_then(Value::as_str).map(str::to_owned);
            let mut map = map.clone();
            if class.is_some() {
                map.shift_remove("@class");
            }
            Some(Payload::Json {
                class,
                value: Value::Object(map),
            })
        }
        Value::Array(items) if items.len() == 2 && items[0].as_str().is_some_and(is_java_class) => {
            Some(Payload::Json {
                class: items[0].as_str().map(str::to_owned),
                value: items[1].clone(),
            })
        }
        other => Some(Payload::Json {
            class: None,
            value: other.clone(),
        }),
    }
}

/// `java.lang.Long`, `java.util.Arrays$ArrayList`: Jackson's `[class, value]` wrapper.
fn is_java_class(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|seg| {
            seg.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
}

fn uri_spec(value: Option<&Value>) -> Result<Option<UriSpec>, String> {
    let Some(value) = value else {
        return Ok(None);
    };
    let obj = value.as_object().ok_or("uriSpec is not an object")?;
    let mut parts = Vec::new();
    if let Some(list) = present(obj, "parts") {
        for part in list.as_array().ok_or("uriSpec.parts is not an array")? {
            let part = part.as_object().ok_or("a uriSpec part is not an object")?;
            let value = text(part, "value")?.unwrap_or_default();
            let variable = match present(part, "variable") {
                None => false,
                Some(v) => v
                    .as_bool()
                    .ok_or("uriSpec part variable is not a boolean")?,
            };
            parts.push(UriPart { value, variable });
        }
    }
    Ok(Some(UriSpec::from_parts(parts)))
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
