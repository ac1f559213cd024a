//! Sample histories for testing checkers and models.

use std::time::Duration;

use docent::Instant;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use super::{Counter, CounterOp, History, Model};

/// A linearizable counter history drawn from `seed`, for testing checkers and models: `ops`
/// increments, reads and compare-and-sets from `clients` sequential clients, each taking effect
/// at a random point inside its interval; 5 % of the writes have an unknown outcome (half of
/// them applied), known to take effect (if at all) before their client's next request.
pub fn sample_counter_history(
    seed: u64,
    ops: usize,
    clients: usize,
) -> History<CounterOp, Option<i64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut below = |n: u64| rng.next_u64() % n;
    // Each client issues ops back to back with gaps; an op's effect lands inside its interval.
    let mut free_at = vec![0u64; clients.max(1)];
    let mut drawn = Vec::with_capacity(ops);
    for _ in 0..ops {
        let c = below(free_at.len() as u64) as usize;
        let call = free_at[c] + below(50);
        let ret = call + 1 + below(200);
        free_at[c] = ret + 1;
        let point = call + below(ret - call + 1);
        let input = match below(10) {
            0..=4 => CounterOp::Add(1 + below(3) as i64),
            5..=7 => CounterOp::Read,
            _ => CounterOp::Cas {
                expect: below(40) as i64,
                new: below(40) as i64,
            },
        };
        let unknown = !matches!(input, CounterOp::Read) && below(100) < 5;
        let applies = !unknown || below(2) == 0;
        drawn.push((point, call, ret, input, unknown, applies));
    }
    drawn.sort_by_key(|op| op.0);
    let mut value = 0i64;
    let mut h = History::new();
    let at = |t: u64| Instant::ZERO + Duration::from_micros(t);
    for (_, call, ret, input, unknown, applies) in drawn {
        if applies {
            value = Counter::new(0)
                .step(&value, &input, None)
                .expect("a counter step");
        }
        let id = h.call(input, at(call));
        match unknown {
            // The client learns at `ret` that the outcome is unknown; ZooKeeper's FIFO order puts
            // the write (if applied) before the session's next request.
            true => h.unknown_by(id, at(ret)),
            false => h.ret(id, Some(Some(value)), at(ret)),
        }
    }
    h
}
