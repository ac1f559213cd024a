//! The recipes.

pub(crate) mod enroll;
pub mod latch;
pub mod lock;
pub mod order;
pub mod selector;
#[cfg(test)]
mod testing;
