//! Spawning goroutines: `go`, `go_named`, `go_blocking`, the handle and its error.
//!
//! Every goroutine is a user future wrapped in [`GoFuture`], which (around each poll) enters the
//! goroutine's `tracing` span, tells the observer hook which goroutine is being polled, polls the
//! user future with the goroutine's counting waker under `catch_unwind`, and records the outcome
//! (running / waiting / blocked on a gocsp operation) in the goroutine's registry record.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use gocsp_channel::hook::{self, Op};
use pin_project_lite::pin_project;
use tokio::task::JoinHandle;
use tracing::Span;

use crate::registry::{
    self, BlockedAt, Info, Kind, PollCtx, Registered, CTX, LAST_POLL, PROGRESS, RUNNING,
};

/// What happens when a goroutine panics. Set with
/// [`Builder::panic`](crate::Builder::panic); process-wide (the last runtime built wins).
///
/// # Examples
///
/// ```
/// use gocsp_runtime::{Panic, Runtime};
/// let rt = Runtime::builder().panic(Panic::Log).build().unwrap();
/// let err = rt.block_on(async { gocsp_runtime::go(async { panic!("boom") }).await.unwrap_err() });
/// assert!(err.is_panic());
/// ```
///
/// # Go equivalent
///
/// Go always crashes the program on an unrecovered panic ([`Panic::Abort`]). Rust services
/// usually prefer tokio's behaviour ([`Panic::Log`], the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Panic {
    /// Log the panic through `tracing` (with the goroutine's id, name and spawn site) and hand
    /// it to the goroutine's handle as [`GoError::Panicked`]. The default.
    #[default]
    Log,
    /// Go's behaviour: print `panic: <message>` and the panicking goroutine to stderr, then exit
    /// the process with status 2.
    Abort,
}

static PANIC_POLICY: AtomicU8 = AtomicU8::new(0);

pub(crate) fn set_panic_policy(p: Panic) {
    let v = match p {
        Panic::Log => 0,
        Panic::Abort => 1,
    };
    PANIC_POLICY.store(v, Ordering::Relaxed);
}

fn panic_policy() -> Panic {
    match PANIC_POLICY.load(Ordering::Relaxed) {
        1 => Panic::Abort,
        _ => Panic::Log,
    }
}

/// Why a goroutine produced no value: the `Err` side of awaiting a [`GoHandle`].
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::{go, GoError};
/// let err = go!(name = "worker", async { panic!("boom") }).await.unwrap_err();
/// match &err {
///     GoError::Panicked { name, message, .. } => {
///         assert_eq!(name.as_deref(), Some("worker"));
///         assert_eq!(message, "boom");
///     }
///     other => unreachable!("{other}"),
/// }
/// assert!(err.to_string().starts_with("panic: boom (goroutine "));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GoError {
    /// The goroutine panicked.
    Panicked {
        /// The goroutine's id.
        id: u64,
        /// The goroutine's name, if it was given one.
        name: Option<String>,
        /// The panic message (`"Box<dyn Any>"` for a payload that is not a string).
        message: String,
        /// Where the goroutine was spawned (its `go!` call).
        location: &'static Location<'static>,
    },
    /// The goroutine was cancelled before it finished: [`GoHandle::abort`] or its runtime shut
    /// down.
    Cancelled {
        /// The goroutine's id.
        id: u64,
        /// The goroutine's name, if it was given one.
        name: Option<String>,
        /// Where the goroutine was spawned (its `go!` call).
        location: &'static Location<'static>,
    },
}

impl GoError {
    /// The id of the goroutine that failed.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::go(async { panic!("x") });
    /// let id = h.id();
    /// assert_eq!(h.await.unwrap_err().id(), id);
    /// # });
    /// ```
    pub fn id(&self) -> u64 {
        match self {
            GoError::Panicked { id, .. } | GoError::Cancelled { id, .. } => *id,
        }
    }

    /// The name of the goroutine that failed, if it had one.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let e = gocsp_runtime::go_named("n", async { panic!("x") }).await.unwrap_err();
    /// assert_eq!(e.name(), Some("n"));
    /// # });
    /// ```
    pub fn name(&self) -> Option<&str> {
        match self {
            GoError::Panicked { name, .. } | GoError::Cancelled { name, .. } => name.as_deref(),
        }
    }

    /// `true` if the goroutine panicked.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// assert!(gocsp_runtime::go(async { panic!("x") }).await.unwrap_err().is_panic());
    /// # });
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, GoError::Panicked { .. })
    }

    /// `true` if the goroutine was cancelled.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::go(std::future::pending::<()>());
    /// h.abort();
    /// assert!(h.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, GoError::Cancelled { .. })
    }
}

struct Who<'a>(u64, Option<&'a str>);

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(n) => write!(f, "goroutine {} {:?}", self.0, n),
            None => write!(f, "goroutine {}", self.0),
        }
    }
}

