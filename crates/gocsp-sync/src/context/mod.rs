//! [`Context`]: Go's `context` package — cancellation, deadlines and request-scoped values
//! that flow down a tree of contexts.
//!
//! The API is here; `tree.rs` holds the cancel tree (its shape, how a node registers with its
//! nearest cancellable ancestor, how done channels outlive their context, the lock order), and
//! `error.rs` [`ContextError`].

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gocsp_channel::Receiver;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

mod error;
#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
mod tree;

use crate::loom::{now, runtime_handle};
use error::into_cause;
pub use error::{CancelCause, ContextError};
use tree::{background_done, cancel, AfterFunc, Node, ValueNode};

/// Carries cancellation, a deadline and request-scoped values across API boundaries and
/// between tasks: Go's `context.Context`.
///
/// A `Context` is a cheap, cloneable handle (`Send + Sync`, one `Arc`). Derive children with
/// [`with_cancel`](Self::with_cancel), [`with_timeout`](Self::with_timeout),
/// [`with_deadline`](Self::with_deadline) and [`with_value`](Self::with_value), or detach
/// from the parent's cancellation with [`without_cancel`](Self::without_cancel). Cancelling a
/// context cancels all its descendants, never its ancestors.
///
/// Observe cancellation with [`done`](Self::done) — a channel receiver that is closed on
/// cancellation, so it works as a `select!` case exactly like Go's `<-ctx.Done()` — or
/// [`cancelled`](Self::cancelled)`.await`, and find out why with [`err`](Self::err) (and,
/// for a context cancelled with a cause, [`cause`](Self::cause):
/// [`with_cancel_cause`](Self::with_cancel_cause),
/// [`with_deadline_cause`](Self::with_deadline_cause)).
///
/// Differences from Go, all on purpose:
/// - Values are keyed by type: use a newtype per key (`struct RequestId(u64)`), as
///   `http::Extensions` does. There is no `nil` key and no untyped lookup.
/// - Dropping a [`CancelHandle`] does not cancel (Go has no destructors); what Go's
///   `defer cancel()` does is [`CancelHandle::drop_guard`]. Go's vet warns about a lost
///   cancel func because the child leaks in its parent until the parent is cancelled; here a
///   child whose handles are all dropped unregisters itself, so nothing leaks.
/// - Timers (`with_timeout`/`with_deadline`) run on tokio's timer (paused time works).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gocsp_sync::{Context, ContextError};
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// #[derive(Debug, PartialEq)]
/// struct RequestId(u64);
///
/// let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(5));
/// let ctx = ctx.with_value(RequestId(7));
/// let worker = tokio::spawn({
///     let ctx = ctx.clone();
///     async move {
///         assert_eq!(ctx.value::<RequestId>(), Some(&RequestId(7)));
///         ctx.done().recv().await; // blocks until cancelled: returns None
///         ctx.err()
///     }
/// });
/// cancel.cancel();
/// assert_eq!(worker.await.unwrap(), Some(ContextError::Cancelled));
/// # }
/// ```
///
/// # Go equivalent
///
/// ```go
/// ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
/// defer cancel()
/// ctx = context.WithValue(ctx, requestIDKey, RequestID(7))
/// ```
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

/// Cancels the context it was created with (and every descendant): Go's `CancelFunc`.
///
/// Cloneable; [`cancel`](Self::cancel) is idempotent. Dropping the handle does **not** cancel
/// (use [`drop_guard`](Self::drop_guard) for Go's `defer cancel()`).
///
/// ```
/// use gocsp_sync::{Context, ContextError};
/// let (ctx, cancel) = Context::background().with_cancel();
/// assert_eq!(ctx.err(), None);
/// cancel.cancel();
/// cancel.cancel(); // idempotent
/// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
/// ```
#[derive(Clone)]
pub struct CancelHandle {
    node: Arc<Node>,
}

/// Cancels its context when dropped: Go's `defer cancel()`. Created by
/// [`CancelHandle::drop_guard`].
///
/// ```
/// use gocsp_sync::Context;
/// let (ctx, cancel) = Context::background().with_cancel();
/// {
///     let _guard = cancel.drop_guard();
///     assert!(ctx.err().is_none());
/// }
/// assert!(ctx.err().is_some());
/// ```
#[must_use = "the context is cancelled when the guard is dropped; binding it to `_` drops it at once"]
pub struct CancelGuard {
    handle: Option<CancelHandle>,
}

