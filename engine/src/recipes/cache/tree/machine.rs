//! stub
/// stub
#[derive(Debug)]
pub struct Selector;
/// stub
#[derive(Debug)]
pub enum TreeEvent {}
/// stub
#[derive(Debug)]
pub struct TreeMachine;
/// stub
#[derive(Debug)]
pub struct TreeOptions;
