//! The recipes.

pub(crate) mod enroll;
pub mod latch;
pub mod lock;
pub mod order;
#[cfg(test)]
mod testing;
