//! Service discovery under faults: the swarm suite and the named discovery scenarios of
//! SCENARIOS.md.
//!
//! Every registering process makes its calls through a [`Process`], which writes what it asked
//! for into a shared [`Ledger`] (at the very moment the command reaches the registry, so the
//! ledger's order is the registry's) and what came back. A checker reads the ensemble's ground
//! truth after every model step that committed something:
//!
//! - no phantom: once an `unregister` returned Ok, the instance's node never exists again;
//! - no stale content: a node holds some content its process issued for it, never older than
//!   the latest one a `register` / `update` that returned Ok wrote;
//! - nothing else lives under the service's node.
//!
//! After the faults heal, within [`SETTLE`], the ground truth must show exactly what the live
//! processes registered (latest content; DYNAMIC nodes owned by the current session), a fresh
//! query and every live process's `ServiceCache` and `ServiceProvider` must agree with it, in
//! content (payload, `enabled`, …), not only in ids.
//! A crashed process's DYNAMIC instances go with its session; its persistent ones stay, with
//! whichever content was last written.
//!
//! The scenarios script their faults: `discovery_stale_reregister` (updates and unregisters
//! while cut off, at reconnection, across session expiry) and `discovery_poison_instance`
//! (foreign nodes under the service); each runs the first [`SEEDS`] seeds by default.
//!
//! `DOCENT_SEEDS=0..500` runs more seeds (the swarm's and the scenarios' alike);
//! `DOCENT_TRACE=1` prints each call, cache event and connection state.
#![cfg(madsim)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{self, BoxFuture};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use docent::discovery::{
    CacheEvent, Payload, RoundRobin, ServiceCache, ServiceCacheOptions, ServiceDiscovery,
    ServiceInstance, ServiceProvider, ServiceType, UriSpec,
};
use docent::rng::Rng;
use docent::{Coordinator, Error};
use docent_sim::model::Direction;
use docent_sim::{harness, Ensemble, Fault, FaultSchedule, Sim};
use docent_sim_tests::workload::trace;

type BoxError = Box<dyn std::error::Error>;
type R = Result<(), BoxError>;

const BASE: &str = "/services";
const SERVICE: &str = "svc";
/// The service's node, `BASE/SERVICE`.
const DIR: &str = "/services/svc";
/// How long after the faults healed everything must agree (a crashed process's session needs
/// its timeout to expire first).
const SETTLE: Duration = Duration::from_secs(40);
/// Once everything agrees, it must still agree this much later.
const STABLE: Duration = Duration::from_secs(5);
/// Seeds each scripted scenario runs by default (`DOCENT_SEEDS` lifts it).
const SEEDS: u64 = 16;

fn s(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

fn node_path(id: &str) -> String {
    format!("{DIR}/{id}")
}

// ---- the ledger: what the processes asked for, and what the ensemble shows ----

/// What its process asked for one instance, and what came back.
#[derive(Debug)]
struct Record {
    owner: String,
    /// Every content issued for it (register or update), in order; payloads are unique.
    history: Vec<ServiceInstance>,
    /// False once an unregister was issued.
    registered: bool,
    /// The latest content (index into `history`) a call that returned Ok wrote.
    confirmed: Option<usize>,
    /// When an unregister returned Ok.
    gone_at: Option<Duration>,
    /// Calls not returned yet.
    pending: usize,
}

impl Record {
    fn latest(&self) -> &ServiceInstance {
        self.history
            .last()
            .expect("a record starts with a register")
    }
}

#[derive(Debug, Default)]
struct Ledger {
    records: BTreeMap<String, Record>,
    /// The first invariant broken, with when.
    violation: Option<String>,
    /// Committed states checked.
    states: u64,
    /// Calls that returned, by outcome.
    outcomes: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default)]
