//! The `shared` binary on the embedded ensemble: the walk-through's counters add up (three
//! processes, ten increments each, every one acknowledged), and its stale compare-and-set
//! fails while the fresh one succeeds; `counter` prints its tally in the documented form.

use std::process::Command;

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_shared"))
        .args(args)
        .output()
        .expect("the example runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_walkthrough_counts_every_increment_and_refuses_a_stale_try_set() {
    let stdout = run(&[]);
    let mut counted: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("counted "))
        .collect();
    counted.sort();
    let want = [
        "counted c-1 ok=10 unknown=0",
        "counted c-2 ok=10 unknown=0",
        "counted c-3 ok=10 unknown=0",
    ];
    assert_eq!(counted, want, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    let at = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no {line:?}:\n{stdout}"))
    };
    assert!(at("value 30") > at("counted c-3 ok=10 unknown=0"));
    assert!(at("a try_set 0 -> 5: true") < at("b try_set on version 0: false"));
    assert!(at("b try_set on version 0: false") < at("b sees 5 at version 1"));
}

#[test]
fn counter_prints_its_tally_in_the_documented_form() {
    let stdout = run(&["counter", "--increments", "4", "--id", "t"]);
    assert_eq!(stdout, "counted t ok=4 unknown=0\n");
    assert_eq!(run(&["read", "--path", "/fresh"]), "value 0\n");
}
