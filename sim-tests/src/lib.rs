//! Seeded fault-injection suites, scenarios and checkers for docent.
//!
//! The suites live in `tests/` and run only under `--cfg madsim` (see `scripts/test`); this
//! library holds what they share (the checkers themselves are `docent_sim::check`'s):
//!
//! - [`fence`]: the guarded write the suites make under a lease (its outcomes go to
//!   `docent_sim::check`'s `FenceLog` or `SlotFence`);
//! - [`workload`]: latch participants and mutex workers that feed a `docent_sim::check::Holds`;
//! - [`multi`]: multi-lock workers and the all-or-nothing checks;
//! - [`semaphores`]: semaphore workers and the permit-leak check;
//! - [`planted`]: naive recipe variants the checkers must catch;
//! - [`planted_queue`]: a naive queue consumer (no lock path, deletes after processing);
//! - [`planted_semaphore`]: naive semaphores (no creation mutex, unprotected lease create);
//! - [`rwlock`]: read–write lock workers (readers, writers, downgrades) and their checks;
//! - [`counting`]: a session wrapper that counts requests (herds, bursts);
//! - [`history`]: the cache oracle (every state a cache showed is one the ensemble had; events
//!   in a sane order);
//! - [`caches`]: cache workloads (writers churning a subtree, caches under test, convergence);
//! - [`atomic`]: counter workers (`AtomicLong`, `SharedCount`) and their history checks
//!   (totals with unknown outcomes, values read were written, compare-and-set on the version
//!   read, progress after healing);
//! - [`planted_counter`]: a naive increment that retries a lost versioned write blindly;
//! - [`nodes`]: persistent node and group member workloads, the owner check (never a node of
//!   another session shown as ours) and convergence to the newest data, exactly once;
//! - [`planted_nodes`]: a naive ephemeral persistent node that trusts NodeExists;
//! - [`barriers`]: double barrier rounds and barrier waiters, with their checks;
//! - [`planted_barrier`]: a double barrier that passes `enter` on any wake-up;
//! - [`queues`]: queue producers and consumers, and the delivery checks (at least once with a
//!   lock path, redelivered only after a drop, a crash or a lost session; never twice without);
//! - [`ensemble`]: membership faults (every server replaced), a chrooted observer that must
//!   keep its root and its session, providers that must end listing the members.
//!
//! # Named scenarios
//!
//! The rows of SCENARIOS.md that run here, each a test of that name (run one with
//! `RUSTFLAGS="--cfg madsim" cargo test --profile sim --target-dir target/sim -p docent-sim-tests
//! --test FILE NAME`):
//!
//! | file | scenarios |
//! |---|---|
//! | `latch_scenarios` | `latch_double_leader_after_expiry`, `latch_reconnect_race`, `latch_stale_children`, `latch_parent_vanished`, `latch_ignores_disconnect`, `herd_on_reconnect` |
//! | `mutex_scenarios` | `mutex_lagging_follower`, `mutex_holder_partitioned`, `mutex_release_connection_loss`, `protected_create_lost_reply`, `suspended_tolerated_two_leaders` |
//! | `semaphore_scenarios` | `semaphore_orphan_leases`, `semaphore_lease_create_lost_reply`, `semaphore_holder_expired_while_cut_off`, `semaphore_max_leases_lowered_while_held` |
//! | `rwlock_scenarios` | `rwlock_downgrade_overtaken`, `rwlock_writer_behind_readers_on_lagging_follower` |
//! | `cache_scenarios` | `cache_missed_recreate` (and its `_deleted_between_list_and_read`, `_started_while_down`, `_bursts` variants), `container_reaped_under_cache`, `cache_large_fanout`, `cache_herd_on_reconnect` |
//! | `discovery` | `discovery_stale_reregister`, `discovery_poison_instance` |
//! | `multi_lock` | `multi_lock_fails_on_third_lock` (and its `(cut off)` variant: the rollback's deletes wait for the connection) |
//! | `revocation_scenarios` | `revocation_holder_partitioned` (and its `(expired)` variant) |
//! | `counter_scenarios` | `atomic_increment_lost_reply` (reported unknown, never applied twice), `atomic_node_deleted`, `shared_count_version_overflow` (and its `(version -1)` side), `shared_count_updated_on_a_lagging_follower` |
//! | `nodes_scenarios` | `persistent_node_races` (and its `_started_while_down`, `_long_outage` variants), `persistent_node_deleted_while_cut_off`, `persistent_node_across_expiry` |
//! | `barrier_scenarios` | `double_barrier_spurious_wakeup` (and its `_single_barrier` variant: a `Barrier` waiter under the same session events), `double_barrier_member_expired_inside` |
//! | `queue_scenarios` | `queue_consumer_session_dies`, `queue_stops_after_long_disconnect`, `simple_queue_container_reaped`, `id_queue_requeue`, `queue_consumer_crashed_mid_item` (with and without a lock path), `priority_queue_order_after_a_partition`, `delay_queue_due_order` |
//! | `ensemble_scenarios` | `ensemble_reconfig_chroot` (the tracker over a wildcard `/zookeeper/config` while every server is replaced; the chroot kept across moves and a reconnect) |
//! | `framework_scenarios` | `lost_never_reported` (connection states: LOST once per loss), `guaranteed_delete_unreachable` (guaranteed delete: bounded while unreachable, NoNode ends it) |
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod atomic;
pub mod barriers;
pub mod caches;
pub mod counting;
pub mod ensemble;
pub mod fence;
pub mod history;
pub mod multi;
pub mod nodes;
pub mod planted;
pub mod planted_barrier;
pub mod planted_counter;
pub mod planted_nodes;
pub mod planted_queue;
pub mod planted_semaphore;
pub mod queues;
pub mod rwlock;
pub mod semaphores;
pub mod workload;
