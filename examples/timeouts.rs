//! Go by Example's "Timeouts" and "Non-Blocking Channel Operations": `select` with `time.After`,
//! with `default`, and a `context.WithTimeout`.
//!
//! Run it: `cargo run --example timeouts`
//!
//! Prints `timeout 1`, `result 2`, `no message received`, `no message sent`, `received hi`, `work
//! stopped: context deadline exceeded`.
//!
//! The logic is in `examples/src/timeouts.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::timeouts::run(&gocsp_examples::Out::stdout()).await;
}
