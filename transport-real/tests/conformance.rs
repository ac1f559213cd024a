//! The conformance suite: every scenario runs on the embedded simulated ensemble and on a real
//! ZooKeeper server, and the two transcripts of observable results must be identical. This is
//! what keeps the model (`docent_sim::model`) honest.
//!
//! A transcript holds every op's result or error, sequential names, the deterministic stat
//! fields (version, cversion, aversion, numChildren, dataLength, ephemeral owner by the
//! script's session names), watch events in order, multi results and failing indexes,
//! reaping of containers and TTL nodes, and what session expiry and close do.
//!
//! `CONFORMANCE_FILTER=<substring>` runs only the matching scenarios;
//! `CONFORMANCE_SHOW=1` prints every transcript.

#[path = "conformance/acls.rs"]
mod acls;
#[path = "conformance/backend.rs"]
mod backend;
#[path = "conformance/multis.rs"]
mod multis;
#[path = "conformance/nodes.rs"]
mod nodes;
#[path = "conformance/render.rs"]
mod render;
#[path = "conformance/script.rs"]
mod script;
#[path = "conformance/sessions.rs"]
mod sessions;
#[path = "conformance/watches.rs"]
mod watches;

use std::sync::Arc;
use std::time::Duration;

use backend::{Backend, RealBackend, SimBackend};
use futures::future::BoxFuture;
use futures::StreamExt;
use script::Ctx;

type Script = for<'a> fn(&'a mut Ctx) -> BoxFuture<'a, ()>;

macro_rules! scenarios {
    ($($module:ident :: $name:ident),* $(,)?) => {
        &[$((stringify!($name), $module::$name as Script)),*]
    };
}

const SCENARIOS: &[(&str, Script)] = scenarios![
    nodes::create_persistent,
    nodes::create_errors,
    nodes::create_ephemeral,
    nodes::create_sequential,
    nodes::sequential_empty_name,
    nodes::sequential_after_deletes,
    nodes::sequential_per_parent,
    nodes::create_container,
    nodes::create_ttl,
    nodes::delete_rules,
    nodes::set_data_versions,
    nodes::reads_of_missing_nodes,
    nodes::children_and_stats,
    nodes::binary_and_empty_data,
    nodes::path_validation,
    nodes::data_limit,
    acls::acl_versions,
    acls::acl_read_only_node,
    acls::acl_per_permission,
    acls::acl_digest,
    acls::acl_invalid,
    acls::acl_digest_protects_children,
    multis::multi_success,
    multis::multi_failure_index,
    multis::multi_rollback_keeps_sequence,
    multis::multi_dependent_ops,
    multis::multi_empty_and_checks,
    multis::multi_invalid_paths,
    multis::multi_acl_and_ephemeral_parent,
    multis::multi_read,
    watches::exists_watch_lifecycle,
    watches::reads_of_missing_nodes_leave_no_watch,
    watches::data_watch_is_one_shot,
    watches::delete_fires_data_child_and_exists_watches,
    watches::child_create_fires_child_watch_only,
    watches::child_data_change_does_not_fire_parent,
    watches::watch_fired_by_other_session,
    watches::set_acl_and_failed_writes_fire_nothing,
    watches::persistent_watch,
    watches::persistent_recursive_watch,
    watches::persistent_and_one_shot_together,
    watches::recursive_watch_on_other_session_changes,
    sessions::close_deletes_ephemerals_of_that_session,
    sessions::closed_session_refuses_ops,
    sessions::session_expiry,
    sessions::ephemeral_owner_is_the_session,
    sessions::container_reaped_after_last_child,
    sessions::container_reaping_fires_watches,
    sessions::ttl_expiry,
    sessions::sync_then_read,
];

/// How many scenarios run at once (each on both backends).
const PARALLEL: usize = 6;
/// The most one scenario may take on one backend.
const SCENARIO_LIMIT: Duration = Duration::from_secs(45);

