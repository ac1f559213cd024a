//! The Exhibitor ensemble provider against real ZooKeeper and a real HTTP stand-in for
//! Exhibitor (the Clojure guide's third walk-through): a client that starts knowing one server
//! learns the others from Exhibitor and keeps its session when its server dies; Exhibitor down
//! means the backup string, and its list replaces the backup once it answers.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use docent::ensemble::exhibitor::{Exhibitors, Polled};
use docent::framework::RetryPolicy;
use docent::{Coordinator, CreateMode, SessionState};
use docent_zk::testing::{ServerOptions, TestingCluster};
use docent_zk::{ExhibitorEnsembleProvider, ExhibitorOptions, ZkCoordinator};

const SESSION: Duration = Duration::from_secs(4);

/// What the stand-in answers.
#[derive(Debug, Clone)]
enum Answer {
    /// 200 with this form-encoded body.
    List(String),
    /// No usable answer (503).
    Down,
}

/// Exhibitor's REST endpoint, served on `hosts` with one port (as a real Exhibitor ensemble
/// runs one instance per ZooKeeper host).
struct StandIn {
    port: u16,
    answer: Arc<Mutex<Answer>>,
    asked: Arc<Mutex<Vec<String>>>,
    servers: Vec<Arc<tiny_http::Server>>,
}

impl StandIn {
    fn start(hosts: &[&str], answer: Answer) -> StandIn {
        let first = tiny_http::Server::http(format!("{}:0", hosts[0])).expect("bind");
        let port = first.server_addr().to_ip().expect("ip").port();
        let mut servers = vec![Arc::new(first)];
        for host in &hosts[1..] {
            servers.push(Arc::new(
                tiny_http::Server::http(format!("{host}:{port}")).expect("bind"),
            ));
        }
        let answer = Arc::new(Mutex::new(answer));
        let asked = Arc::new(Mutex::new(Vec::new()));
        for server in &servers {
            let (server, answer, asked) = (server.clone(), answer.clone(), asked.clone());
            let host = server.server_addr().to_ip().expect("ip").ip().to_string();
            std::thread::spawn(move || {
                for request in server.incoming_requests() {
                    let accept = request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv("Accept"))
                        .map(|h| h.value.to_string());
                    asked.lock().unwrap().push(format!(
                        "{host} {} {}",
                        request.url(),
                        accept.unwrap_or_default()
                    ));
                    let response = match answer.lock().unwrap().clone() {
                        Answer::List(body) => tiny_http::Response::from_string(body),
                        Answer::Down => {
                            tiny_http::Response::from_string("down").with_status_code(503)
                        }
                    };
                    let _ = request.respond(response);
                }
            });
        }
        StandIn {
            port,
            answer,
            asked,
            servers,
        }
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        for server in &self.servers {
            server.unblock();
        }
    }
}

fn list(hosts: &[&str], port: u16) -> String {
    let mut body = format!("count={}&port={port}", hosts.len());
    for (i, host) in hosts.iter().enumerate() {
        body.push_str(&format!("&server{i}={host}"));
    }
    body
}

fn options() -> ExhibitorOptions {
    ExhibitorOptions::default()
        .with_poll_interval(Duration::from_millis(200))
        .with_retry(RetryPolicy::n_times(1, Duration::from_millis(50)))
        .with_seed(11)
}

fn servers(hosts: &[&str], port: u16) -> Vec<(String, u16)> {
    hosts.iter().map(|h| (h.to_string(), port)).collect()
}

