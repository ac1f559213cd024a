use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn t(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

type Ops = Vec<(CounterOp, u64, Option<(u64, Option<i64>)>)>;

fn counter_history(ops: &Ops) -> History<CounterOp, Option<i64>> {
    with_deadlines(ops, &[])
}

/// `ops`, the unknown ones among them with the deadlines given by id.
fn with_deadlines(ops: &Ops, deadlines: &[(usize, u64)]) -> History<CounterOp, Option<i64>> {
    let mut h = History::new();
    for (op, call, ret) in ops {
        let id = h.call(*op, t(*call));
        if let Some((at, out)) = ret {
            h.ret(id, Some(*out), t(*at));
        }
    }
    for (id, by) in deadlines {
        h.unknown_by(*id, t(*by));
    }
    h
}

const BOUND: u64 = 1_000_000;

#[test]
fn sequential_histories_follow_the_model() {
    let ok = counter_history(&vec![
        (CounterOp::Add(2), 0, Some((1, Some(2)))),
        (CounterOp::Read, 2, Some((3, Some(2)))),
        (CounterOp::Add(-1), 4, Some((5, Some(1)))),
        (CounterOp::Cas { expect: 1, new: 9 }, 6, Some((7, Some(9)))),
        (CounterOp::Cas { expect: 1, new: 5 }, 8, Some((9, Some(9)))),
    ]);
    assert_eq!(check(&Counter::new(0), &ok, BOUND), Verdict::Linearizable);
    let stale = counter_history(&vec![
        (CounterOp::Add(2), 0, Some((1, Some(2)))),
        (CounterOp::Read, 2, Some((3, Some(0)))),
    ]);
    assert_eq!(
        check(&Counter::new(0), &stale, BOUND),
        Verdict::NotLinearizable { window: vec![1] }
    );
}

#[test]
fn concurrent_operations_may_take_effect_in_either_order() {
    // a: add 1 [0, 10], b: add 10 [2, 8]; a read after both sees 11, and a read overlapping
    // both may see 0, 1, 10 or 11 but not 5.
    for (seen, ok) in [(0, true), (1, true), (10, true), (11, true), (5, false)] {
        let h = counter_history(&vec![
            (CounterOp::Add(1), 0, Some((10, None))),
            (CounterOp::Add(10), 2, Some((8, None))),
            (CounterOp::Read, 1, Some((9, Some(seen)))),
            (CounterOp::Read, 11, Some((12, Some(11)))),
        ]);
        let verdict = check(&Counter::new(0), &h, BOUND);
        assert_eq!(verdict == Verdict::Linearizable, ok, "{seen}: {verdict:?}");
    }
}

#[test]
fn unknown_outcomes_may_apply_late_or_never_but_not_twice() {
    // An increment whose reply was lost: a later read may see it applied or not.
    for (seen, ok) in [(1, true), (2, true), (3, false), (0, false)] {
        let h = counter_history(&vec![
            (CounterOp::Add(1), 0, Some((1, Some(1)))),
            (CounterOp::Add(1), 2, None),
            (CounterOp::Read, 5, Some((6, Some(seen)))),
        ]);
        let verdict = check(&Counter::new(0), &h, BOUND);
        assert_eq!(verdict == Verdict::Linearizable, ok, "{seen}: {verdict:?}");
    }
    // Applied after a read that did not see it, before one that did: fine.
    let late = counter_history(&vec![
        (CounterOp::Add(5), 0, None),
        (CounterOp::Read, 1, Some((2, Some(0)))),
        (CounterOp::Read, 3, Some((4, Some(5)))),
    ]);
    assert_eq!(check(&Counter::new(0), &late, BOUND), Verdict::Linearizable);
    // But it cannot un-apply.
    let flicker = counter_history(&vec![
        (CounterOp::Add(5), 0, None),
        (CounterOp::Read, 1, Some((2, Some(5)))),
        (CounterOp::Read, 3, Some((4, Some(0)))),
    ]);
    assert!(matches!(
        check(&Counter::new(0), &flicker, BOUND),
        Verdict::NotLinearizable { .. }
    ));
}

#[test]
fn a_double_applied_increment_is_caught_with_a_small_window() {
    // The bug a blind retry of a lost versioned write causes: two increments acknowledged,
    // the counter ends at 3. Unrelated operations come first.
    let mut ops: Ops = (0..50)
        .map(|i| (CounterOp::Read, i * 10, Some((i * 10 + 1, Some(0)))))
        .collect();
    ops.push((CounterOp::Add(1), 600, Some((610, Some(1)))));
    ops.push((CounterOp::Add(1), 605, Some((620, Some(3)))));
    ops.push((CounterOp::Read, 700, Some((701, Some(3)))));
    let h = counter_history(&ops);
    match check(&Counter::new(0), &h, BOUND) {
        Verdict::NotLinearizable { window } => assert_eq!(window, vec![50, 51]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_unknown_outcome_with_a_deadline_applies_by_then_or_never() {
    // A lost increment known to have taken effect, if at all, by t=5.
    let ops: Ops = vec![
        (CounterOp::Add(1), 0, None),
        (CounterOp::Read, 6, Some((7, Some(1)))),
        (CounterOp::Read, 8, Some((9, Some(1)))),
    ];
    let h = with_deadlines(&ops, &[(0, 5)]);
    assert_eq!(check(&Counter::new(0), &h, BOUND), Verdict::Linearizable);
    // Seen at 0 after its deadline, then at 1: it would have applied late.
    let late: Ops = vec![
        (CounterOp::Add(1), 0, None),
        (CounterOp::Read, 6, Some((7, Some(0)))),
        (CounterOp::Read, 8, Some((9, Some(1)))),
    ];
    let h = counter_history(&late);
    assert_eq!(check(&Counter::new(0), &h, BOUND), Verdict::Linearizable);
    let h = with_deadlines(&late, &[(0, 5)]);
    assert!(matches!(
        check(&Counter::new(0), &h, BOUND),
        Verdict::NotLinearizable { .. }
    ));
}

#[test]
fn a_register_with_compare_and_set() {
    let mut h = History::new();
    let w = h.call(RegisterOp::Write(1), t(0));
    h.ret(w, Some(RegisterOut::Ok), t(1));
    let a = h.call(RegisterOp::Cas { expect: 1, new: 2 }, t(2));
    let b = h.call(RegisterOp::Cas { expect: 1, new: 3 }, t(2));
    h.ret(a, Some(RegisterOut::Swapped(true)), t(5));
    h.ret(b, Some(RegisterOut::Swapped(true)), t(5));
    // Two compare-and-sets on the same expected value cannot both succeed.
    assert!(matches!(
        check(&Register::new(0), &h, BOUND),
        Verdict::NotLinearizable { .. }
    ));
    let mut h2 = History::new();
    let a = h2.call(RegisterOp::Cas { expect: 0, new: 2 }, t(0));
    let b = h2.call(RegisterOp::Cas { expect: 0, new: 3 }, t(0));
    h2.ret(a, Some(RegisterOut::Swapped(true)), t(5));
    h2.ret(b, Some(RegisterOut::Swapped(false)), t(5));
    let r = h2.call(RegisterOp::Read, t(6));
    h2.ret(r, Some(RegisterOut::Value(2)), t(7));
    assert_eq!(check(&Register::new(0), &h2, BOUND), Verdict::Linearizable);
}

#[test]
fn sampled_linearizable_histories_pass() {
    // Large enough for the search to meet configurations again (the memo); seed 43 needs the
    // second outcome of a lost write tried from a configuration met before (a search that
    // skipped it called this history not linearizable).
    for seed in 40..48 {
        let h = sample_counter_history(seed, 1_000, 8);
        assert_eq!(
            check(&Counter::new(0), &h, BOUND),
            Verdict::Linearizable,
            "seed {seed}"
        );
    }
}

#[test]
fn the_bound_is_honoured() {
    // Many concurrent increments and an impossible read: the search must explore a lot.
    let mut ops: Ops = (0..40)
        .map(|i| (CounterOp::Add(1 << (i % 20)), 0, Some((100, None))))
        .collect();
    ops.push((CounterOp::Read, 0, Some((100, Some(-1)))));
    assert_eq!(
        check(&Counter::new(0), &counter_history(&ops), 1_000),
        Verdict::GaveUp
    );
}

/// Every order consistent with real time, tried one by one; an unknown operation may also be
/// dropped (it never applied), and one with a deadline must be placed or dropped before any
/// operation called after its deadline.
fn brute_force(h: &History<CounterOp, Option<i64>>) -> bool {
    fn end(e: &Entry<CounterOp, Option<i64>>) -> Option<Instant> {
        e.ret.as_ref().map(|(at, _)| *at).or(e.unknown_by)
    }
    fn go(h: &History<CounterOp, Option<i64>>, done: &mut Vec<bool>, state: i64) -> bool {
        let entries = h.entries();
        if entries
            .iter()
            .zip(done.iter())
            .all(|(e, d)| *d || e.ret.is_none())
        {
            return true;
        }
        for i in 0..entries.len() {
            if done[i] {
                continue;
            }
            let blocked = entries
                .iter()
                .enumerate()
                .any(|(j, e)| !done[j] && j != i && end(e).is_some_and(|at| at < entries[i].call));
            if blocked {
                continue;
            }
            let out = entries[i].ret.as_ref().map(|(_, o)| o);
            let mut outcomes = vec![Counter::new(0).step(&state, &entries[i].input, out)];
            if entries[i].ret.is_none() {
                outcomes.push(Some(state));
            }
            for after in outcomes.into_iter().flatten() {
                done[i] = true;
                if go(h, done, after) {
                    return true;
                }
                done[i] = false;
            }
        }
        false
    }
    go(h, &mut vec![false; h.entries().len()], 0)
}

fn op() -> impl Strategy<Value = (CounterOp, u64, Option<(u64, Option<i64>)>)> {
    (
        prop_oneof![
            (1i64..3).prop_map(CounterOp::Add),
            Just(CounterOp::Read),
            (0i64..4, 0i64..4).prop_map(|(expect, new)| CounterOp::Cas { expect, new }),
        ],
        0u64..20,
        prop::option::weighted(0.85, (0u64..10, prop::option::weighted(0.8, 0i64..6))),
    )
        .prop_map(|(op, call, ret)| (op, call, ret.map(|(d, out)| (call + d, out))))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn agrees_with_brute_force_on_small_histories(
        ops in prop::collection::vec(op(), 0..7),
        deadlines in prop::collection::vec((0usize..7, 0u64..30), 0..3),
    ) {
        let deadlines: Vec<(usize, u64)> = deadlines
            .into_iter()
            .filter(|(id, _)| ops.get(*id).is_some_and(|op| op.2.is_none()))
            .collect();
        let h = with_deadlines(&ops, &deadlines);
        let verdict = check(&Counter::new(0), &h, BOUND);
        prop_assert_ne!(&verdict, &Verdict::GaveUp);
        prop_assert_eq!(verdict == Verdict::Linearizable, brute_force(&h), "{:?}", h);
    }
}
