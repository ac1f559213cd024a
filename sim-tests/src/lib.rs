//! Seeded fault-injection suites, scenarios and checkers for docent.
#![forbid(unsafe_code)]
