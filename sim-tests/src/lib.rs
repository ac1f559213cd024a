//! Seeded fault-injection suites, scenarios and checkers for docent.
//!
//! The suites live in `tests/` and run only under `--cfg madsim` (see `scripts/test`); this
//! library holds what they share:
//!
//! - [`timeline`]: who held a lease (leadership, a lock) when, with which fencing token, and
//!   the safety checks over it (no overlap unless a holder was paused; tokens increase in
//!   grant order);
//! - [`fence`]: the commit-order check of guarded writes (a stale holder's write never lands
//!   after a newer holder's);
//! - [`workload`]: latch participants and mutex workers that feed a timeline;
//! - [`multi`]: multi-lock workers and the all-or-nothing checks;
//! - [`semaphores`]: semaphore workers and the permit-leak check;
//! - [`planted`]: naive recipe variants the checkers must catch;
//! - [`planted_semaphore`]: naive semaphores (no creation mutex, unprotected lease create);
//! - [`rwlock`]: read–write lock workers (readers, writers, downgrades) and their checks;
//! - [`counting`]: a session wrapper that counts requests (herds, bursts);
//! - [`history`]: the cache oracle (every state a cache showed is one the ensemble had; events
//!   in a sane order);
//! - [`caches`]: cache workloads (writers churning a subtree, caches under test, convergence).
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
//! | `ensemble_scenarios` | `ensemble_reconfig_chroot` (the tracker over a wildcard `/zookeeper/config` while every server is replaced; the chroot kept across moves and a reconnect) |
//! | `framework_scenarios` | `lost_never_reported` (connection states: LOST once per loss), `guaranteed_delete_unreachable` (guaranteed delete: bounded while unreachable, NoNode ends it) |
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod caches;
pub mod counting;
pub mod ensemble;
pub mod fence;
pub mod history;
pub mod multi;
pub mod planted;
pub mod planted_semaphore;
pub mod rwlock;
pub mod semaphores;
pub mod timeline;
pub mod workload;
