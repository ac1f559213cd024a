//! stub
pub mod machine;
pub use machine::{Selector, TreeEvent, TreeMachine, TreeOptions};
/// stub
#[derive(Debug)]
pub struct TreeCache;