struct Shared(Arc<Mutex<Ledger>>);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `owner`'s registered instances (latest content), by id.
    fn registered_of(&self, owner: &str) -> Vec<ServiceInstance> {
        let ledger = self.lock();
        let mine = ledger.records.values().filter(|r| r.owner == owner);
        mine.filter(|r| r.registered)
            .map(|r| r.latest().clone())
            .collect()
    }

    /// Counts a call's outcome (`"update ok"`, `"register NotConnected"`, …) for the summary.
    fn returned(&self, what: &str, result: &Result<(), Error>) {
        let outcome = match result {
            Ok(()) => "ok".to_owned(),
            // The variant's name, without its fields.
            Err(e) => format!("{e:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        *self
            .lock()
            .outcomes
            .entry(format!("{what} {outcome}"))
            .or_default() += 1;
    }
}

/// One process: its client's discovery, cache and a provider reading that cache; calls are
/// recorded in the ledger.
#[derive(Clone)]
struct Process {
    sim: Sim,
    name: String,
    discovery: Arc<ServiceDiscovery>,
    cache: Arc<ServiceCache>,
    provider: Arc<ServiceProvider>,
    ledger: Shared,
}

impl Process {
    async fn start(sim: &Sim, name: &str, ledger: &Shared) -> Result<Process, Error> {
        let client = sim.client(name);
        let discovery = ServiceDiscovery::start(&client, BASE).await?;
        // Not waiting for the first load: the ensemble may be unreachable.
        let options = ServiceCacheOptions::default().await_load(false);
        let cache = Arc::new(ServiceCache::start(&discovery, SERVICE, options).await?);
        let provider = ServiceProvider::builder(&discovery, SERVICE)
            .strategy(RoundRobin::default())
            .build_on(cache.clone());
        let process = Process {
            sim: sim.clone(),
            name: name.to_owned(),
            discovery: Arc::new(discovery),
            cache,
            provider: Arc::new(provider),
            ledger: ledger.clone(),
        };
        // For DOCENT_TRACE: what the process's cache and connection went through.
        let (mut events, mut states) = (process.cache.events(), client.connection_states());
        let (sim2, who) = (sim.clone(), name.to_owned());
        sim.spawn(async move {
            while let Some(event) = events.next().await {
                let brief = |what: &str, i: &ServiceInstance| format!("{what} {:?}", i.payload);
                match event {
                    CacheEvent::Added(i) => trace(&sim2, &who, &brief("cache added", &i)),
                    CacheEvent::Updated(i) => trace(&sim2, &who, &brief("cache updated", &i)),
                    CacheEvent::Removed(i) => trace(&sim2, &who, &brief("cache removed", &i)),
                    other => trace(&sim2, &who, &other),
                }
            }
        });
        let (sim2, who) = (sim.clone(), name.to_owned());
        sim.spawn(async move {
            while let Some(state) = states.next().await {
                trace(&sim2, &who, &state);
            }
        });
        // The process uses its provider all along, as an application would: a provider that
        // kept an outdated pick list across a content-only change is caught.
        let (sim2, provider) = (sim.clone(), process.provider.clone());
        sim.spawn(async move {
            loop {
                let _ = provider.get_instance();
                sim2.sleep(Duration::from_millis(250)).await;
            }
        });
        Ok(process)
    }

    // The ledger entry is written in the same poll that hands the command to the registry
    // (the discovery calls send it on their first poll, before any await), so concurrent calls
    // are recorded in the order the registry receives them.

    /// Registers `instance` (a new id, or new content for a registered one).
    async fn register(&self, instance: ServiceInstance) {
        let index = {
            let mut ledger = self.ledger.lock();
            let record = ledger
                .records
                .entry(instance.id.clone())
                .or_insert_with(|| Record {
                    owner: self.name.clone(),
                    history: Vec::new(),
                    registered: true,
                    confirmed: None,
                    gone_at: None,
                    pending: 0,
                });
            assert!(record.gone_at.is_none(), "the workload reuses no id");
            record.history.push(instance.clone());
            record.registered = true;
            record.pending += 1;
            record.history.len() - 1
        };
        let result = self.discovery.register(&instance).await;
        self.write_returned(&instance, index, "register", result);
    }

    /// Updates a registered instance's content.
    async fn update(&self, instance: ServiceInstance) {
        let index = {
            let mut ledger = self.ledger.lock();
            let record = ledger.records.get_mut(&instance.id).expect("registered");
            record.history.push(instance.clone());
            record.pending += 1;
            record.history.len() - 1
        };
        let result = self.discovery.update(&instance).await;
        self.write_returned(&instance, index, "update", result);
    }

    /// Unregisters an instance.
    async fn unregister(&self, instance: ServiceInstance) {
        {
            let mut ledger = self.ledger.lock();
            let record = ledger.records.get_mut(&instance.id).expect("registered");
            record.registered = false;
            record.pending += 1;
        }
        let result = self.discovery.unregister(&instance).await;
        let now = self.sim.now();
        trace(
            &self.sim,
            &self.name,
            &("unregister", &instance.id, &result),
        );
        self.ledger.returned("unregister", &result);
        let mut ledger = self.ledger.lock();
        let record = ledger.records.get_mut(&instance.id).expect("recorded");
        record.pending -= 1;
        if result.is_ok() {
            record.gone_at = Some(now);
        }
    }

    fn write_returned(
        &self,
        instance: &ServiceInstance,
        index: usize,
        what: &str,
        result: Result<(), Error>,
    ) {
        trace(&self.sim, &self.name, &(what, &instance.id, index, &result));
        self.ledger.returned(what, &result);
        let mut ledger = self.ledger.lock();
        let record = ledger.records.get_mut(&instance.id).expect("recorded");
        record.pending -= 1;
        if result.is_ok() {
            record.confirmed = record.confirmed.max(Some(index));
        }
    }
}

/// A new instance of the service.
fn instance(rng: &mut Rng, sim: &Sim, id: &str, port: u16, kind: ServiceType) -> ServiceInstance {
    let spec: UriSpec = "{scheme}://{address}:{port}".parse().expect("a valid spec");
    ServiceInstance::builder(SERVICE)
        .id(id)
        .address(format!("10.0.0.{}", port % 250))
        .port(port)
        .payload_string(format!("{id} v0"))
        .service_type(kind)
        .uri_spec(spec)
        .build_with(rng, 1_700_000_000_000 + sim.now().as_millis() as i64)
        .expect("a valid instance")
}

/// `instance` with payload `{id} v{version}` (and maybe another `enabled`).
fn revised(instance: &ServiceInstance, version: u64, enabled: bool) -> ServiceInstance {
    let payload = Payload::String(format!("{} v{version}", instance.id));
    instance.with_payload(Some(payload)).with_enabled(enabled)
}

// ---- the checks ----

/// The invariants of one committed state (see the module docs).
fn check_tree(e: &Ensemble, ledger: &Ledger) -> Result<(), String> {
    let children = e.node(None, DIR).map(|n| n.2).unwrap_or_default();
    if let Some(stranger) = children.iter().find(|c| !ledger.records.contains_key(*c)) {
        return Err(format!("{DIR}/{stranger} exists but nobody registered it"));
    }
    for (id, record) in &ledger.records {
        let Some((data, stat, _)) = e.node(None, &node_path(id)) else {
            continue;
        };
        if let Some(at) = record.gone_at {
            return Err(format!(
                "phantom: {id} of {} was unregistered at {at:?} but is back \
                 (owner session {:#x}): {}",
                record.owner,
                stat.ephemeral_owner,
                String::from_utf8_lossy(&data)
            ));
        }
        let found = ServiceInstance::from_json(&data).map_err(|e| format!("{id}: {e}"))?;
        let Some(index) = record.history.iter().rposition(|h| *h == found) else {
            return Err(format!("{id} holds content never issued: {found:?}"));
        };
        if record.confirmed.is_some_and(|c| index < c) {
            return Err(format!(
                "stale content: {id} holds version {index} after version {} was confirmed",
                record.confirmed.unwrap_or_default()
            ));
        }
    }
    Ok(())
}

/// Checks the ground truth after every model step that committed something, until the run
/// ends; the first broken invariant is kept in the ledger.
async fn watch_commits(sim: Sim, ledger: Shared) {
    let mut seen = 0usize;
    loop {
        let now = sim.now();
        let next = {
            let mut guard = ledger.lock();
            let (committed, next, broken) = sim.inspect(|e| {
                let committed = e.committed();
                let broken = (committed != seen)
                    .then(|| check_tree(e, &guard))
                    .and_then(Result::err);
                (committed, e.poll_timeout(), broken)
            });
            if committed != seen {
                guard.states += 1;
                if let Some(what) = broken {
                    guard.violation.get_or_insert(format!("at {now:?}: {what}"));
                }
                seen = committed;
            }
            next
        };
        // A commit is scheduled ahead of when it applies, so waking for the model's next
        // timeout (or every 2 ms) sees every committed state.
        let cap = now + Duration::from_millis(2);
        let wake = next.map_or(cap, |t| t.since_epoch().clamp(now, cap));
        sim.sleep_until(wake.max(now + Duration::from_micros(1)))
            .await;
    }
}

/// What the ground truth must show for one instance once everything settled.
enum Expect<'a> {
    /// This content; owned by this session (0: persistent).
    Present(&'a ServiceInstance, i64),
    Absent,
    /// A crashed process's persistent instance whose last call never returned.
    Either,
}

/// The ground truth against the ledger; returns the instances it holds (by id).
fn check_truth(sim: &Sim, ledger: &Ledger) -> Result<Vec<ServiceInstance>, String> {
    // Per process: crashed, its (last) session, and whether the ensemble still keeps that.
    let mut owners = BTreeMap::new();
    for record in ledger.records.values() {
        let name = record.owner.as_str();
        owners.entry(name).or_insert_with(|| {
            let session = sim.session(name).session_id();
            let alive = sim.inspect(|e| e.session_alive(session));
            (sim.crashed(name), session, alive)
        });
    }
    let mut found = Vec::new();
    for (id, record) in &ledger.records {
        let (crashed, session, alive) = owners[record.owner.as_str()];
        if crashed && alive {
            // Its DYNAMIC nodes live until the ensemble expires the session (within its
            // timeout): wait for that.
            return Err(format!(
                "{} crashed; session {session:#x} not expired yet",
                record.owner
            ));
        }
        if !crashed && record.pending > 0 {
            return Err(format!("{id}: {} calls still pending", record.pending));
        }
        let latest = record.latest();
        let dynamic = latest.service_type == ServiceType::Dynamic;
        let last = record.history.len() - 1;
        let expect = match (crashed, record.registered) {
            (false, true) => Expect::Present(latest, if dynamic { session } else { 0 }),
            (false, false) => Expect::Absent,
            (true, _) if dynamic || record.gone_at.is_some() => Expect::Absent,
            (true, true) if record.pending == 0 && record.confirmed == Some(last) => {
                Expect::Present(latest, 0)
            }
            (true, _) => Expect::Either,
        };
        let node = sim.inspect(|e| e.node(None, &node_path(id)));
        let actual = node.map(|(data, stat, _)| (ServiceInstance::from_json(&data), stat));
        match (expect, actual) {
            (Expect::Absent, None) | (Expect::Either, None) => {}
            (Expect::Absent, Some(_)) => {
                return Err(format!("{id} of {} should be gone", record.owner))
            }
            (Expect::Present(..), None) => {
                return Err(format!("{id} of {} is missing", record.owner))
            }
            (_, Some((Err(e), _))) => return Err(format!("{id} is unreadable: {e}")),
            (Expect::Either, Some((Ok(instance), _))) => found.push(instance),
            (Expect::Present(want, owner), Some((Ok(instance), stat))) => {
                if instance != *want {
                    return Err(format!("{id} holds {instance:?}, expected {want:?}"));
                }
                if stat.ephemeral_owner != owner {
                    return Err(format!(
                        "{id} is owned by session {:#x}, expected {owner:#x}",
                        stat.ephemeral_owner
                    ));
                }
                found.push(instance);
            }
        }
    }
    Ok(found)
}

fn ids<'a>(instances: impl IntoIterator<Item = &'a ServiceInstance>) -> Vec<&'a str> {
    instances.into_iter().map(|i| i.id.as_str()).collect()
}

