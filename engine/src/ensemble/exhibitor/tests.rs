use std::time::Duration;

use super::*;

const SOURCE: &str = "http://ex1:8080/exhibitor/v1/cluster/list";

fn servers(list: &[(&str, u16)]) -> Vec<(String, u16)> {
    list.iter().map(|(h, p)| (h.to_string(), *p)).collect()
}

fn parse(body: &str) -> Result<Option<Vec<(String, u16)>>, Error> {
    parse_cluster_list(SOURCE, body.as_bytes())
}

fn poller(retry: RetryPolicy) -> ExhibitorPoller {
    let exhibitors =
        Exhibitors::new(["ex1", "ex2", "ex3"], 8080, "backup1:2181,backup2:2182/app").unwrap();
    ExhibitorPoller::new(exhibitors, retry)
}

#[test]
fn a_cluster_list_becomes_servers_on_one_port() {
    assert_eq!(
        parse("count=3&port=2181&server0=zk1&server1=zk2&server2=zk3").unwrap(),
        Some(servers(&[("zk1", 2181), ("zk2", 2181), ("zk3", 2181)]))
    );
    // Order of keys does not matter, values are URL-decoded, a trailing newline is fine.
    assert_eq!(
        parse("server1=10.0.0.2&port=2190&server0=10%2E0.0.1&count=2\n").unwrap(),
        Some(servers(&[("10.0.0.1", 2190), ("10.0.0.2", 2190)]))
    );
}

#[test]
fn count_zero_and_unreadable_bodies_mean_backup() {
    assert_eq!(parse("count=0&port=2181").unwrap(), None);
    assert_eq!(parse("").unwrap(), None);
    assert_eq!(parse("<html>502 Bad Gateway</html>").unwrap(), None);
    assert_eq!(
        parse_cluster_list(SOURCE, &[0xff, 0x00, 0xfe]).unwrap(),
        None
    );
}

#[test]
fn readable_but_wrong_bodies_are_corrupt_data() {
    for bad in [
        "port=2181&server0=zk1",
        "count=two&port=2181&server0=zk1",
        "count=1&server0=zk1",
        "count=1&port=abc&server0=zk1",
        "count=1&port=0&server0=zk1",
        "count=1&port=70000&server0=zk1",
        "count=3&port=2181&server0=zk1&server1=zk2",
        "count=1&port=2181&server0=",
        "count=1&port=2181&server0=zk%201",
        "count=1&port=2181&server0=zk1/x",
    ] {
        match parse(bad) {
            Err(Error::CorruptData { path, reason }) => {
                assert_eq!(path, SOURCE, "{bad}");
                assert!(!reason.is_empty());
            }
            other => panic!("{bad:?} parsed as {other:?}"),
        }
    }
}

#[test]
fn url_decoding() {
    assert_eq!(url_decode("a%20b+c"), "a b c");
    assert_eq!(url_decode("%zz%4"), "%zz%4");
    assert_eq!(url_decode("%41%42"), "AB");
    assert_eq!(url_decode("h\u{e9}%"), "h\u{e9}%");
}

#[test]
fn a_good_answer_rotates_the_hosts_to_the_servers_listed() {
    let mut poller = poller(RetryPolicy::Never);
    let mut rng = Rng::new(1, 0);
    let ask = poller.ask(&mut rng).unwrap();
    assert!(["ex1", "ex2", "ex3"].contains(&ask.host.as_str()));
    assert_eq!(ask.port, 8080);
    assert_eq!(ask.path, DEFAULT_REST_PATH);
    let polled = poller.answered(&ask, b"count=2&port=2181&server0=zk1&server1=zk2");
    assert_eq!(
        polled,
        Polled::Servers(servers(&[("zk1", 2181), ("zk2", 2181)]))
    );
    assert_eq!(poller.hosts(), ["zk1", "zk2"]);
    // The next poll asks one of the servers just listed, on the Exhibitor REST port.
    for _ in 0..20 {
        let next = poller.ask(&mut rng).unwrap();
        assert!(["zk1", "zk2"].contains(&next.host.as_str()), "{next:?}");
        assert_eq!(next.port, 8080);
    }
}

#[test]
fn the_host_asked_is_random_but_seeded() {
    let poller = poller(RetryPolicy::Never);
    let picks = |seed| {
        let mut rng = Rng::new(seed, 0);
        (0..30)
            .map(|_| poller.ask(&mut rng).unwrap().host)
            .collect::<Vec<_>>()
    };
    assert_eq!(picks(3), picks(3));
    let mut seen = picks(3);
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["ex1", "ex2", "ex3"]);
}

#[test]
fn count_zero_falls_back_to_backup_and_keeps_the_hosts() {
    let mut poller = poller(RetryPolicy::Never);
    let mut rng = Rng::new(1, 0);
    let ask = poller.ask(&mut rng).unwrap();
    assert_eq!(
        poller.answered(&ask, b"count=0"),
        Polled::Backup(servers(&[("backup1", 2181), ("backup2", 2182)]))
    );
    assert_eq!(poller.hosts(), ["ex1", "ex2", "ex3"]);
}

#[test]
fn a_corrupt_answer_changes_nothing() {
    let mut poller = poller(RetryPolicy::Never);
    let mut rng = Rng::new(1, 0);
    let ask = poller.ask(&mut rng).unwrap();
    poller.answered(&ask, b"count=1&port=2181&server0=zk1");
    let ask = poller.ask(&mut rng).unwrap();
    match poller.answered(&ask, b"count=2&port=2181&server0=zk9") {
        Polled::Corrupt(Error::CorruptData { path, .. }) => {
            assert_eq!(path, "http://zk1:8080/exhibitor/v1/cluster/list")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(poller.hosts(), ["zk1"]);
}

#[test]
fn failed_requests_retry_per_policy_then_give_up_to_backup() {
    let mut poller = poller(RetryPolicy::n_times(2, Duration::from_millis(100)));
    let mut rng = Rng::new(1, 0);
    assert_eq!(
        poller.retry_delay(Duration::ZERO, &mut rng),
        Some(Duration::from_millis(100))
    );
    assert_eq!(
        poller.retry_delay(Duration::from_millis(100), &mut rng),
        Some(Duration::from_millis(100))
    );
    assert_eq!(
        poller.retry_delay(Duration::from_millis(200), &mut rng),
        None
    );
    assert_eq!(
        poller.gave_up(),
        Polled::Backup(servers(&[("backup1", 2181), ("backup2", 2182)]))
    );
    // A new poll starts its retries from zero again.
    assert!(poller.retry_delay(Duration::ZERO, &mut rng).is_some());
}

#[test]
fn bad_configuration_is_rejected_up_front() {
    assert!(matches!(
        Exhibitors::new(Vec::<String>::new(), 8080, "zk:2181"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Exhibitors::new(["ex 1"], 8080, "zk:2181"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Exhibitors::new(["ex1"], 0, "zk:2181"),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        Exhibitors::new(["ex1"], 8080, "zk:notaport"),
        Err(Error::InvalidConnectString { .. })
    ));
}

#[test]
fn urls_bracket_ipv6_hosts_and_use_the_configured_path() {
    let exhibitors = Exhibitors::new(["::1"], 8080, "zk:2181").unwrap();
    let poller = ExhibitorPoller::new(exhibitors, RetryPolicy::Never).rest_path("/custom/list");
    let ask = poller.ask(&mut Rng::new(0, 0)).unwrap();
    assert_eq!(ask.url(), "http://[::1]:8080/custom/list");
}
