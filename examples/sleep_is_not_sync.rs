//! `go printMessage()` followed by `time.Sleep` is a guess, not synchronization; the same done
//! right with a `sync.WaitGroup`.
//!
//! Run it: `cargo run --example sleep_is_not_sync`
//!
//! Prints how many of ten goroutines had printed after `time.Sleep(10ms)` (it varies from
//! run to run) and after `wg.wait()`, with `wg.add`/`wg.done` and with Go 1.25's `wg.go`
//! (always 10 of 10).
//!
//! The logic is in `examples/src/sleep_is_not_sync.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::sleep_is_not_sync::run(&gocsp_examples::Out::stdout()).await;
}
