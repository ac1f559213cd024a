//! Persistent node and group member workloads, and their checks.
//!
//! - [`spawn_updates`]: a process that gives its node new data now and then, recording the
//!   newest data it asked for in [`Latest`];
//! - [`OwnerCheck`]: safety over the whole run — a node recipe in an ephemeral mode never shows
//!   itself present with a node whose ephemeral owner is not its client's current session for
//!   longer than [`GRACE`] (the time the recipe needs to learn of a new session);
//! - `check_node`: after healing, the node exists exactly once (no orphan sequential nodes
//!   from lost replies), with the newest data, owned by the current session in ephemeral modes;
//! - `check_members`: after healing, every member's view of the group is the live members
//!   with their newest data.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::oneshot;

use docent::framework::protected;
use docent::framework::StateWatch;
use docent::recipes::nodes::{GroupMember, NodeState, PersistentNode};
use docent::rng::Rng;
use docent::{path, CreateMode, Error, Stat};
use docent_sim::{check, Sim};

use crate::workload::trace;

/// Where the persistent nodes live.
pub const NODES: &str = "/nodes";
/// The group path of the group member suites.
pub const GROUP: &str = "/group";
/// How long a recipe may show a node of another session as its own: the time it needs to be
/// fed a new session's connection state.
pub const GRACE: Duration = Duration::from_secs(1);

/// The mode of the `i`-th client's node: every kind of node across the clients.
pub fn mode_of(i: usize) -> CreateMode {
    [
        CreateMode::Ephemeral,
        CreateMode::PersistentSequential,
        CreateMode::EphemeralSequential,
        CreateMode::Persistent,
        CreateMode::PersistentWithTtl(Duration::from_secs(30)),
    ][i % 5]
}

/// The node path (the prefix in sequential modes) of `who`.
pub fn node_path(who: &str, mode: CreateMode) -> String {
    let sep = if mode.is_sequential() { "-" } else { "" };
    format!("{NODES}/{who}{sep}")
}

/// The newest data each process asked its node to hold.
#[derive(Debug, Clone, Default)]
pub struct Latest(Arc<Mutex<BTreeMap<String, Vec<u8>>>>);

impl Latest {
    /// Records `data` as `who`'s newest.
    pub fn set(&self, who: &str, data: Vec<u8>) {
        self.0
            .lock()
            .expect("poisoned")
            .insert(who.to_owned(), data);
    }

    /// `who`'s newest data.
    pub fn get(&self, who: &str) -> Option<Vec<u8>> {
        self.0.lock().expect("poisoned").get(who).cloned()
    }
}