impl fmt::Display for GoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GoError::Panicked {
                id,
                name,
                message,
                location,
            } => write!(
                f,
                "panic: {message} ({}, created at {location})",
                Who(*id, name.as_deref())
            ),
            GoError::Cancelled { id, name, location } => write!(
                f,
                "{} cancelled (created at {location})",
                Who(*id, name.as_deref())
            ),
        }
    }
}

impl std::error::Error for GoError {}

/// A goroutine that panicked: the error for its handle and the payload (so the main goroutine
/// can resume unwinding with it).
pub(crate) struct Caught {
    pub(crate) error: GoError,
    pub(crate) payload: Box<dyn Any + Send>,
}

pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

fn name_string(info: &Info) -> Option<String> {
    info.name.as_deref().map(str::to_owned)
}

/// Logs a goroutine's panic and applies the panic policy. Returns the caught panic.
fn on_panic(info: &Info, payload: Box<dyn Any + Send>) -> Caught {
    let message = panic_message(&*payload);
    tracing::error!(
        target: "gocsp::goroutine",
        id = info.id,
        name = info.name.as_deref().unwrap_or(""),
        location = %info.location,
        "goroutine {} panicked: {message}", info.id
    );
    if panic_policy() == Panic::Abort {
        let mut out = format!("panic: {message}\n\n");
        crate::dump::write_one(&mut out, &crate::dump::snapshot_running(info));
        eprint!("{out}");
        std::process::exit(2);
    }
    Caught {
        error: GoError::Panicked {
            id: info.id,
            name: name_string(info),
            message,
            location: info.location,
        },
        payload,
    }
}

pub(crate) fn span_for(info: &Info) -> Span {
    // A root span: a goroutine outlives the code that spawned it (as in Go), and a child span
    // would keep its parent open until the goroutine ends.
    tracing::info_span!(
        target: "gocsp::goroutine",
        parent: None,
        "goroutine",
        id = info.id,
        name = info.name.as_deref().unwrap_or(""),
        location = %info.location,
    )
}

pin_project! {
    /// A goroutine's future: the user's future plus the bookkeeping described in the module docs.
    pub(crate) struct GoFuture<F> {
        #[pin]
        fut: F,
        info: Arc<Info>,
        // A `Waker` made from `info` (the counting waker), created when the first poll returns
        // `Pending`: a goroutine that finishes in one poll never pays for it.
        waker: Option<Waker>,
        // What `info.blocked` holds, as this goroutine's poller last wrote it.
        last_block: Option<BlockedAt>,
        // The goroutine's span, or `None` when no subscriber wants it (entering a disabled
        // span does nothing): eight bytes instead of forty in every goroutine's future.
        span: Option<Box<Span>>,
        reg: Option<Registered>,
    }
}

impl<F: Future> GoFuture<F> {
    pub(crate) fn new(fut: F, info: Arc<Info>) -> Self {
        let reg = registry::register(&info);
        let span = span_for(&info);
        let span = (!span.is_disabled()).then(|| Box::new(span));
        GoFuture {
            fut,
            info,
            waker: None,
            last_block: None,
            span,
            reg: Some(reg),
        }
    }

    pub(crate) fn info(&self) -> &Arc<Info> {
        &self.info
    }
}

impl<F: Future> Future for GoFuture<F> {
    type Output = Result<F::Output, Box<Caught>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let info: &Arc<Info> = this.info;
        let _entered = this.span.as_deref().map(Span::enter);
        info.state.store(RUNNING, Ordering::Relaxed);
        info.epoch.store(
            info.epoch.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        // Poll with the counting waker when it exists and forwards to the waker tokio gave us.
        // The first poll, and polls by an unusual executor whose waker changed, use tokio's
        // waker directly ("uncounted": the deadlock detector wakes such a goroutine once to
        // get a counted poll before it trusts its state).
        let counted = match (this.waker.as_ref(), info.task_waker.get()) {
            (Some(_), Some(w)) => w.will_wake(cx.waker()),
            _ => false,
        };
        let prev = CTX.replace(PollCtx {
            id: info.id,
            report: None,
            blocking: false,
        });
        let progress_before = PROGRESS.get();
        let fut = this.fut;
        let waker: Option<&Waker> = this.waker.as_ref().filter(|_| counted);
        let main_deadlock = info.kind == Kind::Main && info.deadlock_panic.load(Ordering::Relaxed);
        let task_cx = &mut *cx;
        let res = std::panic::catch_unwind(AssertUnwindSafe(move || {
            if main_deadlock {
                panic!(
                    "all goroutines are asleep - deadlock!\n\n{}",
                    crate::dump::dump()
                );
            }
            match waker {
                Some(w) => fut.poll(&mut Context::from_waker(w)),
                None => fut.poll(task_cx),
            }
        }));
        let ctx = CTX.replace(prev);
        match res {
            Ok(Poll::Pending) => {
                if this.waker.is_none() {
                    let _ = info.task_waker.set(cx.waker().clone());
                    *this.waker = Some(Waker::from(Arc::clone(info)));
                }
                let progressed = PROGRESS.get() != progress_before;
                let report = ctx.report.map(|(op, site)| BlockedAt { op, site });
                info.after_pending(report, this.last_block, counted, progressed);
                LAST_POLL.set(ctx.report);
                Poll::Pending
            }
            Ok(Poll::Ready(v)) => {
                LAST_POLL.set(None);
                this.reg.take();
                *this.waker = None;
                registry::pool::put(this.info);
                Poll::Ready(Ok(v))
            }
            Err(payload) => {
                LAST_POLL.set(None);
                let caught = on_panic(info, payload);
                this.reg.take();
                Poll::Ready(Err(Box::new(caught)))
            }
        }
    }
}

