//! The service discovery example on the embedded ensemble.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::Client;
use docent_examples::discovery::{list, register, walkthrough, Registration};
use docent_examples::leader::Out;
use docent_sim::EmbeddedEnsemble;

fn collector() -> (Out, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    (Arc::new(move |line| sink.lock().unwrap().push(line)), lines)
}

#[tokio::test]
async fn walkthrough_steps() {
    let ensemble = EmbeddedEnsemble::start(1);
    let client = Client::builder(ensemble.connect()).build().unwrap();
    let (out, lines) = collector();
    walkthrough(client, "10.0.0.7", out).await.unwrap();
    let lines = lines.lock().unwrap().clone();
    let starts: Vec<&str> = lines
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "instance",
            "services",
            "instances",
            "provider",
            "noted",
            "cache",
            "cache",
            "closed"
        ]
    );
    assert_eq!(lines[1], r#"services ["some-service"]"#);
    assert!(
        lines[2].contains("port=1234, payload=testing 123"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3], "provider picked http://10.0.0.7:1234");
    assert_eq!(lines[5], "cache holds 1 instance(s)");
    // Closing unregistered the instance.
    let check = Client::builder(ensemble.connect()).build().unwrap();
    assert_eq!(
        list(&check, "some-service", "/foo").await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_then_list_prints_curator_json() {
    let ensemble = EmbeddedEnsemble::start(1);
    let registration = Registration {
        name: "svc".into(),
        port: 8080,
        payload: "hello".into(),
        base: "/services".into(),
        id: Some("i-1".into()),
        address: "10.0.0.8".into(),
    };
    let (out, lines) = collector();
    let client = Client::builder(ensemble.connect()).build().unwrap();
    let registered = tokio::spawn(async move {
        register(client, &registration, Duration::from_millis(500), out).await
    });
    let reader = Client::builder(ensemble.connect()).build().unwrap();
    let mut listed = Vec::new();
    for _ in 0..40 {
        listed = list(&reader, "svc", "/services").await.unwrap();
        if !listed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(listed.len(), 1, "{listed:?}");
    let json = &listed[0];
    assert!(
        json.starts_with(r#"{"name":"svc","id":"i-1","address":"10.0.0.8","port":8080,"sslPort":null,"payload":"hello","registrationTimeUTC":"#),
        "{json}"
    );
    assert!(json.ends_with(r#""serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},{"value":"://","variable":false},{"value":"address","variable":true},{"value":":","variable":false},{"value":"port","variable":true}]}}"#), "{json}");
    registered.await.unwrap().unwrap();
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0], format!("registered {json}"));
    assert_eq!(lines[1], "unregistered i-1");
    assert!(list(&reader, "svc", "/services").await.unwrap().is_empty());
}