impl Context {
    /// The root of every context tree: never cancelled, no deadline, no values.
    ///
    /// Cheap: every call returns a clone of one process-wide root.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let ctx = Context::background();
    /// assert_eq!(ctx.err(), None);
    /// assert_eq!(ctx.deadline(), None);
    /// assert!(ctx.done().try_recv().is_err()); // never closes
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `context.Background()` (and `context.TODO()`).
    pub fn background() -> Context {
        static BACKGROUND: OnceLock<Context> = OnceLock::new();
        BACKGROUND
            .get_or_init(|| Context {
                node: Arc::new(Node::Background),
            })
            .clone()
    }

    /// A child that is cancelled when `cancel.cancel()` is called or when `self` is cancelled,
    /// whichever comes first.
    ///
    /// If `self` is already cancelled, the child starts cancelled with the same error.
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// let (parent, cancel_parent) = Context::background().with_cancel();
    /// let (child, cancel_child) = parent.with_cancel();
    /// cancel_child.cancel();
    /// assert_eq!(parent.err(), None); // never upwards
    /// let (child2, _) = parent.with_cancel();
    /// cancel_parent.cancel();
    /// assert_eq!(child2.err(), Some(ContextError::Cancelled)); // always downwards
    /// # drop(child);
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithCancel(parent)`.
    pub fn with_cancel(&self) -> (Context, CancelHandle) {
        let node = self.new_cancel_node(None, None);
        (Context { node: node.clone() }, CancelHandle { node })
    }

    /// Like [`with_cancel`](Self::with_cancel), but the handle cancels with a cause: an error
    /// saying why, which [`cause`](Self::cause) returns on the child and on every descendant
    /// its cancellation reaches. [`err`](Self::err) is still [`ContextError::Cancelled`].
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// let (ctx, cancel) = Context::background().with_cancel_cause();
    /// let (child, _c) = ctx.with_cancel();
    /// cancel.cancel("upstream closed the connection");
    /// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "upstream closed the connection");
    /// assert_eq!(child.cause().unwrap().to_string(), "upstream closed the connection");
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithCancelCause(parent)` (Go 1.20).
    pub fn with_cancel_cause(&self) -> (Context, CancelCauseHandle) {
        let node = self.new_cancel_node(None, None);
        (Context { node: node.clone() }, CancelCauseHandle { node })
    }

