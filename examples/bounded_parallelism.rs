//! Bounded parallelism with `golang.org/x/sync/errgroup` (the Go blog's bounded `MD5All`, and
//! errgroup's `SetLimit`): checksum 20 files with at most 3 goroutines at a time, then watch
//! the first error cancel the rest through the group's context.
//!
//! Run it: `cargo run --example bounded_parallelism`
//!
//! Prints 20 checksums with `peak concurrency: 3 (limit 3); error: None`, then a run where
//! file 7 is corrupt: fewer than 20 files checksummed and `error: file 7: checksum mismatch`.
//!
//! The logic is in `examples/src/bounded_parallelism.rs`, shared with
//! `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::bounded_parallelism::run(&gocsp_examples::Out::stdout()).await;
}
