//! Convergence of a view to the ensemble's ground truth (see the [module docs](super)).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use docent::path;
use docent::recipes::cache::ChildData;

use crate::Sim;

/// What part of the ensemble's tree a view covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One node.
    Node(String),
    /// The children of a node.
    Children(String),
    /// A subtree, down to `max_depth` levels below `root`.
    Tree {
        /// Its root.
        root: String,
        /// Levels below the root (0: the root only).
        max_depth: usize,
    },
}

impl Scope {
    /// Ground truth: the scope's nodes on the leader (every committed transaction applied),
    /// by path, with their data.
    pub fn truth(&self, sim: &Sim) -> BTreeMap<String, ChildData> {
        sim.inspect(|m| {
            let read = |p: &str| {
                m.node(None, p).map(|(data, stat, _)| ChildData {
                    path: p.to_owned(),
                    stat,
                    data: Some(data),
                })
            };
            let paths: Vec<String> = match self {
                Scope::Node(p) => vec![p.clone()],
                Scope::Children(p) => m
                    .node(None, p)
                    .map(|(_, _, children)| children.iter().map(|c| path::join(p, c)).collect())
                    .unwrap_or_default(),
                Scope::Tree { root, max_depth } => {
                    let prefix = format!("{root}/");
                    m.paths(None)
                        .into_iter()
                        .filter(|p| {
                            p == root
                                || p.starts_with(&prefix)
                                    && p[prefix.len()..].split('/').count() <= *max_depth
                        })
                        .collect()
                }
            };
            paths
                .iter()
                .filter_map(|p| read(p).map(|d| (p.clone(), d)))
                .collect()
        })
    }
}

/// Ground truth of a group: the children of `parent` on the leader, by name, with their data
/// (what a group member's view of its group must show).
pub fn members(sim: &Sim, parent: &str) -> BTreeMap<String, Vec<u8>> {
    Scope::Children(parent.to_owned())
        .truth(sim)
        .into_values()
        .map(|d| (path::name(&d.path).to_owned(), d.data.unwrap_or_default()))
        .collect()
}

/// `nodes` as a cache that keeps no data shows them (stat only).
pub fn without_data(nodes: BTreeMap<String, ChildData>) -> BTreeMap<String, ChildData> {
    nodes
        .into_iter()
        .map(|(p, d)| (p, ChildData { data: None, ..d }))
        .collect()
}

/// A value a view holds: compared with the truth's and shown in a [`Diff`].
pub trait Viewed {
    /// True when the view's value (`self`) agrees with the truth's.
    fn agrees(&self, truth: &Self) -> bool;
    /// How a diff shows it.
    fn describe(&self) -> String;
}

/// A node agrees when it is the same node (czxid) at the same change (mzxid, version) with
/// the same data (`None` on both sides for a cache that keeps no data); child counts may lag.
impl Viewed for ChildData {
    fn agrees(&self, truth: &Self) -> bool {
        let key = |d: &ChildData| (d.stat.czxid, d.stat.mzxid, d.stat.version);
        key(self) == key(truth) && self.data == truth.data
    }

    fn describe(&self) -> String {
        let s = &self.stat;
        let data = match &self.data {
            Some(data) => format!("data {:?}", String::from_utf8_lossy(data)),
            None => "(no data)".to_owned(),
        };
        format!(
            "{data} czxid {:#x} mzxid {:#x} pzxid {:#x} version {} cversion {} children {} \
             owner {:#x}",
            s.czxid, s.mzxid, s.pzxid, s.version, s.cversion, s.num_children, s.ephemeral_owner
        )
    }
}

/// Data agrees when it is equal; shown as (lossy) text.
impl Viewed for Vec<u8> {
    fn agrees(&self, truth: &Self) -> bool {
        self == truth
    }

    fn describe(&self) -> String {
        format!("{:?}", String::from_utf8_lossy(self))
    }
}

/// Set members carry nothing to compare.
impl Viewed for () {
    fn agrees(&self, _: &Self) -> bool {
        true
    }

    fn describe(&self) -> String {
        String::new()
    }
}

/// How a view differs from the truth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff<K, V> {
    /// In the truth, not in the view.
    pub missing: Vec<(K, V)>,
    /// In the view, not in the truth.
    pub extra: Vec<(K, V)>,
    /// In both, disagreeing: the view's value, then the truth's.
    pub stale: Vec<(K, V, V)>,
}

impl<K, V> Diff<K, V> {
    /// True when the view equals the truth.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.stale.is_empty()
    }
}

