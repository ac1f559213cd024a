//! The queue on its own, with rules other than the mutex's: what the semaphore and the
//! read–write lock will build on.

use super::*;
use crate::recipes::order::{sort_key, MaxLeases};
use crate::recipes::testing::{children, created};
use crate::ConnectionState;

const SESSION: i64 = 7;

/// A reader of a read–write lock: it holds when no writer is ahead of it, else it watches the
/// last writer ahead (Curator's `InterProcessReadWriteLock`).
#[derive(Debug)]
struct Reader;

impl GrantRule for Reader {
    fn position(&self, mut children: Vec<String>, ours: &str) -> Position {
        let key = |c: &String| sort_key(sort_key(c, "__READ__"), "__WRIT__").to_owned();
        children.sort_by_key(key);
        let Some(index) = children.iter().position(|c| c == ours) else {
            return Position::Missing;
        };
        match children[..index].iter().rfind(|c| c.contains("__WRIT__")) {
            None => Position::Holds,
            Some(writer) => Position::Waits {
                predecessor: writer.clone(),
            },
        }
    }
}

fn queue(name: &str, rule: Box<dyn GrantRule>) -> (LeaseQueue, Tokens) {
    let mut q = LeaseQueue::new("/rw".into(), name, vec![], rule, Mode::Lock, Rng::new(1, 0));
    let mut tokens = Tokens::default();
    let mut link = Link::default();
    link.handle(ConnectionState::Connected, SESSION);
    q.handle_link(&link, &mut tokens);
    (q, tokens)
}

/// A queue under Curator's standard rule.
fn max_leases(name: &str, max: usize) -> (LeaseQueue, Tokens) {
    let name = name.to_owned();
    queue(&name.clone(), Box::new(MaxLeases { name, max }))
}

fn drain(q: &mut LeaseQueue) -> (Vec<(Token, Op)>, Vec<Turn>) {
    let ops = std::iter::from_fn(|| q.poll_op()).collect();
    let turns = std::iter::from_fn(|| q.poll_outcome()).collect();
    (ops, turns)
}

/// Joins; our create lands as `seq` and the pipelined listing shows `others` and ours.
fn enrolled(q: &mut LeaseQueue, tokens: &mut Tokens, seq: i32, others: &[&str]) -> String {
    q.join(tokens);
    let (ops, _) = drain(q);
    let (node, result) = created(&ops[0].1, seq, 100 + i64::from(seq), SESSION);
    q.handle_op(ops[0].0, &Ok(result), tokens);
    let mut names = others.to_vec();
    names.push(path::name(&node));
    q.handle_op(ops[1].0, &Ok(children(&names)), tokens);
    node
}

#[test]
fn a_reader_behind_readers_only_holds_at_once() {
    let (mut q, mut tokens) = queue("__READ__", Box::new(Reader));
    let node = enrolled(
        &mut q,
        &mut tokens,
        3,
        &["__READ__0000000001", "__READ__0000000002"],
    );
    let (ops, turns) = drain(&mut q);
    assert!(ops.is_empty(), "{ops:?}");
    assert!(matches!(&turns[..], [Turn::Holds(held)] if held.path == node));
}

#[test]
fn a_reader_watches_the_last_writer_ahead_and_lists_again_before_it_holds() {
    let (mut q, mut tokens) = queue("__READ__", Box::new(Reader));
    let others = [
        "__WRIT__0000000001",
        "__WRIT__0000000002",
        "__READ__0000000003",
    ];
    let node = enrolled(&mut q, &mut tokens, 4, &others);
    let (ops, turns) = drain(&mut q);
    assert_eq!(turns, vec![Turn::Waits]);
    let [(watch, Op::GetData { path, watch: true })] = &ops[..] else {
        panic!("{ops:?}")
    };
    assert_eq!(path, "/rw/__WRIT__0000000002");
    assert!(q.handle_watch(*watch, &mut tokens));
    let (ops, turns) = drain(&mut q);
    assert!(turns.is_empty(), "an event alone grants nothing");
    let [(listing, Op::GetChildren { .. })] = &ops[..] else {
        panic!("{ops:?}")
    };
    let now = ["__READ__0000000003", path::name(&node)];
    q.handle_op(*listing, &Ok(children(&now)), &mut tokens);
    assert!(matches!(&drain(&mut q).1[..], [Turn::Holds(held)] if held.path == node));
}

#[test]
fn with_two_leases_the_third_watches_the_first() {
    let (mut q, mut tokens) = max_leases("lease-", 2);
    enrolled(
        &mut q,
        &mut tokens,
        3,
        &["lease-0000000001", "lease-0000000002"],
    );
    let (ops, _) = drain(&mut q);
    assert!(
        matches!(&ops[..], [(_, Op::GetData { path, .. })] if path == "/rw/lease-0000000001"),
        "{ops:?}"
    );
}

#[test]
fn a_new_session_gives_a_waiting_node_up_before_joining_again() {
    let (mut q, mut tokens) = max_leases("lock-", 1);
    let node = enrolled(&mut q, &mut tokens, 2, &["lock-0000000001"]);
    drain(&mut q);
    let mut link = Link::default();
    link.handle(ConnectionState::Connected, SESSION);
    link.handle(ConnectionState::Reconnected, SESSION + 1);
    q.handle_link(&link, &mut tokens);
    let (ops, turns) = drain(&mut q);
    let kinds: Vec<_> = ops.iter().map(|(_, op)| op).collect();
    assert!(
        matches!(
            &kinds[..],
            [Op::Delete { path, .. }, Op::Create { .. }, Op::GetChildren { .. }] if *path == node
        ),
        "{kinds:?}"
    );
    assert!(turns.is_empty());
}
