//! Linearizability of a history with unknown outcomes (the Wing–Gong search with Lowe's
//! memoisation, as porcupine and Knossos do it).
//!
//! A [`History`] records each operation's call and, when the caller learnt it, its return with
//! the output. An operation whose outcome is unknown (a connection loss on a write) has no
//! return: it may have taken effect at any moment after its call, or never. The history is
//! linearizable when some order of the operations, each placed between its call and its return,
//! explains every output by the [`Model`]: every returned operation placed, unknown ones placed
//! or left out.
//!
//! ```text
//!   events by time: call a, call b, ret a, call c, ret b, ret c, ...   (unknowns: calls only)
//!   search: walk the events from the first, known-outcome calls first, unknown ones second;
//!     a call whose op the model accepts now (and whose (placed set, state) is not known to
//!       fail) → place it, remove its call and return, start again from the first event
//!     a call the model refuses → look at the next event
//!     the first return of an op not yet placed → every candidate failed: undo the last
//!       placement and try the candidate after it
//!   no return left → linearizable;   nothing left to undo → not linearizable
//! ```
//!
//! The search is exponential in the worst case: [`check`] stops after a bound of steps and says
//! so ([`Verdict::GaveUp`]). On a failure it names the smallest window of operations that
//! already cannot be explained: the shortest failing prefix, cut at a return, and the operations
//! that overlap its last one.
//!
//! ```
//! use docent::Instant;
//! use docent_sim::check::linear::{check, Counter, CounterOp, History, Verdict};
//! use std::time::Duration;
//!
//! let t = |ms| Instant::ZERO + Duration::from_millis(ms);
//! let mut h = History::new();
//! let a = h.call(CounterOp::Add(1), t(0));
//! h.ret(a, Some(Some(1)), t(10)); // the increment returned the value after it: 1
//! let lost = h.call(CounterOp::Add(1), t(20)); // connection loss: never returns
//! let read = h.call(CounterOp::Read, t(30));
//! h.ret(read, Some(Some(2)), t(40)); // the lost increment did apply
//! assert_eq!(check(&Counter::new(0), &h, 100_000), Verdict::Linearizable);
//! # let _ = lost;
//! ```

// Membership only, never iterated: hash order cannot change a verdict.
#[allow(clippy::disallowed_types)]
use std::collections::HashSet as MemoSet;
use std::hash::Hash;

use docent::Instant;

/// What operations mean: a sequential specification.
pub trait Model {
    /// The object's state.
    type State: Clone + Eq + Hash;
    /// An operation's input.
    type Input;
    /// An operation's output.
    type Output;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `input` applied to `state` produced `output` (`None`: the output is
    /// unknown), or `None` if that output is impossible there.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;
}

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<I, O> {
    /// What was asked.
    pub input: I,
    /// When it was asked.
    pub call: Instant,
    /// When it answered and what, if the caller learnt its outcome.
    pub ret: Option<(Instant, O)>,
    /// For an unknown outcome: the moment by which it took effect if it did at all (e.g. the
    /// next request of the same ZooKeeper session, which FIFO order puts after it).
    pub unknown_by: Option<Instant>,
}

/// Operations as they were called and returned, in any order of recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History<I, O> {
    entries: Vec<Entry<I, O>>,
}

impl<I, O> Default for History<I, O> {
    fn default() -> Self {
        History {
            entries: Vec::new(),
        }
    }
}

impl<I, O> History<I, O> {
    /// An empty history.
    pub fn new() -> Self {
        History::default()
    }

    /// Records a call at `at`; returns its id for [`History::ret`].
    pub fn call(&mut self, input: I, at: Instant) -> usize {
        self.entries.push(Entry {
            input,
            call: at,
            ret: None,
            unknown_by: None,
        });
        self.entries.len() - 1
    }

    /// Records the return of call `id` at `at` with `output`; an output of `None` means the
    /// outcome stays unknown (the call is treated as never returning).
    pub fn ret(&mut self, id: usize, output: Option<O>, at: Instant) {
        if let (Some(entry), Some(output)) = (self.entries.get_mut(id), output) {
            entry.ret = Some((at.max(entry.call), output));
        }
    }

