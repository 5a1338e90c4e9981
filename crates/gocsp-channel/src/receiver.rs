//! The receiving half: [`Receiver`], its future [`Recv`], the blocking [`Iter`], and `Stream`.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::blocking;
use crate::chan::{Chan, Wakes, RECV_MAYBE};
use crate::coop;
use crate::error::TryRecvError;
use crate::hook::{self, Op};
use crate::loom::{Arc, Ordering};
use crate::ops::RecvOp;
use crate::sender::cap_of;

/// The receiving half of a channel. Clone it for more consumers; each value goes to exactly
/// one receiver.
///
/// `while let Some(v) = rx.recv().await { .. }` is Go's `for v := range ch { .. }`.
///
/// # Go equivalent
///
/// A `<-chan T`.
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// The receive in progress on behalf of the `Stream` impl.
    stream: RecvOp<T>,
    /// Where this handle was created (`chan()` or `clone()`): the site a wait in the `Stream`
    /// impl reports, since `poll_next` cannot know the line that awaits it.
    site: &'static Location<'static>,
}

impl<T> Receiver<T> {
    pub(crate) fn new(chan: Arc<Chan<T>>, site: &'static Location<'static>) -> Self {
        Receiver {
            chan,
            stream: RecvOp::new(),
            site,
        }
    }

    /// Receives a value, waiting for one. `None` once the channel is closed and drained.
    ///
    /// Values sent before the close are always delivered first. Waiting receivers are served in
    /// FIFO order.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: if the future is dropped before it returns a value, no value is lost. A
    /// value already handed to it (by a sender that found it waiting) goes to the next waiting
    /// receiver, or back to the front of the buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (tx, rx) = gocsp_channel::chan(3);
    /// for i in 0..3 { tx.send(i).await.unwrap(); }
    /// drop(tx); // close
    /// let mut got = vec![];
    /// while let Some(v) = rx.recv().await { got.push(v); }
    /// assert_eq!(got, [0, 1, 2]);
    /// # });
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `v, ok := <-ch`.
    #[track_caller]
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            rx: self,
            op: RecvOp::new(),
            site: Location::caller(),
        }
    }

    /// [`recv`](Receiver::recv) reported to the goroutine runtime as waiting at `site`: for
    /// libraries that wait on their caller's behalf (`Context::cancelled`), so dumps and the
    /// profile name the user's line.
    #[doc(hidden)]
    pub fn recv_at(&self, site: &'static Location<'static>) -> Recv<'_, T> {
        Recv {
            rx: self,
            op: RecvOp::new(),
            site,
        }
    }

    /// Receives without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing can be received now, [`TryRecvError::Closed`] if the
    /// channel is closed and drained.
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(1);
    /// tx.try_send(9).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(9));
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `select { case v := <-ch: default: }`.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        // Lock-free fast path: nothing buffered, no sender waiting, not closed.
        if self.chan.state.idle_hint(RECV_MAYBE).is_some() {
            return Err(TryRecvError::Empty);
        }
        let mut wakes = Wakes::new();
        let res = {
            let mut st = self.chan.state.lock();
            st.check_bubble();
            st.arm_hint();
            match st.try_take(&mut wakes) {
                Some(v) => Ok(v),
                None if st.drained() => Err(TryRecvError::Closed),
                None => Err(TryRecvError::Empty),
            }
        };
        wakes.wake_all();
        if res.is_ok() {
            hook::progressed();
        }
        res
    }

    /// Receives from a plain OS thread, parking it until a value arrives. `None` once the
    /// channel is closed and drained.
    ///
    /// # Panics
    ///
    /// If called from async code on a tokio runtime thread; the message says what to use.
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(0);
    /// std::thread::spawn(move || tx.send_blocking("from a thread"));
    /// assert_eq!(rx.recv_blocking(), Some("from a thread"));
    /// ```
    #[track_caller]
    pub fn recv_blocking(&self) -> Option<T> {
        let site = Location::caller();
        blocking::block_on(
            self.recv(),
            Op::Recv,
            site,
            "recv_blocking",
            ".recv().await",
        )
    }

    /// A blocking iterator over received values, ending when the channel is closed and drained.
    ///
    /// # Panics
    ///
    /// `next` panics as [`recv_blocking`](Receiver::recv_blocking) does on a runtime thread.
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(0);
    /// std::thread::spawn(move || for i in 1..=3 { tx.send_blocking(i).unwrap(); });
    /// assert_eq!(rx.iter().sum::<i32>(), 6);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// Closes the channel from the receiving side. Returns `true` if this call closed it.
    /// Values already buffered can still be received.
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan::<i32>(1);
    /// assert!(rx.close());
    /// assert!(tx.try_send(1).unwrap_err().is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// `true` once the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan::<()>(0);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Number of values in the buffer (Go's `len(ch)`).
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(2);
    /// tx.try_send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// `true` if the buffer holds no value.
    ///
    /// ```
    /// let (_tx, rx) = gocsp_channel::chan::<u8>(2);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer size: `Some(0)` unbuffered, `Some(n)` buffered, `None` unbounded.
    ///
    /// ```
    /// assert_eq!(gocsp_channel::chan::<u8>(8).1.capacity(), Some(8));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        cap_of(self.chan.cap)
    }

    /// `true` if both handles belong to the same channel.
    ///
    /// ```
    /// let (_tx, rx) = gocsp_channel::chan::<u8>(0);
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Receiver<T> {
    /// A new handle to the same channel. The clone's `Stream` waits are reported at the
    /// `clone()` call.
    #[track_caller]
    fn clone(&self) -> Self {
        // Relaxed: a clone comes from a live handle, so the count is already above zero.
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver::new(self.chan.clone(), Location::caller())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.stream.cancel(&self.chan);
        // AcqRel: the last receiver sees every other receiver's work before disconnecting.
        if self.chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.disconnect_receivers();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl<T> futures_core::Stream for Receiver<T> {
    type Item = T;

    /// Cancel-safe as [`Receiver::recv`]: a receive left registered by a dropped `next()`
    /// future stays with the receiver and completes on the next poll.
    ///
    /// A goroutine waiting here shows in the dump and the profile as `stream receive`
    /// ([`Op::StreamRecv`]) at the line that created this receiver (its `chan()` or `clone()`
    /// call): a trait method cannot know the line that awaits it.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        poll_recv(&mut this.stream, &this.chan, cx, Op::StreamRecv, this.site)
    }
}

impl<T> futures_core::FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        // Closed and drained (the one predicate every `None` comes from), and no receive of
        // this stream is in flight that may already hold a value.
        !self.stream.is_registered() && self.chan.drained()
    }
}

/// One poll of a receive, with the budget and the runtime reports of every channel operation.
fn poll_recv<T>(
    op: &mut RecvOp<T>,
    chan: &Chan<T>,
    cx: &mut Context<'_>,
    kind: Op,
    site: &'static Location<'static>,
) -> Poll<Option<T>> {
    coop::poll_op(cx, kind, site, chan.bubble, Option::is_some, |w| {
        op.poll(chan, w)
    })
}

/// Future of [`Receiver::recv`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Recv<'a, T> {
    rx: &'a Receiver<T>,
    op: RecvOp<T>,
    site: &'static Location<'static>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        poll_recv(&mut this.op, &this.rx.chan, cx, Op::Recv, this.site)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.op.cancel(&self.rx.chan);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// Blocking iterator from [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.rx.recv_blocking()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
