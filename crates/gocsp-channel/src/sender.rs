//! The sending half: [`Sender`], its futures [`Send`] and [`Reserve`], [`Permit`], [`SendSink`].

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use crate::blocking;
use crate::chan::{Cap, Chan, Grant, Wakes, SEND_MAYBE};
use crate::coop;
use crate::error::{SendError, TrySendError};
use crate::hook::{self, Op};
use crate::loom::{Arc, Ordering};
use crate::ops::{ReserveOp, SendOp};

/// The sending half of a channel. Clone it for more producers.
///
/// The channel closes when the last `Sender` is dropped (or on [`close`](Sender::close)).
///
/// # Go equivalent
///
/// A `chan<- T`.
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting until the channel takes it.
    ///
    /// On a buffered channel this completes once `value` is in the buffer; on an unbuffered one
    /// (`chan(0)`) only once a receiver has taken it. Waiting senders are served in FIFO order.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value handed back if the channel is closed, or every receiver
    /// was dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe. If the future is dropped before it completes, the value was not sent and
    /// drops with the future; if it completed, the value was sent. Never in between.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (tx, rx) = gocsp_channel::chan::<&str>(0);
    /// let t = tokio::spawn(async move { tx.send("ping").await });
    /// assert_eq!(rx.recv().await, Some("ping"));
    /// assert!(t.await.unwrap().is_ok());
    /// # });
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ch <- value`, except that a closed channel hands the value back instead of panicking.
    #[track_caller]
    pub fn send(&self, value: T) -> Send<'_, T> {
        Send {
            tx: self,
            op: SendOp::new(value),
            site: Location::caller(),
        }
    }

    /// Sends without waiting.
    ///
    /// On an unbuffered channel this succeeds only if a receiver is waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the value cannot be taken now, [`TrySendError::Closed`] if the
    /// channel is closed; both hand the value back.
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_channel::TrySendError;
    /// let (tx, rx) = gocsp_channel::chan(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(matches!(tx.try_send(2), Err(TrySendError::Full(2))));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `select { case ch <- v: default: }`.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        // Lock-free fast path: no room, no receiver waiting, not closed.
        if self.chan.state.idle_hint(SEND_MAYBE).is_some() {
            return Err(TrySendError::Full(value));
        }
        let mut wakes = Wakes::new();
        let res = {
            let mut st = self.chan.state.lock();
            st.check_bubble();
            st.arm_hint();
            if st.is_closed() {
                Err(TrySendError::Closed(value))
            } else {
                st.try_give(value, &mut wakes).map_err(TrySendError::Full)
            }
        };
        wakes.wake_all();
        if res.is_ok() {
            hook::progressed();
        }
        res
    }

    /// Sends from a plain OS thread, parking it until the channel takes the value.
    ///
    /// # Errors
    ///
    /// As [`send`](Sender::send).
    ///
    /// # Panics
    ///
    /// If called from async code on a tokio runtime thread, where blocking could deadlock the
    /// tasks that would unblock it; the message says what to use instead.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(0);
    /// let t = std::thread::spawn(move || tx.send_blocking(42));
    /// assert_eq!(rx.recv_blocking(), Some(42));
    /// assert!(t.join().unwrap().is_ok());
    /// ```
    #[track_caller]
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        let site = Location::caller();
        blocking::block_on(
            self.send(value),
            Op::Send,
            site,
            "send_blocking",
            ".send(v).await",
        )
    }

    /// Waits for room for one value and reserves it, without having the value yet.
    ///
    /// On a buffered channel the permit holds one buffer slot; on an unbuffered channel it
    /// holds one waiting receiver, which then waits for this permit. [`Permit::send`] cannot
    /// block or fail; dropping the permit unused gives the slot (or receiver) back.
    ///
    /// # Errors
    ///
    /// `SendError(())` if the channel is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: dropping the future before it completes reserves nothing; a reservation
    /// granted to a future dropped before it returned is given back.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (tx, rx) = gocsp_channel::chan(1);
    /// let permit = tx.reserve().await.unwrap();
    /// permit.send("computed only now");
    /// assert_eq!(rx.recv().await, Some("computed only now"));
    /// # });
    /// ```
    #[track_caller]
    pub fn reserve(&self) -> Reserve<'_, T> {
        Reserve {
            tx: self,
            op: ReserveOp::new(),
            site: Location::caller(),
        }
    }

    /// Reserves without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if there is no room (unbuffered: no receiver waiting),
    /// [`TrySendError::Closed`] if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(1);
    /// let p = tx.try_reserve().unwrap();
    /// assert!(tx.try_reserve().is_err()); // the only slot is reserved
    /// p.send(7);
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<T>, TrySendError<()>> {
        let mut st = self.chan.state.lock();
        st.check_bubble();
        if st.is_closed() {
            return Err(TrySendError::Closed(()));
        }
        match st.try_reserve() {
            Some(grant) => Ok(Permit::new(self.chan.clone(), grant)),
            None => Err(TrySendError::Full(())),
        }
    }

    /// Closes the channel. Returns `true` if this call closed it, `false` if it was closed
    /// already (Go panics on a double close; gocsp reports it).
    ///
    /// Receivers still get every value sent before the close, then `None`. Senders waiting
    /// get their values back in `Err`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(2);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!tx.close());
    /// assert_eq!(rx.recv_blocking(), Some(1));
    /// assert_eq!(rx.recv_blocking(), None);
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `close(ch)`.
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// `true` once the channel is closed (or every receiver is gone).
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan::<()>(0);
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Number of values in the buffer (Go's `len(ch)`).
    ///
    /// ```
    /// let (tx, _rx) = gocsp_channel::chan(4);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// `true` if the buffer holds no value.
    ///
    /// ```
    /// let (tx, _rx) = gocsp_channel::chan::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer size: `Some(0)` unbuffered, `Some(n)` buffered, `None` unbounded
    /// (Go's `cap(ch)`).
    ///
    /// ```
    /// assert_eq!(gocsp_channel::chan::<u8>(0).0.capacity(), Some(0));
    /// assert_eq!(gocsp_channel::unbounded::<u8>().0.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        cap_of(self.chan.cap)
    }

    /// `true` if both handles belong to the same channel.
    ///
    /// ```
    /// let (tx, _rx) = gocsp_channel::chan::<u8>(0);
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    /// A [`futures_sink::Sink`] that sends into this channel.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use futures::SinkExt;
    /// let (tx, rx) = gocsp_channel::chan(1);
    /// let mut sink = tx.sink();
    /// sink.send(5).await.unwrap();
    /// assert_eq!(rx.recv().await, Some(5));
    /// # });
    /// ```
    pub fn sink(&self) -> SendSink<T> {
        SendSink {
            tx: Some(self.clone()),
            op: ReserveOp::new(),
            permit: None,
        }
    }

    pub(crate) fn new(chan: Arc<Chan<T>>) -> Self {
        Sender { chan }
    }
}