/// One line per difference: `missing K: …`, `extra K: …`, `stale K: shows …, truth …`.
impl<K: fmt::Display, V: Viewed> fmt::Display for Diff<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        let shown = |v: &V| match v.describe() {
            d if d.is_empty() => String::new(),
            d => format!(": {d}"),
        };
        for (k, v) in &self.missing {
            lines.push(format!("missing {k}{}", shown(v)));
        }
        for (k, v) in &self.extra {
            lines.push(format!("extra {k}{}", shown(v)));
        }
        for (k, view, truth) in &self.stale {
            lines.push(format!(
                "stale {k}: shows {}, truth {}",
                view.describe(),
                truth.describe()
            ));
        }
        f.write_str(&lines.join("\n"))
    }
}

/// The differences between `view` and `truth`, each list in key order.
pub fn diff<K: Ord + Clone, V: Viewed + Clone>(
    view: &BTreeMap<K, V>,
    truth: &BTreeMap<K, V>,
) -> Diff<K, V> {
    let mut d = Diff {
        missing: Vec::new(),
        extra: Vec::new(),
        stale: Vec::new(),
    };
    for (k, t) in truth {
        match view.get(k) {
            None => d.missing.push((k.clone(), t.clone())),
            Some(v) if !v.agrees(t) => d.stale.push((k.clone(), v.clone(), t.clone())),
            Some(_) => {}
        }
    }
    for (k, v) in view {
        if !truth.contains_key(k) {
            d.extra.push((k.clone(), v.clone()));
        }
    }
    d
}

/// `view` equals `truth`, or an error listing every difference (see [`Diff`]).
pub fn check_view<K, V>(view: &BTreeMap<K, V>, truth: &BTreeMap<K, V>) -> Result<(), String>
where
    K: Ord + Clone + fmt::Display,
    V: Viewed + Clone,
{
    let d = diff(view, truth);
    if d.is_empty() {
        Ok(())
    } else {
        Err(d.to_string())
    }
}

/// The set `view` equals the set `truth`, or an error listing the missing and extra members.
pub fn check_set<K>(view: &BTreeSet<K>, truth: &BTreeSet<K>) -> Result<(), String>
where
    K: Ord + Clone + fmt::Display,
{
    let map = |s: &BTreeSet<K>| s.iter().map(|k| (k.clone(), ())).collect();
    check_view::<K, ()>(&map(view), &map(truth))
}

/// Liveness: polls `pending` every 100 ms of simulated time until it returns nothing, or
/// fails once `deadline` (since the start of the run) has passed, with what was still
/// pending.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use docent::recipes::cache::{ChildrenOptions, PathChildrenCache};
/// use docent_sim::check::{check_view, converge, Scope};
/// use docent_sim::model::Direction;
/// use docent_sim::{harness, Fault, FaultSchedule};
///
/// // The cache's process `a` is cut off from every server while `b` writes.
/// let cut_off = Fault::Partition {
///     client: 0,
///     server: None,
///     direction: Direction::Both,
///     duration: Duration::from_secs(15),
/// };
/// let schedule = FaultSchedule::new().at(Duration::from_secs(2), cut_off);
/// harness!("cache_converges").clients(["a", "b"]).schedule(schedule).seeds(0..2).run(
///     |sim| async move {
///         let writer = sim.client("b");
///         let options = ChildrenOptions::default();
///         let cache = PathChildrenCache::start(&sim.client("a"), "/jobs", options).await?;
///         sim.sleep(Duration::from_secs(3)).await;
///         for job in ["x", "y", "z"] {
///             writer.create().parents().data(job).at(&format!("/jobs/{job}")).await?;
///         }
///         // Once the faults heal, the cache must show what the ensemble holds.
///         let scope = Scope::Children("/jobs".into());
///         let deadline = sim.healed_at() + Duration::from_secs(30);
///         converge(&sim, deadline, || {
///             let shown = check_view(&cache.snapshot(), &scope.truth(&sim));
///             shown.err().into_iter().collect()
///         })
///         .await?;
///         assert_eq!(cache.snapshot().len(), 3);
///         Ok::<_, Box<dyn std::error::Error>>(())
///     },
/// );
/// ```
pub async fn converge(
    sim: &Sim,
    deadline: Duration,
    mut pending: impl FnMut() -> Vec<String>,
) -> Result<(), String> {
    loop {
        let left = pending();
        if left.is_empty() {
            return Ok(());
        }
        if sim.now() >= deadline {
            return Err(format!(
                "not converged at {:?} ({:?} after the faults healed):\n{}",
                sim.now(),
                sim.now().saturating_sub(sim.healed_at()),
                left.join("\n")
            ));
        }
        sim.sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests;