    /// A child that is cancelled with [`ContextError::DeadlineExceeded`] once `timeout` has
    /// elapsed (on tokio's clock), or earlier like [`with_cancel`](Self::with_cancel).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (the timer needs one), unless the deadline is already passed or
    /// later than an ancestor's deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gocsp_sync::{Context, ContextError};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(50));
    /// ctx.done().recv().await;
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithTimeout(parent, timeout)`.
    #[track_caller]
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelHandle) {
        self.with_deadline(now() + timeout)
    }

    /// Like [`with_timeout`](Self::with_timeout), and when the timeout elapses the child's
    /// [`cause`](Self::cause) is `cause` (its [`err`](Self::err) is still
    /// [`ContextError::DeadlineExceeded`]). The returned handle cancels without a cause.
    ///
    /// `cause` is anything that converts into `Box<dyn Error + Send + Sync>`: an error, a
    /// message, or a [`CancelCause`] (kept as the same `Arc`).
    ///
    /// # Panics
    ///
    /// As [`with_deadline`](Self::with_deadline).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gocsp_sync::{Context, ContextError};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (ctx, _cancel) = Context::background()
    ///     .with_timeout_cause(Duration::from_millis(50), "backend too slow");
    /// ctx.cancelled().await;
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "backend too slow");
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithTimeoutCause(parent, timeout, cause)` (Go 1.21).
    #[track_caller]
    pub fn with_timeout_cause(
        &self,
        timeout: Duration,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> (Context, CancelHandle) {
        self.with_deadline_cause(now() + timeout, cause)
    }

    /// A child that is cancelled with [`ContextError::DeadlineExceeded`] at `deadline`, or
    /// earlier like [`with_cancel`](Self::with_cancel). Its [`deadline`](Self::deadline) is the
    /// earlier of `deadline` and the parent's: a child never outlives its parent's deadline.
    ///
    /// `deadline` is a `tokio::time::Instant` or a `std::time::Instant`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, unless no timer is needed (the deadline is already passed, or
    /// not earlier than an ancestor's).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gocsp_sync::Context;
    /// use tokio::time::Instant;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let soon = Instant::now() + Duration::from_secs(1);
    /// let (parent, _c1) = Context::background().with_deadline(soon);
    /// let (child, _c2) = parent.with_deadline(soon + Duration::from_secs(60));
    /// assert_eq!(child.deadline(), Some(soon)); // capped by the parent
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithDeadline(parent, d)`.
    #[track_caller]
    pub fn with_deadline(&self, deadline: impl Into<Instant>) -> (Context, CancelHandle) {
        let node = self.new_cancel_node(Some(deadline.into()), None);
        (Context { node: node.clone() }, CancelHandle { node })
    }

    /// Like [`with_deadline`](Self::with_deadline), and when the deadline passes the child's
    /// [`cause`](Self::cause) is `cause` (its [`err`](Self::err) is still
    /// [`ContextError::DeadlineExceeded`]). The returned handle cancels without a cause
    /// ([`ContextError::Cancelled`] for both).
    ///
    /// If the parent's deadline is not later, the child has no timer of its own and `cause` is
    /// never used: the parent's deadline, and the parent's cause, reach the child first.
    ///
    /// # Panics
    ///
    /// As [`with_deadline`](Self::with_deadline).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gocsp_sync::{Context, ContextError};
    /// use tokio::time::Instant;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let at = Instant::now() + Duration::from_secs(1);
    /// let (ctx, _cancel) = Context::background().with_deadline_cause(at, "batch window closed");
    /// ctx.cancelled().await;
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "batch window closed");
    ///
    /// let later = Instant::now() + Duration::from_secs(1);
    /// let (ctx, cancel) = Context::background().with_deadline_cause(later, "unused");
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    /// let cause = ctx.cause().unwrap();
    /// assert_eq!(cause.downcast_ref(), Some(&ContextError::Cancelled));
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithDeadlineCause(parent, d, cause)` (Go 1.21).
    #[track_caller]
    pub fn with_deadline_cause(
        &self,
        deadline: impl Into<Instant>,
        cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> (Context, CancelHandle) {
        let cause = into_cause(cause.into());
        let node = self.new_cancel_node(Some(deadline.into()), Some(cause));
        (Context { node: node.clone() }, CancelHandle { node })
    }

    /// A child that carries `value`, found by [`value::<T>()`](Self::value) on it and on its
    /// descendants. Cancellation and deadline are the parent's.
    ///
    /// Values are keyed by type; a nearer value of the same type shadows a farther one.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// #[derive(Debug, PartialEq)]
    /// struct User(&'static str);
    /// let ctx = Context::background().with_value(User("gopher"));
    /// let ctx = ctx.with_value(5u32).with_value(User("ferris"));
    /// assert_eq!(ctx.value::<User>(), Some(&User("ferris")));
    /// assert_eq!(ctx.value::<u32>(), Some(&5));
    /// assert_eq!(ctx.value::<String>(), None);
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `context.WithValue(parent, key, val)`.
    pub fn with_value<T: Any + Send + Sync>(&self, value: T) -> Context {
        Context {
            node: Arc::new(Node::Value(ValueNode {
                parent: self.clone(),
                type_name: std::any::type_name::<T>(),
                value: Box::new(value),
            })),
        }
    }

    /// A copy of `self` that is never cancelled: it keeps `self`'s values but not its
    /// cancellation or deadline.
    ///
    /// Its [`done`](Self::done) channel never closes, [`err`](Self::err),
    /// [`deadline`](Self::deadline) and [`cause`](Self::cause) are `None`, and
    /// [`value`](Self::value) still reads through to `self`. Contexts derived from it are
    /// cancelled only by their own handles and deadlines. For work that must outlive the
    /// request that started it (a write-behind, an audit log), with the request's values.
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// #[derive(Debug, PartialEq)]
    /// struct TraceId(u64);
    /// let (request, cancel) = Context::background().with_value(TraceId(9)).with_cancel();
    /// let detached = request.without_cancel();
    /// cancel.cancel();
    /// assert_eq!(request.err(), Some(ContextError::Cancelled));
    /// assert_eq!(detached.err(), None);
    /// assert!(!detached.done().is_closed());
    /// assert_eq!(detached.value::<TraceId>(), Some(&TraceId(9)));
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `context.WithoutCancel(parent)` (Go 1.21).
    pub fn without_cancel(&self) -> Context {
        Context {
            node: Arc::new(Node::WithoutCancel(self.clone())),
        }
    }

    /// The nearest value of type `T` on this context or its ancestors.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let ctx = Context::background().with_value("trace-42");
    /// let (child, _cancel) = ctx.with_cancel();
    /// assert_eq!(child.value::<&str>(), Some(&"trace-42"));
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx.Value(key).(T)`.
    pub fn value<T: Any>(&self) -> Option<&T> {
        let mut ctx = self;
        loop {
            match &*ctx.node {
                Node::Background => return None,
                Node::Cancel(c) => ctx = &c.parent,
                Node::WithoutCancel(parent) => ctx = parent,
                Node::Value(v) => match v.value.downcast_ref::<T>() {
                    Some(found) => return Some(found),
                    None => ctx = &v.parent,
                },
            }
        }
    }

    /// A receiver that is closed when this context is cancelled: `recv()` then returns
    /// `None`, and a `select!` `recv` case on it fires. No value is ever sent on it.
    ///
    /// Every call returns a clone of the same channel (created on first use). The background
    /// context's channel never closes.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// # #[tokio::main]
    /// # async fn main() {
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let done = ctx.done();
    /// assert!(!done.is_closed());
    /// cancel.cancel();
    /// assert_eq!(done.recv().await, None);
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx.Done()`.
    pub fn done(&self) -> Receiver<()> {
        match self.cancel_node() {
            None => background_done().clone(),
            Some(node) => node.as_cancel().done(),
        }
    }

    /// Completes once this context is cancelled. The same as `self.done().recv().await`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// # #[tokio::main]
    /// # async fn main() {
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// tokio::spawn(async move { cancel.cancel() });
    /// ctx.cancelled().await;
    /// assert!(ctx.err().is_some());
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `<-ctx.Done()`.
    #[track_caller]
    pub fn cancelled(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let site = std::panic::Location::caller();
        let done = self.done();
        async move { while done.recv_at(site).await.is_some() {} }
    }

    /// `None` while the context is live; once it is done, why: [`ContextError::Cancelled`]
    /// or [`ContextError::DeadlineExceeded`] (a child reports the error of the ancestor whose
    /// cancellation reached it).
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert_eq!(ctx.err(), None);
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx.Err()`.
    pub fn err(&self) -> Option<ContextError> {
        self.cancel_node().and_then(|n| n.as_cancel().err())
    }

    /// `None` while the context is live; once it is done, why, in the canceller's words: the
    /// cause given to [`CancelCauseHandle::cancel`] or to
    /// [`with_deadline_cause`](Self::with_deadline_cause) (once its deadline passed), on this
    /// context or on the ancestor whose cancellation reached it. A context done without a
    /// cause has its [`err`](Self::err) as its cause, so `cause()` is `Some` exactly when
    /// `err()` is.
    ///
    /// The first cancellation wins: a cause given later, to this context or to an ancestor,
    /// changes nothing.
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// let (parent, cancel_parent) = Context::background().with_cancel_cause();
    /// let (child, cancel_child) = parent.with_cancel();
    /// assert!(child.cause().is_none());
    /// cancel_child.cancel(); // first, and without a cause
    /// cancel_parent.cancel("shutting down");
    /// assert_eq!(child.cause().unwrap().downcast_ref(), Some(&ContextError::Cancelled));
    /// assert_eq!(parent.cause().unwrap().to_string(), "shutting down");
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `context.Cause(ctx)` (Go 1.20).
    pub fn cause(&self) -> Option<CancelCause> {
        self.cancel_node().and_then(|n| n.as_cancel().cause())
    }

    /// The time at which this context will be cancelled with
    /// [`ContextError::DeadlineExceeded`], if any (the earliest among its ancestors').
    ///
    /// ```
    /// use std::time::Duration;
    /// use gocsp_sync::Context;
    /// # #[tokio::main]
    /// # async fn main() {
    /// assert_eq!(Context::background().deadline(), None);
    /// let (ctx, _c) = Context::background().with_timeout(Duration::from_secs(1));
    /// assert!(ctx.deadline().is_some());
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `deadline, ok := ctx.Deadline()`.
    pub fn deadline(&self) -> Option<Instant> {
        self.cancel_node().and_then(|n| n.as_cancel().deadline)
    }

    /// Starts `f` as a goroutine once this context is done (cancelled, or past its deadline),
    /// unless [`stop`](AfterFuncHandle::stop) is called first. If the context is already done,
    /// `f` starts at once.
    ///
    /// `f` is a future, as for `go!`: a future does nothing until it is polled, so it is the
    /// function not yet called, and its body can `.await` (close a connection, send on a
    /// channel, cancel another context). It runs in its own goroutine named
    /// `context.AfterFunc`, reported as started on the line that called `after_func`; the
    /// cancellation that starts it never waits for it. Each `after_func` on a context runs
    /// independently of the others.
    ///
    /// Dropping the returned handle does not stop `f` (as discarding Go's `stop` does not). On
    /// a context that can never be done ([`background`](Self::background),
    /// [`without_cancel`](Self::without_cancel) and what derives from them without a cancel
    /// of its own) `f` never runs, and nothing is registered.
    ///
    /// # Memory
    ///
    /// Until it starts or is stopped, `f` is kept by the context (or, once every handle of the
    /// context is dropped, by the nearest ancestor that can still cancel it), and is dropped
    /// unrun when nothing can cancel it any more. A `f` that holds a clone of this very context
    /// keeps it alive until it is done or `f` is stopped: cancel the context, or call `stop`,
    /// as Go's rule is to always call `cancel`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, unless the context can never be done (the goroutine starts on
    /// the runtime that was current here, whichever thread the cancellation comes from).
    ///
    /// # Examples
    ///
    /// Merging the cancellation of two contexts (Go's `ExampleAfterFunc_merge`):
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// # #[tokio::main]
    /// # async fn main() {
    /// /// A context with `ctx`'s values that is cancelled when `ctx` or `cancel_ctx` is.
    /// fn merge_cancel(ctx: &Context, cancel_ctx: &Context) -> (Context, impl FnOnce()) {
    ///     let (merged, cancel) = ctx.with_cancel_cause();
    ///     let stop = cancel_ctx.after_func({
    ///         let (cancel, cancel_ctx) = (cancel.clone(), cancel_ctx.clone());
    ///         async move { cancel.cancel(cancel_ctx.cause().expect("done")) }
    ///     });
    ///     (merged, move || {
    ///         stop.stop();
    ///         cancel.cancel(ContextError::Cancelled);
    ///     })
    /// }
    ///
    /// let (ctx1, _cancel1) = Context::background().with_cancel_cause();
    /// let (ctx2, cancel2) = Context::background().with_cancel_cause();
    /// let (merged, merged_cancel) = merge_cancel(&ctx1, &ctx2);
    /// cancel2.cancel("ctx2 canceled");
    /// merged.cancelled().await;
    /// assert_eq!(merged.cause().unwrap().to_string(), "ctx2 canceled");
    /// merged_cancel();
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `stop := context.AfterFunc(ctx, f)` (Go 1.21).
    #[track_caller]
    pub fn after_func<F>(&self, f: F) -> AfterFuncHandle
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        AfterFuncHandle {
            af: self.register_after_func(Box::pin(f)),
        }
    }

    /// A [`CancellationToken`] that is cancelled when this context is cancelled, for code
    /// written against `tokio_util`. Cancelling the returned token does not cancel the context.
    ///
    /// Tokens of nested contexts form a tree of child tokens, so a token also follows the
    /// cancellation of every ancestor, even after this context's handles are dropped.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let token = ctx.cancellation_token();
    /// assert!(!token.is_cancelled());
    /// cancel.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancellation_token(&self) -> CancellationToken {
        match self.cancel_node() {
            None => CancellationToken::new(),
            Some(node) => node.as_cancel().token().child_token(),
        }
    }

