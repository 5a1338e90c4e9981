//! [`GoError`]: why a goroutine produced no value.

use std::fmt;
use std::panic::Location;

/// Why a goroutine produced no value: the `Err` side of awaiting a [`GoHandle`](super::GoHandle).
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
    /// The goroutine was cancelled before it finished: [`GoHandle::abort`](super::GoHandle::abort) or its runtime shut
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
    /// let e = gocsp_runtime::go!(name = "n", async { panic!("x") }).await.unwrap_err();
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
