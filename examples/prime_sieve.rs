//! Go's concurrent prime sieve (`doc/play/sieve.go`, the classic `Generate`/`Filter` chain): one
//! filter goroutine per prime, connected by unbuffered channels.
//!
//! Run it: `cargo run --example prime_sieve`
//!
//! Prints the first 100 primes, 2 to 541, ten per line.
//!
//! The logic is in `examples/src/prime_sieve.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::prime_sieve::run(&gocsp_examples::Out::stdout()).await;
}
