use std::time::Duration;

use docent::{Acl, Coordinator, CreateMode, Op};

use super::report::{build_flags, divergence, parse_range, Location, Outcome};
use super::shrink::signature;
use super::sim::healed_at;
use super::{Harness, ShrinkLimits};
use crate::model::{Direction, Fault, FaultSchedule};

#[test]
fn seed_ranges_parse() {
    assert_eq!(parse_range("0..64"), Some(0..64));
    assert_eq!(parse_range(" 3..=5 "), Some(3..6));
    assert_eq!(parse_range("17"), Some(17..18));
    assert_eq!(parse_range("x..3"), None);
    assert_eq!(parse_range(""), None);
}

#[test]
fn healed_at_is_the_last_heal() {
    let s = FaultSchedule::new()
        .at(
            Duration::from_secs(5),
            Fault::Partition {
                client: 0,
                server: None,
                direction: Direction::Both,
                duration: Duration::from_secs(20),
            },
        )
        .at(Duration::from_secs(30), Fault::ExpireSession { client: 1 })
        .at(
            Duration::from_secs(10),
            Fault::CrashServer {
                server: 1,
                downtime: Duration::from_secs(3),
            },
        );
    assert_eq!(healed_at(&s), Duration::from_secs(30));
    assert_eq!(healed_at(&FaultSchedule::new()), Duration::ZERO);
}

#[test]
fn replay_names_the_package_target_and_test() {
    let at = Location::new("latch_is_safe").at("docent-sim-tests", "latch::scenarios");
    let cmd = at.replay(17, None);
    assert!(cmd.starts_with("DOCENT_SEED=17 "), "{cmd}");
    assert!(
        cmd.contains("-p docent-sim-tests --test latch latch_is_safe"),
        "{cmd}"
    );
    let lib = Location::new("t").at("docent-sim", "docent_sim::harness::tests");
    assert!(lib.replay(1, None).contains("-p docent-sim --lib t"));
    let one = FaultSchedule::new().at(Duration::from_secs(3), Fault::LeaderChange);
    let cmd = lib.replay(1, Some(&one));
    assert!(
        cmd.starts_with("DOCENT_SEED=1 DOCENT_SCHEDULE='3s:leader-change' "),
        "{cmd}"
    );
}

