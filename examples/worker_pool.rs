//! Go by Example's "Worker Pools" (https://gobyexample.com/worker-pools): three workers share one
//! jobs channel.
//!
//! Run it: `cargo run --example worker_pool`
//!
//! Prints each worker starting and finishing jobs, the results `[2, 4, 6, 8, 10]`, and a total time
//! of about two job lengths rather than five.
//!
//! The logic is in `examples/src/worker_pool.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::worker_pool::run(&gocsp_examples::Out::stdout()).await;
}