/// Everything agrees: ground truth vs ledger, and every live process's fresh query, cache,
/// provider and local registrations vs the ground truth. Content counts, not only ids: an
/// update that only flips `enabled` or changes the payload must reach every cache and provider.
async fn check_settled(sim: &Sim, ledger: &Shared, processes: &[Process]) -> Result<(), String> {
    if let Some(violation) = &ledger.lock().violation {
        return Err(violation.clone());
    }
    let truth = check_truth(sim, &ledger.lock())?;
    let eligible: Vec<&ServiceInstance> = truth.iter().filter(|i| i.enabled).collect();
    for p in processes.iter().filter(|p| !sim.crashed(&p.name)) {
        let found = p
            .discovery
            .query_for_instances(SERVICE)
            .await
            .map_err(|e| format!("{}'s query failed: {e}", p.name))?;
        if !found.unreadable.is_empty() {
            return Err(format!(
                "{}'s query found unreadable {:?}",
                p.name, found.unreadable
            ));
        }
        differs(
            &format!("{}'s query", p.name),
            found.instances.iter(),
            &truth,
        )?;
        let cached = p.cache.instances();
        differs(
            &format!("{}'s cache", p.name),
            cached.iter().map(|i| &**i),
            &truth,
        )?;
        let offered = p.provider.get_all_instances();
        let what = format!("{}'s provider (enabled only)", p.name);
        differs(
            &what,
            offered.iter().map(|i| &**i),
            eligible.iter().copied(),
        )?;
        let picked = p.provider.get_instance();
        let good = match &picked {
            Some(i) => eligible.contains(&&**i),
            None => eligible.is_empty(),
        };
        if !good {
            return Err(format!(
                "{}'s provider picked {picked:?} of {:?}",
                p.name,
                ids(eligible.iter().copied())
            ));
        }
        let registered = p.discovery.registered();
        if registered != ledger.registered_of(&p.name) {
            return Err(format!(
                "{} believes it registered {:?}, the ledger says {:?}",
                p.name,
                ids(&registered),
                ids(&ledger.registered_of(&p.name))
            ));
        }
    }
    Ok(())
}

