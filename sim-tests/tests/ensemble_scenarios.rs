//! The ensemble scenario of SCENARIOS.md, a scripted [`FaultSchedule`] swept over a few seeds.
//!
//! - `ensemble_reconfig_chroot` (CURATOR-593/611/384/402): the ensemble tracker
//!   (`transport-sim/src/follow.rs`, the same loop as `docent-zk`'s) over
//!   `EnsembleConfig::client_hosts` (`engine/src/ensemble/config.rs`: a wildcard client address
//!   becomes the server's host) into a fixed `EnsembleProvider`, whose hosts replace the
//!   client's server list while the chroot stays with the client (ZooKeeper's client-side
//!   chroot, `transport-sim/src/model/client.rs`).
#![cfg(madsim)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;

use docent::recipes::latch::{LatchOptions, LeaderLatch};
use docent::{Client, Coordinator, CreateMode};
use docent_sim::model::{server_host, ClientOptions, Direction, CLIENT_PORT};
use docent_sim::{harness, EnsembleSource, Fault, FaultSchedule};

const SEEDS: u64 = 64;
const ROOT: &str = "/app";

fn s(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn reconfig(joining: &[usize], leaving: &[usize]) -> Fault {
    Fault::Reconfig {
        joining: joining.to_vec(),
        leaving: leaving.to_vec(),
    }
}

/// CURATOR-593/611: the dynamic config gives `0.0.0.0` as every client address (ZooKeeper's
/// default `clientPortAddress`), and Curator connected there; CURATOR-384/402: the tracker's
/// new connection string dropped the chroot, so after the next reconnect the client worked at
/// the root. Here a chrooted client (client 1) with a latch and an ephemeral node follows the
/// replacement of all three servers (each new one joins, then an old one leaves, every
/// `/zookeeper/config` listing `0.0.0.0`), then is cut off and reconnects: its provider must
/// never list a wildcard address and end on the new servers, its session must be the one it
/// started with, and every node it made, before and after, must be under its chroot.
#[test]
fn ensemble_reconfig_chroot() {
    let schedule = FaultSchedule::new()
        .at(s(5.0), reconfig(&[3], &[]))
        .at(s(7.0), reconfig(&[], &[0]))
        .at(s(9.0), reconfig(&[4], &[]))
        .at(s(11.0), reconfig(&[], &[1]))
        .at(s(13.0), reconfig(&[5], &[]))
        .at(s(15.0), reconfig(&[], &[2]))
        .at(
            s(20.0),
            Fault::Partition {
                client: 1,
                server: None,
                direction: Direction::Both,
                duration: s(4.0),
            },
        );
    harness!("ensemble_reconfig_chroot")
        .clients(["admin"])
        .schedule(schedule)
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            sim.client("admin").create().at(ROOT).await?;
            let options = ClientOptions::default().chroot(ROOT);
            let (session, provider) = sim.connect(options, EnsembleSource::Tracker);
            let provider = provider.expect("a tracked provider");
            let lists = Arc::new(Mutex::new(Vec::new()));
            let (mut changes, seen) = (provider.watch(), lists.clone());
            sim.spawn(async move {
                while let Some(servers) = changes.next().await {
                    seen.lock().unwrap().push(servers);
                }
            });
            session.wait_connected().await;
            let first = session.session_id();
            let client = Client::builder(session.clone()).build()?;
            let latch =
                LeaderLatch::start(&client, "/election", LatchOptions::default().id("x")).await?;
            let member = client.create().mode(CreateMode::Ephemeral);
            member.data("before").at("/member").await?;
            sim.sleep_until(s(30.0)).await;
            client.create().data("after").at("/after").await?;
            let wildcard = lists
                .lock()
                .unwrap()
                .iter()
                .flatten()
                .any(|(host, _)| host == "0.0.0.0" || host == "::");
            if wildcard {
                return Err(format!("a wildcard address was listed: {lists:?}").into());
            }
            let want: Vec<_> = (3..6).map(|s| (server_host(s), CLIENT_PORT)).collect();
            if provider.servers() != want {
                return Err(format!("provider ends on {:?}", provider.servers()).into());
            }
            if session.session_id() != first {
                return Err(format!("session {first:#x} lost by moving").into());
            }
            for (path, data) in [("/member", &b"before"[..]), ("/after", b"after")] {
                let (under, at_root) = sim.inspect(|e| {
                    let under = e.node(None, &format!("{ROOT}{path}")).map(|n| n.0);
                    (under, e.node(None, path).is_some())
                });
                if under.as_deref() != Some(data) || at_root {
                    return Err(format!(
                        "{path}: under the chroot {under:?}, at the root {at_root}"
                    )
                    .into());
                }
            }
            let leading = sim.inspect(|e| e.node(None, &format!("{ROOT}/election")).map(|n| n.2));
            if !latch.has_leadership() || leading.as_ref().is_none_or(|c| c.len() != 1) {
                return Err(format!("the latch under the chroot: {leading:?}").into());
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
