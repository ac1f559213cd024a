//! Curator's `InterProcessMutex`, fenced.

pub mod machine;

pub use machine::{Lease, LockCommand, LockEvent, LockMachine};

#[cfg(test)]
mod tests;