/// `Err` naming the first instance in which `shown` (by `who`) and `expected` differ: one
/// missing on either side, or other content under the same id.
fn differs<'a>(
    who: &str,
    shown: impl IntoIterator<Item = &'a ServiceInstance>,
    expected: impl IntoIterator<Item = &'a ServiceInstance>,
) -> Result<(), String> {
    let by_id = |it: &mut dyn Iterator<Item = &'a ServiceInstance>| {
        it.map(|i| (i.id.as_str(), i)).collect::<BTreeMap<_, _>>()
    };
    let shown = by_id(&mut shown.into_iter());
    let expected = by_id(&mut expected.into_iter());
    let all: BTreeSet<&str> = shown.keys().chain(expected.keys()).copied().collect();
    for id in all {
        match (shown.get(id), expected.get(id)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                return Err(format!(
                    "{who} shows {id} as {a:?}, the ensemble holds {b:?}"
                ))
            }
            (Some(_), None) => return Err(format!("{who} shows {id}, the ensemble has none")),
            (None, _) => return Err(format!("{who} lacks {id}")),
        }
    }
    Ok(())
}

/// Polls [`check_settled`] until it holds (failing at `deadline`), then once more after
/// [`STABLE`].
async fn await_settled(sim: &Sim, ledger: &Shared, processes: &[Process], deadline: Duration) -> R {
    loop {
        match check_settled(sim, ledger, processes).await {
            Ok(()) => break,
            Err(why) if sim.now() >= deadline || ledger.lock().violation.is_some() => {
                return Err(format!("at {:?}: {why}", sim.now()).into())
            }
            Err(why) => {
                trace(sim, "settle", &why);
                sim.sleep(Duration::from_millis(500)).await
            }
        }
    }
    sim.sleep(STABLE).await;
    check_settled(sim, ledger, processes)
        .await
        .map_err(|why| format!("at {:?}, after agreeing: {why}", sim.now()).into())
}

