//! Goroutines for tokio: `go!`, goroutine identity and dumps, the gocsp runtime with Go's
//! deadlock detector, a tracing profile, and Go's timers.
//!
//! Part of [gocsp](https://example.invalid/gocsp): use it through the `gocsp` facade, which
//! re-exports everything here.
//!
//! # Goroutines
//!
//! [`go!`] (or [`go()`], or [`Goroutine::builder`] for a name or a site) spawns a future on the current tokio runtime — gocsp's own
//! ([`run`], [`Runtime`]) or a service's `#[tokio::main]` — and returns a [`GoHandle`]: await
//! it for `Result<T, GoError>`, or drop it to detach. Each goroutine has an id (from 1), an
//! optional name, the source location of its `go!`, and runs in a `tracing` span `goroutine`.
//! [`num_goroutine`] counts them; [`dump()`] shows what each one that has waited at least once
//! is doing, in Go's layout (the others are counted: see [`Dump::unlisted`]).
//!
//! ```
//! # gocsp_runtime::run(async {
//! use gocsp_runtime::go;
//! let h = go!(name = "adder", async { 2 + 2 });
//! assert_eq!(h.await.unwrap(), 4);
//! # });
//! ```
//!
//! CPU-bound work: tokio does not preempt tasks as Go does. Run it with [`go_blocking!`] (a
//! closure on tokio's blocking pool, registered as a goroutine) or break long loops with
//! [`yield_now`].
//!
//! # States in a dump
//!
//! `running` (being polled), `runnable` (woken, waiting for a worker), `waiting` (its last poll
//! waited on something that is not gocsp: a tokio timer, I/O, a tokio lock), or the gocsp
//! operation it is blocked in (`chan receive`, `chan send`, `select`, ...) with the source
//! location of that operation. gocsp's channel operations report themselves through
//! `gocsp_channel::hook`, which this crate installs.
//!
//! # Deadlock detector
//!
//! Under [`run`] / [`Runtime`] a thread watches for Go's `fatal error: all goroutines are
//! asleep - deadlock!`. It is built to never fire while anything could still make progress:
//! the exact rules are in the docs of [`Deadlock`] and below.
//!
//! It fires when, on two samples 100 ms apart with no goroutine polled in between: every
//! goroutine, main included, is blocked in a gocsp operation other than `sleep`; no other waker
//! clone than the one kept by that operation exists for any of them; no tokio task exists
//! besides the goroutines (gocsp timers are tasks, so a pending `after`/`Timer`/`Ticker` holds
//! it back); and no thread exists besides the worker threads, the `block_on` thread and the
//! detector (no blocking-pool thread, no OS thread). It needs Linux's `/proc`, and never fires
//! elsewhere.
//!
//! Not detected (it stays quiet): goroutines blocked while a blocking-pool thread lingers
//! (tokio keeps idle ones 10 s), while a plain task or OS thread exists (even one that is stuck
//! itself), `select`s whose engine keeps more than one waker clone. A known hole: combinators
//! that give children their own waker (`FuturesUnordered`, `FuturesOrdered`, `join_all` of many
//! futures, `buffer_unordered`) hide a plain tokio timer or socket their children wait on next
//! to a gocsp operation; gocsp's own timers are tasks and are always seen.
//!
//! In a runtime you built yourself, wrap your main future in [`detect_deadlocks`].
//!
//! In tests ([`testing`], `#[gocsp::test]`) the same rules apply to one test's goroutines and
//! runtime: tasks are counted on the test's own runtime, and the threads that may exist are
//! those of gocsp tests (their runtimes, their body threads, their detectors) and the test
//! harness's main thread; a thread no gocsp test owns holds the detector back.
//!
//! # Timers
//!
//! [`time`]: `after`, `tick`, `sleep`, `Timer`, `Ticker` with Go 1.23 semantics, delivering on
//! gocsp channels so they work as `select!` cases.
//!
//! # Tracing
//!
//! See [`trace`]: `GOCSP_TRACE=fmt` and `GOCSP_TRACE=profile`.
//!
//! # Codemap
//!
//! `goroutine/` (`builder.rs` spawning, `task.rs` the poll wrapper, `handle.rs`, `error.rs`,
//! `panic.rs`), `registry.rs` (per-goroutine
//! records, the sharded registry, the observer installed in `gocsp_channel::hook`), `dump.rs`,
//! `runtime.rs` (`Runtime`, `run`, `detect_deadlocks`, `SIGQUIT`), `deadlock.rs` (the detector
//! thread and its rules), `testing.rs` (`#[gocsp::test]`: a runtime and goroutine group per
//! test), `synctest.rs` (bubbles: a test group with a virtual clock), `time.rs`, `trace.rs`. Invariants: only `goroutine/` polls user
//! futures or runs a blocking goroutine's closure; only `deadlock.rs` reads `/proc`; nothing holds a registry lock while waking a task
//! or running user code, except the detector's spurious wake of a goroutine (which only
//! schedules it).
//!
//! # Signals
//!
//! `SIGQUIT` prints the goroutine dump and exits with status 2, as in Go ([`SigQuit`]);
//! [`print_dump`] does the same printing on demand.
#![forbid(unsafe_code)]

mod clock;
mod deadlock;
mod dump;
mod goroutine;
mod registry;
mod runtime;
pub mod synctest;
pub mod testing;
pub mod time;
pub mod trace;

pub use dump::{dump, num_goroutine, print_dump, Dump, Goroutine, State};
pub use gocsp_channel::hook::Op;
#[doc(hidden)]
pub use goroutine::panic_message;
pub use goroutine::{
    current_id, go, go_blocking, yield_now, GoError, GoHandle, GoroutineBuilder, Panic,
};
#[doc(hidden)]
pub use runtime::runtime_handle;
pub use runtime::{detect_deadlocks, run, Builder, Deadlock, DetectDeadlocks, Runtime, SigQuit};

/// Starts a goroutine: `go!(future)` or `go!(name = expr, future)`, returning its
/// [`GoHandle`]. The name is any `impl Into<String>` (a literal or a `format!`).
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::go;
/// async fn work(n: u32) -> u32 { n * 2 }
/// let a = go!(work(1));
/// let b = go!(async move { work(2).await });
/// let id = 3;
/// let c = go!(name = format!("worker-{id}"), work(3));
/// assert_eq!(c.name(), Some("worker-3"));
/// assert_eq!(a.await.unwrap() + b.await.unwrap() + c.await.unwrap(), 12);
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime, with a message saying how to start one.
///
/// # Go equivalent
///
/// `go f(x)`.
#[macro_export]
macro_rules! go {
    (name = $name:expr, $fut:expr $(,)?) => {
        $crate::GoroutineBuilder::new().name($name).spawn($fut)
    };
    ($fut:expr $(,)?) => {
        $crate::go($fut)
    };
}

/// Starts a goroutine running a closure on tokio's blocking pool:
/// `go_blocking!(closure)` or `go_blocking!(name = expr, closure)`. See [`go_blocking()`].
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::go_blocking;
/// let h = go_blocking!(name = "sum", || (1..=100u32).sum::<u32>());
/// assert_eq!(h.await.unwrap(), 5050);
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// # Go equivalent
///
/// `go f()` for a CPU-bound or blocking `f`.
#[macro_export]
macro_rules! go_blocking {
    (name = $name:expr, $f:expr $(,)?) => {
        $crate::GoroutineBuilder::new()
            .name($name)
            .spawn_blocking($f)
    };
    ($f:expr $(,)?) => {
        $crate::go_blocking($f)
    };
}
