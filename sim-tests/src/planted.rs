//! Naive recipe variants that the checkers must catch.