pub(crate) fn cap_of(cap: Cap) -> Option<usize> {
    match cap {
        Cap::Zero => Some(0),
        Cap::Bounded(n) => Some(n),
        Cap::Unbounded => None,
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        // Relaxed: a clone comes from a live handle, so the count is already above zero.
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: the last sender sees every other sender's work before closing.
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// Future of [`Sender::send`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Send<'a, T> {
    tx: &'a Sender<T>,
    op: SendOp<T>,
    site: &'static Location<'static>,
}

impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (op, chan) = (&mut this.op, &this.tx.chan);
        coop::poll_op(cx, Op::Send, this.site, chan.bubble, Result::is_ok, |w| {
            op.poll(chan, w)
        })
        .map(|r| r.map_err(SendError))
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        if self.op.is_registered() {
            // Dropped outside the lock: the value's own Drop may use channels.
            drop(self.op.cancel(&self.tx.chan));
        }
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send").finish_non_exhaustive()
    }
}

/// Future of [`Sender::reserve`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Reserve<'a, T> {
    tx: &'a Sender<T>,
    op: ReserveOp<T>,
    site: &'static Location<'static>,
}

impl<T> Future for Reserve<'_, T> {
    type Output = Result<Permit<T>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (op, chan) = (&mut this.op, &this.tx.chan);
        // A reservation moves no value: the permit's send reports the progress.
        coop::poll_op(
            cx,
            Op::Reserve,
            this.site,
            chan.bubble,
            |_| false,
            |w| op.poll(chan, w),
        )
        .map(|r| {
            r.map(|g| Permit::new(chan.clone(), g))
                .map_err(|()| SendError(()))
        })
    }
}

