//! The `shared` binary against a real ZooKeeper server (docent-zk's TestingServer): two
//! `counter` processes increment one counter at once; `read` then prints the sum of their
//! acknowledged increments (no faults: none unknown).

use std::process::Command;

use docent_zk::testing::TestingServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_counter_processes_and_a_read_on_a_real_server() {
    let server = TestingServer::start()
        .await
        .expect("a ZooKeeper test server");
    let zk = server.connect_string();
    let path = "/examples/shared/real";
    let spawn = |id: &str| {
        Command::new(env!("CARGO_BIN_EXE_shared"))
            .args([
                "--zk",
                &zk,
                "counter",
                "--path",
                path,
                "--increments",
                "25",
                "--id",
                id,
            ])
            .output()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("a"));
        let b = s.spawn(|| spawn("b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    for (id, out) in [("a", a.unwrap()), ("b", b.unwrap())] {
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout, format!("counted {id} ok=25 unknown=0\n"));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_shared"))
        .args(["--zk", &zk, "read", "--path", path])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "value 50\n");
}

/// `put` then `take` (with a lock path, then without) on a real server: every item once, in
/// put order, with the documented lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_and_take_on_a_real_server() {
    let server = TestingServer::start()
        .await
        .expect("a ZooKeeper test server");
    let zk = server.connect_string();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_shared"))
            .args(["--zk", &zk])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    for (queue, lock) in [
        ("/examples/q1", Some("/examples/q1-locks")),
        ("/examples/q2", None),
    ] {
        let put = run(&["put", "--path", queue, "--items", "4", "--prefix", "S"]);
        assert_eq!(put, "", "put prints nothing but errors");
        let mut args = vec!["take", "--path", queue, "--for", "2"];
        if let Some(lock) = lock {
            args.extend(["--lock-path", lock]);
        }
        let took = run(&args);
        assert_eq!(took, "took S-0\ntook S-1\ntook S-2\ntook S-3\n", "{queue}");
    }
}
