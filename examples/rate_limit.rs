//! Go by Example's "Rate Limiting" (https://gobyexample.com/rate-limiting): `time.Tick` paces
//! requests; a buffered channel of tokens allows bursts.
//!
//! Run it: `cargo run --example rate_limit`
//!
//! Prints five requests 200 ms apart, then three at about 0 ms and two more 200 ms apart.
//!
//! The logic is in `examples/src/rate_limit.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::rate_limit::run(&gocsp_examples::Out::stdout()).await;
}
