//! Every example binary is a proper command line: `--help` works and names its flags, and
//! boolean flags take no value.

use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .expect("the example runs")
}

#[test]
fn every_binary_answers_help_with_its_flags() {
    let election = [
        "--zk",
        "--path",
        "--id",
        "--participants",
        "--hold",
        "--for",
    ];
    let binaries: [(&str, &[&str]); 5] = [
        (env!("CARGO_BIN_EXE_leader_latch"), &election),
        (env!("CARGO_BIN_EXE_leader_selector"), &election),
        (
            env!("CARGO_BIN_EXE_master_worker"),
            &[
                "--zk",
                "--masters",
                "--workers",
                "--tasks",
                "--work-ms",
                "--for",
                "--no-kill",
            ],
        ),
        (
            env!("CARGO_BIN_EXE_service_discovery"),
            &["--zk", "register", "list"],
        ),
        (
            env!("CARGO_BIN_EXE_locks"),
            &[
                "--zk", "--path", "--kind", "--leases", "--id", "--hold", "--count", "--for",
            ],
        ),
    ];
    for (bin, flags) in binaries {
        let out = run(bin, &["--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{bin} --help: {out:?}");
        for flag in flags {
            assert!(help.contains(flag), "{bin} --help lacks {flag}:\n{help}");
        }
    }
    let register = run(
        env!("CARGO_BIN_EXE_service_discovery"),
        &["register", "--help"],
    );
    let help = String::from_utf8_lossy(&register.stdout);
    for flag in ["--port", "--payload", "--base", "--id", "--for", "<NAME>"] {
        assert!(help.contains(flag), "register --help lacks {flag}:\n{help}");
    }
}

#[test]
fn flags_are_checked() {
    let master_worker = env!("CARGO_BIN_EXE_master_worker");
    let valued = run(master_worker, &["--no-kill", "true"]);
    assert!(!valued.status.success(), "--no-kill takes no value");
    let unknown = run(env!("CARGO_BIN_EXE_leader_latch"), &["--bogus"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--bogus"));
    let negative = run(env!("CARGO_BIN_EXE_leader_latch"), &["--for=-1"]);
    assert!(!negative.status.success(), "a negative duration is refused");
}
