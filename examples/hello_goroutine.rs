//! Go's first goroutine: `go printMessage()`, then several goroutines reporting back over a
//! channel.
//!
//! Run it: `cargo run --example hello_goroutine`
//!
//! Prints `Hello from main function` and `Hello from goroutine` (either order: they run
//! concurrently), then five greetings with their goroutine ids.
//!
//! The logic is in `examples/src/hello_goroutine.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::hello_goroutine::run(&gocsp_examples::Out::stdout()).await;
}
