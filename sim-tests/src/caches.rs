//! Cache workloads: writers that churn a subtree, and caches under test whose every event and
//! snapshot feeds the oracle of [`crate::history`].
//!
//! A [`CacheUnderTest`] wraps a running [`NodeCache`], [`PathChildrenCache`] or [`TreeCache`]:
//! a task replays its events into a [`Mirror`] (and records each node they carry in a
//! [`Seen`]); [`converge`] samples its snapshot until it equals the ensemble's tree.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};

use docent::recipes::cache::{
    ChildData, ChildrenEvent, ChildrenOptions, NodeCache, NodeEvent, PathChildrenCache, StartMode,
    TreeCache, TreeEvent, TreeOptions,
};
use docent::rng::Rng;
use docent::{path, Client, CreateMode, Error};
use docent_sim::check::{self, Seen};
use docent_sim::Sim;

use crate::history::{Mirror, SharedMirror};

/// The subtree the cache suites churn and watch.
pub const ROOT: &str = "/cache";
/// The node the node caches watch.
pub const NODE: &str = "/cache/a";
/// The names of the root's children the writers use.
const CHILDREN: [&str; 4] = ["a", "b", "c", "d"];
/// The names of their children.
const GRANDCHILDREN: [&str; 2] = ["x", "y"];
/// The data the writers write: few values, so that a re-create often brings back the same
/// data.
const DATA: [&[u8]; 3] = [b"", b"1", b"22"];

pub use docent_sim::check::Scope;

type Snapshot = Box<dyn Fn() -> BTreeMap<String, ChildData> + Send + Sync>;
type Flag = Box<dyn Fn() -> bool + Send + Sync>;

/// A running cache, its event mirror, and what it should converge to.
pub struct CacheUnderTest {
    /// Which cache: `"c1 children /cache"`.
    pub label: String,
    /// The client process it runs on.
    pub who: String,
    /// What it covers.
    pub scope: Scope,
    /// It keeps data (else stat only).
    pub keeps_data: bool,
    /// It reports the end of its initial load.
    pub emits_initialized: bool,
    /// Its state as its events tell it.
    pub mirror: SharedMirror,
    snapshot: Snapshot,
    initialized: Flag,
}

impl std::fmt::Debug for CacheUnderTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheUnderTest")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Replays `events` into a fresh mirror, recording every node they carry in `seen`.
fn observe<E: Send + 'static>(
    sim: &Sim,
    seen: &Seen,
    label: &str,
    events: impl Stream<Item = E> + Send + Unpin + 'static,
    apply: impl Fn(&mut Mirror, &E) -> Option<(&'static str, ChildData)> + Send + 'static,
) -> SharedMirror {
    let mirror: SharedMirror = Arc::new(Mutex::new(Mirror::new()));
    let (sim2, seen, label, mirror2) =
        (sim.clone(), seen.clone(), label.to_owned(), mirror.clone());
    let mut events = events;
    sim.spawn(async move {
        while let Some(event) = events.next().await {
            let shown = apply(&mut mirror2.lock().unwrap(), &event);
            if let Some((kind, data)) = shown {
                seen.record(&format!("{label} {kind}"), sim2.now(), &data);
            }
        }
    });
    mirror
}

/// Starts a [`NodeCache`] on `who` for `path`.
pub async fn node_cache(
    sim: &Sim,
    seen: &Seen,
    who: &str,
    path: &str,
) -> Result<CacheUnderTest, Error> {
    node_cache_on(sim, seen, who, &sim.client(who), path).await
}

/// Starts a [`NodeCache`] for `path` on `client` (a client of `who`'s session).
pub async fn node_cache_on(
    sim: &Sim,
    seen: &Seen,
    who: &str,
    client: &Client,
    path: &str,
) -> Result<CacheUnderTest, Error> {
    let cache = Arc::new(NodeCache::start(client, path).await?);
    let label = format!("{who} node {path}");
    let mirror = observe(sim, seen, &label, cache.events(), |m, e| match e {
        NodeEvent::Created(d) => {
            m.added(d);
            Some(("Created", d.clone()))
        }
        NodeEvent::Changed(d) => {
            m.updated(d);
            Some(("Changed", d.clone()))
        }
        NodeEvent::Deleted(d) => {
            m.removed(d);
            Some(("Deleted", d.clone()))
        }
        NodeEvent::Initialized => {
            m.on_initialized();
            None
        }
        _ => None,
    });
    let c = cache.clone();
    Ok(CacheUnderTest {
        label,
        who: who.to_owned(),
        scope: Scope::Node(path.to_owned()),
        keeps_data: true,
        emits_initialized: true,
        mirror,
        snapshot: Box::new(move || {
            c.current_data()
                .map(|d| (d.path.clone(), d))
                .into_iter()
                .collect()
        }),
        initialized: Box::new(move || cache.is_initialized()),
    })
}

