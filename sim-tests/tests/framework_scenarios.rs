//! The named framework scenarios of SCENARIOS.md, each a scripted [`FaultSchedule`] swept over a
//! few seeds (the seed varies network jitter, server choice, scheduling, and whether a client
//! abandons its session on LOST or keeps trying it until the ensemble says it expired).
//!
//! - `lost_never_reported` (CURATOR-405/561): the connection-state manager
//!   (`engine/src/framework/connection.rs`: LOST injected after a session timeout in SUSPENDED,
//!   once per outage; LOST on expiry or on a new session unless already reported) and the
//!   client's state task (`framework/client.rs`: the timer, abandoning the session on LOST).
//! - `guaranteed_delete_unreachable` (CURATOR-106/42): the guaranteed delete
//!   (`framework/guaranteed.rs`: waits for a connection that came back after the op was sent,
//!   `framework/link.rs`; NoNode is success), run in the background (`framework/tasks.rs`) by a
//!   client whose retry policy (`framework/retry.rs`) is `Never`: the delete must not depend on
//!   the policy.
#![cfg(madsim)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

use docent::{Client, ConnectionState, CreateMode, RetryPolicy};
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule, Sim};

type R = Result<(), Box<dyn std::error::Error>>;

const SEEDS: u64 = 64;

/// Longer than any run: the partition never heals while the body looks.
const FOREVER: f64 = 100_000.0;

fn s(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn partition(client: u32, secs: f64) -> Fault {
    Fault::Partition {
        client,
        server: None,
        direction: Direction::Both,
        duration: s(secs),
    }
}

/// Every connection state `client` reports from now on, in order.
fn record_states(sim: &Sim, client: &Client) -> Arc<Mutex<Vec<ConnectionState>>> {
    let states = Arc::new(Mutex::new(Vec::new()));
    let mut stream = client.connection_states();
    let out = states.clone();
    sim.spawn(async move {
        while let Some(state) = stream.next().await {
            out.lock().unwrap().push(state);
        }
    });
    states
}

/// CURATOR-405/561: with the whole ensemble out of reach, LOST must come (Curator 2 never
/// reported it), once per loss: never zero times, never a storm of them while the outage
/// lasts. `a` loses the ensemble for good; for `b` and `c` the ensemble itself goes down for
/// four session timeouts, then their sessions are expired twice each, and `b` is cut off
/// past its session timeout once more. Each of those is one loss, hence one LOST.
#[test]
fn lost_never_reported() {
    let schedule = FaultSchedule::new()
        .at(s(5.0), partition(0, FOREVER))
        .at(s(5.0), Fault::QuorumLoss { duration: s(40.0) })
        .at(s(60.0), Fault::ExpireSession { client: 1 })
        .at(s(62.0), Fault::ExpireSession { client: 2 })
        .at(s(75.0), Fault::ExpireSession { client: 1 })
        .at(s(77.0), Fault::ExpireSession { client: 2 })
        .at(s(90.0), partition(1, 25.0));
    harness!("lost_never_reported")
        .schedule(schedule)
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let recorded: Vec<_> = ["a", "b", "c"]
                .iter()
                .map(|who| (*who, record_states(&sim, &sim.client(who))))
                .collect();
            // `a`'s outage lasts ten session timeouts before the body looks.
            sim.sleep_until(s(130.0)).await;
            for (who, states) in recorded {
                let states = states.lock().unwrap().clone();
                let (losses, last) = match who {
                    "a" => (1, ConnectionState::Lost),
                    "b" => (4, ConnectionState::Reconnected),
                    _ => (3, ConnectionState::Reconnected),
                };
                let lost = states
                    .iter()
                    .filter(|s| **s == ConnectionState::Lost)
                    .count();
                if lost != losses || states.last() != Some(&last) {
                    return Err(format!(
                        "{who}: {losses} losses should give {losses} LOST and end {last:?}; \
                         it reported {lost}: {states:?}"
                    )
                    .into());
                }
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// Polls (every 100 ms) until `f` holds or `deadline` passes.
async fn eventually(sim: &Sim, deadline: Duration, what: &str, f: impl Fn() -> bool) -> R {
    while !f() {
        if sim.now() >= deadline {
            return Err(format!("{what}: still not so at {:?}", sim.now()).into());
        }
        sim.sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The outcome of a guaranteed delete run in the background, once it has one.
type Outcome = Arc<Mutex<Option<(Duration, Result<(), docent::Error>)>>>;

fn delete_in_background(sim: &Sim, client: &Client, path: &'static str) -> Outcome {
    let outcome = Outcome::default();
    let (sim2, client, out) = (sim.clone(), client.clone(), outcome.clone());
    sim.spawn(async move {
        let result = client.delete().guaranteed().at(path).await;
        *out.lock().unwrap() = Some((sim2.now(), result));
    });
    outcome
}

/// CURATOR-106/42: guaranteed deletes issued while the whole ensemble is out of reach for six
/// session timeouts (LOST, the session abandoned or expired meanwhile), by a client that
/// never retries on its own. Nothing piles up while it waits: each delete is sent once, and
/// at most those two wait for an answer. After healing both complete: `x` by deleting it,
/// `y` (deleted by `b` meanwhile) on NoNode. A third delete whose reply is lost after it was
/// applied also ends on NoNode.
#[test]
fn guaranteed_delete_unreachable() {
    const HEAL: f64 = 65.0;
    harness!("guaranteed_delete_unreachable")
        .schedule(FaultSchedule::new().at(s(5.0), partition(0, HEAL - 5.0)))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let a = sim.client_builder("a").retry(RetryPolicy::Never).build()?;
            let b = sim.client("b");
            for path in ["/gd", "/gd/x", "/gd/y", "/gd/z"] {
                b.create().mode(CreateMode::Persistent).at(path).await?;
            }
            let me = sim.client_id("a");
            let ops = || sim.inspect(|m| m.client_ops(me));
            // Well inside the outage: `a` is SUSPENDED.
            sim.sleep_until(s(15.0)).await;
            let (before, _) = ops();
            let x = delete_in_background(&sim, &a, "/gd/x");
            let y = delete_in_background(&sim, &a, "/gd/y");
            sim.sleep_until(s(20.0)).await;
            b.delete().at("/gd/y").await?;
            let mut most_pending = 0;
            while sim.now() < s(HEAL) {
                most_pending = most_pending.max(ops().1);
                sim.sleep(Duration::from_millis(100)).await;
            }
            let (sent, _) = ops();
            if sent - before > 2 || most_pending > 2 {
                return Err(format!(
                    "while unreachable, two deletes were sent {} times, and up to \
                     {most_pending} ops waited at once",
                    sent - before
                )
                .into());
            }
            let done = |o: &Outcome| o.lock().unwrap().is_some();
            eventually(&sim, s(HEAL + 30.0), "both deletes done", || {
                done(&x) && done(&y)
            })
            .await?;
            for (path, outcome) in [("/gd/x", &x), ("/gd/y", &y)] {
                let (at, result) = outcome.lock().unwrap().clone().expect("done");
                if at < s(HEAL) || result.is_err() {
                    return Err(format!("{path}: {result:?} at {at:?}").into());
                }
                if sim.inspect(|m| m.node(None, path).is_some()) {
                    return Err(format!("{path}: still there after its delete").into());
                }
            }
            // Applied, reply lost with the connection: the retry finds NoNode, which is success.
            sim.inject(Fault::LoseReply { client: 0 });
            a.delete().guaranteed().at("/gd/z").await?;
            if sim.inspect(|m| m.node(None, "/gd/z").is_some()) {
                return Err("/gd/z: still there after its delete".into());
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
