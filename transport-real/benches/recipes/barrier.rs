//! A double barrier beside Curator's `DistributedDoubleBarrier`: 5 members, each on a client,
//! thread and runtime of its own, enter together, then leave together, again and again (a
//! fresh barrier path each time, made beforehand: a member's first create then finds its
//! parent). The latency is each member's `enter` call, from the moment all five were released
//! to call it (p50/p99 over members and passes).

use std::time::Instant;

use docent::recipes::barrier::{DoubleBarrier, DoubleBarrierOptions, DoubleBarrierState};

use crate::support::{client, join_all, micros, on_thread, pct, scaled, traced, Round, Row};
use crate::trace::Trace;

/// The rows both sides measure.
pub const ROWS: [Row; 2] = [
    (
        "double barrier enter, 5 members p50",
        "barrier_enter_p50_us",
        false,
    ),
    (
        "double barrier enter, 5 members p99",
        "barrier_enter_p99_us",
        false,
    ),
];

const MEMBERS: usize = 5;

/// One round of docent's side of [`ROWS`], under `base`.
pub async fn round(r: &mut Round<'_>) {
    let passes = scaled(100, r.scale);
    let warm = passes / 5;
    let c = client(r.cs).await;
    for pass in 0..warm + passes {
        let path = format!("{}/double-barrier/{pass}", r.base);
        c.create().parents().at(&path).await.unwrap();
    }
    let together = std::sync::Arc::new(tokio::sync::Barrier::new(MEMBERS));
    let trace = Trace::default();
    const NAMES: [&str; MEMBERS] = ["m0", "m1", "m2", "m3", "m4"];
    let threads: Vec<_> = NAMES
        .into_iter()
        .map(|name| {
            let (cs, base, together) = (r.cs.to_owned(), r.base.clone(), together.clone());
            let trace = trace.clone();
            on_thread(move || async move {
                let c = traced(&cs, &trace, name).await;
                let (mut enters, mut origin) = (Vec::new(), None);
                for pass in 0..warm + passes {
                    if pass + 1 == warm + passes && name == "m0" {
                        // The last pass is traced, from before anyone is released.
                        origin = Some(trace.start());
                    }
                    let path = format!("{base}/double-barrier/{pass}");
                    let options = DoubleBarrierOptions::member_qty(MEMBERS);
                    let mut member = DoubleBarrier::start(&c, &path, options).await.unwrap();
                    together.wait().await;
                    let t = Instant::now();
                    assert!(member.enter(None).await.unwrap(), "no time limit");
                    let took = t.elapsed();
                    assert_eq!(member.state(), DoubleBarrierState::Inside);
                    assert!(member.leave(None).await.unwrap());
                    member.close().await.unwrap();
                    if pass >= warm {
                        enters.push(micros(took));
                    }
                }
                c.close().await.unwrap();
                (enters, origin)
            })
        })
        .collect();
    let (enters, origins): (Vec<_>, Vec<_>) = join_all(threads).into_iter().unzip();
    let origin = origins.into_iter().flatten().next().expect("m0 traced");
    r.trace(
        "the last double barrier pass: 5 members (m0…m4) enter, then leave",
        (origin, trace.stop()),
    );
    let enters: Vec<f64> = enters.into_iter().flatten().collect();
    // Everyone left the last pass's barrier: no member node, no ready node.
    let last = format!("{}/double-barrier/{}", r.base, warm + passes - 1);
    match c.get_children().at(&last).await {
        Ok((left, _, _)) => assert!(left.is_empty(), "left in the barrier: {left:?}"),
        Err(e) => assert_eq!(e, docent::Error::NoNode, "{e}"),
    }
    c.close().await.unwrap();
    r.put("barrier_enter_p50_us", pct(&enters, 0.50));
    r.put("barrier_enter_p99_us", pct(&enters, 0.99));
}