/// Starts a [`PathChildrenCache`] on `who` for the children of `path`
/// ([`StartMode::PostInitializedEvent`], so that its events describe the whole load).
pub async fn children_cache(
    sim: &Sim,
    seen: &Seen,
    who: &str,
    path: &str,
    cache_data: bool,
) -> Result<CacheUnderTest, Error> {
    children_cache_on(sim, seen, who, &sim.client(who), path, cache_data).await
}

/// Starts a [`PathChildrenCache`] for the children of `path` on `client` (a client of `who`'s
/// session), as [`children_cache`] does.
pub async fn children_cache_on(
    sim: &Sim,
    seen: &Seen,
    who: &str,
    client: &Client,
    path: &str,
    cache_data: bool,
) -> Result<CacheUnderTest, Error> {
    let options = ChildrenOptions::default()
        .mode(StartMode::PostInitializedEvent)
        .cache_data(cache_data);
    let cache = Arc::new(PathChildrenCache::start(client, path, options).await?);
    Ok(watch_children(sim, seen, who, cache, cache_data))
}

/// Observes a running [`PathChildrenCache`] (started in a mode that reports its initial
/// children; its event stream starts with a snapshot, so nothing before this call is lost).
fn watch_children(
    sim: &Sim,
    seen: &Seen,
    who: &str,
    cache: Arc<PathChildrenCache>,
    cache_data: bool,
) -> CacheUnderTest {
    let label = format!("{who} children {}", cache.path());
    let mirror = observe(sim, seen, &label, cache.events(), |m, e| match e {
        ChildrenEvent::ChildAdded(d) => {
            m.added(d);
            Some(("ChildAdded", d.clone()))
        }
        ChildrenEvent::ChildUpdated(d) => {
            m.updated(d);
            Some(("ChildUpdated", d.clone()))
        }
        ChildrenEvent::ChildRemoved(d) => {
            m.removed(d);
            Some(("ChildRemoved", d.clone()))
        }
        ChildrenEvent::Initialized => {
            m.on_initialized();
            None
        }
        _ => None,
    });
    let c = cache.clone();
    CacheUnderTest {
        label,
        who: who.to_owned(),
        scope: Scope::Children(cache.path().to_owned()),
        keeps_data: cache_data,
        emits_initialized: true,
        mirror,
        snapshot: Box::new(move || c.snapshot()),
        initialized: Box::new(move || cache.is_initialized()),
    }
}

/// Starts a [`TreeCache`] on `who` for `root`, down to `max_depth`.
pub async fn tree_cache(
    sim: &Sim,
    seen: &Seen,
    who: &str,
    root: &str,
    max_depth: usize,
) -> Result<CacheUnderTest, Error> {
    tree_cache_on(sim, seen, who, &sim.client(who), root, max_depth).await
}

/// Starts a [`TreeCache`] for `root` on `client` (a client of `who`'s session).
pub async fn tree_cache_on(
    sim: &Sim,
    seen: &Seen,
    who: &str,
    client: &Client,
    root: &str,
    max_depth: usize,
) -> Result<CacheUnderTest, Error> {
    let options = TreeOptions::default().max_depth(max_depth);
    let cache = Arc::new(TreeCache::start(client, root, options).await?);
    let label = format!("{who} tree {root} (depth {max_depth})");
    let top = root.to_owned();
    let mirror = observe(sim, seen, &label, cache.events(), move |m, e| match e {
        TreeEvent::NodeCreated(d) => {
            m.added_in_tree(&top, d);
            Some(("NodeCreated", d.clone()))
        }
        TreeEvent::NodeChanged(d) => {
            m.updated(d);
            Some(("NodeChanged", d.clone()))
        }
        TreeEvent::NodeDeleted(d) => {
            m.removed_from_tree(d);
            Some(("NodeDeleted", d.clone()))
        }
        TreeEvent::Initialized => {
            m.on_initialized();
            None
        }
        _ => None,
    });
    let c = cache.clone();
    Ok(CacheUnderTest {
        label,
        who: who.to_owned(),
        scope: Scope::Tree {
            root: root.to_owned(),
            max_depth,
        },
        keeps_data: true,
        emits_initialized: true,
        mirror,
        snapshot: Box::new(move || c.snapshot()),
        initialized: Box::new(move || cache.is_initialized()),
    })
}

impl CacheUnderTest {
    /// The cache's snapshot now.
    pub fn snapshot(&self) -> BTreeMap<String, ChildData> {
        (self.snapshot)()
    }

    /// True once the cache finished its initial load.
    pub fn is_initialized(&self) -> bool {
        (self.initialized)()
    }

