//! [`ContextError`]: why a context is done, and its one-byte code in a node; [`CancelCause`]:
//! the error that says more.

use std::error::Error;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Why a context was cancelled, in the canceller's words: what
/// [`Context::cause`](super::Context::cause) returns, Go's `context.Cause(ctx)`.
///
/// Set by [`CancelCauseHandle::cancel`](super::CancelCauseHandle::cancel) or by a deadline
/// from [`Context::with_deadline_cause`](super::Context::with_deadline_cause); a context done
/// for any other reason has its [`ContextError`] as its cause.
///
/// Why this type:
/// - `Arc`: one cause is shared by the cancelled context and every descendant it cancels, and
///   every [`cause`](super::Context::cause) call returns it, so it must be cheap to clone (a
///   `Box` is not `Clone`). Clones are the same error: [`Arc::ptr_eq`] tells whether a
///   context was cancelled with a given cause, as Go compares `Cause(ctx) == err`.
/// - `dyn Error + Send + Sync + 'static`: a context tree crosses libraries with different error
///   types, as in Go, so the cause is not a type parameter. Any error type goes in (an
///   `io::Error`, your own enum, an `anyhow::Error` or a message, through
///   `Into<Box<dyn Error + Send + Sync>>`), [`downcast_ref`](trait@Error#method.downcast_ref)
///   gets it back (Go's `errors.As`), and `CancelCause` is itself an
///   `Error + Send + Sync + 'static`, so `?` turns it into a `Box<dyn Error + Send + Sync>` or
///   an `anyhow::Error`.
///
/// ```
/// use std::sync::Arc;
/// use gocsp_sync::{CancelCause, Context, ContextError};
///
/// #[derive(Debug)]
/// struct Shutdown;
/// impl std::fmt::Display for Shutdown {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str("server shutting down")
///     }
/// }
/// impl std::error::Error for Shutdown {}
///
/// let (ctx, cancel) = Context::background().with_cancel_cause();
/// cancel.cancel(Shutdown);
/// let cause: CancelCause = ctx.cause().unwrap();
/// assert!(cause.downcast_ref::<Shutdown>().is_some());
/// assert_eq!(cause.to_string(), "server shutting down");
/// assert_eq!(ctx.err(), Some(ContextError::Cancelled)); // err() stays Go's two values
///
/// // Passing a `CancelCause` keeps it as is: the same `Arc`.
/// let shared: CancelCause = Arc::new(Shutdown);
/// let (ctx, cancel) = Context::background().with_cancel_cause();
/// cancel.cancel(shared.clone());
/// assert!(Arc::ptr_eq(&ctx.cause().unwrap(), &shared));
/// ```
///
/// # Go equivalent
///
/// The `error` that `context.Cause(ctx)` returns.
pub type CancelCause = Arc<dyn Error + Send + Sync + 'static>;

/// Turns what a caller passed as a cause into a [`CancelCause`], keeping a `CancelCause` that
/// arrived boxed (an `Arc` is itself an `Error`) as the same `Arc` instead of wrapping it.
pub(super) fn into_cause(cause: Box<dyn Error + Send + Sync + 'static>) -> CancelCause {
    match cause.downcast::<CancelCause>() {
        Ok(arc) => *arc,
        Err(other) => Arc::from(other),
    }
}

/// Why a [`Context`](super::Context) is done: Go's `context.Canceled` and `context.DeadlineExceeded`.
///
/// `Display` prints Go's wording, so logs read as a Go service's do.
///
/// # Spelling
///
/// gocsp spells the word "cancelled" in every identifier (`ContextError::Cancelled`,
/// `GoError::Cancelled`, `is_cancelled`, [`Context::cancelled`](super::Context::cancelled)), as tokio and the Rust standard
/// library do (`JoinError::is_cancelled`, `CancellationToken`), so one spelling works across a
/// Rust code base. Only the messages keep Go's "canceled", because they are Go's text.
///
/// ```
/// use gocsp_sync::ContextError;
/// assert_eq!(ContextError::Cancelled.to_string(), "context canceled");
/// assert_eq!(ContextError::DeadlineExceeded.to_string(), "context deadline exceeded");
/// assert!(ContextError::DeadlineExceeded.is_timeout());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// The context was cancelled by a [`CancelHandle`](super::CancelHandle) or by an ancestor's cancellation.
    Cancelled,
    /// The context's deadline passed.
    DeadlineExceeded,
}

impl ContextError {
    /// `true` for [`DeadlineExceeded`](Self::DeadlineExceeded), like Go's `Timeout()` method on
    /// `context.DeadlineExceeded`.
    ///
    /// ```
    /// assert!(!gocsp_sync::ContextError::Cancelled.is_timeout());
    /// ```
    pub fn is_timeout(self) -> bool {
        self == ContextError::DeadlineExceeded
    }

    /// This error as a [`CancelCause`]: the cause of a context cancelled without one. One
    /// shared `Arc` per variant, so reading it allocates nothing.
    pub(super) fn as_cause(self) -> CancelCause {
        static CANCELLED: OnceLock<CancelCause> = OnceLock::new();
        static DEADLINE: OnceLock<CancelCause> = OnceLock::new();
        let cell = match self {
            ContextError::Cancelled => &CANCELLED,
            ContextError::DeadlineExceeded => &DEADLINE,
        };
        cell.get_or_init(|| Arc::new(self)).clone()
    }

    pub(super) fn code(self) -> u8 {
        match self {
            ContextError::Cancelled => ERR_CANCELLED,
            ContextError::DeadlineExceeded => ERR_DEADLINE,
        }
    }

    pub(super) fn from_code(code: u8) -> Option<Self> {
        match code {
            ERR_CANCELLED => Some(ContextError::Cancelled),
            ERR_DEADLINE => Some(ContextError::DeadlineExceeded),
            _ => None,
        }
    }
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Cancelled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

pub(super) const ERR_NONE: u8 = 0;
pub(super) const ERR_CANCELLED: u8 = 1;
pub(super) const ERR_DEADLINE: u8 = 2;
