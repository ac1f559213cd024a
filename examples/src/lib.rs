//! Shared helpers of the docent examples.
#![forbid(unsafe_code)]
