//! Checkers for simulated (or real) histories, for users' own tests as much as for docent's.
//! Each returns `Err` with a message naming the violation, ready to return from a harness body.
//!
//! # Leases
//! A [`Holds`] records who held a lease (leadership, a lock, a semaphore permit) when, with
//! which fencing token; its checks:
//!
//! - [`Holds::check_exclusive`]: at most one holder at any instant;
//! - [`Holds::check_exclusive_of`]: no hold of one kind overlaps another process's hold of a
//!   second kind (a read–write lock's writers against its readers);
//! - [`Holds::check_at_most`]: no more overlapping holds than leases (a semaphore);
//! - [`Holds::check_tokens`]: fencing tokens strictly increase in grant order.
//!
//! Paused, forcibly expired and crashed processes are accounted for (see [`Holds`]).
//!
//! # Fencing
//! Guarded writes in commit order: a stale holder's write landing after a newer holder's is
//! the bug fencing exists to prevent. [`FenceLog`] checks one lease (in commit order, tokens
//! never go down); [`SlotFence`] a lease of several slots (per slot, tokens strictly increase
//! in grant order and writes land in token order). Record each guarded write's outcome (a
//! lease guard's `guarded`, or [`docent::recipes::fencing::guarded_on`]) whose ops include a
//! `SetData`: its new stat's mzxid is the write's commit zxid.
//!
//! # Convergence
//! Once the faults heal, what a cache or a registry shows must equal the ensemble's ground
//! truth: [`Scope::truth`] reads a node, its children or a subtree from the model (on the
//! leader: every committed transaction applied) as a cache shows it, [`members`] a group's
//! members (child name → data); [`diff`] and [`check_view`] compare a view with it, naming the
//! missing, extra and stale entries with their data and versions; [`converge`](converge())
//! polls until nothing is pending or a deadline passes.
//!
//! # Caches
//! [`Seen`]: every state a cache showed (in an event or a snapshot) is one the ensemble really
//! had ([`Ensemble::history`](crate::Ensemble::history)); a cache may lag, never invent.
//!
//! # Linearizability
//! [`linear`]: linearizability of a register or counter history with unknown outcomes.

mod converge;
mod fence;
mod holds;
pub mod linear;
mod seen;

pub use converge::{
    check_set, check_view, converge, diff, members, without_data, Diff, Scope, Viewed,
};
pub use fence::{FenceLog, Landed, SlotFence};
pub use holds::{Hold, Holds};
pub use seen::Seen;
