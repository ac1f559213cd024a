//! Shrinking: a failing seed's schedule shrinks to the faults that matter, only to failures
//! of the same kind, within its bounds, and not at all when it is off.

use std::time::Duration;

use docent::Coordinator;

use super::signature;
use crate::harness::tests::create;
use crate::harness::{Harness, ShrinkLimits, Sim};
use crate::model::{Direction, Fault, FaultSchedule};

#[test]
fn signatures_tell_failures_apart() {
    let same = |a: &str, b: &str| signature(a) == signature(b);
    assert!(same(
        "two leaders at 12.402s: a (token 4) and b",
        "two leaders at 3s: b (token 9) and c\nmachines: ..."
    ));
    assert!(!same(
        "two leaders at 1s: a",
        "time limit: still running at 301s"
    ));
    assert!(!same(
        "two leaders at 1s: a",
        "panicked: two leaders at 1s: a"
    ));
    assert!(same("panicked: boom 1", "panicked: boom 22"));
    assert!(!same("herd: 3 getChildren", "leaked: 3 permits"));
}

#[test]
fn shrink_limits_come_from_the_environment() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            let found = pairs.iter().find(|(k, _)| *k == name);
            found.map(|(_, v)| v.to_string())
        }
    };
    let base = ShrinkLimits::default();
    assert_eq!(base.with_env(env(&[])), base);
    assert!(!base.with_env(env(&[("DOCENT_SHRINK", "0")])).enabled);
    assert!(
        ShrinkLimits::off()
            .with_env(env(&[("DOCENT_SHRINK", "1")]))
            .enabled
    );
    let bounded = base.with_env(env(&[
        ("DOCENT_SHRINK_RUNS", "5"),
        ("DOCENT_SHRINK_SECS", "2"),
    ]));
    assert_eq!(bounded, base.runs(5).wall(Duration::from_secs(2)));
}

