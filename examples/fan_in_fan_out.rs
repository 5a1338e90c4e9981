//! Fan-out / fan-in from the Go blog's "Pipelines": four `sq` goroutines read one channel and
//! `merge` joins their outputs, closed by a `sync.WaitGroup`.
//!
//! Run it: `cargo run --example fan_in_fan_out`
//!
//! Prints how many numbers each worker squared (they add up to 100) and the sum of the squares of
//! 1..=100, 338350, next to the closed formula.
//!
//! The logic is in `examples/src/fan_in_fan_out.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::fan_in_fan_out::run(&gocsp_examples::Out::stdout()).await;
}
