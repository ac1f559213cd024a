//! The `ensemble` example as a user runs it, against real ZooKeeper: its lines, and the
//! ephemeral node it keeps present while it runs.

use std::process::{Command, Stdio};
use std::time::Duration;

use docent_zk::testing::TestingServer;

/// Runs the binary for `secs` with `args` and returns its stdout lines, checking meanwhile (from
/// another session) that `/ensemble-demo/ID` holds the id.
async fn run_and_watch(server: &TestingServer, id: &str, args: &[&str]) -> Vec<String> {
    let child = Command::new(env!("CARGO_BIN_EXE_ensemble"))
        .args(args)
        .args(["--id", id, "--for", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the example");
    let observer = docent_zk::connect(&server.connect_string()).await.unwrap();
    let path = format!("/ensemble-demo/{id}");
    let mut seen = None;
    for _ in 0..60 {
        if let Ok((data, stat, _)) = observer.get_data().at(&path).await {
            seen = Some((data, stat.ephemeral_owner));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (data, owner) = seen.expect("the example keeps its node present");
    assert_eq!(data, id.as_bytes());
    assert_ne!(owner, 0, "an ephemeral node");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        observer.exists().at(&path).await.unwrap().0.is_none(),
        "the node goes with the process"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracked_mode_prints_the_ensemble_and_the_session() {
    let server = TestingServer::start().await.unwrap();
    let zk = server.connect_string();
    let lines = run_and_watch(&server, "t1", &["--zk", &zk, "--track"]).await;
    assert_eq!(lines[0], format!("ensemble {zk}"), "{lines:?}");
    assert!(lines[1].starts_with("connected session=0x"), "{lines:?}");
    assert_eq!(lines.len(), 2, "nothing else changed: {lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhibitor_mode_falls_back_to_the_backup_when_no_exhibitor_answers() {
    let server = TestingServer::start().await.unwrap();
    let zk = server.connect_string();
    // A port nobody listens on: every poll fails, so the backup string is the ensemble.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let args = [
        "--exhibitors",
        "127.0.0.1",
        "--exhibitor-port",
        &port,
        "--backup",
        &zk,
        "--poll-ms",
        "500",
    ];
    let lines = run_and_watch(&server, "x1", &args).await;
    assert_eq!(lines[0], format!("ensemble {zk}"), "{lines:?}");
    assert!(lines[1].starts_with("connected session=0x"), "{lines:?}");
}

#[test]
fn bad_command_lines_are_refused() {
    // --track needs --zk, and --zk needs --track.
    for args in [&["--track"][..], &["--zk", "127.0.0.1:1"][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_ensemble"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ensemble"))
        .args(["--exhibitors", "a", "--backup", "zk:1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--exhibitor-port"));
}

/// Without flags: the walk-through on the embedded ensemble, every server replaced while the
/// client follows the simulated Exhibitor; one session throughout, the node kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_follows_a_full_replacement_on_one_session() {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    let out: docent_examples::leader::Out =
        std::sync::Arc::new(move |l| sink.lock().unwrap().push(l));
    docent_examples::ensemble::walkthrough("w", out)
        .await
        .unwrap();
    let lines = lines.lock().unwrap().clone();
    assert_eq!(lines[0], "ensemble zk1:2181,zk2:2181,zk3:2181", "{lines:?}");
    assert!(
        lines.contains(&"ensemble zk4:2181,zk5:2181,zk6:2181".to_string()),
        "{lines:?}"
    );
    assert!(!lines.contains(&"expired".to_string()), "{lines:?}");
    let sessions: std::collections::BTreeSet<&String> = lines
        .iter()
        .filter(|l| l.starts_with("connected session="))
        .collect();
    assert_eq!(sessions.len(), 1, "one session: {lines:?}");
    let last = lines.last().unwrap();
    assert!(
        last.ends_with("kept: true; /ensemble-demo/w present: true"),
        "{lines:?}"
    );
}
