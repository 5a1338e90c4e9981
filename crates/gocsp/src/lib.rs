//! # gocsp: Go's concurrency model for async Rust
//!
//! Goroutines, channels, `select`, `sync.WaitGroup`, `context`, `errgroup` and `time.After`,
//! on tokio's multi-threaded work-stealing runtime. A Go program translates line by line;
//! nothing here breaks Rust's conventions (ownership, `Result`, `Stream`, no panics on ordinary
//! misuse). This crate is the facade: it re-exports the workspace crates and holds no logic.
//!
//! ```
//! use gocsp::prelude::*;
//!
//! #[gocsp::main]
//! async fn main() {
//!     let (tx, rx) = chan::<String>(0);
//!     go!(async move { tx.send("hello from a goroutine".into()).await.unwrap() });
//!     println!("{}", rx.recv().await.unwrap());
//! }
//! ```
//!
//! ## Goroutines
//!
//! [`go!`] starts a future as a goroutine on the current tokio multi-thread runtime (gocsp's
//! own from [`run`]/[`main`], or a service's `#[tokio::main]`). Each goroutine has an id, an
//! optional name and the source location of its `go!`, and runs in a `tracing` span
//! `goroutine`. The handle is a future of `Result<T, GoError>`; dropping it detaches.
//!
//! ```
//! # gocsp::run(async {
//! let h = gocsp::go!(name = "adder", async { 2 + 2 }); // go add()
//! assert_eq!(h.await.unwrap(), 4);
//! # });
//! ```
//!
//! ## Channels
//!
//! [`chan(0)`](chan) is Go's unbuffered `make(chan T)`: a send completes only once a receiver
//! took the value. [`chan(n)`](chan) buffers `n`; [`unbounded`] never blocks a sender.
//! `while let Some(v) = rx.recv().await` is `for v := range ch`.
//!
//! ```
//! # gocsp::run(async {
//! use gocsp::{chan, go};
//! let (tx, rx) = chan::<u32>(16);                 // ch := make(chan uint32, 16)
//! go!(async move {
//!     for i in 1..=3 { tx.send(i).await.unwrap() } // ch <- i
//! });                                             // tx dropped: close(ch)
//! let mut total = 0;
//! while let Some(v) = rx.recv().await {           // for v := range ch
//!     total += v;
//! }
//! assert_eq!(total, 6);
//! # });
//! ```
//!
//! ## Closing
//!
//! `close()` works from either side and returns whether this call closed the channel (Go panics
//! on a double close; gocsp reports). Receivers drain what was sent before the close, then get
//! `None` (`v, ok := <-ch` with `ok == false`). A send on a closed channel hands the value back.
//!
//! ```
//! let (tx, rx) = gocsp::chan::<&str>(1);
//! tx.try_send("last").unwrap();
//! assert!(tx.close());
//! assert!(!tx.close());
//! assert_eq!(tx.try_send("late").unwrap_err().into_inner(), "late");
//! assert_eq!(rx.recv_blocking(), Some("last"));
//! assert_eq!(rx.recv_blocking(), None);
//! ```
//!
//! ## Select
//!
//! [`select!`] is Go's `select` with crossbeam's syntax: exactly one ready case fires, chosen
//! uniformly at random (`biased;` for written order); a send value is evaluated only if its
//! case is chosen; `default` makes it non-blocking; `None` is a nil channel; a case may await
//! any future with `fut(..)`. The select future is cancel-safe. [`Select`] is the dynamic
//! builder (Go's `reflect.Select`), [`select_blocking!`] the same for OS threads.
//!
//! ```
//! # gocsp::run(async {
//! use gocsp::{chan, select, time::{after, Duration}};
//! let (_tx, jobs) = chan::<u32>(0);
//! let (results, _out) = chan::<u32>(1);
//! let outcome = select! {
//!     recv(jobs) -> job => format!("job {job:?}"),
//!     send(results, 7 * 6) -> res => format!("sent: {}", res.is_ok()),
//!     recv(after(Duration::from_secs(1))) => "timeout".to_string(),
//! };
//! assert_eq!(outcome, "sent: true");
//! let idle = select! {
//!     recv(jobs) -> _ => false,
//!     default => true,                            // nothing ready
//! };
//! assert!(idle);
//! # });
//! ```
//!
//! ## WaitGroup, Context, ErrGroup
//!
//! [`WaitGroup`] is `sync.WaitGroup` (with Go 1.25's `wg.go(..)`); [`Context`] is
//! `context.Context` whose [`done()`](Context::done) is a channel usable in `select!`;
//! [`ErrGroup`] is `golang.org/x/sync/errgroup`.
//!
//! ```
//! # gocsp::run(async {
//! use gocsp::{go, select, Context, WaitGroup};
//! let wg = WaitGroup::new();
//! let (ctx, cancel) = Context::background().with_cancel();
//! for _ in 0..3 {
//!     let ctx = ctx.clone();
//!     wg.go(async move {
//!         select! { recv(ctx.done()) => {} }      // <-ctx.Done()
//!     });
//! }
//! cancel.cancel();
//! wg.wait().await;
//! assert!(ctx.err().is_some());
//! # });
//! ```
//!
//! ## Timers
//!
//! [`time::after`], [`time::tick`], [`time::Timer`], [`time::Ticker`] and [`time::sleep`] have
//! Go 1.23 semantics and return channels, so they are ordinary `select!` cases. They run on
//! tokio's clock, so tests can use paused time.
//!
//! ## Tracing
//!
//! `GOCSP_TRACE=fmt` turns on `tracing_subscriber::fmt` with span timings;
//! `GOCSP_TRACE=profile` prints at exit a table per goroutine name (spawned, peak live, busy,
//! idle, time blocked on channels by site). Both are ordinary layers in [`trace`].
//! [`dump()`] returns the live goroutines that have waited at least once (Go's traceback layout
//! when printed; the others are counted), and the
//! deadlock detector of [`run`]/[`main`] prints Go's
//! `fatal error: all goroutines are asleep - deadlock!` and exits with status 2.
//!
//! ## Testing
//!
//! [`#[gocsp::test]`](macro@test) runs an `async fn` test on a runtime of its own (2 workers
//! unless `GOMAXPROCS` or `worker_threads = N` says otherwise, so scheduling races show up),
//! with the body as the main goroutine. A test whose goroutines deadlock fails promptly with
//! Go's `all goroutines are asleep - deadlock!` and the dump of its own goroutines instead of
//! hanging; goroutines still alive after the body returned fail it too, listed (opt out with
//! `allow_leaks`). Bodies return `()` or `Result<(), E: Debug>`. [`testing::Builder`] is the
//! same without the attribute. `examples/tests/gocsp_test.rs` is a test file to copy.
//!
//! ```
//! #[gocsp::test]
//! async fn squares_come_back_in_order() {
//!     let (tx, rx) = gocsp::chan::<u32>(0);
//!     gocsp::go!(async move {
//!         for i in 1..=3 { tx.send(i * i).await.unwrap() }
//!     });
//!     let mut got = vec![];
//!     while let Some(v) = rx.recv().await { got.push(v) }
//!     assert_eq!(got, [1, 4, 9]);
//! }
//! ```
//!
//! `#[gocsp::test(synctest)]` ([`synctest::test`]) runs the test in a bubble, Go 1.25's
//! `testing/synctest`: gocsp's timers use a virtual clock that advances only when every
//! goroutine of the test is durably blocked, then jumps to the next timer;
//! [`synctest::wait`] returns once every other goroutine is durably blocked.
//!
//! ```
//! use gocsp::time::{after, now, Duration};
//! #[gocsp::test(synctest)]
//! async fn a_slow_backend_times_out() {
//!     let (_tx, reply) = gocsp::chan::<u32>(0); // a backend that never answers
//!     let start = now();
//!     gocsp::select! {
//!         recv(reply) -> _v => panic!("no reply expected"),
//!         recv(after(Duration::from_secs(30))) -> _t => {}
//!     }
//!     assert_eq!(now() - start, Duration::from_secs(30)); // and no real 30 s passed
//! }
//! ```
//!
//! ## Which one do I use?
//!
//! | you want | use |
//! |---|---|
//! | hand one value to exactly one waiting task, and know it was taken | [`chan(0)`](chan) |
//! | a queue between producers and consumers with backpressure | [`chan(n)`](chan) |
//! | a queue that must never block the producer | [`unbounded`] |
//! | wait for the first of several events | [`select!`] |
//! | wait for N goroutines | [`WaitGroup`] |
//! | cancel a tree of work, with deadlines | [`Context`] |
//! | run fallible work, stop at the first error | [`ErrGroup`] |
//! | protect shared state | [`sync::Mutex`] (tokio's) — or better, one owner goroutine and a channel |
//! | run CPU-bound or blocking code | [`go_blocking!`] |
//! | talk to plain OS threads | `send_blocking` / `recv_blocking` / [`select_blocking!`] |
//! | test concurrent code without hanging on a deadlock | [`#[gocsp::test]`](macro@test) |
//! | a channel between processes or machines | `gocsp::nats` (feature `nats`): core NATS or JetStream |
//!
//! ## Beyond one process
//!
//! With the `nats` feature, `gocsp::nats` (the `gocsp-nats` crate) bridges channels over NATS:
//! `nats::sender` / `nats::receiver` / `nats::queue_receiver` are ordinary [`Sender`]s and
//! [`Receiver`]s over core NATS (at most once), and `nats::jetstream` gives a sender that
//! completes only once the stream stored the value and receivers that acknowledge only what a
//! local receiver took (at least once). The bridges are goroutines named `nats-send:{subject}`
//! and `nats-recv:{subject}`.
//!
//! ## Renaming the crate
//!
//! The macros expand to paths under `::gocsp::__private`. A crate that renames this
//! dependency must add `extern crate your_name as gocsp;` at its root.

