//! The named latch scenarios of SCENARIOS.md, each a scripted [`FaultSchedule`] swept over a
//! few seeds (the seed varies network jitter, server choice and scheduling). Participant `a`
//! joins first and leads when the faults begin; `b` and `c` queue behind it.
#![cfg(madsim)]

use std::sync::Arc;
use std::time::Duration;

use docent::recipes::latch::{CloseMode, LatchOptions, LeaderLatch};
use docent::Client;
use docent_sim::check::Holds;
use docent_sim::model::Direction;
use docent_sim::{harness, Fault, FaultSchedule, Sim};
use docent_sim_tests::counting::Counting;
use docent_sim_tests::workload::{check_election, observe_latch, ELECTION};

type R = Result<(), Box<dyn std::error::Error>>;

const SEEDS: u64 = 16;

fn s(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn partition(client: u32, direction: Direction, secs: f64) -> Fault {
    Fault::Partition {
        client,
        server: None,
        direction,
        duration: s(secs),
    }
}

fn lag(server: usize, secs: f64, for_secs: f64) -> Fault {
    Fault::FollowerLag {
        server,
        lag: s(secs),
        duration: s(for_secs),
    }
}

/// Starts `a`'s latch, waits until it leads, then starts the others.
async fn a_leads_first(
    sim: &Sim,
    timeline: &Holds,
) -> Result<Vec<(String, LeaderLatch)>, Box<dyn std::error::Error>> {
    let mut latches = Vec::new();
    for who in sim.names() {
        // `a` is closed by some scenarios: its leaving is reported.
        let options = LatchOptions::default()
            .id(who)
            .close_mode(CloseMode::NotifyLeader);
        let latch = LeaderLatch::start(&sim.client(who), ELECTION, options).await?;
        observe_latch(sim, timeline, who, latch.events());
        if who == "a" {
            latch.await_leadership().await?;
        }
        latches.push((who.clone(), latch));
    }
    Ok(latches)
}

fn leading(latches: &[(String, LeaderLatch)]) -> Vec<String> {
    latches
        .iter()
        .filter(|(_, l)| l.has_leadership())
        .map(|(w, _)| w.clone())
        .collect()
}

/// The election checks after the scripted faults: one leader, no overlap, tokens in order.
async fn settle(sim: &Sim, timeline: &Holds, latches: &[(String, LeaderLatch)]) -> R {
    check_election(sim, timeline, || leading(latches)).await?;
    Ok(())
}

/// CURATOR-696: the ensemble unreachable past session expiry, followers lagging, so that the
/// reconnecting leader may meet its old, about-to-be-reaped node.
#[test]
fn latch_double_leader_after_expiry() {
    harness!("latch_double_leader_after_expiry")
        .schedule(
            FaultSchedule::new()
                .at(s(1.0), lag(1, 3.0, 40.0))
                .at(s(1.0), lag(2, 3.0, 40.0))
                .at(s(3.0), partition(0, Direction::Both, 14.0)),
        )
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let timeline = Holds::new();
            let latches = a_leads_first(&sim, &timeline).await?;
            sim.sleep_until(s(16.5)).await;
            // The outage outlived a's session: someone else leads by now, a does not.
            let now = leading(&latches);
            if now.contains(&"a".to_string()) || now.len() != 1 {
                return Err(format!("leaders at 16.5 s (a expired): {now:?}").into());
            }
            settle(&sim, &timeline, &latches).await
        });
}

/// CURATOR-653/644/645/504: both contenders SUSPENDED → RECONNECTED close together, then a
/// mass reconnect, during an election.
#[test]
fn latch_reconnect_race() {
    harness!("latch_reconnect_race")
        .schedule(
            FaultSchedule::new()
                .at(s(2.0), partition(0, Direction::Both, 7.5))
                .at(s(2.001), partition(1, Direction::Both, 7.5))
                .at(s(12.0), Fault::LeaderChange)
                .at(s(12.3), Fault::LeaderChange)
                .at(s(14.0), partition(0, Direction::ToClient, 7.2))
                .at(s(14.0), partition(2, Direction::ToClient, 7.2)),
        )
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let timeline = Holds::new();
            let latches = a_leads_first(&sim, &timeline).await?;
            settle(&sim, &timeline, &latches).await
        });
}

/// CURATOR-620: RECONNECTED handled with a stale children list (lagging followers, a forced
/// expiry, repeated reconnects).
#[test]
fn latch_stale_children() {
    harness!("latch_stale_children")
        .schedule(
            FaultSchedule::new()
                .at(s(1.0), lag(1, 2.0, 40.0))
                .at(s(1.0), lag(2, 2.0, 40.0))
                .at(s(5.0), Fault::ExpireSession { client: 0 })
                .at(s(8.0), Fault::LeaderChange)
                .at(
                    s(10.0),
                    Fault::Partition {
                        client: 1,
                        server: Some(0),
                        direction: Direction::Both,
                        duration: s(7.0),
                    },
                )
                .at(s(20.0), Fault::LeaderChange),
        )
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let timeline = Holds::new();
            let latches = a_leads_first(&sim, &timeline).await?;
            settle(&sim, &timeline, &latches).await
        });
}