impl<T> Drop for Reserve<'_, T> {
    fn drop(&mut self) {
        self.op.cancel(&self.tx.chan);
    }
}

impl<T> fmt::Debug for Reserve<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserve").finish_non_exhaustive()
    }
}

/// The right to send one value without waiting, from [`Sender::reserve`] or a `select!` send
/// case. Dropping it unused gives the reservation back.
#[must_use = "a permit reserves room in the channel until it is used or dropped"]
pub struct Permit<T> {
    chan: Arc<Chan<T>>,
    grant: Option<Grant>,
}

impl<T> Permit<T> {
    pub(crate) fn new(chan: Arc<Chan<T>>, grant: Grant) -> Self {
        Permit {
            chan,
            grant: Some(grant),
        }
    }

    /// Sends `value`. Cannot block or fail: the room was reserved. A value sent through a
    /// permit after the channel was closed is still delivered (the permit predates the close).
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(1);
    /// tx.try_reserve().unwrap().send('x');
    /// assert_eq!(rx.try_recv(), Ok('x'));
    /// ```
    pub fn send(mut self, value: T) {
        let grant = self.grant.take().expect("a permit is used once");
        let mut wakes = Wakes::new();
        let unsent = self.chan.state.lock().fulfil(grant, value, &mut wakes);
        wakes.wake_all();
        drop(unsent);
        hook::progressed();
    }
}

impl<T> Drop for Permit<T> {
    fn drop(&mut self) {
        if let Some(grant) = self.grant.take() {
            let mut wakes = Wakes::new();
            self.chan.state.lock().release(grant, &mut wakes);
            wakes.wake_all();
        }
    }
}

impl<T> fmt::Debug for Permit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

/// A [`futures_sink::Sink`] over a [`Sender`], from [`Sender::sink`].
///
/// `poll_ready` reserves room (so `start_send` never fails or buffers), `poll_close` drops this
/// sink's sender (the channel closes if it was the last one).
pub struct SendSink<T> {
    tx: Option<Sender<T>>,
    op: ReserveOp<T>,
    permit: Option<Permit<T>>,
}

impl<T> Unpin for SendSink<T> {}

impl<T> futures_sink::Sink<T> for SendSink<T> {
    type Error = SendError<()>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        if this.permit.is_some() {
            return Poll::Ready(Ok(()));
        }
        let Some(tx) = &this.tx else {
            return Poll::Ready(Err(SendError(())));
        };
        match ready!(this.op.poll(&tx.chan, cx.waker())) {
            Ok(g) => {
                this.permit = Some(Permit::new(tx.chan.clone(), g));
                Poll::Ready(Ok(()))
            }
            Err(()) => Poll::Ready(Err(SendError(()))),
        }
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        match self.get_mut().permit.take() {
            Some(p) => {
                p.send(item);
                Ok(())
            }
            None => Err(SendError(())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        this.permit = None;
        if let Some(tx) = this.tx.take() {
            this.op.cancel(&tx.chan);
        }
        Poll::Ready(Ok(()))
    }
}

impl<T> Drop for SendSink<T> {
    fn drop(&mut self) {
        self.permit = None;
        if let Some(tx) = &self.tx {
            self.op.cancel(&tx.chan);
        }
    }
}

impl<T> fmt::Debug for SendSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendSink").finish_non_exhaustive()
    }
}