#![forbid(unsafe_code)]

pub use gocsp_channel::{
    chan, unbounded, Iter, Permit, Receiver, Recv, Reserve, Select, Selected, Send, SendError,
    SendSink, Sender, TryRecvError, TrySendError,
};
pub use gocsp_macros::{main, select, select_blocking, test};
pub use gocsp_runtime::{
    current_id, detect_deadlocks, dump, go, go_blocking, num_goroutine, print_dump, run, yield_now,
    Builder, Deadlock, DetectDeadlocks, Dump, GoError, GoHandle, Goroutine, GoroutineBuilder, Op,
    Panic, Runtime, SigQuit, State,
};
pub use gocsp_sync::{
    AfterFuncHandle, CancelCause, CancelCauseHandle, CancelGuard, CancelHandle, CancellationToken,
    Cond, Context, ContextError, ErrGroup, WaitGroup,
};

/// Go's `sync` package: gocsp's own primitives and tokio's locks under their own names.
pub mod sync {
    pub use gocsp_sync::*;
}

/// Go's `time` package: channels that deliver after a delay or on every tick.
pub mod time {
    pub use gocsp_runtime::time::*;
}

/// Running tests on gocsp: what `#[gocsp::test]` expands to (a runtime and goroutine group per
/// test, a deadlock detector, a leak check).
pub mod testing {
    pub use gocsp_runtime::testing::*;
}

