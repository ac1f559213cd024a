//! Byte-for-byte tests against what Curator 5.4.0's `JsonInstanceSerializer` wrote on this
//! machine (Jackson 2.14), and reading tolerance.

use super::*;
use crate::rng::Rng;

/// WIRE.md's example, exactly as Curator 5.4.0 wrote it.
const CURATOR_STRING_PAYLOAD: &str = r#"{"name":"my-service","id":"inst-1","address":"10.0.0.5","port":8080,"sslPort":null,"payload":"testing 123","registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true}]}}"#;

/// A LinkedHashMap payload (insertion order kept), control characters and non-ASCII text.
const CURATOR_MAP_PAYLOAD: &str = r#"{"name":"n\u001F","id":"i","address":"fd00:0:0:0:0:0:0:2%eth0","port":1,"sslPort":2,"payload":{"@class":"java.util.LinkedHashMap","zeta":1,"alpha":"x\u0001\n\"/é","list":[1,2]},"registrationTimeUTC":5,"serviceType":"STATIC","uriSpec":null}"#;

/// A `Long` payload (Jackson's `[class, value]` wrapper) and a spec with brace escapes.
const CURATOR_WRAPPED_PAYLOAD: &str = r#"{"name":"n","id":"i","address":"h","port":null,"sslPort":null,"payload":["java.lang.Long",5],"registrationTimeUTC":7,"serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"a","variable":false},{"value":"[","variable":true},{"value":"b","variable":false},{"value":"x","variable":true},{"value":"]","variable":true}]}}"#;

fn rng() -> Rng {
    Rng::new(1, 0)
}

#[test]
fn string_payload_matches_curator_byte_for_byte() {
    let instance = ServiceInstance::builder("my-service")
        .id("inst-1")
        .address("10.0.0.5")
        .port(8080)
        .payload_string("testing 123")
        .registration_time_utc(1700000000000)
        .uri_spec("{scheme}://{address}:{port}".parse().unwrap())
        .build_with(&mut rng(), 0)
        .unwrap();
    assert_eq!(
        String::from_utf8(instance.to_json()).unwrap(),
        CURATOR_STRING_PAYLOAD
    );
    assert_eq!(
        ServiceInstance::from_json(CURATOR_STRING_PAYLOAD.as_bytes()).unwrap(),
        instance
    );
}

