use std::time::Duration;

use docent::{Acl, Coordinator, CreateMode, Op};

use super::report::{build_flags, choose_seeds, divergence, parse_range, Location, Outcome};
use super::sim::healed_at;
use super::Harness;
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
fn a_sweep_lifts_the_default_seeds_but_not_a_fixed_range() {
    let (fixed, quick) = (Some(0..1000), Some(0..16));
    assert_eq!(choose_seeds(None, None, None, quick.clone()), 0..16);
    assert_eq!(
        choose_seeds(None, None, Some("5..900"), quick.clone()),
        5..900
    );
    assert_eq!(choose_seeds(None, None, Some("junk"), quick.clone()), 0..16);
    assert_eq!(choose_seeds(Some("7"), None, Some("5..900"), quick), 7..8);
    assert_eq!(
        choose_seeds(None, fixed.clone(), Some("5..900"), None),
        0..1000
    );
    assert_eq!(choose_seeds(Some("7"), fixed, None, None), 7..8);
    assert_eq!(choose_seeds(None, None, None, None), 0..64);
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
        coverage: Default::default(),
        timeline: Default::default(),
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

/// A persistent create of `path` with no data (shared with the shrinker's tests).
pub(super) fn create(path: &str) -> Op {
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
#[should_panic(expected = "DOCENT_SCHEDULE: bad fault schedule: fault 1: `meteor`")]
fn a_malformed_docent_schedule_is_an_error() {
    let _ = super::report::parse_env_schedule(Some("1s:leader-change;2s:meteor(c0)".into()));
}
