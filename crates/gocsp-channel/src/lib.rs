//! Go channels for async Rust (work in progress: the channel core lands next).
pub mod hook;
