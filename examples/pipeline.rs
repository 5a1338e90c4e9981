//! The Go blog's "Go Concurrency Patterns: Pipelines and cancellation": `gen` → `sq` → sink, then
//! an endless pipeline stopped through a `context.Context`.
//!
//! Run it: `cargo run --example pipeline`
//!
//! Prints 1 4 9 16 25, then the squares of squares 1 16 81 ... of the endless pipeline, then
//! `stopped (context canceled)` with how many values each stage handled.
//!
//! The logic is in `examples/src/pipeline.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::pipeline::run(&gocsp_examples::Out::stdout()).await;
}
