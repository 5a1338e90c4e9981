//! The tour of gocsp: Go's concurrency model, step by step, in one run of a few seconds.
//!
//! Run it: `cargo run --release --example tour`
//!
//! Each step prints what it shows, to be checked by eye against the Go it mirrors:
//!
//! 1. `go!` and its handle (Go's `go f()`);
//! 2. an unbuffered channel, whose send waits for the receiver;
//! 3. a buffered channel, and `try_send` on a full one;
//! 4. `close` and `while let Some(v) = rx.recv().await` (Go's `for v := range ch`), and a
//!    send on a closed channel;
//! 5. `select!` with `default`, with `time::after` (a timeout), and its uniformly random
//!    choice;
//! 6. `WaitGroup`;
//! 7. `Context` cancellation and timeout;
//! 8. `ErrGroup`, whose first error cancels the others;
//! 9. the goroutine dump (what Go prints on `SIGQUIT`);
//! 10. the per-goroutine profile table (what `GOCSP_TRACE=profile` prints at exit).
//!
//! The logic is in `examples/src/tour.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

use tracing_subscriber::prelude::*;

fn main() {
    // The profile layer, installed by hand so that the tour can print its table as the last
    // step (`GOCSP_TRACE=profile` does the same for any gocsp program, printing at exit).
    let (layer, guard) = gocsp::trace::profile();
    tracing_subscriber::registry().with(layer).init();
    gocsp::Runtime::builder()
        .trace_from_env(false)
        .run(gocsp_examples::tour::run(
            &gocsp_examples::Out::stdout(),
            Some(&guard),
        ));
    let _ = guard.finish(); // already printed by the tour
}
