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
//! - [`planted`]: naive recipe variants the checkers must catch;
//! - [`counting`]: a session wrapper that counts requests (herds, bursts);
//! - [`history`]: the cache oracle (every state a cache showed is one the ensemble had; events
//!   in a sane order);
//! - [`caches`]: cache workloads (writers churning a subtree, caches under test, convergence).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod caches;
pub mod counting;
pub mod fence;
pub mod history;
pub mod planted;
pub mod timeline;
pub mod workload;
