//! "Concurrency is not parallelism" (Rob Pike): Task A and Task B take turns on one worker
//! thread, then the same CPU-bound work runs on one worker and on all of them
//! (`runtime.GOMAXPROCS`, here `Runtime::builder().worker_threads(n)`).
//!
//! Run it: `cargo run --release --example concurrency_vs_parallelism`
//! (`GOMAXPROCS=2` to choose the worker count of the second run).
//!
//! Prints `Task A: 1`, `Task B: 1`, ... interleaved, then the prime count and time on 1 worker
//! and on N workers, and the measured speed-up (close to N on an idle machine with N cores).
//!
//! The logic is in `examples/src/concurrency_vs_parallelism.rs`, shared with
//! `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

fn main() {
    gocsp_examples::concurrency_vs_parallelism::run(&gocsp_examples::Out::stdout());
}
