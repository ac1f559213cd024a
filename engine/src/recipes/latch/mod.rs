//! Curator's `LeaderLatch`, fenced.

pub mod machine;

pub use machine::{CloseMode, LatchCommand, LatchEvent, LatchMachine};

#[cfg(test)]
mod tests;
