//! The latch and selector examples on the embedded ensemble, briefly.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent_examples::leader::{run_latch, run_selector, ElectionConfig, Out};
use docent_examples::Backend;
use docent_sim::EmbeddedEnsemble;

fn collector() -> (Out, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    (Arc::new(move |line| sink.lock().unwrap().push(line)), lines)
}

/// Checks that the `leader`/`not-leader` lines never show two leaders at once.
fn leaders_in_turn(lines: &[String]) -> Vec<String> {
    let mut current: Option<String> = None;
    let mut leaders = Vec::new();
    for line in lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["leader", id, token] => {
                assert!(token.starts_with("token="), "{line}");
                assert_eq!(current, None, "two leaders at once: {lines:#?}");
                current = Some(id.to_string());
                leaders.push(id.to_string());
            }
            ["not-leader", id] => {
                assert_eq!(current.as_deref(), Some(*id), "{lines:#?}");
                current = None;
            }
            _ => {}
        }
    }
    leaders
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latch_leadership_goes_round() {
    let backend = Backend::Embedded(EmbeddedEnsemble::start(3));
    let config = ElectionConfig {
        path: "/latch".into(),
        ids: ElectionConfig::ids("n", 3),
        hold: Some(Duration::from_millis(300)),
        run_for: Duration::from_millis(1500),
    };
    let (out, lines) = collector();
    run_latch(&backend, &config, out).await.unwrap();
    let lines = lines.lock().unwrap().clone();
    let leaders = leaders_in_turn(&lines);
    assert!(leaders.len() >= 3, "{lines:#?}");
    assert!(leaders.windows(2).all(|w| w[0] != w[1]), "{lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selector_walkthrough_interrupts_and_closes() {
    let backend = Backend::Embedded(EmbeddedEnsemble::start(3));
    let config = ElectionConfig {
        path: "/selector".into(),
        ids: ElectionConfig::ids("s", 3),
        hold: Some(Duration::from_millis(400)),
        run_for: Duration::from_millis(2000),
    };
    let (out, lines) = collector();
    run_selector(&backend, &config, out).await.unwrap();
    let lines = lines.lock().unwrap().clone();
    leaders_in_turn(&lines);
    let interrupted = lines
        .iter()
        .find_map(|l| l.strip_prefix("interrupt "))
        .expect("an interrupt")
        .to_owned();
    assert!(
        lines.contains(&format!("losing {interrupted} reason=Interrupted")),
        "{lines:#?}"
    );
    // Every election is followed by the participants, the leader first (unless the example
    // was closing the selectors at that moment).
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("leader ") {
            let id = rest.split_whitespace().next().unwrap();
            let next = &lines[i + 1];
            assert!(
                next.starts_with(&format!("participants {id}")) || next.starts_with("close "),
                "{lines:#?}"
            );
        }
    }
    // After the first close, the participants no longer include it.
    let closed = lines
        .iter()
        .position(|l| l == "close s-1")
        .expect("close s-1");
    let after = lines[closed..]
        .iter()
        .find(|l| l.starts_with("participants "))
        .expect("participants after close");
    assert!(!after.contains("s-1"), "{lines:#?}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("close ")).count(), 3);
}