    /// A child of `self` that is also cancelled (with [`ContextError::Cancelled`]) when
    /// `token` is cancelled: bring a `tokio_util` cancellation into a context tree.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime if `token` is not cancelled yet (a task watches it).
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// use tokio_util::sync::CancellationToken;
    /// # #[tokio::main]
    /// # async fn main() {
    /// let token = CancellationToken::new();
    /// let (ctx, _cancel) = Context::background().with_cancellation_token(token.clone());
    /// token.cancel();
    /// ctx.done().recv().await;
    /// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    /// # }
    /// ```
    #[track_caller]
    pub fn with_cancellation_token(&self, token: CancellationToken) -> (Context, CancelHandle) {
        let node = self.new_cancel_node(None, None);
        if token.is_cancelled() {
            cancel(&node, ContextError::Cancelled, None, true);
        } else if node.as_cancel().err().is_none() {
            let weak = Arc::downgrade(&node);
            let task = runtime_handle("Context::with_cancellation_token").spawn(async move {
                token.cancelled().await;
                if let Some(node) = weak.upgrade() {
                    cancel(&node, ContextError::Cancelled, None, true);
                }
            });
            node.as_cancel().add_task(task.abort_handle().into());
        }
        (Context { node: node.clone() }, CancelHandle { node })
    }
}

