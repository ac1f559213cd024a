//! The caches under the swarm fault mix: two writers churn a subtree (creates, sets, deletes,
//! delete + re-create in one txn, ephemerals, now and then the whole subtree removed) while
//! two other clients each run a node cache, a children cache and a tree cache on it.
//!
//! - Safety, over the whole run: every node state a cache showed (event or snapshot) is one
//!   the ensemble really had; events come in a sane order (see `history::Mirror`).
//! - Convergence: once the faults healed and the writers stopped, every cache (snapshot and
//!   events alike) matches the ensemble within [`SETTLE`].
#![cfg(madsim)]

use std::time::Duration;

use docent_sim::check::Seen;
use docent_sim::harness;
use docent_sim_tests::caches::{
    check_order, children_cache, converge, node_cache, sample_until, spawn_writer, tree_cache,
    NODE, ROOT,
};

/// How long after the writes stopped (and the faults healed) the caches must match.
const SETTLE: Duration = Duration::from_secs(40);

#[test]
fn caches_safe_and_convergent_under_swarm() {
    harness!("caches_safe_and_convergent_under_swarm")
        .clients(["w1", "w2", "c1", "c2"])
        .swarm(Duration::from_secs(60))
        .require_coverage("model.stale_read", 70)
        .require_coverage("client.lost_injected", 85)
        .run(|sim| async move {
            let seen = Seen::new();
            // c1 keeps everything; c2 keeps its children's stats only and one tree level.
            let caches = vec![
                node_cache(&sim, &seen, "c1", NODE).await?,
                children_cache(&sim, &seen, "c1", ROOT, true).await?,
                tree_cache(&sim, &seen, "c1", ROOT, usize::MAX).await?,
                node_cache(&sim, &seen, "c2", NODE).await?,
                children_cache(&sim, &seen, "c2", ROOT, false).await?,
                tree_cache(&sim, &seen, "c2", ROOT, 1).await?,
            ];
            // Writes go on through the faults, and for a while even without any.
            let quiet = sim.healed_at().max(Duration::from_secs(30));
            spawn_writer(&sim, "w1", 1, quiet);
            spawn_writer(&sim, "w2", 2, quiet);
            sample_until(&sim, &caches, &seen, quiet).await;
            let converged = converge(&sim, &caches, &seen, quiet + SETTLE).await;
            // Order and safety first: a cache that shows the wrong thing may never converge.
            check_order(&caches)?;
            seen.check(&sim, ROOT)?;
            converged?;
            Ok::<_, Box<dyn std::error::Error>>(())
        });
}
