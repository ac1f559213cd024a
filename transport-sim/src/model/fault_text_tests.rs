//! The compact schedule form: every variant and many swarm draws print and parse back exactly;
//! malformed text names its bad token.

use std::time::Duration;

use super::super::{Direction, ExhibitorAnswer, Fault, FaultSchedule, SwarmConfig};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn round_trip(schedule: &FaultSchedule) {
    let text = schedule.compact();
    assert!(!text.contains('\'') && !text.contains('\n'), "{text}");
    let back: FaultSchedule = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(&back, schedule, "{text}");
}

/// One of every variant (and of every direction and Exhibitor answer).
fn every_variant() -> FaultSchedule {
    use ExhibitorAnswer::*;
    let faults = [
        Fault::Partition {
            client: 0,
            server: None,
            direction: Direction::Both,
            duration: ms(12_000),
        },
        Fault::Partition {
            client: 2,
            server: Some(1),
            direction: Direction::ToServer,
            duration: Duration::new(1, 1),
        },
        Fault::Partition {
            client: 1,
            server: Some(0),
            direction: Direction::ToClient,
            duration: ms(200),
        },
        Fault::Delay {
            client: 1,
            extra: ms(120),
            duration: ms(5_000),
        },
        Fault::CrashServer {
            server: 1,
            downtime: ms(2_500),
        },
        Fault::LeaderChange,
        Fault::QuorumLoss {
            duration: ms(7_001),
        },
        Fault::FollowerLag {
            server: 2,
            lag: ms(1),
            duration: ms(10_000),
        },
        Fault::LoseReply { client: 0 },
        Fault::PauseClient {
            client: 2,
            duration: ms(3_333),
        },
        Fault::CrashClient { client: 1 },
        Fault::ExpireSession { client: 0 },
        Fault::ClockDrift {
            client: 0,
            offset_ms: -3_250,
        },
        Fault::ClockDrift {
            client: 1,
            offset_ms: 9_999,
        },
        Fault::AgeVersion {
            path: "/a b/c,d);e'f%g/ü".into(),
            version: i32::MAX - 2,
        },
        Fault::Reconfig {
            joining: vec![3, 4],
            leaving: vec![0],
        },
        Fault::Reconfig {
            joining: vec![],
            leaving: vec![],
        },
        Fault::Exhibitor {
            answer: Members,
            duration: ms(1_000),
        },
        Fault::Exhibitor {
            answer: Down,
            duration: ms(1_000),
        },
        Fault::Exhibitor {
            answer: CountZero,
            duration: ms(1_000),
        },
        Fault::Exhibitor {
            answer: Garbage,
            duration: ms(1_000),
        },
        Fault::Exhibitor {
            answer: Stale(vec![1, 5]),
            duration: ms(1_000),
        },
        Fault::Exhibitor {
            answer: Stale(vec![]),
            duration: ms(1_000),
        },
    ];
    let mut schedule = FaultSchedule::new();
    for (i, fault) in faults.into_iter().enumerate() {
        // Equal times too: their order must survive.
        schedule = schedule.at(ms(3_100 * (i as u64 / 2)) + Duration::from_nanos(7), fault);
    }
    schedule
}

#[test]
fn every_variant_round_trips() {
    let schedule = every_variant();
    round_trip(&schedule);
    round_trip(&FaultSchedule::new());
    assert_eq!(FaultSchedule::new().compact(), "none");
    assert_eq!("".parse::<FaultSchedule>(), Ok(FaultSchedule::new()));
}

#[test]
fn the_form_is_short_and_readable() {
    let s = FaultSchedule::new()
        .at(
            ms(3_100),
            Fault::Partition {
                client: 0,
                server: None,
                direction: Direction::Both,
                duration: ms(12_000),
            },
        )
        .at(ms(20_000), Fault::LeaderChange)
        .at(
            ms(41_007),
            Fault::Reconfig {
                joining: vec![3],
                leaving: vec![0],
            },
        );
    assert_eq!(
        s.compact(),
        "3.1s:partition(c0,all,both,12s);20s:leader-change;41.007s:reconfig(+s3,-s0)"
    );
    let spaced: FaultSchedule = " 3100ms : partition( c0, all, both, 12s ) ; 20s:leader-change(); \
                                 41.007s:reconfig(+s3,-s0)"
        .parse()
        .expect("whitespace and ms are fine");
    assert_eq!(spaced, s);
}

#[test]
fn swarm_schedules_round_trip_for_many_seeds() {
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..400 {
        let mut cfg = SwarmConfig::new(3 + seed as usize % 3, 1 + seed as u32 % 5, ms(90_000));
        cfg.membership = seed % 2 == 0;
        cfg.session_timeout = ms(4_000 + seed * 37);
        let schedule = FaultSchedule::swarm(seed, &cfg);
        for s in &schedule.faults {
            let text = format!("{:?}", s.fault);
            kinds.insert(
                text.split([' ', '(', '{'])
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        round_trip(&schedule);
    }
    // Every kind the swarm draws, membership faults included, went through.
    assert_eq!(kinds.len(), 13, "{kinds:?}");
}

fn error(text: &str) -> (usize, String) {
    let e = text.parse::<FaultSchedule>().expect_err(text);
    assert!(e.to_string().contains(&format!("`{}`", e.token)), "{e}");
    (e.index, e.token)
}

#[test]
fn malformed_text_names_the_bad_token() {
    let ok = "1s:leader-change;";
    assert_eq!(error("3x:leader-change"), (0, "3x".into()));
    assert_eq!(
        error(&format!("{ok}2s:partition(c0,all,sideways,1s)")),
        (1, "sideways".into())
    );
    assert_eq!(
        error(&format!("{ok}2s:partition(x0,all,both,1s)")),
        (1, "x0".into())
    );
    assert_eq!(error(&format!("{ok}2s:pause(c0,3)")), (1, "3".into()));
    assert_eq!(error(&format!("{ok}2s:pause(c0,1.s)")), (1, "1.s".into()));
    assert_eq!(
        error(&format!("{ok}2s:pause(c0,0.1234567891s)")),
        (1, "0.1234567891s".into())
    );
    assert_eq!(error(&format!("{ok}2s:pause(c0)")), (1, "pause(c0)".into()));
    assert_eq!(
        error(&format!("{ok}2s:pause(c0,3s")),
        (1, "pause(c0,3s".into())
    );
    assert_eq!(error(&format!("{ok}2s:meteor(c0)")), (1, "meteor".into()));
    assert_eq!(
        error(&format!("{ok}leader-change")),
        (1, "leader-change".into())
    );
    assert_eq!(error(&format!("{ok}2s:reconfig(s3)")), (1, "s3".into()));
    assert_eq!(error(&format!("{ok}2s:drift(c0,3s)")), (1, "3s".into()));
    assert_eq!(
        error(&format!("{ok}2s:age-version(/a%2,1)")),
        (1, "/a%2".into())
    );
    assert_eq!(
        error(&format!("{ok}2s:exhibitor(stale:x,1s)")),
        (1, "stale:x".into())
    );
    let e = "1s:crash-server(s1,2y)"
        .parse::<FaultSchedule>()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "bad fault schedule: fault 0: `2y`: expected a duration like `12s`, `0.25s` or `250ms`"
    );
}
