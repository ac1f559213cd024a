//! The registry of locally registered instances (sans-IO machine and its tests).

pub mod machine;

pub use machine::{RegistryCommand, RegistryEvent, RegistryMachine};

#[cfg(test)]
mod tests;