/// CURATOR-724: the latch parent is removed while every participant is disconnected; the
/// latches must recover.
#[test]
fn latch_parent_vanished() {
    harness!("latch_parent_vanished")
        .clients(["a", "b", "c", "janitor"])
        .schedule(
            FaultSchedule::new()
                .at(s(2.0), partition(0, Direction::Both, 8.0))
                .at(s(2.0), partition(1, Direction::Both, 8.0))
                .at(s(2.0), partition(2, Direction::Both, 8.0)),
        )
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let timeline = Holds::new();
            let mut latches = Vec::new();
            for who in ["a", "b", "c"] {
                let latch =
                    LeaderLatch::start(&sim.client(who), ELECTION, LatchOptions::default().id(who))
                        .await?;
                observe_latch(&sim, &timeline, who, latch.events());
                latches.push((who.to_string(), latch));
            }
            sim.sleep_until(s(4.0)).await;
            let janitor = sim.client("janitor");
            janitor
                .delete()
                .children_if_needed()
                .at(ELECTION)
                .await
                .map_err(|e| format!("janitor: {e}"))?;
            if sim.inspect(|m| m.node(None, ELECTION).is_some()) {
                return Err("the parent survived the janitor".into());
            }
            sim.sleep_until(s(10.0)).await;
            let leader = docent_sim_tests::workload::await_one_leader(
                &sim,
                ELECTION,
                s(10.0) + docent_sim_tests::workload::SETTLE,
                || leading(&latches),
            )
            .await?;
            timeline.check_exclusive(&sim)?;
            timeline.check_tokens(&sim)?;
            assert!(!leader.is_empty());
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// A partition without expiry: the leader must report not-leader while cut off (nobody else
/// may lead, its session lives), and lead again once back.
#[test]
fn latch_ignores_disconnect() {
    harness!("latch_ignores_disconnect")
        .schedule(FaultSchedule::new().at(s(2.0), partition(0, Direction::Both, 8.0)))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let timeline = Holds::new();
            let latches = a_leads_first(&sim, &timeline).await?;
            sim.sleep_until(s(9.5)).await;
            let now = leading(&latches);
            if !now.is_empty() {
                return Err(format!("leaders while a is cut off: {now:?}").into());
            }
            let leader = check_election(&sim, &timeline, || leading(&latches)).await?;
            if leader != "a" {
                return Err(format!("{leader} leads after the partition, not a").into());
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// CURATOR-441/444: a mass reconnect of eight participants; the request burst is measured
/// (printed) and bounded: each re-lists once and re-watches its predecessor.
#[test]
fn herd_on_reconnect() {
    let names: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
    harness!("herd_on_reconnect")
        .clients(names)
        .schedule(FaultSchedule::new().at(s(5.0), Fault::LeaderChange))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let timeline = Holds::new();
            let mut latches = Vec::new();
            let mut counters = Vec::new();
            for who in sim.names() {
                let counting = Counting::new(sim.session(who));
                let client = Client::builder(Arc::new(counting.clone())).build()?;
                let latch =
                    LeaderLatch::start(&client, ELECTION, LatchOptions::default().id(who)).await?;
                observe_latch(&sim, &timeline, who, latch.events());
                latches.push((who.clone(), latch));
                counters.push(counting);
            }
            sim.sleep_until(s(4.9)).await;
            let count = |f: fn(&Counting<docent_sim::SimSession>) -> u64| -> u64 {
                counters.iter().map(f).sum()
            };
            let (lists, requests) = (count(Counting::lists), count(Counting::requests));
            sim.sleep_until(s(9.0)).await;
            let burst_lists = count(Counting::lists) - lists;
            let burst = count(Counting::requests) - requests;
            let n = counters.len() as u64;
            eprintln!(
                "herd_on_reconnect seed {}: {burst} requests ({burst_lists} getChildren) from {n} \
                 participants after a mass reconnect",
                sim.seed()
            );
            if burst_lists > n + 1 || burst > 3 * n {
                return Err(format!(
                    "burst of {burst} requests ({burst_lists} getChildren) from {n} participants"
                )
                .into());
            }
            settle(&sim, &timeline, &latches).await
        });
}

/// Sanity for the scripting: closing the leader's latch hands leadership on at once.
#[test]
fn latch_handover_on_close() {
    harness!("latch_handover_on_close")
        .no_faults()
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let timeline = Holds::new();
            let mut latches = a_leads_first(&sim, &timeline).await?;
            sim.sleep_until(s(1.0)).await;
            let (_, a) = latches.remove(0);
            a.close().await?;
            timeline.set("a", None, sim.now());
            sim.sleep_until(s(1.1)).await;
            let now = leading(&latches);
            if now.len() != 1 {
                return Err(format!("leaders 0.1 s after a closed: {now:?}").into());
            }
            timeline.check_exclusive(&sim)?;
            timeline.check_tokens(&sim)?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}

/// The latch's side of `mutex_waiter_cut_off_one_way`: b, second in line, is cut off towards
/// the servers and hears of a's leaving late from a lagging follower; it must not lead on that
/// event alone, since its session expires at the ensemble (c then leads) while b's client,
/// counting the event as contact, still believes itself connected.
#[test]
fn latch_follower_cut_off_one_way() {
    harness!("latch_follower_cut_off_one_way")
        .schedule(
            FaultSchedule::new()
                .at(s(1.5), lag(1, 3.0, 30.0))
                .at(s(1.5), lag(2, 3.0, 30.0))
                .at(s(2.0), partition(1, Direction::ToServer, 20.0)),
        )
        .default_seeds(0..64)
        .run(|sim| async move {
            let timeline = Holds::new();
            let mut latches = a_leads_first(&sim, &timeline).await?;
            sim.sleep_until(s(3.5)).await;
            let (_, a) = latches.remove(0);
            a.close().await?;
            timeline.set("a", None, sim.now());
            settle(&sim, &timeline, &latches).await
        });
}