#[test]
#[should_panic(expected = "DOCENT_SHRINK_RUNS=\"lots\": expected a whole number")]
fn a_malformed_shrink_bound_is_an_error() {
    let _ = ShrinkLimits::default()
        .with_env(|name| (name == "DOCENT_SHRINK_RUNS").then(|| "lots".to_owned()));
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Eight faults that leave client `b` (1) running, and one that crashes it at 7 s.
fn noisy_schedule() -> FaultSchedule {
    let partition = |client| Fault::Partition {
        client,
        server: None,
        direction: Direction::Both,
        duration: secs(4),
    };
    FaultSchedule::new()
        .at(secs(1), partition(0))
        .at(secs(2), Fault::LeaderChange)
        .at(secs(3), Fault::CrashClient { client: 0 })
        .at(secs(4), partition(1))
        .at(
            secs(5),
            Fault::PauseClient {
                client: 1,
                duration: secs(2),
            },
        )
        .at(secs(7), Fault::CrashClient { client: 1 })
        .at(secs(8), Fault::ExpireSession { client: 1 })
        .at(secs(9), Fault::QuorumLoss { duration: secs(3) })
        .at(secs(12), Fault::LoseReply { client: 1 })
}

/// Fails (as a safety violation) iff `b` crashed; with `otherwise_hang`, runs forever when it
/// did not (a time-limit failure).
async fn fails_iff_b_crashed(sim: Sim, otherwise_hang: bool) -> Result<(), String> {
    let _ = sim.session("b").submit(create("/b")).await;
    sim.sleep_until(sim.healed_at() + secs(1)).await;
    if sim.crashed("b") {
        return Err(format!("safety: b crashed by {:?}", sim.now()));
    }
    if otherwise_hang {
        futures::future::pending::<()>().await;
    }
    Ok(())
}

fn shrinking_harness() -> Harness {
    Harness::new("t")
        .located("docent-sim", "docent_sim::harness::tests")
        .clients(["a", "b"])
        .seeds(0..1)
        .schedule(noisy_schedule())
        .time_limit(secs(30))
        .quiet()
}

#[test]
fn shrinking_keeps_exactly_the_fault_that_matters() {
    let h = shrinking_harness().shrink(ShrinkLimits::default().runs(200));
    let failure = h
        .first_failure(|sim| fails_iff_b_crashed(sim, false))
        .expect("b crashes");
    assert_eq!(failure.original, noisy_schedule());
    let faults: Vec<&Fault> = failure.schedule.faults.iter().map(|s| &s.fault).collect();
    assert_eq!(faults, [&Fault::CrashClient { client: 1 }]);
    // Moved as early as it goes (halving whole milliseconds from 7 s).
    assert_eq!(failure.schedule.faults[0].at, Duration::from_millis(1));
    let stats = failure.shrink.expect("shrinking ran");
    assert!(!stats.bounded && stats.runs <= 200, "{stats:?}");
    let report = failure.to_string();
    assert!(
        report.contains("faults (shrunk from 9 to 1):\n"),
        "{report}"
    );
    assert!(
        failure
            .replay
            .starts_with("DOCENT_SEED=0 DOCENT_SCHEDULE='0.001s:crash-client(c1)' "),
        "{}",
        failure.replay
    );
    // The shrunk schedule, replayed verbatim, fails the same way.
    let again = h
        .schedule(failure.schedule.clone())
        .shrink(ShrinkLimits::off())
        .first_failure(|sim| fails_iff_b_crashed(sim, false))
        .expect("still fails");
    assert_eq!(again.message, failure.message);
}

#[test]
fn a_time_limit_does_not_stand_in_for_a_safety_violation() {
    let failure = shrinking_harness()
        .first_failure(|sim| fails_iff_b_crashed(sim, true))
        .expect("b crashes");
    assert!(
        failure.message.starts_with("safety: "),
        "{}",
        failure.message
    );
    let faults: Vec<&Fault> = failure.schedule.faults.iter().map(|s| &s.fault).collect();
    assert_eq!(faults, [&Fault::CrashClient { client: 1 }]);
}

#[test]
fn shrinking_off_reports_the_whole_schedule() {
    let failure = shrinking_harness()
        .shrink(
            ShrinkLimits::default()
                .with_env(|name| (name == "DOCENT_SHRINK").then(|| "0".to_owned())),
        )
        .first_failure(|sim| fails_iff_b_crashed(sim, false))
        .expect("b crashes");
    assert_eq!(
        (&failure.schedule, failure.shrink),
        (&noisy_schedule(), None)
    );
    let report = failure.to_string();
    assert!(
        report.contains("\nfaults:\n") && !report.contains("shrunk"),
        "{report}"
    );
    assert!(
        !failure.replay.contains("DOCENT_SCHEDULE"),
        "{}",
        failure.replay
    );
}

#[test]
fn shrinking_stays_within_its_bounds() {
    let h = shrinking_harness();
    let failure = h
        .clone()
        .shrink(ShrinkLimits::default().runs(3))
        .first_failure(|sim| fails_iff_b_crashed(sim, false))
        .expect("b crashes");
    let stats = failure.shrink.expect("shrinking ran");
    assert_eq!((stats.runs, stats.bounded), (3, true));
    // What it kept after three runs still fails.
    assert!(failure.schedule.faults.len() < 9);
    assert!(h
        .clone()
        .schedule(failure.schedule.clone())
        .shrink(ShrinkLimits::off())
        .first_failure(|sim| fails_iff_b_crashed(sim, false))
        .is_some());
    let failure = h
        .shrink(ShrinkLimits::default().wall(Duration::ZERO))
        .first_failure(|sim| fails_iff_b_crashed(sim, false))
        .expect("b crashes");
    let stats = failure.shrink.expect("shrinking ran");
    assert_eq!((stats.runs, stats.bounded), (0, true));
    assert_eq!(failure.schedule, noisy_schedule());
    assert!(failure.to_string().contains("stopped by a bound"));
}