impl CancelHandle {
    /// Cancels the context with [`ContextError::Cancelled`] and every descendant, and stops its
    /// timer. Does nothing if it is already done.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let (grandchild, _) = ctx.with_value(1u8).with_cancel();
    /// cancel.cancel();
    /// assert!(grandchild.err().is_some());
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `cancel()`.
    pub fn cancel(&self) {
        cancel(&self.node, ContextError::Cancelled, None, true);
    }

    /// Turns the handle into a guard that cancels when dropped: Go's `defer cancel()`.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// drop(cancel.drop_guard());
    /// assert!(ctx.err().is_some());
    /// ```
    pub fn drop_guard(self) -> CancelGuard {
        CancelGuard { handle: Some(self) }
    }
}

/// Cancels the context it was created with, and every descendant, with a cause: Go's
/// `CancelCauseFunc`. Created by [`Context::with_cancel_cause`].
///
/// Cloneable; only the first [`cancel`](Self::cancel) (of any handle, timer or ancestor)
/// counts. Dropping the handle does **not** cancel.
///
/// ```
/// use gocsp_sync::{Context, ContextError};
/// let (ctx, cancel) = Context::background().with_cancel_cause();
/// cancel.cancel(std::io::Error::other("disk full"));
/// cancel.cancel("too late"); // the first cause stays
/// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
/// assert_eq!(ctx.cause().unwrap().to_string(), "disk full");
/// ```
#[derive(Clone)]
pub struct CancelCauseHandle {
    node: Arc<Node>,
}

