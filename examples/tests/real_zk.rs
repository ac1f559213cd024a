//! The examples' logic on a real ZooKeeper server (docent-zk's TestingServer, on loopback).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent_examples::discovery::walkthrough;
use docent_examples::master_worker::{run, DemoConfig};
use docent_examples::Backend;
use docent_zk::testing::TestingServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_run_on_a_real_server() {
    let server = TestingServer::start()
        .await
        .expect("a ZooKeeper test server");
    let backend = Backend::Zk(server.connect_string());
    let config = DemoConfig {
        masters: 2,
        workers: 3,
        tasks: 20,
        kill: true,
        work: Duration::from_millis(5),
        timeout: Duration::from_secs(20),
    };
    let summary = run(&backend, &config, |_| {}).await.unwrap();
    assert_eq!(
        (summary.done, summary.submitted, summary.duplicates),
        (20, 20, 0),
        "{summary}"
    );
    assert!(summary.elections >= 2, "{summary:?}");

    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    let client = backend.client().await.unwrap();
    walkthrough(
        client,
        "10.0.0.9",
        Arc::new(move |l| sink.lock().unwrap().push(l)),
    )
    .await
    .unwrap();
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines[1], r#"services ["some-service"]"#);
    assert_eq!(lines[3], "provider picked http://10.0.0.9:1234");
}
