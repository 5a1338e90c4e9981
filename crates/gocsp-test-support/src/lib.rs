//! Helpers shared by the integration tests of the gocsp crates; not published.
//!
//! - [`scenarios`]: the harness of the whole-program tests (`tests/deadlock.rs` in
//!   `gocsp-runtime` and in `gocsp`), which run each scenario in a child process and check its
//!   exit status and stderr.
//!
//! It depends on no gocsp crate, so any gocsp crate's tests can use it without a dependency
//! cycle.
#![forbid(unsafe_code)]

pub mod scenarios;
