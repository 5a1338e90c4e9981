//! Synchronisation primitives, swapped for loom's model-checked ones under `--cfg loom`.
//!
//! Only the runtime-agnostic cores (the [`WaitGroup`](crate::WaitGroup) counter and the context
//! cancellation tree) use these, so loom sees every access that matters.
#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicU64, AtomicU8, Ordering},
    Arc, Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicU64, AtomicU8, Ordering},
    Arc, Mutex, MutexGuard,
};

/// Locks `m`, ignoring poisoning: every critical section in this crate leaves its state
/// consistent before anything that can panic runs (wakers are woken after unlocking).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// The current tokio runtime, or gocsp's panic that says how to start one. Loom builds have no
/// gocsp-runtime (it does not build under `--cfg loom`), so there tokio's own lookup stands in.
#[cfg(not(loom))]
pub(crate) use gocsp_runtime::runtime_handle;

#[cfg(loom)]
#[track_caller]
pub(crate) fn runtime_handle(_what: &str) -> tokio::runtime::Handle {
    tokio::runtime::Handle::current()
}
