//! Synchronisation primitives, swapped for loom's model-checked ones under `--cfg loom`.
//!
//! Only the runtime-agnostic cores (the [`WaitGroup`](crate::WaitGroup) counter and the context
//! cancellation tree) use these, so loom sees every access that matters. What needs a runtime
//! (finding it, starting a goroutine) is swapped here too.
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

/// Deadline timers: on a synctest bubble's clock inside a bubble, on tokio's elsewhere
/// (`gocsp_runtime::time::run_at`). Loom builds, which have no gocsp-runtime, spawn a tokio
/// task on tokio's clock.
#[cfg(not(loom))]
pub(crate) use gocsp_runtime::time::{now, run_at, TimerHandle};

/// See the non-loom `TimerHandle`: a task's abort handle.
#[cfg(loom)]
pub(crate) type TimerHandle = tokio::task::AbortHandle;

/// See the non-loom `now`: tokio's clock.
#[cfg(loom)]
pub(crate) fn now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// See the non-loom `run_at`: a tokio task that sleeps until `deadline`.
#[cfg(loom)]
#[track_caller]
pub(crate) fn run_at(
    deadline: tokio::time::Instant,
    what: &str,
    f: impl FnOnce() + Send + 'static,
) -> TimerHandle {
    runtime_handle(what)
        .spawn(async move {
            tokio::time::sleep_until(deadline).await;
            f();
        })
        .abort_handle()
}

/// Starts the goroutines of `Context::after_func` on the runtime that was current when the
/// function was registered: the cancellation that starts them may run on any thread, inside
/// that runtime or not.
#[cfg(not(loom))]
pub(crate) struct Spawner(tokio::runtime::Handle);

#[cfg(not(loom))]
impl Spawner {
    /// The current runtime, or gocsp's panic that says how to start one.
    #[track_caller]
    pub(crate) fn current(what: &str) -> Spawner {
        Spawner(runtime_handle(what))
    }

    /// Starts `fut` as a goroutine named `name`, reported as spawned at `site`.
    pub(crate) fn go<F>(&self, name: &str, site: &'static std::panic::Location<'static>, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let _runtime = self.0.enter();
        // Detached: the goroutine runs on its own, as Go's `go f()`.
        drop(
            gocsp_runtime::GoroutineBuilder::new()
                .name(name)
                .site(site)
                .spawn(fut),
        );
    }
}

/// Loom builds have no goroutines (and the models no runtime): a "goroutine" runs on the
/// thread that starts it, as far as it gets without waiting. The models' functions never wait;
/// what loom checks is who starts them, and how often.
#[cfg(loom)]
pub(crate) struct Spawner;

#[cfg(loom)]
impl Spawner {
    pub(crate) fn current(_what: &str) -> Spawner {
        Spawner
    }

    pub(crate) fn go<F>(&self, _name: &str, _site: &'static std::panic::Location<'static>, fut: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let _ = futures::FutureExt::now_or_never(fut);
    }
}

/// Marks, for loom, a point where the strong count of a tree node's `Arc` matters: before a
/// `Weak::upgrade` in the tree, and (in the models) before dropping what may be a node's last
/// handle. The nodes are std `Arc`s (loom's `Arc` has no `Weak`), so loom does not see their
/// counts and would take an upgrade and a last drop on two threads for independent steps,
/// exploring one order only. One shared atomic touched at each such point makes loom order
/// them both ways. Nothing outside loom builds.
#[cfg(loom)]
pub(crate) fn count_point() {
    loom::lazy_static! {
        static ref COUNTS: loom::sync::atomic::AtomicUsize =
            loom::sync::atomic::AtomicUsize::new(0);
    }
    COUNTS.fetch_add(1, Ordering::SeqCst);
}

#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn count_point() {}