/// Gives `who`'s node new data (`<who>-<n>`) every 0.2–1.7 s until `stop_at`, through
/// `set`, recording each value in `latest` before asking for it. The receiver completes once
/// the last update returned (and `set` is dropped).
pub fn spawn_updates<F, Fut>(
    sim: &Sim,
    who: &str,
    latest: &Latest,
    stop_at: Duration,
    set: F,
) -> oneshot::Receiver<()>
where
    F: Fn(Vec<u8>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send,
{
    let (sim, who, latest) = (sim.clone(), who.to_owned(), latest.clone());
    let mut rng = Rng::new(sim.seed(), 0x70de + sim.index(&who) as u64);
    let (done, finished) = oneshot::channel();
    sim.clone().spawn(async move {
        let mut n = 1;
        while sim.now() < stop_at {
            sim.sleep(Duration::from_millis(200 + rng.below(1500)))
                .await;
            n += 1;
            let data = format!("{who}-{n}").into_bytes();
            latest.set(&who, data.clone());
            let result = set(data).await;
            trace(&sim, &who, &result);
        }
        drop(set);
        let _ = done.send(());
    });
    finished
}

/// The ephemeral owner a node recipe's state shows as its own (`None` when not present).
pub fn shown_owner(state: &NodeState) -> Option<i64> {
    match state {
        NodeState::Present { stat, .. } => Some(stat.ephemeral_owner),
        _ => None,
    }
}

/// Samples recipes' states every 100 ms and records each that showed a node of another
/// session as its own for longer than [`GRACE`].
#[derive(Debug, Clone, Default)]
pub struct OwnerCheck(Arc<Mutex<Vec<String>>>);

impl OwnerCheck {
    /// Watches `who`'s recipe through `owner`, which reads the shown owner from its state.
    pub fn watch<T>(
        &self,
        sim: &Sim,
        who: &str,
        states: StateWatch<T>,
        owner: fn(&T) -> Option<i64>,
    ) where
        T: Clone + Send + Sync + 'static,
    {
        let (sim, who, record) = (sim.clone(), who.to_owned(), self.0.clone());
        sim.clone().spawn(async move {
            let mut since: Option<Duration> = None;
            loop {
                let session = sim.client(&who).session_id();
                let wrong = owner(&states.get()).filter(|&o| o != session);
                match (wrong, since) {
                    (None, _) => since = None,
                    (Some(_), None) => since = Some(sim.now()),
                    (Some(o), Some(at)) if sim.now() - at > GRACE && !sim.crashed(&who) => {
                        let message = format!(
                            "{who} showed a node of session {o:#x} as its own from {at:?} to \
                             {:?}, its session being {session:#x} (alive: {})",
                            sim.now(),
                            sim.inspect(|m| m.session_alive(o))
                        );
                        record.lock().expect("poisoned").push(message);
                        return;
                    }
                    _ => {}
                }
                sim.sleep(Duration::from_millis(100)).await;
            }
        });
    }

    /// The first violation, if any.
    pub fn check(&self) -> Result<(), String> {
        match self.0.lock().expect("poisoned").first() {
            Some(message) => Err(message.clone()),
            None => Ok(()),
        }
    }
}

/// The nodes the ensemble (its leader) holds for the node `base` in `mode`: the node itself,
/// or every sequential node made from the prefix (protected or not).
pub fn nodes_of(sim: &Sim, base: &str, mode: CreateMode) -> Vec<(String, Vec<u8>, Stat)> {
    let parent = path::parent(base).unwrap_or("/").to_owned();
    let prefix = path::name(base).to_owned();
    sim.inspect(|model| {
        let Some((_, _, children)) = model.node(None, &parent) else {
            return Vec::new();
        };
        children
            .iter()
            .filter(|child| {
                let plain = protected::strip(child);
                if mode.is_sequential() {
                    plain.len() == prefix.len() + 10 && plain.starts_with(&prefix)
                } else {
                    plain == prefix
                }
            })
            .filter_map(|child| {
                let p = path::join(&parent, child);
                model.node(None, &p).map(|(data, stat, _)| (p, data, stat))
            })
            .collect()
    })
}

/// Why `who`'s node is not as it must be after healing (exactly one node, the newest data,
/// the recipe pointing at it, owned by the current session in ephemeral modes), if it is not.
pub fn node_mismatch(
    sim: &Sim,
    who: &str,
    node: &PersistentNode,
    mode: CreateMode,
    latest: &Latest,
) -> Option<String> {
    let nodes = nodes_of(sim, &node_path(who, mode), mode);
    let [(path, data, stat)] = nodes.as_slice() else {
        let paths: Vec<&String> = nodes.iter().map(|n| &n.0).collect();
        return Some(format!("{who} ({mode:?}): {} nodes {paths:?}", nodes.len()));
    };
    let want = latest
        .get(who)
        .unwrap_or_else(|| format!("{who}-1").into_bytes());
    if *data != want {
        let (got, want) = (
            String::from_utf8_lossy(data),
            String::from_utf8_lossy(&want),
        );
        return Some(format!("{who}: {path} holds {got:?}, newest is {want:?}"));
    }
    let session = sim.client(who).session_id();
    if mode.is_ephemeral() && stat.ephemeral_owner != session {
        return Some(format!(
            "{who}: {path} owned by {:#x}, session is {session:#x}",
            stat.ephemeral_owner
        ));
    }
    if node.actual_path().as_deref() != Some(path.as_str()) {
        return Some(format!(
            "{who}: recipe shows {:?}, node is {path}",
            node.actual_path()
        ));
    }
    None
}

/// Why `member`'s view of the group differs from the live members' newest data, if it does.
pub fn members_mismatch(member: &GroupMember, live: &[String], latest: &Latest) -> Option<String> {
    let want: BTreeMap<String, Vec<u8>> = live
        .iter()
        .map(|who| {
            let data = latest
                .get(who)
                .unwrap_or_else(|| format!("{who}-1").into_bytes());
            (who.clone(), data)
        })
        .collect();
    let got = member.current_members();
    check::check_view(&got, &want)
        .err()
        .map(|d| format!("{} sees a group unlike the live members:\n{d}", member.id()))
}
