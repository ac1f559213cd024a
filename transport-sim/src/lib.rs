//! The simulated ZooKeeper ensemble.
#![forbid(unsafe_code)]
