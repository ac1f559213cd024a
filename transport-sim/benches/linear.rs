//! How fast the linearizability checker decides realistic counter histories.
//!
//! ```text
//! cargo bench -p docent-sim --bench linear        # LINEAR_HISTORIES=200 by default
//! ```
//!
//! Each history has 1,000 operations from 8 clients (each sequential, so at most 8 overlap):
//! increments, reads and compare-and-sets, 5 % of the writes with an unknown outcome (half of
//! those applied), each known to take effect (if at all) before its client's next request. The outputs come from a real order (each operation takes effect at a random
//! point inside its interval), so every history is linearizable and the checker must find an
//! order: the work a passing suite does. It reports histories per second and the slowest one.

use std::time::{Duration, Instant};

use docent_sim::check::linear::{check, sample_counter_history, Counter, Verdict};

const OPS: usize = 1_000;
const CLIENTS: usize = 8;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("linear: a benchmark; run it with `cargo bench -p docent-sim --bench linear`");
        return;
    }
    let n: u64 = std::env::var("LINEAR_HISTORIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let histories: Vec<_> = (0..n)
        .map(|seed| sample_counter_history(seed, OPS, CLIENTS))
        .collect();
    let mut slowest = Duration::ZERO;
    #[allow(clippy::disallowed_methods)] // a benchmark's wall clock, outside any simulation
    let started = Instant::now();
    for h in &histories {
        #[allow(clippy::disallowed_methods)]
        let one = Instant::now();
        assert_eq!(
            check(&Counter::new(0), h, 10_000_000),
            Verdict::Linearizable
        );
        slowest = slowest.max(one.elapsed());
    }
    let elapsed = started.elapsed();
    println!(
        "{n} histories of {OPS} ops ({CLIENTS} clients): {:.0} histories/s, {:.0} ops/s, slowest {:.2} ms",
        n as f64 / elapsed.as_secs_f64(),
        (n as usize * OPS) as f64 / elapsed.as_secs_f64(),
        slowest.as_secs_f64() * 1e3
    );
}