    /// Records that call `id`'s outcome is unknown but, if it took effect, it did so by `by`.
    /// Without this an unknown outcome may take effect at any later moment, which the search
    /// pays for: every such call is a candidate at every later point.
    pub fn unknown_by(&mut self, id: usize, by: Instant) {
        if let Some(entry) = self.entries.get_mut(id) {
            entry.unknown_by = Some(by.max(entry.call));
        }
    }

    /// The operations, by id.
    pub fn entries(&self) -> &[Entry<I, O>] {
        &self.entries
    }
}

/// What [`check`] concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Some order explains every output.
    Linearizable,
    /// No order does; `window` holds the ids of the smallest failing window found.
    NotLinearizable {
        /// Operation ids (into [`History::entries`]), in call order.
        window: Vec<usize>,
    },
    /// The search hit its bound of steps before deciding.
    GaveUp,
}

/// Checks `history` against `model`, exploring at most `bound` search steps (per attempt; the
/// search for the failing window runs a few more attempts).
pub fn check<M: Model>(model: &M, history: &History<M::Input, M::Output>, bound: u64) -> Verdict {
    match search(model, history, usize::MAX, bound) {
        Some(true) => Verdict::Linearizable,
        None => Verdict::GaveUp,
        Some(false) => Verdict::NotLinearizable {
            window: smallest_window(model, history, bound),
        },
    }
}

/// The returned operations' return times, ascending: the cut points of prefixes.
fn cuts<I, O>(history: &History<I, O>) -> Vec<Instant> {
    let mut cuts: Vec<Instant> = history
        .entries
        .iter()
        .filter_map(|e| e.ret.as_ref().map(|(at, _)| *at))
        .collect();
    cuts.sort();
    cuts
}

/// The shortest failing prefix (operations called up to the k-th return, later returns
/// unknown), by binary search: a prefix of a linearizable history is linearizable.
fn smallest_window<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    bound: u64,
) -> Vec<usize> {
    let cuts = cuts(history);
    let (mut lo, mut hi) = (0, cuts.len().saturating_sub(1));
    while lo < hi {
        let mid = (lo + hi) / 2;
        match search(model, history, mid, bound) {
            Some(false) => hi = mid,
            _ => lo = mid + 1,
        }
    }
    let end = cuts.get(lo).copied().unwrap_or(Instant::ZERO);
    // The operation returning at the cut and everything overlapping it.
    let last = history
        .entries
        .iter()
        .position(|e| e.ret.as_ref().is_some_and(|(at, _)| *at == end));
    let Some(last) = last else {
        return Vec::new();
    };
    let start = history.entries[last].call;
    let mut window: Vec<usize> = (0..history.entries.len())
        .filter(|&i| {
            let e = &history.entries[i];
            let until = e.ret.as_ref().map(|(at, _)| *at).or(e.unknown_by);
            e.call <= end && until.is_none_or(|at| at >= start)
        })
        .collect();
    window.sort_by_key(|&i| (history.entries[i].call, i));
    window
}

#[derive(Debug, Clone, Copy)]
enum Event {
    Call(usize),
    Return(usize),
}

/// A doubly linked list over event slots `0..n`; slot `n` is the head sentinel.
struct Links {
    next: Vec<usize>,
    prev: Vec<usize>,
}

impl Links {
    fn new(n: usize) -> Links {
        let mut next: Vec<usize> = (1..=n).collect();
        next.push(if n == 0 { n } else { 0 });
        let prev = std::iter::once(n).chain(0..n).collect();
        Links { next, prev }
    }

    fn first(&self) -> usize {
        self.next[self.next.len() - 1]
    }

    fn unlink(&mut self, slot: usize) {
        let (p, q) = (self.prev[slot], self.next[slot]);
        self.next[p] = q;
        if q < self.prev.len() {
            self.prev[q] = p;
        }
    }

    /// Puts `slot` back where it was (undone in reverse order of unlinking).
    fn relink(&mut self, slot: usize) {
        let (p, q) = (self.prev[slot], self.next[slot]);
        self.next[p] = slot;
        if q < self.prev.len() {
            self.prev[q] = slot;
        }
    }
}

