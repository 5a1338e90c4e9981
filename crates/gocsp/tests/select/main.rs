//! `select!` and `select_blocking!` through the facade, as a user writes them: one test binary,
//! one module per aspect.
//!
//! - `rules`: the rules every `select!` keeps (one ready case fires, uniform choice, `biased;`,
//!   `default`, nil channels and guards, closed channels, `fut` cases, lazy send values), one
//!   test per rule.
//! - `expansion`: the macro's own contract: in what order and how often it evaluates guards,
//!   channel, value and future expressions, what happens to unused results, and that a
//!   cancelled `select!` builds and takes nothing.
//! - `linearizable`: a select's choice is one it could have made at one instant, `biased;`
//!   included, while another thread moves values between its channels.
//! - `stress`: tasks racing `select!`s that are dropped at random points, every value
//!   accounted for.
//!
//! Go's own select tests, ported, are `tests/golang.rs`; the macros' compile-time tests
//! (trybuild) are `crates/gocsp-macros/tests/ui.rs`.

mod expansion;
mod linearizable;
mod rules;
mod stress;
