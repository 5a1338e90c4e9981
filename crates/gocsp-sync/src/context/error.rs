//! [`ContextError`]: why a context is done, and its one-byte code in a node.

use std::fmt;

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
