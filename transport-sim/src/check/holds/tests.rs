use super::*;

fn s(x: u64) -> Duration {
    Duration::from_secs(x)
}

/// Excuses with a 10 s session timeout and `faults` per process.
fn excuses(faults: &[(&str, Faults)]) -> Excuses {
    Excuses {
        session_timeout: s(10),
        of: faults
            .iter()
            .map(|(who, f)| (who.to_string(), f.clone()))
            .collect(),
    }
}

/// `a` holds 7 over 1..5 s, `b` holds 9 from 3 s on.
fn overlapping() -> Holds {
    let t = Holds::new();
    t.set("a", Some(7), s(1));
    t.set("b", Some(9), s(3));
    t.set("a", None, s(5));
    t
}

#[test]
fn set_opens_and_closes_holds() {
    let t = Holds::new();
    t.set("a", Some(5), s(1));
    t.set("a", Some(5), s(2));
    t.set("b", None, s(2));
    t.set("a", None, s(3));
    t.set("b", Some(7), s(3));
    let holds = t.holds();
    assert_eq!(holds.len(), 2);
    assert_eq!((holds[0].from, holds[0].to), (s(1), Some(s(3))));
    assert_eq!(t.holders_at(s(3)), vec!["b".to_string()]);
    assert_eq!(t.last_grant("b"), Some(s(3)));
    assert!(token_order(&t.holds()).is_ok());
}

#[test]
fn token_order_violations_are_found() {
    let t = Holds::new();
    t.set("a", Some(9), s(1));
    t.set("a", None, s(2));
    t.set("b", Some(4), s(3));
    assert!(token_order(&t.holds()).unwrap_err().1.contains("b got 4"));
    let t = Holds::new();
    t.set("a", Some(4), s(1));
    t.set("a", None, s(2));
    t.set("b", Some(9), s(3));
    t.set("b", None, s(4));
    t.set("b", Some(9), s(5));
    assert!(token_order(&t.holds()).is_ok());
}

#[test]
fn overlap_is_a_violation_without_a_fault() {
    let err = overlapping().exclusive(&excuses(&[])).unwrap_err().1;
    assert_eq!(
        err,
        "two holders at 3s: a (token 7, 1s..Some(5s)) and b (token 9, 3s..None)"
    );
    assert!(overlapping().at_most(&excuses(&[]), 2).is_ok());
    let err = overlapping().at_most(&excuses(&[]), 1).unwrap_err().1;
    assert!(
        err.starts_with("2 holders at 3s, max 1: a (token 7"),
        "{err}"
    );
}

#[test]
fn a_pause_during_the_hold_excuses_it() {
    let paused = Faults {
        pauses: vec![(s(2), s(4))],
        ..Faults::default()
    };
    assert!(overlapping().exclusive(&excuses(&[("a", paused)])).is_ok());
    // A pause that ended well before the hold began excuses nothing.
    let long_ago = Faults {
        pauses: vec![(Duration::ZERO, Duration::from_millis(900))],
        ..Faults::default()
    };
    assert!(overlapping()
        .exclusive(&excuses(&[("a", long_ago)]))
        .is_err());
    // One that ended just before the grant does (replies queued during it).
    let just_before = Faults {
        pauses: vec![(Duration::ZERO, Duration::from_millis(960))],
        ..Faults::default()
    };
    assert!(overlapping()
        .exclusive(&excuses(&[("a", just_before)]))
        .is_ok());
}

#[test]
fn a_forced_expiry_excuses_holds_up_to_a_session_timeout_later() {
    let expired = |at| Faults {
        expiries: vec![at],
        ..Faults::default()
    };
    // b's grant came 2 s after its session was expired under it: stale.
    assert!(overlapping()
        .exclusive(&excuses(&[("b", expired(s(1)))]))
        .is_ok());
    // An expiry after a's hold ended, of a's session: nothing to excuse.
    assert!(overlapping()
        .exclusive(&excuses(&[("a", expired(s(6)))]))
        .is_err());
}

#[test]
fn a_crash_ends_every_hold() {
    let crashed = Faults {
        crash: Some(s(2)),
        ..Faults::default()
    };
    assert!(overlapping().exclusive(&excuses(&[("a", crashed)])).is_ok());
    let live = excuses(&[(
        "a",
        Faults {
            crash: Some(s(2)),
            ..Faults::default()
        },
    )])
    .live(overlapping().holds());
    assert_eq!(live[0].to, Some(s(2)));
}