/// Go 1.25's `testing/synctest`: tests in a bubble whose virtual clock moves only when all its
/// goroutines are durably blocked (`#[gocsp::test(synctest)]`, [`synctest::test`],
/// [`synctest::wait`]).
pub mod synctest {
    pub use gocsp_runtime::synctest::*;
}

/// gocsp channels over NATS (the `gocsp-nats` crate, feature `nats`): core NATS
/// `Sender`/`Receiver` bridges, and JetStream's at-least-once sender and receivers.
#[cfg(feature = "nats")]
pub mod nats {
    pub use gocsp_nats::*;
}

/// Tracing layers: `GOCSP_TRACE=fmt` and `GOCSP_TRACE=profile`.
pub mod trace {
    pub use gocsp_runtime::trace::*;
}

/// `use gocsp::prelude::*;` brings the macros, `chan`, `unbounded`, the channel types,
/// `WaitGroup` and `Context`.
///
/// ```
/// use gocsp::prelude::*;
/// let (tx, rx): (Sender<u8>, Receiver<u8>) = chan(1);
/// # drop((tx, rx));
/// ```
pub mod prelude {
    pub use crate::{
        chan, go, go_blocking, select, select_blocking, unbounded, Context, ErrGroup, Receiver,
        SendError, Sender, WaitGroup,
    };
}

/// Items used by the code gocsp's macros generate. Not a public API: names and signatures
/// change without notice. Used by `select!`/`select_blocking!` (gocsp-macros) expansions.
#[doc(hidden)]
pub mod __private {
    pub use gocsp_channel::__private::*;
    pub use gocsp_runtime::run;
}
