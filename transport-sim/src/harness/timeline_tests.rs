use std::time::Duration;

use docent::SessionState;

use super::{Lane, Timeline};
use crate::harness::{html, Harness};
use crate::model::{ClientId, Direction, Fault, FaultSchedule};

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

fn names() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

fn whats(t: &Timeline, lane: &str) -> Vec<String> {
    let lane = Lane::Process(lane.into());
    t.events()
        .iter()
        .filter(|e| e.lane == lane)
        .map(|e| format!("{} {}", e.at.as_secs(), e.what))
        .collect()
}

#[test]
fn a_new_token_ends_the_old_hold_and_repeats_change_nothing() {
    let mut t = Timeline::new(&names(), 3);
    t.hold(s(1), "a", "leader", 5);
    t.hold(s(2), "a", "leader", 5);
    t.hold(s(3), "a", "lock", 6);
    t.hold(s(4), "a", "leader", 8);
    t.release(s(5), "a", "leader");
    t.release(s(6), "a", "leader");
    t.release(s(6), "b", "leader");
    t.note(s(7), "b", "ran job 7".into());
    assert_eq!(
        whats(&t, "a"),
        [
            "1 hold leader token=5",
            "3 hold lock token=6",
            "4 release leader token=5",
            "4 hold leader token=8",
            "5 release leader token=8",
        ]
    );
    assert_eq!(whats(&t, "b"), ["7 note ran job 7"]);
}

#[test]
fn sessions_go_on_their_process_lane_and_unnamed_clients_get_a_name() {
    let mut t = Timeline::new(&names(), 1);
    let connected = SessionState::Connected {
        session_id: 0x100,
        timeout: s(10),
        read_only: false,
    };
    t.session(s(1), ClientId(1), connected);
    t.session(s(2), ClientId(1), SessionState::Disconnected);
    t.session(s(3), ClientId(4), SessionState::Expired);
    t.note(s(4), "watcher", "saw /x".into());
    assert_eq!(
        whats(&t, "b"),
        ["1 connected session=0x100", "2 disconnected"]
    );
    assert_eq!(whats(&t, "client4"), ["3 session expired"]);
    let lanes: Vec<String> = t.lanes().iter().map(|l| l.to_string()).collect();
    assert_eq!(lanes, ["a", "b", "client4", "watcher", "server0"]);
}

#[test]
fn faults_know_their_lanes_and_when_they_heal() {
    let mut t = Timeline::new(&names(), 3);
    let partition = Fault::Partition {
        client: 1,
        server: Some(2),
        direction: Direction::Both,
        duration: s(4),
    };
    t.fault(s(1), &partition);
    t.fault(s(2), &Fault::QuorumLoss { duration: s(3) });
    t.fault(s(3), &Fault::CrashClient { client: 0 });
    t.fault(s(4), &Fault::LeaderChange);
    let f = t.faults();
    assert_eq!(f[0].lanes, [Lane::Process("b".into()), Lane::Server(2)]);
    assert_eq!(f[0].until, Some(s(5)));
    assert_eq!((f[0].kind().as_str(), f[1].lanes.len()), ("Partition", 3));
    assert_eq!(f[2].until, Some(Duration::MAX));
    assert_eq!((f[3].until, f[3].kind().as_str()), (None, "LeaderChange"));
}

#[test]
fn the_tail_is_the_last_events_up_to_the_violation_faults_first_at_one_instant() {
    let mut t = Timeline::new(&names(), 1);
    for i in 0..30 {
        t.hold(s(i), "a", "leader", i as i64);
    }
    t.fault(
        s(25),
        &Fault::CrashServer {
            server: 0,
            downtime: s(2),
        },
    );
    t.violation(s(40), "later");
    t.violation(s(26), "two leaders at 26s\nmore detail");
    t.finish(s(60));
    assert_eq!(
        t.tail(5),
        [
            "   25.000s server0  fault CrashServer { server: 0, downtime: 2s }",
            "   25.000s a        release leader token=24",
            "   25.000s a        hold leader token=25",
            "   26.000s a        release leader token=25",
            "   26.000s a        hold leader token=26",
            "   26.000s !        violation: two leaders at 26s",
        ]
    );
}

