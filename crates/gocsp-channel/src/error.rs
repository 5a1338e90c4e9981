//! Errors. Each one that carries a value hands it back (`into_inner`), and its `Debug` does not
//! require `T: Debug`. `Display` uses Go's wording.

use std::fmt;

/// The channel is closed: the value could not be sent and is handed back.
///
/// Go panics with "send on closed channel"; here the value comes back so nothing is lost.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gocsp_channel::chan::<String>(1);
/// rx.close();
/// let err = tx.try_send("hello".to_string()).unwrap_err();
/// assert_eq!(err.to_string(), "send on closed channel");
/// assert_eq!(err.into_inner(), "hello");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// assert_eq!(gocsp_channel::SendError(5).into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// Why [`Sender::try_send`](crate::Sender::try_send) did not send; the value is handed back.
///
/// # Examples
///
/// ```
/// use gocsp_channel::TrySendError;
/// let (tx, _rx) = gocsp_channel::chan::<i32>(0);
/// // Unbuffered, and no receiver is waiting:
/// assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The buffer is full, or (unbuffered) no receiver is waiting.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// assert_eq!(gocsp_channel::TrySendError::Full(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// `true` for [`TrySendError::Full`].
    ///
    /// ```
    /// assert!(gocsp_channel::TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// `true` for [`TrySendError::Closed`].
    ///
    /// ```
    /// assert!(gocsp_channel::TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel full (or no receiver waiting)"),
            TrySendError::Closed(_) => f.write_str("send on closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        TrySendError::Closed(e.0)
    }
}

/// Why [`Receiver::try_recv`](crate::Receiver::try_recv) returned no value.
///
/// # Examples
///
/// ```
/// use gocsp_channel::TryRecvError;
/// let (tx, rx) = gocsp_channel::chan::<i32>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing to receive now.
    Empty,
    /// The channel is closed and drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receive from empty channel"),
            TryRecvError::Closed => f.write_str("receive from closed channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}
