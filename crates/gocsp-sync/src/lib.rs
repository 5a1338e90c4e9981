//! Go's `sync`, `context` and `errgroup` for async Rust: [`WaitGroup`], [`Cond`], [`Context`]
//! and [`ErrGroup`], plus re-exports of tokio's locks under their Go-familiar names.
#![forbid(unsafe_code)]

mod blocking;
mod loom;
mod wait_group;

pub use wait_group::{Wait, WaitGroup};
