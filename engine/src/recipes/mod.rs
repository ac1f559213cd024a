//! The recipes.

pub mod cache;
pub(crate) mod enroll;
pub mod fencing;
pub mod latch;
mod lease;
pub mod lock;
pub mod order;
pub mod participants;
pub mod selector;
#[cfg(test)]
mod testing;
mod wait;
mod watched;