#[test]
fn map_payload_matches_curator_byte_for_byte() {
    let value = serde_json::from_str(r#"{"zeta":1,"alpha":"x\u0001\n\"/é","list":[1,2]}"#).unwrap();
    let mut instance = ServiceInstance::builder("n")
        .id("i")
        .address("fd00:0:0:0:0:0:0:2%eth0")
        .port(1)
        .ssl_port(2)
        .payload(Payload::Json {
            class: Some("java.util.LinkedHashMap".into()),
            value,
        })
        .registration_time_utc(5)
        .service_type(ServiceType::Static)
        .build_with(&mut rng(), 0)
        .unwrap();
    // Not a valid node name, but Curator writes whatever it is given.
    instance.name = "n\u{1f}".into();
    assert_eq!(
        String::from_utf8(instance.to_json()).unwrap(),
        CURATOR_MAP_PAYLOAD
    );
    let read = ServiceInstance::from_json(CURATOR_MAP_PAYLOAD.as_bytes()).unwrap();
    assert_eq!(read, instance);
    let Some(Payload::Json { class, value }) = &read.payload else {
        panic!("{:?}", read.payload)
    };
    assert_eq!(class.as_deref(), Some("java.util.LinkedHashMap"));
    assert_eq!(value["alpha"], "x\u{1}\n\"/é");
    assert!(value.get("@class").is_none());
}

#[test]
fn wrapped_payload_and_brace_escapes_match_curator() {
    let read = ServiceInstance::from_json(CURATOR_WRAPPED_PAYLOAD.as_bytes()).unwrap();
    assert_eq!(
        read.payload,
        Some(Payload::Json {
            class: Some("java.lang.Long".into()),
            value: serde_json::json!(5)
        })
    );
    assert_eq!(
        read.uri_spec.as_ref().unwrap(),
        &UriSpec::parse("a{[}b{ x }{]}").unwrap()
    );
    assert_eq!(
        String::from_utf8(read.to_json()).unwrap(),
        CURATOR_WRAPPED_PAYLOAD
    );
}

#[test]
fn disabled_instances_carry_enabled_false_last() {
    let mut instance = ServiceInstance::from_json(CURATOR_STRING_PAYLOAD.as_bytes()).unwrap();
    instance.enabled = false;
    let json = String::from_utf8(instance.to_json()).unwrap();
    assert!(
        json.ends_with(r#""variable":true}]},"enabled":false}"#),
        "{json}"
    );
    assert!(!ServiceInstance::from_json(json.as_bytes()).unwrap().enabled);
}

#[test]
fn reading_is_tolerant_like_curators() {
    let read = ServiceInstance::from_json(
        br#"{"name":"x","id":"y","foo":3,"payload":{"a":1},"nested":{"deep":[1]}}"#,
    )
    .unwrap();
    assert_eq!(read.name, "x");
    assert_eq!(read.id, "y");
    assert!(read.enabled, "missing enabled is true");
    assert_eq!(
        read.service_type,
        ServiceType::Dynamic,
        "missing type is DYNAMIC"
    );
    assert_eq!(read.registration_time_utc, 0);
    assert_eq!(read.address, None);
    assert_eq!(read.uri_spec, None);
    assert_eq!(
        read.payload,
        Some(Payload::Json {
            class: None,
            value: serde_json::json!({"a": 1})
        })
    );
    let read = ServiceInstance::from_json(
        br#"{"name":"x","enabled":null,"serviceType":null,"payload":[1,2],"uriSpec":{"parts":[{}]}}"#,
    )
    .unwrap();
    assert!(read.enabled);
    assert_eq!(read.service_type, ServiceType::Dynamic);
    assert_eq!(
        read.payload,
        Some(Payload::Json {
            class: None,
            value: serde_json::json!([1, 2])
        })
    );
    assert_eq!(read.uri_spec.unwrap().parts(), &[UriPart::literal("")]);
}

#[test]
fn garbage_is_corrupt_data_naming_the_node() {
    for bad in [
        &b"\xff\xfe"[..],
        b"",
        b"[]",
        b"\"just a string\"",
        br#"{"name":5}"#,
        br#"{"port":70000}"#,
        br#"{"port":-1}"#,
        br#"{"sslPort":"443"}"#,
        br#"{"serviceType":"dynamic"}"#,
        br#"{"registrationTimeUTC":1.5}"#,
        br#"{"enabled":"yes"}"#,
        br#"{"uriSpec":[]}"#,
        br#"{"uriSpec":{"parts":[{"value":1}]}}"#,
        br#"{"name":"x""#,
    ] {
        match read_at("/foo/svc/bad", bad) {
            Err(Error::CorruptData { path, .. }) => assert_eq!(path, "/foo/svc/bad"),
            other => panic!("{:?} → {other:?}", String::from_utf8_lossy(bad)),
        }
    }
}

#[test]
fn escapes_like_jackson() {
    let mut out = String::new();
    write_str(&mut out, "a\"b\\c/d\u{8}\u{c}\t\r\n\u{0}\u{1f}\u{7f}é😀");
    assert_eq!(
        out,
        "\"a\\\"b\\\\c/d\\b\\f\\t\\r\\n\\u0000\\u001F\u{7f}é😀\""
    );
}

/// Valid JSON that is not the instance at its node — foreign JSON (CURATOR-574), another
/// service's or another node's instance — is corrupt data there; `from_json` alone stays
/// tolerant. (Foreign `{"hello":"world"}` used to be read as an instance with an empty name
/// and id, and providers offered it: the discovery_poison_instance scenario.)
#[test]
fn a_node_holds_its_own_instance_or_corrupt_data() {
    let at = |path: &str, json: &str| read_at(path, json.as_bytes());
    let foreign = r#"{"hello":"world"}"#;
    assert!(ServiceInstance::from_json(foreign.as_bytes()).is_ok());
    assert!(matches!(
        at("/foo/svc/x", foreign),
        Err(Error::CorruptData { path, .. }) if path == "/foo/svc/x"
    ));
    let mine = r#"{"name":"svc","id":"x"}"#;
    assert_eq!(at("/foo/svc/x", mine).unwrap().id, "x");
    assert!(at("/foo/other/x", mine).is_err(), "another service's");
    assert!(at("/foo/svc/y", mine).is_err(), "another node's");
    let sequential = r#"{"name":"svc","id":"x","serviceType":"DYNAMIC_SEQUENTIAL"}"#;
    assert!(at("/foo/svc/x0000000007", sequential).is_ok());
    assert!(at("/foo/svc/x-2147483648", sequential).is_ok());
    assert!(at("/foo/svc/x", sequential).is_ok());
    assert!(
        at("/foo/svc/x0000000007", mine).is_err(),
        "a suffix only when sequential"
    );
    assert!(
        at("/foo/svc/x7", sequential).is_err(),
        "not a sequence suffix"
    );
}