// ---- the swarm suite ----

const REGISTRARS: [&str; 3] = ["r1", "r2", "r3"];
const WATCHER: &str = "w";
/// At most this many instances registered per process at once.
const MAX_LIVE: usize = 5;

#[test]
fn discovery_under_swarm() {
    harness!("discovery_under_swarm")
        .clients(REGISTRARS.into_iter().chain([WATCHER]))
        .swarm(Duration::from_secs(60))
        .run(|sim| async move {
            let ledger = Shared::default();
            sim.spawn(watch_commits(sim.clone(), ledger.clone()));
            let mut processes = Vec::new();
            for name in sim.names() {
                processes.push(Process::start(&sim, name, &ledger).await?);
            }
            let churns = processes[..REGISTRARS.len()]
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let rng = Rng::new(sim.seed(), 0xd15c + i as u64);
                    churn(p, rng, sim.healed_at())
                });
            future::join_all(churns).await;
            sim.sleep_until(sim.healed_at()).await;
            await_settled(&sim, &ledger, &processes, sim.healed_at() + SETTLE).await?;
            let ledger = ledger.lock();
            eprintln!(
                "seed {}: {} instances, {} states checked, calls {:?}",
                sim.seed(),
                ledger.records.len(),
                ledger.states,
                ledger.outcomes
            );
            Ok::<_, BoxError>(())
        });
}

/// One process's workload until `until`: registers, updates and unregisters its instances at
/// seeded random times, several calls in flight at once; then waits (up to [`SETTLE`]) for its
/// calls to return. Stops for good when the process crashes.
async fn churn(p: &Process, mut rng: Rng, until: Duration) {
    let sim = &p.sim;
    let mut calls: FuturesUnordered<BoxFuture<'_, ()>> = FuturesUnordered::new();
    let mut made = 0u16;
    let mut versions = 0u64;
    let mut at = Duration::from_millis(rng.below(1_000));
    while at < until {
        if !drive(p, &mut calls, at).await {
            return;
        }
        let mine = p.ledger.registered_of(&p.name);
        let roll = rng.below(100);
        if mine.is_empty() || (roll < 40 && mine.len() < MAX_LIVE) {
            made += 1;
            let id = format!("{}-{made}", p.name);
            let kind = match rng.below(6) {
                0 => ServiceType::Static,
                1 => ServiceType::Permanent,
                _ => ServiceType::Dynamic,
            };
            let new = instance(&mut rng, sim, &id, 8000 + made, kind);
            calls.push(p.register(new).boxed());
        } else {
            let pick = mine[rng.below(mine.len() as u64) as usize].clone();
            if roll < 75 {
                versions += 1;
                let flip = rng.below(4) == 0;
                calls.push(
                    p.update(revised(&pick, versions, pick.enabled != flip))
                        .boxed(),
                );
            } else {
                calls.push(p.unregister(pick).boxed());
            }
        }
        at += Duration::from_millis(100 + rng.below(6_000));
    }
    let deadline = until + SETTLE;
    while !calls.is_empty() && sim.now() < deadline && !sim.crashed(&p.name) {
        drive(p, &mut calls, sim.now() + Duration::from_secs(1)).await;
    }
}

/// Drives `calls` until `until`; false if the process crashed.
async fn drive(
    p: &Process,
    calls: &mut FuturesUnordered<BoxFuture<'_, ()>>,
    until: Duration,
) -> bool {
    let sim = &p.sim;
    while sim.now() < until {
        if sim.crashed(&p.name) {
            return false;
        }
        // Wakes at least every second to look for a crash.
        let wake = Box::pin(sim.sleep_until(until.min(sim.now() + Duration::from_secs(1))));
        if calls.is_empty() {
            wake.await;
        } else {
            future::select(calls.next(), wake).await;
        }
    }
    !sim.crashed(&p.name)
}

// ---- discovery_stale_reregister (CURATOR-146/181/164/94) ----