fn outcome(log: &[&str]) -> Outcome {
    Outcome {
        result: Ok(()),
        simulated: Duration::ZERO,
        hash: 1,
        log: log.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn divergence_reports_the_first_differing_event() {
    let a = outcome(&["x", "y", "z"]);
    assert_eq!(divergence(&a, &outcome(&["x", "y", "z"])), None);
    let msg = divergence(&a, &outcome(&["x", "w", "z"])).unwrap();
    assert!(msg.contains("event 1") && msg.contains("first:  y") && msg.contains("second: w"));
    let msg = divergence(&a, &outcome(&["x", "y"])).unwrap();
    assert!(msg.contains("event 2") && msg.contains("(end)"), "{msg}");
}

fn create(path: &str) -> Op {
    Op::Create {
        path: path.into(),
        data: Vec::new(),
        acl: Acl::open(),
        mode: CreateMode::Persistent,
    }
}

#[test]
fn a_passing_body_runs_every_seed_and_a_failing_one_is_reported() {
    let h = Harness::new("t")
        .located("docent-sim", "docent_sim::harness::tests")
        .clients(["a", "b"])
        .seeds(0..3)
        .swarm(Duration::from_secs(5))
        .quiet();
    let failure = h.first_failure(|sim| async move {
        sim.session("a").submit(create("/x")).await.ok();
        sim.sleep_until(sim.healed_at() + Duration::from_secs(1))
            .await;
        if sim.seed() == 1 {
            return Err("seed one is bad");
        }
        Ok(())
    });
    let failure = failure.expect("seed 1 fails");
    assert_eq!((failure.seed, failure.seeds_run), (1, 2));
    // The body fails whatever the faults: shrinking removes them all.
    assert_eq!(failure.original, h.schedule_for(1));
    assert_eq!(failure.schedule, FaultSchedule::new());
    let report = failure.to_string();
    let n = failure.original.faults.len();
    assert!(
        report.starts_with(&format!(
            "seed 1 failed: seed one is bad\nfaults (shrunk from {n} to 0):\n(no faults)\n"
        )),
        "{report}"
    );
    assert!(report.contains("\ncommit: ") && report.contains("DOCENT_SEED=1 "));
}

#[test]
fn panics_and_endless_bodies_are_failures() {
    let h = Harness::new("t").no_faults().seeds(0..1).quiet();
    let f = h.first_failure(|_| async { panic!("boom") as Result<(), String> });
    assert!(f.unwrap().message.contains("boom"));
    let h = h.time_limit(Duration::from_secs(5));
    let f = h.first_failure(|_| futures::future::pending::<Result<(), String>>());
    assert!(f.unwrap().message.starts_with("time limit"));
}

#[test]
fn determinism_mode_passes_for_the_model() {
    Harness::new("t")
        .clients(["a"])
        .seeds(0..2)
        .swarm(Duration::from_secs(10))
        .determinism(true)
        .quiet()
        .run(|sim| async move {
            let a = sim.session("a");
            for i in 0..5 {
                let _ = a.submit(create(&format!("/n{i}"))).await;
                sim.sleep(Duration::from_secs(2)).await;
            }
            Ok::<_, String>(())
        });
}

#[test]
fn determinism_mode_catches_a_body_that_differs_between_runs() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let failure = Harness::new("t")
        .clients(["a"])
        .no_faults()
        .seeds(0..1)
        .determinism(true)
        .quiet()
        .first_failure(|sim| async move {
            let n = RUNS.fetch_add(1, Ordering::SeqCst);
            let _ = sim.session("a").submit(create(&format!("/run{n}"))).await;
            Ok::<_, String>(())
        })
        .expect("the second run differs");
    assert!(
        failure
            .message
            .starts_with("nondeterminism: event logs diverge at event"),
        "{}",
        failure.message
    );
}

fn hosts(servers: &[usize]) -> Vec<(String, u16)> {
    servers
        .iter()
        .map(|&s| (crate::model::server_host(s), crate::model::CLIENT_PORT))
        .collect()
}

#[test]
fn a_tracking_client_follows_every_server_being_replaced_keeping_its_session() {
    Harness::new("tracker_follows")
        .clients(["a"])
        .no_faults()
        .seeds(0..4)
        .ensemble_source(super::EnsembleSource::Tracker)
        .run(|sim| async move {
            let s = sim.session("a");
            s.wait_connected().await;
            let session = s.session_id();
            for (new, old) in [(3, 0), (4, 1), (5, 2)] {
                let joining = vec![new];
                sim.inject(Fault::Reconfig {
                    joining,
                    leaving: vec![],
                });
                sim.sleep(Duration::from_secs(1)).await;
                let leaving = vec![old];
                sim.inject(Fault::Reconfig {
                    joining: vec![],
                    leaving,
                });
                sim.sleep(Duration::from_secs(3)).await;
            }
            let provider = sim.provider("a").expect("a tracked provider");
            assert_eq!(provider.servers(), hosts(&[3, 4, 5]));
            let created = s.submit(create("/after")).await;
            assert!(created.is_ok(), "{created:?}");
            assert_eq!(s.session_id(), session, "moves keep the session");
            Ok::<_, String>(())
        });
}

#[test]
fn an_exhibitor_client_follows_the_answers_and_falls_back_to_the_backup() {
    Harness::new("exhibitor_follows")
        .clients(["a"])
        .no_faults()
        .seeds(0..4)
        .ensemble_source(super::EnsembleSource::Exhibitor)
        .run(|sim| async move {
            let provider = sim.provider("a").expect("a polled provider");
            let answer = |answer, want: Vec<(String, u16)>| {
                let sim = sim.clone();
                let provider = provider.clone();
                async move {
                    let duration = Duration::from_secs(10);
                    sim.inject(Fault::Exhibitor { answer, duration });
                    sim.sleep(Duration::from_millis(3_500)).await;
                    assert_eq!(provider.servers(), want);
                    sim.sleep(Duration::from_secs(1)).await;
                }
            };
            use crate::model::ExhibitorAnswer::*;
            answer(Stale(vec![1]), hosts(&[1])).await;
            answer(Garbage, hosts(&[1])).await;
            answer(CountZero, hosts(&[0, 1, 2])).await;
            answer(Stale(vec![2]), hosts(&[2])).await;
            answer(Down, hosts(&[0, 1, 2])).await;
            sim.inject(Fault::Reconfig {
                joining: vec![3],
                leaving: vec![0],
            });
            // The Exhibitors come back (the last answer heals) listing the new members.
            sim.sleep(Duration::from_secs(10)).await;
            assert_eq!(provider.servers(), hosts(&[1, 2, 3]));
            let s = sim.session("a");
            let created = s.submit(create("/after")).await;
            assert!(created.is_ok(), "{created:?}");
            Ok::<_, String>(())
        });
}

#[test]
fn build_flags_follow_the_test_binary() {
    let flags = |exe: &str, cwd: &str| {
        let roots = ["/w/target", "/w/target/sim", "/w/out", "/tmp/t"];
        build_flags(exe.as_ref(), cwd.as_ref(), |d| {
            roots.iter().any(|r| d == std::path::Path::new(r))
        })
    };
    // A default build, from the package or the workspace root.
    assert_eq!(flags("/w/target/debug/deps/latch-1a2b", "/w/sim-tests"), "");
    assert_eq!(flags("/w/target/debug/deps/latch-1a2b", "/w"), "");
    assert_eq!(flags("/w/target/release/deps/x", "/w"), " --release");
    // A named profile in its own target dir (this workspace's madsim builds).
    assert_eq!(
        flags("/w/target/sim/sim/deps/x", "/w"),
        " --profile sim --target-dir target/sim"
    );
    assert_eq!(
        flags("/w/target/sim/sim/deps/x", "/w/sim-tests"),
        " --profile sim --target-dir /w/target/sim"
    );
    // A downstream crate's madsim build with the default profile.
    assert_eq!(flags("/w/out/debug/deps/x", "/w"), " --target-dir out");
    assert_eq!(flags("/tmp/t/debug/deps/x", "/w"), " --target-dir /tmp/t");
    assert_eq!(
        flags("/w/target/x86_64-unknown-linux-gnu/bench/deps/x", "/w"),
        " --profile bench --target x86_64-unknown-linux-gnu"
    );
    // Not a cargo test binary: no flags rather than wrong ones.
    assert_eq!(flags("/usr/bin/runner", "/w"), "");
}

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

#[test]
#[should_panic(expected = "DOCENT_SCHEDULE: bad fault schedule: fault 1: `meteor`")]
fn a_malformed_docent_schedule_is_an_error() {
    let _ = super::parse_env_schedule(Some("1s:leader-change;2s:meteor(c0)".into()));
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
async fn fails_iff_b_crashed(sim: super::Sim, otherwise_hang: bool) -> Result<(), String> {
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