impl CancelCauseHandle {
    /// Cancels the context with [`ContextError::Cancelled`] and `cause`, and every descendant
    /// with the same, and stops its timer. Does nothing if it is already done.
    ///
    /// `cause` is anything that converts into `Box<dyn Error + Send + Sync>`: an error value,
    /// a `&str` or `String` message, a boxed error, or a [`CancelCause`] (kept as the same
    /// `Arc`). Go's `cancel(nil)` (no particular cause) is `cancel(ContextError::Cancelled)`,
    /// or the [`cancel_handle`](Self::cancel_handle)'s `cancel()`.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel_cause();
    /// let (child, _c) = ctx.with_value(1u8).with_cancel();
    /// cancel.cancel(format!("job {} failed", 7));
    /// assert_eq!(child.cause().unwrap().to_string(), "job 7 failed");
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `cancel(cause)`.
    pub fn cancel(&self, cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) {
        let cause = into_cause(cause.into());
        cancel(&self.node, ContextError::Cancelled, Some(cause), true);
    }

    /// A [`CancelHandle`] for the same context, which cancels without a cause: for a
    /// [`drop_guard`](CancelHandle::drop_guard), Go's `defer cancel(nil)`.
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// let (ctx, cancel) = Context::background().with_cancel_cause();
    /// {
    ///     let _guard = cancel.cancel_handle().drop_guard();
    /// }
    /// assert_eq!(ctx.cause().unwrap().downcast_ref(), Some(&ContextError::Cancelled));
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `defer cancel(nil)` is `let _guard = cancel.cancel_handle().drop_guard();`.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle {
            node: self.node.clone(),
        }
    }
}