/// The search over the prefix cut at the `cut`-th return (`usize::MAX`: everything): `Some`
/// verdict, or `None` when `bound` steps were not enough.
fn search<M: Model>(
    model: &M,
    history: &History<M::Input, M::Output>,
    cut: usize,
    bound: u64,
) -> Option<bool> {
    let entries = &history.entries;
    let end = cuts(history).get(cut).copied();
    let within = |at: &Instant| end.is_none_or(|end| *at <= end);
    // The output of each operation that returned within the prefix; the others are unknown.
    let outputs: Vec<Option<&M::Output>> = entries
        .iter()
        .map(|e| e.ret.as_ref().filter(|(at, _)| within(at)).map(|(_, o)| o))
        .collect();
    // Events in time order; at equal times calls come first (touching intervals overlap). An
    // unknown outcome with a deadline gets a return at the deadline: by then it is placed,
    // applied or not.
    let mut timed: Vec<(Instant, u8, Event)> = Vec::new();
    for (i, e) in entries.iter().enumerate().filter(|(_, e)| within(&e.call)) {
        timed.push((e.call, 0, Event::Call(i)));
        let ends = match (&e.ret, outputs[i]) {
            (Some((at, _)), Some(_)) => Some(*at),
            _ => e.unknown_by.filter(within),
        };
        if let Some(at) = ends {
            timed.push((at, 1, Event::Return(i)));
        }
    }
    timed.sort_by_key(|(at, order, _)| (*at, *order));
    let events: Vec<Event> = timed.into_iter().map(|(_, _, e)| e).collect();
    let mut call_slot = vec![usize::MAX; entries.len()];
    let mut return_slot = vec![None; entries.len()];
    for (slot, event) in events.iter().enumerate() {
        match *event {
            Event::Call(i) => call_slot[i] = slot,
            Event::Return(i) => return_slot[i] = Some(slot),
        }
    }
    let unknown = |i: usize| outputs[i].is_none();
    // Only returned operations must be placed; unknown ones may stay out.
    let mut returns_left = (0..entries.len())
        .filter(|&i| return_slot[i].is_some() && !unknown(i))
        .count();
    let mut links = Links::new(events.len());
    let mut placed = vec![0u64; entries.len().div_ceil(64)];
    let bit = |i: usize| (i / 64, 1u64 << (i % 64));
    #[allow(clippy::disallowed_types)]
    let mut memo: MemoSet<(Vec<u64>, M::State)> = MemoSet::new();
    // What was placed: the operation, the pass it was found in, which outcome (0: as the model
    // says, 1: an unknown operation that did not apply), the state before it.
    let mut stack: Vec<(usize, u8, u8, M::State)> = Vec::new();
    let mut state = model.init();
    // An unknown operation with a deadline has two outcomes to try; others have one (an
    // unknown operation without a deadline may simply stay out).
    let outcomes = |i: usize| {
        if unknown(i) && return_slot[i].is_some() {
            2
        } else {
            1
        }
    };
    // Candidates at a point are the calls before the first return left. Operations with a
    // known outcome are tried first (pass 0), unknown ones after (pass 1): an unknown write is
    // placed only when something needs it (a read that saw it, its deadline).
    let (mut slot, mut pass) = (links.first(), 0u8);
    for _ in 0..bound {
        if returns_left == 0 {
            return Some(true);
        }
        // The candidate to place and the first of its outcomes to try.
        let (i, from) = match events.get(slot).copied() {
            Some(Event::Call(i)) if unknown(i) != (pass == 1) => {
                slot = links.next[slot];
                continue;
            }
            Some(Event::Call(i)) => (i, 0),
            // The first return left: the known candidates are done, try the unknown ones.
            _ if pass == 0 => {
                (slot, pass) = (links.first(), 1);
                continue;
            }
            // Every candidate failed: undo the last placement, then try its next outcome, or
            // the candidate after it.
            _ => {
                let Some((i, was, outcome, before)) = stack.pop() else {
                    return Some(false);
                };
                let (word, mask) = bit(i);
                placed[word] &= !mask;
                if let Some(ret) = return_slot[i] {
                    links.relink(ret);
                    if !unknown(i) {
                        returns_left += 1;
                    }
                }
                links.relink(call_slot[i]);
                (pass, state) = (was, before);
                (i, outcome + 1)
            }
        };
        let (word, mask) = bit(i);
        let next = (from..outcomes(i)).find_map(|outcome| {
            let after = match outcome {
                0 => model.step(&state, &entries[i].input, outputs[i])?,
                _ => state.clone(),
            };
            placed[word] |= mask;
            let fresh = memo.insert((placed.clone(), after.clone()));
            placed[word] &= !mask;
            fresh.then_some((outcome, after))
        });
        match next {
            Some((outcome, after)) => {
                placed[word] |= mask;
                stack.push((i, pass, outcome, std::mem::replace(&mut state, after)));
                links.unlink(call_slot[i]);
                if let Some(ret) = return_slot[i] {
                    links.unlink(ret);
                    if !unknown(i) {
                        returns_left -= 1;
                    }
                }
                (slot, pass) = (links.first(), 0);
            }
            None => slot = links.next[call_slot[i]],
        }
    }
    None
}

