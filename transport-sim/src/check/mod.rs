//! Checkers for simulated (or real) histories, for users' own tests as much as for docent's.
//!
//! - [`linear`]: linearizability of a register or counter history with unknown outcomes.

pub mod linear;