/// Stops an [`after_func`](Context::after_func) from starting: Go's `stop` function, returned
/// by `context.AfterFunc`.
///
/// Cloneable (every clone stops the same function). Dropping it does **not** stop the
/// function.
///
/// ```
/// use gocsp_sync::Context;
/// # #[tokio::main]
/// # async fn main() {
/// let (ctx, cancel) = Context::background().with_cancel();
/// let stop = ctx.after_func(async { unreachable!("stopped before the cancel") });
/// assert!(stop.stop());
/// cancel.cancel();
/// assert!(!stop.stop()); // already stopped
/// # }
/// ```
#[derive(Clone)]
pub struct AfterFuncHandle {
    af: Arc<AfterFunc>,
}

impl AfterFuncHandle {
    /// Stops the function from starting, and unregisters it from the context. Returns `true`
    /// if this call stopped it; `false` if it has already started (the context is done) or was
    /// already stopped. It does not wait for a started function to finish: to know when it
    /// has, have it signal (close a channel, for one).
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// # #[tokio::main]
    /// # async fn main() {
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let (finished_tx, finished) = tokio::sync::oneshot::channel();
    /// let stop = ctx.after_func(async move {
    ///     // e.g. interrupt a blocked read on a connection
    ///     let _ = finished_tx.send(());
    /// });
    /// cancel.cancel(); // the operation was interrupted
    /// if !stop.stop() {
    ///     // The function started: wait for it before going on, as Go's example does.
    ///     finished.await.unwrap();
    /// }
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `stop()`.
    pub fn stop(&self) -> bool {
        self.af.stop()
    }
}

impl CancelGuard {
    /// Gives the handle back without cancelling.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let cancel = cancel.drop_guard().disarm();
    /// assert!(ctx.err().is_none());
    /// # drop(cancel);
    /// ```
    pub fn disarm(mut self) -> CancelHandle {
        self.handle
            .take()
            .expect("a guard holds its handle until dropped")
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.cancel();
        }
    }
}

impl Default for Context {
    /// [`Context::background`].
    ///
    /// ```
    /// assert!(gocsp_sync::Context::default().err().is_none());
    /// ```
    fn default() -> Self {
        Context::background()
    }
}

impl From<&Context> for CancellationToken {
    /// Same as [`Context::cancellation_token`].
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// use tokio_util::sync::CancellationToken;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let token = CancellationToken::from(&ctx);
    /// cancel.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    fn from(ctx: &Context) -> Self {
        ctx.cancellation_token()
    }
}

impl fmt::Debug for Context {
    /// Go's `String()` layout: `context.Background.WithCancel.WithValue(type u32)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut ctx = self;
        loop {
            match &*ctx.node {
                Node::Background => break,
                Node::Cancel(c) => {
                    parts.push(match (c.timer, c.deadline) {
                        (true, Some(d)) => {
                            let left = d.saturating_duration_since(now());
                            format!("WithDeadline({left:?} left)")
                        }
                        _ => "WithCancel".to_string(),
                    });
                    ctx = &c.parent;
                }
                Node::Value(v) => {
                    parts.push(format!("WithValue(type {})", v.type_name));
                    ctx = &v.parent;
                }
                Node::WithoutCancel(parent) => {
                    parts.push("WithoutCancel".to_string());
                    ctx = parent;
                }
            }
        }
        f.write_str("context.Background")?;
        for p in parts.iter().rev() {
            write!(f, ".{p}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.node.as_cancel().err().is_some())
            .finish()
    }
}

impl fmt::Debug for CancelCauseHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelCauseHandle")
            .field("cancelled", &self.node.as_cancel().err().is_some())
            .finish()
    }
}

impl fmt::Debug for AfterFuncHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFuncHandle").finish_non_exhaustive()
    }
}

impl fmt::Debug for CancelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelGuard").finish_non_exhaustive()
    }
}
