//! Safety of caches: every state shown is one the ensemble had (see [`Seen`]).

// Membership only, never iterated: hash order cannot change a verdict.
#[allow(clippy::disallowed_types)]
use std::collections::HashSet as MemoSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use docent::recipes::cache::ChildData;
use docent::Stat;

use super::Viewed;
use crate::Sim;

/// One thing a cache showed, and where.
#[derive(Debug, Clone)]
struct Observation {
    /// Which cache and how: `"c1 children ChildAdded"`.
    what: String,
    at: Duration,
    data: ChildData,
}

/// Safety of a cache: everything the caches of one run showed (in an event or a snapshot),
/// each checked against the ensemble's history. A node's path must once have had exactly that
/// stat (and that data, when the cache keeps data): a cache may lag; it may never invent.
/// Cheap to clone; clones share.
///
/// # Example
/// ```
/// use std::time::Duration;
/// use docent::recipes::cache::{ChildData, NodeCache};
/// use docent_sim::check::Seen;
/// use docent_sim::harness;
///
/// harness!("a_cache_never_invents").seeds(0..2).run(|sim| async move {
///     let seen = Seen::new();
///     let cache = NodeCache::start(&sim.client("a"), "/config").await?;
///     let writer = sim.client("b");
///     for v in ["1", "2", "3"] {
///         let _ = writer.create().data(v).at("/config").await;
///         let _ = writer.set_data().at("/config", v).await;
///         sim.sleep(Duration::from_secs(1)).await;
///         if let Some(shown) = cache.current_data() {
///             seen.record("a node cache", sim.now(), &shown);
///         }
///     }
///     seen.check(&sim, "/config")?;
///     // A state /config never had is caught.
///     let invented = ChildData { path: "/config".into(), stat: Default::default(), data: None };
///     seen.record("a forger", sim.now(), &invented);
///     assert!(seen.check(&sim, "/config").unwrap_err().starts_with("a forger at"));
///     Ok::<_, Box<dyn std::error::Error>>(())
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct Seen {
    inner: Arc<Mutex<SeenInner>>,
}

// Membership only, never iterated (see the import).
#[allow(clippy::disallowed_types)]
#[derive(Debug, Default)]
struct SeenInner {
    observations: Vec<Observation>,
    /// What is already recorded (snapshots repeat themselves).
    known: MemoSet<(String, Option<Vec<u8>>, Stat)>,
}

impl Seen {
    /// A fresh, empty record.
    pub fn new() -> Seen {
        Seen::default()
    }

    /// Records that `what` showed `data` at `at`.
    pub fn record(&self, what: &str, at: Duration, data: &ChildData) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let key = (data.path.clone(), data.data.clone(), data.stat);
        if inner.known.insert(key) {
            inner.observations.push(Observation {
                what: what.to_owned(),
                at,
                data: data.clone(),
            });
        }
    }

    /// How many distinct node states were recorded.
    pub fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .observations
            .len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Safety: every recorded state is one its path really had (committed by now, under
    /// `prefix`). Replays the ensemble's log once.
    pub fn check(&self, sim: &Sim, prefix: &str) -> Result<(), String> {
        let history = sim.inspect(|m| m.history(prefix));
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for o in &inner.observations {
            let states = history.get(&o.data.path).map(Vec::as_slice).unwrap_or(&[]);
            let real = states.iter().any(|(data, stat)| {
                *stat == o.data.stat && o.data.data.as_ref().is_none_or(|d| d == data)
            });
            if !real {
                let had: Vec<String> = states.iter().map(|(d, s)| describe(d, s)).collect();
                return Err(format!(
                    "{} at {:?} showed a state {} never had: {}\nits real states:\n  {}",
                    o.what,
                    o.at,
                    o.data.path,
                    o.data.describe(),
                    had.join("\n  ")
                ));
            }
        }
        Ok(())
    }
}

fn describe(data: &[u8], stat: &Stat) -> String {
    let node = ChildData {
        path: String::new(),
        stat: *stat,
        data: Some(data.to_vec()),
    };
    node.describe()
}
