//! Membership workloads: a fault schedule that replaces every server (the swarm mix plus
//! [`FaultSchedule::membership`]), a chrooted observer that must stay at its root and keep its
//! session through every move, and the check that providers end listing the members.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::ensemble::{EnsembleProvider, Servers};
use docent::{Acl, Coordinator, CreateMode, Error, Op, OpResult};
use docent_sim::model::{server_host, ClientOptions, CLIENT_PORT};
use docent_sim::{EnsembleSource, FaultSchedule, Sim, SimSession};

use crate::workload::ensure_dir;

/// The chroot of the observer.
pub const ROOTED: &str = "/rooted";

/// The swarm mix over `window` with the membership faults on, for `clients` named clients
/// and the harness's default 3 servers and 10 s sessions.
pub fn membership_swarm(
    clients: u32,
    window: Duration,
) -> impl Fn(u64) -> FaultSchedule + Send + Sync + 'static {
    move |seed| {
        let mut cfg = docent_sim::model::SwarmConfig::new(3, clients, window);
        cfg.membership = true;
        FaultSchedule::swarm(seed, &cfg)
    }
}

/// A client under [`ROOTED`], never the target of a client fault, writing a node every
/// second: each must land under its root, and its session must survive every move.
pub struct Rooted {
    session: Arc<SimSession>,
    provider: Option<EnsembleProvider>,
    first_session: Arc<AtomicI64>,
    problems: Arc<Mutex<Vec<String>>>,
    /// The provider once listed no running member (a stale list, the backup string, or every
    /// member it knows down).
    astray: Arc<AtomicBool>,
    last_write: Arc<Mutex<Option<Duration>>>,
}

impl Rooted {
    /// Connects the observer (its servers from `source`) and starts its writes (once its root
    /// exists), until `until`.
    pub fn start(sim: &Sim, source: EnsembleSource, until: Duration) -> Rooted {
        let options = ClientOptions::default().chroot(ROOTED);
        let (session, provider) = sim.connect(options, source);
        let rooted = Rooted {
            provider,
            first_session: Arc::default(),
            session,
            problems: Arc::default(),
            astray: Arc::default(),
            last_write: Arc::default(),
        };
        let (s, sim2) = (rooted.session.clone(), sim.clone());
        let (problems, last_write) = (rooted.problems.clone(), rooted.last_write.clone());
        let first = rooted.first_session.clone();
        let (astray, provider) = (rooted.astray.clone(), rooted.provider.clone());
        sim.spawn(async move {
            ensure_dir(&sim2, ROOTED).await;
            let mut k = 0u32;
            while sim2.now() < until {
                if provider
                    .as_ref()
                    .is_some_and(|p| lists_no_running_member(&sim2, p))
                {
                    astray.store(true, Ordering::Relaxed);
                }
                if first.load(Ordering::Relaxed) == 0 {
                    first.store(s.session_id(), Ordering::Relaxed);
                }
                let name = format!("/n-{k}");
                let op = Op::Create {
                    path: name.clone(),
                    data: k.to_be_bytes().to_vec(),
                    acl: Acl::open(),
                    mode: CreateMode::Persistent,
                };
                let landed = match s.submit(op).await.map(|r| r.result) {
                    Ok(OpResult::Created { path, .. }) if path != name => {
                        Some(Err(format!("created {path:?}, asked for {name:?}")))
                    }
                    Ok(_) | Err(Error::NodeExists) => Some(Ok(())),
                    Err(_) => None,
                };
                if let Some(landed) = landed {
                    let under = format!("{ROOTED}{name}");
                    let truth = sim2.inspect(|e| (e.node(None, &under), e.node(None, &name)));
                    let problem = match (landed, truth) {
                        (Err(e), _) => Some(e),
                        (Ok(()), (Some((data, ..)), None)) if data == k.to_be_bytes() => None,
                        (Ok(()), truth) => Some(format!("{name} landed as {truth:?}")),
                    };
                    if let Some(p) = problem {
                        problems
                            .lock()
                            .unwrap()
                            .push(format!("{:?}: {p}", sim2.now()));
                    }
                    *last_write.lock().unwrap() = Some(sim2.now());
                }
                k += 1;
                sim2.sleep(Duration::from_secs(1)).await;
            }
        });
        rooted
    }

    /// Every write landed under the root; unless it was [`stranded`], one succeeded after
    /// `since`; and the session is the one it started with unless its provider once listed
    /// no running member (checked every second): a stale Exhibitor list, the backup string
    /// used when no Exhibitor answers (as in Curator 4.x), or a list whose members are all
    /// down can keep a client away past its session timeout; that is not a move alone.
    pub fn check(&self, sim: &Sim, since: Duration) -> Result<(), String> {
        if let Some(p) = self.problems.lock().unwrap().first() {
            return Err(format!("the chrooted client wrote at the wrong root: {p}"));
        }
        if self
            .provider
            .as_ref()
            .is_some_and(|p| lists_no_member(sim, p))
        {
            return Ok(());
        }
        if self.last_write.lock().unwrap().is_none_or(|t| t < since) {
            return Err(format!("the chrooted client wrote nothing after {since:?}"));
        }
        let astray = self.astray.load(Ordering::Relaxed);
        let (first, now) = (
            self.first_session.load(Ordering::Relaxed),
            self.session.session_id(),
        );
        if now != first && !astray {
            return Err(format!(
                "the chrooted client lost session {first:#x} (now {now:#x}) though only moved"
            ));
        }
        Ok(())
    }
}

/// The members, as a provider lists them.
fn member_hosts(sim: &Sim) -> Servers {
    let members = sim.inspect(|e| e.members());
    members
        .iter()
        .map(|&s| (server_host(s), CLIENT_PORT))
        .collect()
}

fn lists_no_member(sim: &Sim, provider: &EnsembleProvider) -> bool {
    let members = member_hosts(sim);
    !provider.servers().iter().any(|s| members.contains(s))
}

fn lists_no_running_member(sim: &Sim, provider: &EnsembleProvider) -> bool {
    let running: Servers = sim.inspect(|e| {
        let members = e.members();
        members
            .into_iter()
            .filter(|&s| e.server_up(s))
            .map(|s| (server_host(s), CLIENT_PORT))
            .collect()
    });
    !provider.servers().iter().any(|s| running.contains(s))
}

/// The live named clients whose provider lists no current member: the faults kept them away
/// (partitioned, paused, the ensemble without a quorum) for the whole replacement, so no
/// client library could find the ensemble again. Their liveness cannot be asked for; safety
/// still is.
pub fn stranded(sim: &Sim) -> Vec<String> {
    sim.names()
        .iter()
        .filter(|who| !sim.crashed(who))
        .filter(|who| sim.provider(who).is_some_and(|p| lists_no_member(sim, &p)))
        .cloned()
        .collect()
}

/// Every live named client's provider lists exactly the current members (the [`stranded`]
/// ones aside).
pub fn check_providers(sim: &Sim) -> Result<(), String> {
    let want = member_hosts(sim);
    let stranded = stranded(sim);
    for who in sim.names() {
        let Some(provider) = sim.provider(who) else {
            continue;
        };
        if !sim.crashed(who) && !stranded.contains(who) && provider.servers() != want {
            return Err(format!(
                "{who}'s provider lists {:?}, the members are {want:?}",
                provider.servers()
            ));
        }
    }
    Ok(())
}
