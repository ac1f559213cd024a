//! LeaderLatch failover beside Curator's: the leader closes → the next leader's `IsLeader`.

use std::time::{Duration, Instant};

use docent::recipes::latch::{LatchEvent, LatchOptions, LeaderLatch};
use futures::StreamExt;

use crate::support::{micros, pct, scaled, traced, Round, Row, Timeline};
use crate::trace::Trace;

/// The rows both sides measure.
pub const ROWS: [Row; 2] = [
    ("latch failover p50", "failover_p50_us", false),
    ("latch failover p99", "failover_p99_us", false),
];

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>) {
    let (failovers, trace) = failover(r.cs, &r.base, scaled(300, r.scale)).await;
    r.trace(
        "one LeaderLatch failover (leader closes → follower's IsLeader)",
        trace,
    );
    r.put("failover_p50_us", pct(&failovers, 0.50));
    r.put("failover_p99_us", pct(&failovers, 0.99));
}

/// Leader closes → the follower's `IsLeader`, alternating between two clients.
async fn failover(cs: &str, base: &str, n: usize) -> (Vec<f64>, Timeline) {
    let trace = Trace::default();
    let sides = [traced(cs, &trace, "A").await, traced(cs, &trace, "B").await];
    let mut one = None;
    let path = &format!("{base}/latch");
    let id = |id: String| LatchOptions::default().id(id);
    let mut leader = LeaderLatch::start(&sides[0], path, id("a".into()))
        .await
        .unwrap();
    leader.await_leadership().await.unwrap();
    let warm = n / 5;
    let mut times = Vec::new();
    for i in 0..n + warm {
        let follower = LeaderLatch::start(&sides[(i + 1) % 2], path, id(format!("p{i}")))
            .await
            .unwrap();
        while leader.participants().await.unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let mut events = follower.events();
        let last = i + 1 == n + warm;
        let t0 = if last { trace.start() } else { Instant::now() };
        let led = async {
            while let Some(event) = events.next().await {
                if let LatchEvent::IsLeader { .. } = event {
                    return t0.elapsed();
                }
            }
            panic!("follower's events ended");
        };
        let (closed, took) = tokio::join!(leader.close(), led);
        closed.unwrap();
        if last {
            tokio::time::sleep(Duration::from_millis(20)).await;
            one = Some((t0, trace.stop()));
        }
        if i >= warm {
            times.push(micros(took));
        }
        leader = follower;
    }
    leader.close().await.unwrap();
    for side in sides {
        side.close().await.unwrap();
    }
    (times, one.expect("traced"))
}
