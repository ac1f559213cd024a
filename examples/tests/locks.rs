//! The `locks` binary on the embedded ensemble with `--count`: every process's lines alternate
//! `acquired` / `releasing`, the mutex is held by one process at a time, tokens increase, and
//! each process is granted exactly `--count` times.

use std::collections::BTreeMap;
use std::process::Command;

#[test]
fn locks_with_count_alternates_and_tokens_increase() {
    let out = Command::new(env!("CARGO_BIN_EXE_locks"))
        .args([
            "--kind", "mutex", "--id", "t", "--hold", "20", "--count", "3", "--for", "60",
        ])
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let mut holding: BTreeMap<&str, bool> = BTreeMap::new();
    let mut grants: BTreeMap<&str, u32> = BTreeMap::new();
    let (mut holder, mut last_token) = (None, i64::MIN);
    for line in stdout.lines() {
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["acquired", id, token] => {
                let token: i64 = token
                    .strip_prefix("token=")
                    .expect(line)
                    .parse()
                    .expect(line);
                assert!(
                    !holding.insert(id, true).unwrap_or(false),
                    "{id} twice:\n{stdout}"
                );
                assert_eq!(holder.replace(id), None, "two holders:\n{stdout}");
                assert!(token > last_token, "token went down:\n{stdout}");
                last_token = token;
                *grants.entry(id).or_default() += 1;
            }
            ["releasing", id] => {
                assert_eq!(holding.insert(id, false), Some(true), "{id}:\n{stdout}");
                assert_eq!(holder.take(), Some(id), "{stdout}");
            }
            _ => panic!("unexpected line {line:?}:\n{stdout}"),
        }
    }
    let expected: BTreeMap<&str, u32> = [("t-1", 3), ("t-2", 3), ("t-3", 3)].into();
    assert_eq!(grants, expected, "{stdout}");
    assert!(holding.values().all(|h| !h), "{stdout}");
}

#[test]
fn the_walkthrough_revokes() {
    let out = Command::new(env!("CARGO_BIN_EXE_locks"))
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?}:\n{stdout}"))
    };
    assert!(at("acquired holder") < at("revoke asker -> holder"));
    assert!(at("revocation-requested holder") < at("releasing holder"));
    assert!(at("releasing holder") < at("acquired asker"));
    // The semaphore part: at most two of s-1..s-3 hold at once, each once.
    let mut holding = 0;
    for line in lines.iter().take_while(|l| !l.starts_with("(the reader")) {
        if line.starts_with("acquired s-") {
            holding += 1;
            assert!(
                holding <= 2,
                "three holders of a 2-lease semaphore:\n{stdout}"
            );
        } else if line.starts_with("releasing s-") {
            holding -= 1;
        }
    }
    assert_eq!(stdout.matches("acquired s-").count(), 3, "{stdout}");
}

#[test]
fn semaphore_with_count_never_exceeds_its_leases() {
    let out = Command::new(env!("CARGO_BIN_EXE_locks"))
        .args([
            "--kind",
            "semaphore",
            "--leases",
            "2",
            "--hold",
            "20",
            "--count",
            "2",
        ])
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let mut holding = 0;
    for line in stdout.lines() {
        if line.starts_with("acquired ") {
            holding += 1;
            assert!(holding <= 2, "{stdout}");
        } else if line.starts_with("releasing ") {
            holding -= 1;
        }
    }
    assert_eq!(stdout.matches("acquired ").count(), 6, "{stdout}");
}