/// The walk-through: the client knows server 1, Exhibitor adds 2 and 3, server 1 dies, the same
/// session carries on at 2 or 3; the next polls ask the servers Exhibitor listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_learns_its_ensemble_from_exhibitor_and_survives_its_first_server() {
    let mut cluster = TestingCluster::start_on_hosts(3, ServerOptions::default())
        .await
        .unwrap();
    let zk_port = cluster.member_addr(0).unwrap().port();
    let hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"];
    let exhibitor = StandIn::start(&hosts, Answer::List(list(&hosts[..1], zk_port)));
    let backup = format!("127.0.0.1:{zk_port}");
    let config = Exhibitors::new(["127.0.0.1"], exhibitor.port, &backup).unwrap();
    let provider = ExhibitorEnsembleProvider::new(config, options());
    assert_eq!(
        provider.poll_for_initial_ensemble().await,
        Polled::Servers(servers(&hosts[..1], zk_port))
    );
    let asked = exhibitor.asked();
    assert_eq!(
        asked,
        ["127.0.0.1 /exhibitor/v1/cluster/list application/x-www-form-urlencoded"]
    );
    provider.start();
    let zk =
        ZkCoordinator::connect(common::options("").with_ensemble_provider(provider.provider()))
            .await
            .expect("connect");
    let id = zk.session_id();
    assert_eq!(cluster.member_serving(id).await, Some(0));
    create(&zk, "/walk", b"through", CreateMode::Ephemeral)
        .await
        .unwrap();

    exhibitor.answer(Answer::List(list(&hosts, zk_port)));
    let mut watch = provider.provider().watch();
    let want = servers(&hosts, zk_port);
    tokio::time::timeout(SESSION, watch.wait_for(|s| *s == want))
        .await
        .expect("the provider learns servers 2 and 3")
        .unwrap();

    let mut states = zk.session_states();
    states_until(&mut states, SESSION, |_| true).await;
    cluster.kill(0);
    let seen = states_until(&mut states, SESSION * 3, |s| {
        matches!(s, SessionState::Connected { .. })
    })
    .await;
    assert!(!seen.contains(&SessionState::Expired), "{seen:?}");
    assert_eq!(
        seen.last(),
        Some(&SessionState::Connected {
            session_id: id,
            timeout: zk.session_timeout(),
            read_only: false
        })
    );
    let serving = cluster
        .member_serving(id)
        .await
        .expect("a member serves it");
    assert!(serving == 1 || serving == 2, "{serving}");
    assert_eq!(get_data(&zk, "/walk").await.unwrap(), b"through");

    // Later polls ask the servers just listed (same REST port), not only the first Exhibitor.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later: Vec<String> = exhibitor.asked().into_iter().skip(1).collect();
    assert!(!later.is_empty());
    assert!(
        later.iter().any(|a| !a.starts_with("127.0.0.1 ")),
        "polls rotate over the listed hosts: {later:?}"
    );
}

/// Exhibitor down at start: the backup string; Exhibitor back: its list replaces the backup; a
/// corrupt answer then changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhibitor_down_means_backup_until_it_answers() {
    let exhibitor = StandIn::start(&["127.0.0.1"], Answer::Down);
    let config = Exhibitors::new(["127.0.0.1"], exhibitor.port, "127.0.0.1:2999/app").unwrap();
    let provider = ExhibitorEnsembleProvider::new(config, options());
    let backup = vec![("127.0.0.1".to_string(), 2999)];
    assert_eq!(
        provider.poll_for_initial_ensemble().await,
        Polled::Backup(backup.clone())
    );
    assert_eq!(provider.provider().servers(), backup);
    assert_eq!(exhibitor.asked().len(), 2, "one try and one retry");

    provider.start();
    exhibitor.answer(Answer::List(list(&["127.0.0.1"], 3001)));
    let mut watch = provider.provider().watch();
    let want = vec![("127.0.0.1".to_string(), 3001)];
    tokio::time::timeout(SESSION, watch.wait_for(|s| *s == want))
        .await
        .expect("Exhibitor's list replaces the backup")
        .unwrap();

    exhibitor.answer(Answer::List("count=2&port=3001&server0=127.0.0.1".into()));
    let before = exhibitor.asked().len();
    while exhibitor.asked().len() < before + 2 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        provider.provider().servers(),
        want,
        "a corrupt answer keeps the last list"
    );
    exhibitor.answer(Answer::List("count=0&port=3001".into()));
    tokio::time::timeout(SESSION, watch.wait_for(|s| *s == backup))
        .await
        .expect("count 0 falls back to the backup")
        .unwrap();
    provider.close();
}