/// A counter (Curator's `DistributedAtomicLong`, a `SharedCount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    initial: i64,
}

impl Counter {
    /// A counter starting at `initial`.
    pub fn new(initial: i64) -> Counter {
        Counter { initial }
    }
}

/// A counter operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterOp {
    /// Adds; the output is the value after (`None` if the caller did not learn it).
    Add(i64),
    /// Reads; the output is the value read.
    Read,
    /// Compare-and-set: the output is `Some(value after)` on success, `None`-valued outputs
    /// are unknown; a failure is recorded with the value after equal to the value seen.
    Cas {
        /// The value expected.
        expect: i64,
        /// The value to set.
        new: i64,
    },
}

impl Model for Counter {
    type State = i64;
    type Input = CounterOp;
    /// The value after the operation (for a read, the value read).
    type Output = Option<i64>;

    fn init(&self) -> i64 {
        self.initial
    }

    fn step(&self, state: &i64, input: &CounterOp, output: Option<&Option<i64>>) -> Option<i64> {
        let after = match *input {
            CounterOp::Add(n) => state.wrapping_add(n),
            CounterOp::Read => *state,
            CounterOp::Cas { expect, new } if *state == expect => new,
            CounterOp::Cas { .. } => *state,
        };
        match output {
            Some(Some(seen)) if *seen != after => None,
            _ => Some(after),
        }
    }
}

/// A read/write register with compare-and-set (a node's data with its version: `try_set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Register<T> {
    initial: T,
}

impl<T> Register<T> {
    /// A register holding `initial`.
    pub fn new(initial: T) -> Register<T> {
        Register { initial }
    }
}

/// A register operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOp<T> {
    /// Reads; the output is [`RegisterOut::Value`].
    Read,
    /// Writes; the output is [`RegisterOut::Ok`].
    Write(T),
    /// Sets `new` if the value is `expect`; the output is [`RegisterOut::Swapped`].
    Cas {
        /// The value expected.
        expect: T,
        /// The value to set.
        new: T,
    },
}

/// A register operation's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOut<T> {
    /// A read's value.
    Value(T),
    /// A write's acknowledgement.
    Ok,
    /// Whether a compare-and-set succeeded.
    Swapped(bool),
}

impl<T: Clone + Eq + Hash> Model for Register<T> {
    type State = T;
    type Input = RegisterOp<T>;
    type Output = RegisterOut<T>;

    fn init(&self) -> T {
        self.initial.clone()
    }

    fn step(&self, state: &T, input: &RegisterOp<T>, output: Option<&RegisterOut<T>>) -> Option<T> {
        match (input, output) {
            (RegisterOp::Read, Some(RegisterOut::Value(v))) => (v == state).then(|| state.clone()),
            (RegisterOp::Read, None) => Some(state.clone()),
            (RegisterOp::Write(v), None | Some(RegisterOut::Ok)) => Some(v.clone()),
            (RegisterOp::Cas { expect, new }, None) => Some(if state == expect {
                new.clone()
            } else {
                state.clone()
            }),
            (RegisterOp::Cas { expect, new }, Some(RegisterOut::Swapped(true))) => {
                (state == expect).then(|| new.clone())
            }
            (RegisterOp::Cas { expect, .. }, Some(RegisterOut::Swapped(false))) => {
                (state != expect).then(|| state.clone())
            }
            _ => None,
        }
    }
}

mod sample;

pub use sample::sample_counter_history;

#[cfg(test)]
mod tests;