/// Runs `script` on `backend`; a panic or a hang becomes the transcript's last line.
async fn transcript(backend: Arc<dyn Backend>, name: &'static str, script: Script) -> Vec<String> {
    let task = tokio::spawn(async move {
        let mut cx = Ctx::new(backend, name);
        script(&mut cx).await;
        cx.into_lines()
    });
    match tokio::time::timeout(SCENARIO_LIMIT, task).await {
        Ok(Ok(lines)) => lines,
        Ok(Err(e)) => vec![format!("harness: the script failed: {e}")],
        Err(_) => vec![format!("harness: the script took over {SCENARIO_LIMIT:?}")],
    }
}

/// True when a pair of differing lines is docent-zk's one known difference (not the model's):
/// `zookeeper-client` refuses to create `/` (`BadArguments`) where ZooKeeper answers
/// `NodeExists`. Everything else on the line must agree.
fn known_transport_difference(sim: &str, real: &str) -> bool {
    let (Some((sim_op, sim_result)), Some((real_op, real_result))) =
        (sim.split_once(" -> "), real.split_once(" -> "))
    else {
        return false;
    };
    if sim_op != real_op {
        return false;
    }
    // zookeeper-client refuses to create the root itself; the server would say NodeExists.
    (sim_result, real_result) == ("error NodeExists", "error BadArguments")
        && sim_op.contains(r#"create "/" "#)
}

/// Compares two transcripts: `Ok(k)` when they agree up to `k` known transport differences.
fn compare(sim: &[String], real: &[String]) -> Result<usize, ()> {
    if sim.len() != real.len() {
        return Err(());
    }
    let mut known = 0;
    for (s, r) in sim.iter().zip(real) {
        if s != r {
            if !known_transport_difference(s, r) {
                return Err(());
            }
            known += 1;
        }
    }
    Ok(known)
}

/// The two transcripts side by side, the first difference marked.
fn diff(name: &str, sim: &[String], real: &[String]) -> String {
    let mut out = format!("\n=== {name}: sim and real differ ===\n");
    let n = sim.len().max(real.len());
    let mut marked = false;
    for i in 0..n {
        let s = sim.get(i).map_or("<none>", String::as_str);
        let r = real.get(i).map_or("<none>", String::as_str);
        if s == r || known_transport_difference(s, r) {
            out.push_str(&format!("   {s}\n"));
        } else {
            let mark = if marked { " " } else { ">" };
            marked = true;
            out.push_str(&format!("{mark}  sim:  {s}\n{mark}  real: {r}\n"));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_and_real_agree() {
    assert!(SCENARIOS.len() >= 40, "{} scenarios", SCENARIOS.len());
    let filter = std::env::var("CONFORMANCE_FILTER").unwrap_or_default();
    let show = std::env::var("CONFORMANCE_SHOW").is_ok();
    let server = RealBackend::start_server().await;
    let chosen: Vec<_> = SCENARIOS
        .iter()
        .filter(|(name, _)| name.contains(filter.as_str()))
        .copied()
        .collect();
    assert!(!chosen.is_empty(), "no scenario matches {filter:?}");
    let runs = futures::stream::iter(chosen.clone())
        .map(|(name, script)| {
            let real: Arc<dyn Backend> = Arc::new(RealBackend::new(server.clone()));
            async move {
                let sim: Arc<dyn Backend> = Arc::new(SimBackend::new());
                let (sim, real) = futures::join!(
                    transcript(sim, name, script),
                    transcript(real, name, script)
                );
                (name, sim, real)
            }
        })
        .buffer_unordered(PARALLEL)
        .collect::<Vec<_>>()
        .await;

    let mut failures = Vec::new();
    let mut known = Vec::new();
    for (name, sim, real) in &runs {
        if show {
            println!("--- {name} ({} lines)", sim.len());
            for line in sim {
                println!("    {line}");
            }
        }
        match compare(sim, real) {
            Err(()) => failures.push(diff(name, sim, real)),
            Ok(0) => {}
            Ok(k) => known.push(format!("{name} ({k})")),
        }
        if sim.iter().any(|l| l.starts_with("harness:")) || sim.len() < 3 {
            failures.push(format!(
                "\n=== {name}: both sides broke the same way: {sim:?}\n"
            ));
        }
    }
    println!(
        "conformance: {} scenarios, {} agree; known docent-zk path-validation differences in: {}",
        runs.len(),
        runs.len() - failures.len(),
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    );
    assert!(failures.is_empty(), "{}", failures.concat());
}