    /// Records the snapshot's nodes in `seen`.
    pub fn record_snapshot(&self, sim: &Sim, seen: &Seen) {
        let what = format!("{} snapshot", self.label);
        for d in self.snapshot().values() {
            seen.record(&what, sim.now(), d);
        }
    }

    /// Why the cache does not match the ensemble yet (`None`: it does, snapshot and events
    /// alike, and its load is complete and reported once).
    pub fn mismatch(&self, sim: &Sim) -> Option<String> {
        if !self.is_initialized() {
            return Some("not initialized".into());
        }
        let truth = self.scope.truth(sim);
        let snapshot = self.snapshot();
        let mirror = self.mirror.lock().unwrap();
        if self.emits_initialized && mirror.initialized() != 1 {
            return Some(format!("{} Initialized events", mirror.initialized()));
        }
        let truth = if self.keeps_data {
            truth
        } else {
            check::without_data(truth)
        };
        let differ = |view: &str, cached| {
            check::check_view(cached, &truth)
                .err()
                .map(|d| format!("{view} differs from the ensemble:\n{d}"))
        };
        differ("snapshot", &snapshot).or_else(|| differ("events", mirror.nodes()))
    }
}

/// Samples every cache's snapshot into `seen` every 250 ms until `until`.
pub async fn sample_until(sim: &Sim, caches: &[CacheUnderTest], seen: &Seen, until: Duration) {
    while sim.now() < until {
        for c in caches {
            c.record_snapshot(sim, seen);
        }
        sim.sleep(Duration::from_millis(250)).await;
    }
}

/// Convergence: polls (every 100 ms, sampling snapshots into `seen`) until every cache on a
/// live client matches the ensemble, or fails at `deadline` naming those that do not.
pub async fn converge(
    sim: &Sim,
    caches: &[CacheUnderTest],
    seen: &Seen,
    deadline: Duration,
) -> Result<(), String> {
    check::converge(sim, deadline, || {
        let mut pending = Vec::new();
        for c in caches.iter().filter(|c| !sim.crashed(&c.who)) {
            c.record_snapshot(sim, seen);
            if let Some(why) = c.mismatch(sim) {
                pending.push(format!("{}: {why}", c.label));
            }
        }
        pending
    })
    .await
}

/// Event order: no cache's events showed a violation (see [`Mirror`]).
pub fn check_order(caches: &[CacheUnderTest]) -> Result<(), String> {
    for c in caches {
        if let Some(e) = c.mirror.lock().unwrap().errors().first() {
            return Err(format!("{}: event order: {e}", c.label));
        }
    }
    Ok(())
}

/// A writer on `who` churning [`ROOT`] until `until`, one [`random_write`] at a time with
/// pauses of up to 0.3 s. Its choices come from the seed and `stream`.
pub fn spawn_writer(sim: &Sim, who: &str, stream: u64, until: Duration) {
    let client = sim.client(who);
    let mut rng = Rng::new(sim.seed(), stream);
    let sim2 = sim.clone();
    sim.spawn(async move {
        while sim2.now() < until {
            random_write(&client, &mut rng).await;
            sim2.sleep(Duration::from_millis(20 + rng.below(300))).await;
        }
    });
}

/// One random write under [`ROOT`]: a create (some ephemeral), a set, a delete, a delete and
/// re-create in one multi, now and then the root's creation or the whole subtree's removal.
/// The choice is drawn from `rng` at once (the write is sent when the future is first
/// polled); a failed write is ignored.
pub fn random_write(client: &Client, rng: &mut Rng) -> BoxFuture<'static, ()> {
    let client = client.clone();
    let child = path::join(ROOT, CHILDREN[rng.below(4) as usize]);
    let grandchild = path::join(&child, GRANDCHILDREN[rng.below(2) as usize]);
    let target = if rng.below(3) == 0 { grandchild } else { child };
    let data = DATA[rng.below(3) as usize].to_vec();
    let mode = if rng.below(5) == 0 {
        CreateMode::Ephemeral
    } else {
        CreateMode::Persistent
    };
    let choice = rng.below(100);
    async move {
        let _ = match choice {
            0..=29 => client
                .create()
                .mode(mode)
                .data(data)
                .at(&target)
                .await
                .map(drop),
            30..=54 => client.set_data().at(&target, data).await.map(drop),
            55..=69 => client.delete().at(&target).await,
            // Deleted and created again in one txn: same path, maybe the same data and
            // version, another czxid.
            70..=84 => client
                .transaction()
                .delete(&target, None)
                .create(&target, data, CreateMode::Persistent)
                .commit()
                .await
                .map(drop),
            85..=91 => client.create().data(data).at(ROOT).await.map(drop),
            92..=96 => client.set_data().at(ROOT, data).await.map(drop),
            _ => client.delete().children_if_needed().at(ROOT).await,
        };
    }
    .boxed()
}
