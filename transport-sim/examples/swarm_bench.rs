//! Seeds per second for a 3-server, 5-client, 60-simulated-second run with the full swarm
//! fault mix, on the sans-IO model alone (one core). Reports figures; asserts nothing.
//!
//! `cargo run --release -p docent-sim --example swarm_bench [SEEDS] [MS_BETWEEN_ROUNDS]`
//! (each round: one client creates, lists with a watch, reads with a watch, deletes).

use std::time::{Duration, Instant as Wall};

use docent::{Acl, CreateMode, Instant, Op};
use docent_sim::model::{ClientOptions, Ensemble, FaultSchedule, SimConfig, SwarmConfig};

fn run(seed: u64, every: Duration) -> (u64, usize) {
    let horizon = Duration::from_secs(60);
    let mut sim = Ensemble::new(SimConfig::new(seed));
    sim.install(&FaultSchedule::swarm(
        seed,
        &SwarmConfig::new(3, 5, horizon),
    ));
    let clients: Vec<_> = (0..5)
        .map(|_| sim.add_client(Instant::ZERO, ClientOptions::default()))
        .collect();
    let mut outputs = 0;
    let mut next_op = Instant::ZERO + Duration::from_millis(100);
    let mut i = 0u64;
    let end = Instant::ZERO + horizon;
    loop {
        while sim.poll_output().is_some() {
            outputs += 1;
        }
        let t = sim.poll_timeout().map_or(next_op, |t| t.min(next_op));
        if t > end {
            break;
        }
        sim.handle_timeout(t);
        if t >= next_op {
            // Each client, in turn: a lock-style round (create, list with watch, delete).
            let c = clients[(i % 5) as usize];
            let node = format!("/n{}", i % 5);
            let ops = [
                Op::Create {
                    path: node.clone(),
                    data: vec![1],
                    acl: Acl::open(),
                    mode: CreateMode::Ephemeral,
                },
                Op::GetChildren {
                    path: "/".into(),
                    watch: true,
                },
                Op::GetData {
                    path: node.clone(),
                    watch: true,
                },
                Op::Delete {
                    path: node,
                    version: None,
                },
            ];
            for op in ops {
                let _ = sim.submit(t, c, op);
            }
            i += 1;
            next_op = t + every;
        }
    }
    (sim.event_hash(), outputs)
}

fn main() {
    let arg = |i: usize, d: u64| {
        std::env::args()
            .nth(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let seeds = arg(1, 400);
    let every = Duration::from_millis(arg(2, 20));
    // The bench's wall time, reported and never asserted: the model never sees it.
    #[allow(clippy::disallowed_methods)]
    let start = Wall::now();
    let mut outputs = 0;
    for seed in 0..seeds {
        outputs += run(seed, every).1;
    }
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{seeds} seeds in {wall:.2} s: {:.0} seeds/s, sim/wall ratio {:.0}x, {:.0} outputs per seed",
        seeds as f64 / wall,
        seeds as f64 * 60.0 / wall,
        outputs as f64 / seeds as f64
    );
    assert_eq!(run(7, every).0, run(7, every).0, "determinism");
}