/// A scripted run whose body marks holds and notes and then fails.
fn failing_run() -> crate::Failure {
    let schedule = FaultSchedule::new()
        .at(
            s(2),
            Fault::Partition {
                client: 0,
                server: None,
                direction: Direction::Both,
                duration: s(3),
            },
        )
        .at(
            s(4),
            Fault::CrashServer {
                server: 1,
                downtime: s(2),
            },
        )
        .at(s(30), Fault::LeaderChange);
    Harness::new("timeline_run")
        .clients(["a", "b"])
        .seeds(0..1)
        .schedule(schedule)
        // The body fails whatever the faults: shrinking would drop them all.
        .shrink(crate::harness::ShrinkLimits::off())
        .quiet()
        .first_failure(|sim| async move {
            sim.session("a").wait_connected().await;
            sim.hold("a", "leader", 4294967303);
            sim.note("b", "ran job 7");
            sim.sleep(s(3)).await;
            sim.hold("a", "leader", 4294967311);
            sim.sleep(s(6)).await;
            sim.hold("b", "lock /jobs", 12);
            sim.mark_violation(s(10), "a & b both led");
            sim.sleep(s(2)).await;
            Err::<(), _>("two leaders")
        })
        .expect("the body fails")
}

#[test]
fn a_run_records_sessions_servers_holds_and_faults_and_the_report_ends_with_them() {
    let failure = failing_run();
    let t = &failure.timeline;
    let a = whats(t, "a");
    assert!(a[0].starts_with("0 connected session=0x"), "{a:?}");
    assert!(a.iter().any(|l| l.ends_with("disconnected")), "{a:?}");
    assert!(
        a.contains(&"3 release leader token=4294967303".to_owned()),
        "{a:?}"
    );
    let s1: Vec<String> = t
        .events()
        .iter()
        .filter(|e| e.lane == Lane::Server(1))
        .map(|e| format!("{} {}", e.at.as_secs(), e.what))
        .collect();
    assert_eq!(s1, ["0 follows", "4 down", "6 follows"]);
    assert_eq!(t.faults().len(), 3);
    assert_eq!(t.violation_mark(), Some((s(10), "a & b both led")));
    assert!(t.end() >= s(11) && t.end() < s(12), "{:?}", t.end());
    let report = failure.to_string();
    let (_, tail) = report
        .split_once("\nlast events before the violation:\n")
        .expect("the report ends with the timeline");
    let lines: Vec<&str> = tail.lines().collect();
    assert!(lines.len() <= super::TAIL + 1, "{tail}");
    assert!(
        tail.contains(" a        hold leader token=4294967311"),
        "{tail}"
    );
    assert!(tail.contains(" server1  heals CrashServer"), "{tail}");
    assert!(
        !tail.contains("LeaderChange"),
        "after the violation: {tail}"
    );
    assert_eq!(
        lines.last(),
        Some(&"   10.000s !        violation: a & b both led")
    );
}

#[test]
fn the_html_page_is_well_formed_with_lanes_bars_bands_and_the_violation() {
    let failure = failing_run();
    let dir = std::env::temp_dir().join(format!("docent-timeline-{}", std::process::id()));
    let path = html::write(&dir, "timeline run/1", 0, &failure.timeline).expect("written");
    assert_eq!(path.file_name().unwrap(), "timeline_run_1-seed0.html");
    let text = std::fs::read_to_string(&path).expect("readable");
    std::fs::remove_dir_all(&dir).ok();
    assert!(!text.contains("http") && !text.contains("<script") && !text.contains("url("));
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, options).expect("well-formed");
    let class = |c: &'static str| {
        doc.descendants()
            .filter(move |n| n.attribute("class") == Some(c))
    };
    let lanes: Vec<&str> = class("lane")
        .filter_map(|n| n.attribute("data-lane"))
        .collect();
    assert_eq!(lanes, ["a", "b", "server0", "server1", "server2"]);
    let holds: Vec<(String, String)> = class("hold")
        .map(|g| {
            let token = g.attribute("data-token").unwrap_or_default().to_owned();
            let label = g
                .children()
                .find(|c| c.has_tag_name("text"))
                .and_then(|c| c.text())
                .unwrap_or_default()
                .to_owned();
            (token, label)
        })
        .collect();
    assert_eq!(
        holds,
        [
            ("4294967303".into(), "leader 4294967303".into()),
            ("4294967311".into(), "leader 4294967311".into()),
            ("12".into(), "lock /jobs 12".into()),
        ]
    );
    // The leader change strikes after the run ended: two bands.
    let faults: Vec<&str> = class("fault")
        .filter_map(|n| n.attribute("data-kind"))
        .collect();
    assert_eq!(faults, ["Partition", "CrashServer"]);
    for g in class("fault")
        .chain(class("hold"))
        .chain(class("violation"))
    {
        let title = g.children().find(|c| c.has_tag_name("title"));
        assert!(title.and_then(|t| t.text()).is_some_and(|t| !t.is_empty()));
    }
    let violation: Vec<_> = class("violation").collect();
    assert_eq!(violation.len(), 1);
    let title = violation[0].first_element_child().and_then(|t| t.text());
    assert_eq!(title, Some("10.000s violation: a & b both led"));
    assert_eq!(class("down").count(), 1, "s1 was down once");
    assert!(class("connected").count() >= 2);
}