/// A handle to a goroutine: a future resolving to its output, or to a [`GoError`] if it
/// panicked or was cancelled. Dropping the handle detaches the goroutine (it keeps running),
/// so `go!(f());` as a statement is Go's `go f()`: the handle is deliberately not `#[must_use]`.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// let h = gocsp_runtime::go!(async { 6 * 7 });
/// assert_eq!(h.await.unwrap(), 42);
/// # });
/// ```
///
/// # Cancel safety
///
/// Dropping the handle (or a future awaiting it) never cancels the goroutine; the output is
/// then dropped when the goroutine finishes.
///
/// # In a dump
///
/// A goroutine awaiting a handle shows as `[goroutine join]` at the awaited goroutine's spawn
/// site, and counts as blocked for the deadlock detector.
///
/// # Go equivalent
///
/// Go's `go f()` returns nothing; a handle replaces the usual result channel:
/// `done := make(chan T, 1); go func() { done <- f() }(); v := <-done`.
pub struct GoHandle<T> {
    join: JoinHandle<Result<T, Box<Caught>>>,
    id: u64,
    name: Option<Arc<str>>,
    location: &'static Location<'static>,
}

impl<T> fmt::Debug for GoHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoHandle")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl<T> GoHandle<T> {
    /// The goroutine's id (unique in the process, counting from 1 like Go's goid).
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let a = gocsp_runtime::go(async {});
    /// let b = gocsp_runtime::go(async {});
    /// assert!(b.id() > a.id());
    /// # });
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The goroutine's name, if it was spawned with one.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::go!(name = format!("worker-{}", 3), async {});
    /// assert_eq!(h.name(), Some("worker-3"));
    /// # });
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the goroutine was spawned.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::go(async {});
    /// assert_eq!(h.location().line(), line!() - 1);
    /// # });
    /// ```
    pub fn location(&self) -> &'static Location<'static> {
        self.location
    }

    /// Cancels the goroutine: it is dropped at its next `.await` point and its handle resolves
    /// to [`GoError::Cancelled`] (unless it finished first). A blocking goroutine cannot be
    /// cancelled once it started.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::go(std::future::pending::<()>());
    /// h.abort();
    /// assert!(h.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    ///
    /// # Go equivalent
    ///
    /// None: Go cancels goroutines cooperatively with a `context.Context`, which is also the
    /// better tool here (see `gocsp::Context`).
    pub fn abort(&self) {
        self.join.abort();
    }

    /// `true` once the goroutine has finished (its handle would resolve without waiting).
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let h = gocsp_runtime::go(std::future::pending::<()>());
    /// assert!(!h.is_finished());
    /// # });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.join.is_finished()
    }
}

impl<T> Future for GoHandle<T> {
    type Output = Result<T, GoError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = match Pin::new(&mut self.join).poll(cx) {
            Poll::Ready(out) => out,
            Poll::Pending => {
                // Waiting for another goroutine is waiting on gocsp: if that goroutine is
                // asleep forever, so is this one (the deadlock detector relies on it).
                hook::blocked(Op::Other("goroutine join"), self.location);
                return Poll::Pending;
            }
        };
        let name = || self.name.as_deref().map(str::to_owned);
        Poll::Ready(match out {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(caught)) => Err(caught.error),
            Err(e) if e.is_cancelled() => Err(GoError::Cancelled {
                id: self.id,
                name: name(),
                location: self.location,
            }),
            // A panic tokio caught outside our wrapper: in the goroutine's destructor.
            Err(e) => Err(GoError::Panicked {
                id: self.id,
                name: name(),
                message: panic_message(&*e.into_panic()),
                location: self.location,
            }),
        })
    }
}

