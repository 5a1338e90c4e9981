//! Goroutines: starting them, their handles, their errors, and what happens when one panics.
//!
//! - `builder.rs`: [`GoroutineBuilder`], the one way a goroutine starts (name, site, async or
//!   blocking); [`go`], [`go_blocking`] and the `go!` / `go_blocking!` macros are sugar over it.
//! - `task.rs`: the wrapper future every goroutine runs in, which keeps its registry record
//!   (what the dump, the profile and the deadlock detector read) up to date around each poll.
//! - `handle.rs`: [`GoHandle`]; `error.rs`: [`GoError`]; `panic.rs`: the [`Panic`] policy.

use std::future::Future;
use std::panic::Location;

mod builder;
mod error;
mod handle;
mod panic;
mod task;

pub use builder::GoroutineBuilder;
pub use error::GoError;
pub use handle::GoHandle;
pub(crate) use panic::set_panic_policy;
pub use panic::{panic_message, Panic};
pub(crate) use task::GoFuture;

use crate::registry;

/// Starts a goroutine: spawns `fut` on the current tokio runtime and returns its handle.
///
/// The goroutine gets the next id, remembers the caller's source location, runs inside a
/// `tracing` span `goroutine{id, name, location}`, shows up in [`dump()`](crate::dump()) once
/// it has waited (see [`Dump::unlisted`](crate::Dump::unlisted)) and counts in
/// [`num_goroutine`](crate::num_goroutine) from its spawn. A panic inside it is logged and returned
/// as [`GoError::Panicked`] (or aborts the process under [`Panic::Abort`]).
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// let h = gocsp_runtime::go(async { 1 + 1 });
/// assert_eq!(h.await.unwrap(), 2);
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime, with a message saying how to start one.
///
/// # Go equivalent
///
/// `go f()`.
#[track_caller]
pub fn go<F>(fut: F) -> GoHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    builder::spawn_task(None, fut, Location::caller())
}

/// Starts a goroutine that runs the closure `f` on tokio's blocking thread pool (see
/// [`GoroutineBuilder::spawn_blocking`] for a named one): for CPU-bound
/// work and blocking calls (including gocsp's `send_blocking` / `recv_blocking`), which would
/// otherwise stall a runtime worker. The goroutine is registered like any other (id, name,
/// dump entry, span) and its handle behaves the same, except that [`GoHandle::abort`] cannot
/// stop a closure that has started.
///
/// Which one to use: async code that waits → [`go`]; a long computation or a blocking API →
/// `go_blocking`; a long async loop that computes between `.await`s → [`go`] plus
/// [`yield_now`] every few milliseconds of work.
///
/// ```
/// # gocsp_runtime::run(async {
/// let h = gocsp_runtime::go_blocking(|| (1..=10u64).product::<u64>());
/// assert_eq!(h.await.unwrap(), 3_628_800);
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// # Go equivalent
///
/// `go f()` for a CPU-bound `f` (Go preempts it; tokio cannot).
#[track_caller]
pub fn go_blocking<F, R>(f: F) -> GoHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    builder::spawn_blocking_task(None, f, Location::caller())
}

/// Lets other goroutines run: returns `Pending` once (after waking itself), so the scheduler
/// can run other tasks on this worker. Call it every few milliseconds in a long computation
/// loop inside a [`go`] goroutine; tokio does not preempt tasks as Go does.
///
/// ```
/// # gocsp_runtime::run(async {
/// let mut sum = 0u64;
/// for i in 0..10_000u64 {
///     sum += i;
///     if i % 1_000 == 0 {
///         gocsp_runtime::yield_now().await;
///     }
/// }
/// assert_eq!(sum, 49_995_000);
/// # });
/// ```
///
/// # Cancel safety
///
/// Cancel safe: it holds no state.
///
/// # Go equivalent
///
/// `runtime.Gosched()`.
pub async fn yield_now() {
    tokio::task::yield_now().await;
}

/// The id of the goroutine calling this, or `None` outside any goroutine.
///
/// ```
/// # gocsp_runtime::run(async {
/// let h = gocsp_runtime::go(async { gocsp_runtime::current_id() });
/// let id = h.id();
/// assert_eq!(h.await.unwrap(), Some(id));
/// # });
/// assert_eq!(gocsp_runtime::current_id(), None);
/// ```
pub fn current_id() -> Option<u64> {
    registry::current_id()
}
