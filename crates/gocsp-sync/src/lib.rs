//! Go's `sync`, `context` and `errgroup` for async Rust on tokio: [`WaitGroup`], [`Cond`],
//! [`Context`] and [`ErrGroup`], plus tokio's locks re-exported under their own names.
//!
//! Most users reach these through the `gocsp` facade (`gocsp::WaitGroup`, `gocsp::Context`,
//! `gocsp::ErrGroup`, `gocsp::sync::Mutex`).
//!
//! # Which one do I use?
//!
//! | Go | gocsp | for |
//! |----|-------|-----|
//! | `sync.WaitGroup`, `wg.Go` | [`WaitGroup`], [`WaitGroup::go`] | wait for a set of goroutines |
//! | `errgroup.Group` | [`ErrGroup`] | the same, with the first error and cancellation |
//! | `context.Context` | [`Context`], [`CancelHandle`] | cancellation, deadlines, request values |
//! | `context.WithCancelCause`, `context.AfterFunc` | [`CancelCauseHandle`], [`AfterFuncHandle`] | say why a context was cancelled; run code once it is |
//! | `sync.Cond` | [`Cond`] | wait for a condition on data behind a [`Mutex`] |
//! | `sync.Mutex`, `sync.RWMutex` | [`Mutex`], [`RwLock`] (tokio's) | shared data across `.await` |
//! | `sync.Once`, `sync.OnceValue` | [`OnceCell`] (tokio's) | lazy one-time initialisation |
//! | `x/sync/semaphore` | [`Semaphore`] (tokio's) | bound concurrency by permits |
//! | a barrier built from a `WaitGroup` | [`Barrier`] (tokio's) | rendezvous of `n` tasks |
//!
//! A `std::sync::Mutex` is still the right lock for data never held across an `.await`.
//!
//! # A tour
//!
//! ```
//! use std::time::Duration;
//! use gocsp_sync::{Context, ErrGroup, WaitGroup};
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() {
//! // WaitGroup: wait for goroutines.
//! let wg = WaitGroup::new();
//! for _ in 0..3 {
//!     wg.go(async { /* work */ });
//! }
//! wg.wait().await;
//!
//! // Context: cancel a tree of work, with a deadline.
//! let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(30));
//! let _guard = cancel.drop_guard(); // Go's `defer cancel()`
//!
//! // ErrGroup: the first error cancels the others.
//! type Error = Box<dyn std::error::Error + Send + Sync>;
//! let (g, ctx) = ErrGroup::<Error>::with_context(&ctx);
//! g.go(async { Err("disk full".into()) });
//! g.go(async move {
//!     ctx.cancelled().await; // stops when the group fails
//!     Ok(())
//! });
//! assert_eq!(g.wait().await.unwrap_err().to_string(), "disk full");
//! # }
//! ```
//!
//! # Design notes
//!
//! - The cores of [`WaitGroup`], [`Cond`] and the [`Context`] tree are runtime-agnostic
//!   (atomics, a mutex and plain `Waker`s); those of [`WaitGroup`] and the [`Context`] tree are
//!   checked with loom models (`--cfg loom`, `cargo xtask loom`). tokio is used at the edges
//!   only: timers for deadlines, spawning goroutines through `gocsp-runtime`, and refusing to
//!   block a runtime thread in [`WaitGroup::wait_blocking`].
//! - Every future that waits reports the user's source line to `gocsp-channel`'s observer
//!   hook, so `gocsp::dump()` shows `sync.WaitGroup.Wait` / `sync.Cond.Wait` like Go does.
//! - [`Context::done`] is a `gocsp-channel` [`Receiver<()>`](gocsp_channel::Receiver) that is
//!   closed on cancellation, so it is a `select!` case like Go's `<-ctx.Done()`.
#![forbid(unsafe_code)]

mod cond;
mod context;
#[cfg(not(loom))]
mod err_group;
mod loom;
mod wait_group;

pub use cond::Cond;
pub use context::{
    AfterFuncHandle, CancelCause, CancelCauseHandle, CancelGuard, CancelHandle, Context,
    ContextError,
};
#[cfg(not(loom))]
pub use err_group::ErrGroup;
pub use wait_group::{Wait, WaitGroup};

/// The error of a failed goroutine (re-exported from `gocsp-runtime`): what a panicking or
/// cancelled [`ErrGroup`] member is converted from.
#[cfg(not(loom))]
pub use gocsp_runtime::GoError;

/// tokio's primitives, re-exported under their own names: gocsp does not rewrite what tokio
/// does well. Go's `sync.Mutex` is [`Mutex`], `sync.RWMutex` is [`RwLock`], `sync.Once` is
/// [`OnceCell`], a weighted semaphore (`golang.org/x/sync/semaphore`) is [`Semaphore`].
pub use tokio::sync::{
    AcquireError, Barrier, BarrierWaitResult, MappedMutexGuard, Mutex, MutexGuard, OnceCell,
    OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock,
    RwLockReadGuard, RwLockWriteGuard, Semaphore, SemaphorePermit, SetError, TryAcquireError,
    TryLockError,
};

/// tokio-util's cancellation token, which [`Context::cancellation_token`] returns and
/// [`Context::with_cancellation_token`] accepts.
pub use tokio_util::sync::CancellationToken;
