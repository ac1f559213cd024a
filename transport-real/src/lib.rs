//! docent over a real ZooKeeper session.
#![forbid(unsafe_code)]
