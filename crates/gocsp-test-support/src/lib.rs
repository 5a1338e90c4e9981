//! Helpers shared by the integration tests of the gocsp crates; not published.
//!
//! - [`scenarios`]: the harness of the whole-program tests (`tests/deadlock.rs` in
//!   `gocsp-runtime` and in `gocsp`), which run each scenario in a child process and check its
//!   exit status and stderr.
//! - [`Rng`]: a small seeded generator, so a failing seed can be replayed.
//! - [`Countdown`], [`flag_pending`], [`until`]: futures that let a test drop a future after a
//!   chosen number of polls, or know that a task waits, without sleeping.
//!
//! It depends on no gocsp crate (only on std and tokio), so any gocsp crate's tests can use it
//! without a dependency cycle.
#![forbid(unsafe_code)]

mod poll;
mod rng;
pub mod scenarios;

pub use poll::{flag_pending, until, Countdown};
pub use rng::Rng;