/// `a` registers four instances, then updates and unregisters some while it is cut off or
/// right as it reconnects (seeded moments in `during` and `around`); `b` watches. After
/// healing: the latest content everywhere, no phantom, and (when the scenario expires `a`'s
/// session) every instance re-registered under the new session.
struct Stale {
    test: &'static str,
    fault: Fault,
    /// When the first calls go out (seeded within).
    during: (f64, f64),
    /// When the second calls go out (seeded within): around the reconnection.
    around: (f64, f64),
    /// Whether the scenario must expire `a`'s session.
    expires: bool,
}

#[test]
fn discovery_stale_reregister() {
    let cut = |direction, secs| Fault::Partition {
        client: 0,
        server: None,
        direction,
        duration: s(secs),
    };
    let scenarios = [
        Stale {
            test: "discovery_stale_reregister (brief partition)",
            fault: cut(Direction::Both, 8.0),
            during: (2.2, 9.8),
            around: (9.5, 10.5),
            expires: false,
        },
        Stale {
            test: "discovery_stale_reregister (replies lost)",
            fault: cut(Direction::ToClient, 8.0),
            during: (2.2, 9.8),
            around: (9.5, 10.5),
            expires: false,
        },
        Stale {
            test: "discovery_stale_reregister (expiry)",
            fault: cut(Direction::Both, 15.0),
            during: (2.2, 16.8),
            around: (16.5, 17.5),
            expires: true,
        },
        Stale {
            test: "discovery_stale_reregister (forced expiry)",
            fault: Fault::ExpireSession { client: 0 },
            during: (1.9, 2.1),
            around: (2.0, 2.5),
            expires: true,
        },
        Stale {
            test: "discovery_stale_reregister (update reply lost)",
            fault: Fault::LoseReply { client: 0 },
            during: (2.0, 2.0),
            around: (2.0, 3.0),
            expires: false,
        },
    ];
    for scenario in scenarios {
        harness!(scenario.test)
            .clients(["a", "b"])
            .schedule(FaultSchedule::new().at(s(2.0), scenario.fault.clone()))
            .default_seeds(0..SEEDS)
            .run(|sim| stale_reregister(sim, &scenario));
    }
}

async fn stale_reregister(sim: Sim, scenario: &Stale) -> R {
    let ledger = Shared::default();
    sim.spawn(watch_commits(sim.clone(), ledger.clone()));
    let a = Process::start(&sim, "a", &ledger).await?;
    let b = Process::start(&sim, "b", &ledger).await?;
    let mut rng = Rng::new(sim.seed(), 0x57a1e);
    let kinds = [
        ServiceType::Dynamic,
        ServiceType::Dynamic,
        ServiceType::Static,
        ServiceType::Dynamic,
    ];
    let mut mine = Vec::new();
    for (n, kind) in (1..).zip(kinds) {
        let new = instance(&mut rng, &sim, &format!("a-{n}"), 8000 + n, kind);
        a.register(new.clone()).await;
        mine.push(new);
    }
    let before = sim.session("a").session_id();
    let pick = |rng: &mut Rng, (from, to): (f64, f64)| {
        s(from) + Duration::from_millis(rng.below(((to - from) * 1000.0) as u64 + 1))
    };
    let (first, second) = (
        pick(&mut rng, scenario.during),
        pick(&mut rng, scenario.around),
    );
    let [i1, i2, i3, i4] = [0, 1, 2, 3].map(|i| mine[i].clone());
    // Each group goes out at its moment without waiting for the other's calls to return.
    let groups = [
        (
            first,
            vec![Call::Update(revised(&i1, 1, true)), Call::Unregister(i2)],
        ),
        (
            second,
            vec![
                Call::Update(revised(&i1, 2, true)),
                Call::Update(revised(&i3, 1, false)),
                Call::Unregister(i4),
                Call::Register(instance(&mut rng, &sim, "a-5", 8005, ServiceType::Dynamic)),
            ],
        ),
    ];
    let runs = groups.into_iter().map(|(at, calls)| {
        let (a, sim) = (a.clone(), sim.clone());
        async move {
            sim.sleep_until(at).await;
            future::join_all(calls.into_iter().map(|call| a.call(call))).await;
        }
    });
    future::join_all(runs).await;
    sim.sleep_until(sim.healed_at()).await;
    let processes = [a, b];
    await_settled(&sim, &ledger, &processes, sim.healed_at() + SETTLE).await?;
    let after = sim.session("a").session_id();
    if scenario.expires == (after == before) {
        return Err(format!(
            "the scenario should {}expire a's session ({before:#x} → {after:#x})",
            if scenario.expires { "" } else { "not " }
        )
        .into());
    }
    Ok(())
}

/// One discovery call, for scripted groups.
enum Call {
    Register(ServiceInstance),
    Update(ServiceInstance),
    Unregister(ServiceInstance),
}

