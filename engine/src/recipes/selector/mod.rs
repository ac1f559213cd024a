//! Curator's `LeaderSelector`, fenced.

pub mod machine;

pub use machine::{CancelReason, SelectorCommand, SelectorEvent, SelectorMachine};

#[cfg(test)]
mod tests;