fn current_handle(what: &str) -> tokio::runtime::Handle {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h,
        Err(_) => panic!(
            "gocsp: {what} called outside a Tokio runtime; run your async code with \
             #[gocsp::main], gocsp::run(..), gocsp::Runtime::block_on(..) or inside a \
             multi-thread #[tokio::main] runtime"
        ),
    }
}

fn spawn_task<F>(
    name: Option<Arc<str>>,
    fut: F,
    location: &'static Location<'static>,
) -> GoHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Inside a tokio task the runtime is known: spawn on it without cloning its handle (two
    // atomic operations on a line every worker shares). Elsewhere, find it or explain.
    let rt = tokio::task::try_id()
        .is_none()
        .then(|| current_handle("go!()"));
    let info = Info::new(Kind::Task, name, location);
    let id = info.id;
    let name = info.name.clone();
    let fut = GoFuture::new(fut, info);
    let join = match rt {
        Some(rt) => rt.spawn(fut),
        None => tokio::spawn(fut),
    };
    GoHandle {
        join,
        id,
        name,
        location,
    }
}

/// Starts a goroutine: spawns `fut` on the current tokio runtime and returns its handle.
///
/// The goroutine gets the next id, remembers the caller's source location, runs inside a
/// `tracing` span `goroutine{id, name, location}`, shows up in [`dump()`](crate::dump()) and
/// counts in [`num_goroutine`](crate::num_goroutine). A panic inside it is logged and returned
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
    spawn_task(None, fut, Location::caller())
}

/// Starts a goroutine recorded as spawned at `site` rather than at the caller: for libraries
/// that spawn on their caller's behalf (`ErrGroup::go`, `WaitGroup::go`), so dumps and the
/// profile name the user's line.
///
/// ```
/// # gocsp_runtime::run(async {
/// let site = std::panic::Location::caller();
/// let h = gocsp_runtime::go_at(site, async { 1 });
/// assert_eq!(h.location(), site);
/// assert_eq!(h.await.unwrap(), 1);
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
pub fn go_at<F>(site: &'static Location<'static>, fut: F) -> GoHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_task(None, fut, site)
}

/// The same as [`go`], spelled as tokio spells it.
///
/// ```
/// # gocsp_runtime::run(async {
/// assert_eq!(gocsp_runtime::spawn(async { 5 }).await.unwrap(), 5);
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
#[track_caller]
pub fn spawn<F>(fut: F) -> GoHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn_task(None, fut, Location::caller())
}

/// Starts a named goroutine (the name shows in dumps, tracing spans, the profile and errors).
///
/// ```
/// # gocsp_runtime::run(async {
/// let id = 3;
/// let h = gocsp_runtime::go_named(format!("worker-{id}"), async { "done" });
/// assert_eq!(h.name(), Some("worker-3"));
/// assert_eq!(h.await.unwrap(), "done");
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// # Go equivalent
///
/// `go f()` with a `pprof.Labels` / `runtime/trace` region naming it.
#[track_caller]
pub fn go_named<F>(name: impl Into<String>, fut: F) -> GoHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let name: Arc<str> = Arc::from(name.into());
    spawn_task(Some(name), fut, Location::caller())
}

fn spawn_blocking_inner<F, R>(
    name: Option<Arc<str>>,
    f: F,
    location: &'static Location<'static>,
) -> GoHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let rt = current_handle("go_blocking!()");
    let info = Info::new(Kind::Blocking, name, location);
    let id = info.id;
    let name = info.name.clone();
    let reg = registry::register(&info);
    let span = span_for(&info);
    let join = rt.spawn_blocking(move || {
        let _reg = reg;
        let _entered = span.enter();
        let prev = registry::BLOCKING.replace(Some(Arc::clone(&info)));
        let prev_ctx = CTX.replace(PollCtx {
            id: info.id,
            report: None,
            blocking: true,
        });
        let res = std::panic::catch_unwind(AssertUnwindSafe(f));
        CTX.set(prev_ctx);
        registry::BLOCKING.set(prev);
        LAST_POLL.set(None);
        res.map_err(|payload| Box::new(on_panic(&info, payload)))
    });
    GoHandle {
        join,
        id,
        name,
        location,
    }
}

/// Starts a goroutine that runs the closure `f` on tokio's blocking thread pool: for CPU-bound
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
    spawn_blocking_inner(None, f, Location::caller())
}

/// [`go_blocking`] with a name.
///
/// ```
/// # gocsp_runtime::run(async {
/// let h = gocsp_runtime::go_blocking_named("hash", || 7);
/// assert_eq!(h.name(), Some("hash"));
/// assert_eq!(h.await.unwrap(), 7);
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
#[track_caller]
pub fn go_blocking_named<F, R>(name: impl Into<String>, f: F) -> GoHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    spawn_blocking_inner(Some(Arc::from(name.into())), f, Location::caller())
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
