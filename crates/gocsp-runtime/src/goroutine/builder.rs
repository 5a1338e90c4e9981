//! [`GoroutineBuilder`]: the one way a goroutine starts, with a name and a spawn site, as an
//! async task or on the blocking pool. `go!`, `go_blocking!`, [`go`](super::go) and
//! [`go_blocking`](super::go_blocking) are sugar over it.

use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::Arc;

use super::panic::on_panic;
use super::task::{span_for, GoFuture};
use super::GoHandle;
use crate::dump::Goroutine;
use crate::registry::{self, Alive, Info, Kind, PollCtx, CTX, LAST_POLL};
use crate::runtime::runtime_handle;

/// Starts a goroutine with options: a name, or the source location it is reported at.
///
/// The shape of tokio's `task::Builder`: `Goroutine::builder().name(..).spawn(fut)` for async
/// work, `.spawn_blocking(f)` for a closure on tokio's blocking pool. `go!(name = .., fut)` and
/// `go_blocking!(name = .., f)` expand to it.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::Goroutine;
/// let id = 3;
/// let h = Goroutine::builder().name(format!("worker-{id}")).spawn(async { "done" });
/// assert_eq!(h.name(), Some("worker-3"));
/// assert_eq!(h.await.unwrap(), "done");
///
/// let h = Goroutine::builder().name("hash").spawn_blocking(|| 7);
/// assert_eq!(h.name(), Some("hash"));
/// assert_eq!(h.await.unwrap(), 7);
/// # });
/// ```
///
/// # Go equivalent
///
/// `go f()`; a name is what `pprof.Labels` or a `runtime/trace` region gives a Go goroutine.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder starts nothing until `spawn` or `spawn_blocking` is called"]
pub struct GoroutineBuilder {
    name: Option<Arc<str>>,
    site: Option<&'static Location<'static>>,
}

impl Goroutine {
    /// A [`GoroutineBuilder`] with no name, reporting the line that calls `spawn`.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::Goroutine::builder().spawn(async { 1 });
    /// assert_eq!(h.await.unwrap(), 1);
    /// # });
    /// ```
    pub fn builder() -> GoroutineBuilder {
        GoroutineBuilder::new()
    }
}

impl GoroutineBuilder {
    /// A builder with no name, reporting the line that calls `spawn`. The same as
    /// [`Goroutine::builder`].
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::GoroutineBuilder::new().spawn(async { 2 });
    /// assert_eq!(h.await.unwrap(), 2);
    /// # });
    /// ```
    pub fn new() -> Self {
        GoroutineBuilder::default()
    }

    /// Names the goroutine: the name shows in dumps, tracing spans, the profile and errors.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::Goroutine::builder().name("n").spawn(async { panic!("x") });
    /// assert_eq!(h.await.unwrap_err().name(), Some("n"));
    /// # });
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(Arc::from(name.into()));
        self
    }

    /// Reports the goroutine as started at `site` instead of the line that calls `spawn`: for
    /// libraries that start goroutines on their caller's behalf (`ErrGroup::go`,
    /// `WaitGroup::go`), so dumps, errors and the profile name the user's line.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let site = std::panic::Location::caller();
    /// let h = gocsp_runtime::Goroutine::builder().site(site).spawn(async { 1 });
    /// assert_eq!(h.location(), site);
    /// # });
    /// ```
    pub fn site(mut self, site: &'static Location<'static>) -> Self {
        self.site = Some(site);
        self
    }

    /// Starts the goroutine: spawns `fut` on the current tokio runtime and returns its handle.
    ///
    /// The goroutine gets the next id, runs inside a `tracing` span
    /// `goroutine{id, name, location}`, shows up in [`dump()`](crate::dump()) once it has
    /// waited (see [`Dump::unlisted`](crate::Dump::unlisted)) and counts in
    /// [`num_goroutine`](crate::num_goroutine). A panic inside it is logged and returned as
    /// [`GoError::Panicked`](crate::GoError::Panicked) (or aborts the process under
    /// [`Panic::Abort`](crate::Panic::Abort)).
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::Goroutine::builder().spawn(async { 1 + 1 });
    /// assert_eq!(h.location().line(), line!() - 1);
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
    pub fn spawn<F>(self, fut: F) -> GoHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        // Not `unwrap_or_else(Location::caller)`: called through a function pointer, it would
        // report a line inside `Option`.
        let site = match self.site {
            Some(site) => site,
            None => Location::caller(),
        };
        spawn_task(self.name, fut, site)
    }

    /// Starts a goroutine that runs the closure `f` on tokio's blocking thread pool: for
    /// CPU-bound work and blocking calls (including gocsp's `send_blocking` / `recv_blocking`),
    /// which would otherwise stall a runtime worker. The goroutine is registered like any other
    /// (id, name, dump entry, span) and its handle behaves the same, except that
    /// [`GoHandle::abort`] cannot stop a closure that has started.
    ///
    /// Which one to use: async code that waits → [`spawn`](Self::spawn); a long computation
    /// or a blocking API → `spawn_blocking`; a long async loop that computes between
    /// `.await`s → `spawn` plus [`yield_now`](crate::yield_now) every few milliseconds of work.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::Goroutine::builder()
    ///     .name("factorial")
    ///     .spawn_blocking(|| (1..=10u64).product::<u64>());
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
    pub fn spawn_blocking<F, R>(self, f: F) -> GoHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // Not `unwrap_or_else(Location::caller)`: called through a function pointer, it would
        // report a line inside `Option`.
        let site = match self.site {
            Some(site) => site,
            None => Location::caller(),
        };
        spawn_blocking_task(self.name, f, site)
    }
}

pub(super) fn spawn_task<F>(
    name: Option<Arc<str>>,
    fut: F,
    location: &'static Location<'static>,
) -> GoHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Inside a tokio task the runtime is known: spawn on it without cloning its handle (two
    // atomic operations on a line every worker shares). Elsewhere (the main goroutine, which
    // `detect_deadlocks` lets any executor poll, or plain code), find it or explain.
    let rt = tokio::task::try_id()
        .is_none()
        .then(|| runtime_handle("go!()"));
    let handle_name = name.clone();
    let fut = GoFuture::spawned(fut, name, location);
    let id = fut.id();
    let join = match rt {
        Some(rt) => rt.spawn(fut),
        None => tokio::spawn(fut),
    };
    GoHandle::new(join, id, handle_name, location)
}

pub(super) fn spawn_blocking_task<F, R>(
    name: Option<Arc<str>>,
    f: F,
    location: &'static Location<'static>,
) -> GoHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let rt = runtime_handle("go_blocking!()");
    let info = Info::new(Kind::Blocking, name, location);
    let id = info.id;
    let name = info.name.clone();
    let alive = Alive::new();
    let reg = registry::register(&info);
    let span = span_for(info.id, info.name.as_deref(), info.location);
    let join = rt.spawn_blocking(move || {
        let _alive = alive;
        let _reg = reg;
        let _entered = span.enter();
        let prev = registry::BLOCKING.replace(Some(Arc::clone(&info)));
        let prev_ctx = CTX.replace(PollCtx {
            id: info.id,
            blocking: true,
        });
        let res = std::panic::catch_unwind(AssertUnwindSafe(f));
        CTX.set(prev_ctx);
        registry::BLOCKING.set(prev);
        LAST_POLL.set(None);
        res.map_err(|payload| Box::new(on_panic(&info, payload)))
    });
    GoHandle::new(join, id, name, location)
}