impl Process {
    async fn call(&self, call: Call) {
        match call {
            Call::Register(i) => self.register(i).await,
            Call::Update(i) => self.update(i).await,
            Call::Unregister(i) => self.unregister(i).await,
        }
    }
}

// ---- discovery_close_unreachable ----

/// `a` registers a STATIC, a PERMANENT and a DYNAMIC instance, then closes its discovery while
/// cut off from the ensemble for longer than its session timeout. Closing unregisters every
/// instance and must not abandon those deletes (the persistent nodes would outlive the
/// process): `close` returns `Ok` once they are done, or [`Error::Timeout`] after a session
/// timeout while they go on in the background; either way the nodes are gone once the
/// partition heals.
#[test]
fn discovery_close_unreachable() {
    harness!("discovery_close_unreachable")
        .clients(["a"])
        .schedule(FaultSchedule::new().at(
            s(2.0),
            Fault::Partition {
                client: 0,
                server: None,
                direction: Direction::Both,
                duration: s(25.0),
            },
        ))
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let client = sim.client("a");
            let discovery = ServiceDiscovery::start(&client, BASE).await?;
            let mut rng = Rng::new(sim.seed(), 0xc105e);
            let kinds = [
                ServiceType::Static,
                ServiceType::Permanent,
                ServiceType::Dynamic,
            ];
            let mut ids = Vec::new();
            for (n, kind) in (1..).zip(kinds) {
                let new = instance(&mut rng, &sim, &format!("a-{n}"), 8000 + n, kind);
                discovery.register(&new).await?;
                ids.push(new.id);
            }
            sim.sleep_until(s(2.0) + Duration::from_millis(rng.below(2_000)))
                .await;
            let closed = discovery.close().await;
            trace(&sim, "a", &("closed", &closed));
            let left = |sim: &Sim| -> Vec<String> {
                let exists = |id: &&String| sim.inspect(|e| e.node(None, &node_path(id)).is_some());
                ids.iter().filter(exists).cloned().collect()
            };
            match closed {
                Ok(()) if !left(&sim).is_empty() => {
                    return Err(format!("close returned Ok but {:?} remain", left(&sim)).into())
                }
                Ok(()) | Err(Error::Timeout) => {}
                Err(e) => return Err(format!("close failed: {e}").into()),
            }
            sim.sleep_until(sim.healed_at() + SETTLE).await;
            if !left(&sim).is_empty() {
                return Err(
                    format!("{:?} outlived close (it returned {closed:?})", left(&sim)).into(),
                );
            }
            Ok::<_, BoxError>(())
        });
}

// ---- discovery_poison_instance (CURATOR-574) ----

/// Size of the huge nodes: legal (under ZooKeeper's 1 MiB `jute.maxbuffer`), but large.
const HUGE: usize = 1_000_000;

/// What a foreign writer leaves under the service: nodes that are not instances.
fn poison() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("malformed", br#"{"name":"svc","id":"malfor"#.to_vec()),
        ("foreign", br#"{"hello":"world"}"#.to_vec()),
        ("empty", Vec::new()),
        ("array", b"[1,2,3]".to_vec()),
        ("huge-junk", vec![b'{'; HUGE]),
    ]
}

/// `a` registers two instances; a vandal writes the [`poison`] nodes, a huge but valid
/// instance, and a node that starts as junk and is later fixed; `b` is cut off for part of it.
/// Every query, cache and provider must return every good instance and skip and report the bad
/// ones.
#[test]
fn discovery_poison_instance() {
    harness!("discovery_poison_instance")
        .clients(["a", "b", "vandal"])
        .schedule(
            FaultSchedule::new()
                .at(
                    s(1.0),
                    Fault::Partition {
                        client: 1,
                        server: None,
                        direction: Direction::Both,
                        duration: s(8.0),
                    },
                )
                .at(s(2.0), Fault::LoseReply { client: 2 })
                .at(s(4.0), Fault::LeaderChange),
        )
        .default_seeds(0..SEEDS)
        .run(|sim| async move {
            let ledger = Shared::default();
            let a = Process::start(&sim, "a", &ledger).await?;
            let b = Process::start(&sim, "b", &ledger).await?;
            let reported = reported_unreadable(&[&a, &b]);
            let provider = b.provider.clone();
            let mut rng = Rng::new(sim.seed(), 0xbad);
            a.register(instance(
                &mut rng,
                &sim,
                "good-1",
                8001,
                ServiceType::Dynamic,
            ))
            .await;
            a.register(instance(
                &mut rng,
                &sim,
                "good-2",
                8002,
                ServiceType::Static,
            ))
            .await;
            // The vandal's writes, at seeded moments in the first 8 s.
            let huge = ServiceInstance::builder(SERVICE)
                .id("huge")
                .address("10.0.0.99")
                .payload_string("x".repeat(HUGE))
                .service_type(ServiceType::Static)
                .build_with(&mut rng, 1_700_000_000_000)?;
            let fixed = instance(&mut rng, &sim, "fixed", 8003, ServiceType::Static);
            let mut writes: Vec<(&str, Vec<u8>)> = poison();
            writes.push(("huge", huge.to_json()));
            writes.push(("fixed", b"not yet".to_vec()));
            let vandal = sim.client("vandal");
            for (node, data) in writes {
                sim.sleep(Duration::from_millis(rng.below(1_000))).await;
                let path = node_path(node);
                retry(&sim, || vandal.create().data(data.clone()).at(&path)).await;
            }
            sim.sleep(Duration::from_millis(rng.below(2_000))).await;
            let path = node_path("fixed");
            retry(&sim, || vandal.set_data().at(&path, fixed.to_json())).await;

            let good = ["fixed", "good-1", "good-2", "huge"];
            let bad: BTreeSet<String> = poison().iter().map(|(n, _)| node_path(n)).collect();
            sim.sleep_until(sim.healed_at()).await;
            let deadline = sim.healed_at() + SETTLE;
            loop {
                match poison_handled(&[&a, &b], &provider, &good, &bad, &reported).await {
                    Ok(()) => break,
                    Err(why) if sim.now() >= deadline => {
                        return Err(format!("at {:?}: {why}", sim.now()).into())
                    }
                    Err(why) => {
                        trace(&sim, "settle", &why);
                        sim.sleep(Duration::from_millis(500)).await
                    }
                }
            }
            Ok::<_, BoxError>(())
        });
}

