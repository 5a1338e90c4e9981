//! [`GoHandle`]: awaiting a goroutine's result, aborting it.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use gocsp_channel::hook::{self, Op};
use tokio::task::JoinHandle;

use super::panic::{panic_message, Caught};
use super::GoError;

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
    pub(crate) fn new(
        join: JoinHandle<Result<T, Box<Caught>>>,
        id: u64,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> Self {
        GoHandle {
            join,
            id,
            name,
            location,
        }
    }

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
        match Pin::new(&mut self.join).poll(cx) {
            Poll::Ready(Ok(Ok(v))) => Poll::Ready(Ok(v)),
            Poll::Ready(Ok(Err(caught))) => Poll::Ready(Err(caught.error)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(self.join_error(e))),
            Poll::Pending => {
                // Waiting for another goroutine is waiting on gocsp: if that goroutine is
                // asleep forever, so is this one (the deadlock detector relies on it).
                hook::blocked(Op::Other("goroutine join"), self.location);
                Poll::Pending
            }
        }
    }
}

impl<T> GoHandle<T> {
    /// The error for a goroutine that tokio reports as cancelled or panicked.
    #[cold]
    fn join_error(&self, e: tokio::task::JoinError) -> GoError {
        let name = self.name.as_deref().map(str::to_owned);
        if e.is_cancelled() {
            GoError::Cancelled {
                id: self.id,
                name,
                location: self.location,
            }
        } else {
            // A panic tokio caught outside our wrapper: in the goroutine's destructor.
            GoError::Panicked {
                id: self.id,
                name,
                message: panic_message(&*e.into_panic()),
                location: self.location,
            }
        }
    }
}