/// Retries `op` (every 200 ms) until it succeeds; a create that already landed is done.
async fn retry<T, F: futures::Future<Output = Result<T, Error>>>(sim: &Sim, op: impl Fn() -> F) {
    loop {
        match op().await {
            Ok(_) | Err(Error::NodeExists) => return,
            Err(_) => sim.sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Every path the processes' caches reported unreadable.
fn reported_unreadable(processes: &[&Process]) -> Arc<Mutex<BTreeSet<String>>> {
    let reported = Arc::new(Mutex::new(BTreeSet::new()));
    for p in processes {
        let (mut events, reported) = (p.cache.events(), reported.clone());
        p.sim.spawn(async move {
            while let Some(event) = events.next().await {
                if let CacheEvent::Unreadable { path, .. } = event {
                    reported
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(path);
                }
            }
        });
    }
    reported
}

/// Queries, caches and the provider return exactly the `good` instances; the `bad` nodes are
/// reported by the queries and (at least once) by the caches, and good ones never are.
async fn poison_handled(
    processes: &[&Process],
    provider: &ServiceProvider,
    good: &[&str],
    bad: &BTreeSet<String>,
    reported: &Mutex<BTreeSet<String>>,
) -> Result<(), String> {
    for p in processes {
        let found = p.discovery.query_for_instances(SERVICE).await;
        let found = found.map_err(|e| format!("{}'s query failed: {e}", p.name))?;
        if ids(&found.instances) != good {
            return Err(format!(
                "{}'s query found {:?}",
                p.name,
                ids(&found.instances)
            ));
        }
        let unreadable: BTreeSet<String> = found.unreadable.iter().map(|u| u.0.clone()).collect();
        if &unreadable != bad {
            return Err(format!("{}'s query reported {unreadable:?}", p.name));
        }
        if let Some((path, e)) = found
            .unreadable
            .iter()
            .find(|(_, e)| !matches!(e, Error::CorruptData { .. }))
        {
            return Err(format!("{path} reported as {e:?}, not corrupt data"));
        }
        for (id, _) in poison() {
            match p.discovery.query_for_instance(SERVICE, id).await {
                Err(Error::CorruptData { .. }) => {}
                other => return Err(format!("query_for_instance({id}) gave {other:?}")),
            }
        }
        let cached = p.cache.instances();
        if ids(cached.iter().map(|i| &**i)) != good {
            return Err(format!(
                "{}'s cache holds {:?}",
                p.name,
                ids(cached.iter().map(|i| &**i))
            ));
        }
    }
    let offered = provider.get_all_instances();
    if ids(offered.iter().map(|i| &**i)) != good {
        return Err(format!(
            "the provider offers {:?}",
            ids(offered.iter().map(|i| &**i))
        ));
    }
    let picked: BTreeSet<String> = (0..good.len())
        .filter_map(|_| provider.get_instance().map(|i| i.id.clone()))
        .collect();
    if picked.len() != good.len() {
        return Err(format!("round robin picked only {picked:?}"));
    }
    let reported = reported.lock().unwrap_or_else(|e| e.into_inner());
    if !reported.is_superset(bad) {
        return Err(format!("the caches reported only {reported:?}"));
    }
    let wrongly = ["good-1", "good-2", "huge"].map(node_path);
    if let Some(path) = wrongly.iter().find(|p| reported.contains(*p)) {
        return Err(format!("the caches reported the good {path} unreadable"));
    }
    Ok(())
}
