//! [`JetStreamSender`]: a send completes once the stream has stored the value, or hands the
//! value back.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::Context;
use async_nats::Subject;
use gocsp_channel::{chan, Receiver, Recv, SendError, Sender};

use crate::codec::Codec;

/// A function that names a value for JetStream's de-duplication (`Nats-Msg-Id`).
type MsgId<T> = Box<dyn Fn(&T) -> String + Send + Sync>;

struct Inner<T, C> {
    js: Context,
    subject: Subject,
    codec: C,
    msg_id: Option<MsgId<T>>,
    /// One token per publish that may be in flight: a reservation receives one, a permit gives
    /// it back. A gocsp channel, so a goroutine waiting here shows in the dump and the profile.
    slots_tx: Sender<()>,
    slots_rx: Receiver<()>,
    closed: AtomicBool,
    capacity: usize,
}

/// The sending end of a JetStream channel: [`send`](Self::send) completes only once the
/// stream has stored the value (the server's publish acknowledgement), and a failed publish
/// hands the value back in [`SendError`].
///
/// Why not a plain gocsp [`Sender`]: a `Sender`'s send completes at the rendezvous with a
/// receiver, here the bridge, which has not yet published; the store can still fail, and the
/// value could then no longer be handed back. So the publish runs in the sending goroutine, and
/// the channel part is the *reservation* of one of a bounded number of publishes in flight
/// (backpressure, as a buffered channel's capacity): [`reserve`](Self::reserve) is a
/// cancel-safe future, so it is the `select!` case, and the committed publish follows the
/// select.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// use gocsp::{select, Context};
/// let client = async_nats::connect("127.0.0.1:4222").await?;
/// let js = async_nats::jetstream::new(client);
/// let orders = gocsp_nats::jetstream::sender::<u64>(&js, "orders.new");
/// let (ctx, _cancel) = Context::background().with_cancel();
///
/// // select { case orders <- 42: ...; case <-ctx.Done(): ... }
/// select! {
///     fut(orders.reserve()) -> permit => match permit {
///         Ok(permit) => { permit.send(42).await.map_err(|e| format!("not stored: {}", e.0))?; }
///         Err(_closed) => {}
///     },
///     recv(ctx.done()) => {}
/// }
/// # Ok(()) }
/// ```
///
/// Clones share the sender (and its limit of publishes in flight); dropping them publishes
/// nothing more and stops nothing, as there is no bridge goroutine.
///
/// # Go equivalent
///
/// `js.Publish(subject, data)` in a loop fed by a channel, with `PublishAsyncMaxPending` as
/// the limit; the ack is awaited per value, as `js.Publish` (not `PublishAsync`) does.
pub struct JetStreamSender<T, C> {
    inner: Arc<Inner<T, C>>,
    _values: PhantomData<fn(T)>,
}

impl<T, C> Clone for JetStreamSender<T, C> {
    fn clone(&self) -> Self {
        JetStreamSender {
            inner: self.inner.clone(),
            _values: PhantomData,
        }
    }
}

impl<T, C> fmt::Debug for JetStreamSender<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JetStreamSender")
            .field("subject", &self.inner.subject.as_str())
            .field("max_in_flight", &self.inner.capacity)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl<T, C: Codec<T>> JetStreamSender<T, C> {
    pub(crate) fn new(js: &Context, subject: String, codec: C, max_in_flight: usize) -> Self {
        let capacity = max_in_flight.max(1);
        let (slots_tx, slots_rx) = chan(capacity);
        for _ in 0..capacity {
            let _ = slots_tx.try_send(());
        }
        JetStreamSender {
            inner: Arc::new(Inner {
                js: js.clone(),
                subject: Subject::from(subject),
                codec,
                msg_id: None,
                slots_tx,
                slots_rx,
                closed: AtomicBool::new(false),
                capacity,
            }),
            _values: PhantomData,
        }
    }

    /// Names every value for JetStream's de-duplication: each publish carries
    /// `Nats-Msg-Id: id(&value)`, and the stream stores a second publish with the same id
    /// within its duplicate window (two minutes by default) only once. With it, resending a
    /// value that came back in [`SendError`] — whose first publish may have been stored with
    /// only its acknowledgement lost — cannot store it twice.
    ///
    /// Call it before cloning the sender (clones made earlier keep no id).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Payment { id: u64, cents: i64 }
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let tx = gocsp_nats::jetstream::sender::<Payment>(&js, "payments")
    ///     .with_msg_id(|p| format!("payment-{}", p.id));
    /// # Ok(()) }
    /// ```
    pub fn with_msg_id(self, id: impl Fn(&T) -> String + Send + Sync + 'static) -> Self {
        let inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => {
                // Cloned already: a new sender with its own slots.
                let fresh = JetStreamSender::<T, C>::new(
                    &shared.js,
                    shared.subject.to_string(),
                    shared.codec.clone(),
                    shared.capacity,
                );
                Arc::try_unwrap(fresh.inner).unwrap_or_else(|_| unreachable!("just made"))
            }
        };
        JetStreamSender {
            inner: Arc::new(Inner {
                msg_id: Some(Box::new(id)),
                ..inner
            }),
            _values: PhantomData,
        }
    }

    /// Publishes `value` and waits until the stream has stored it.
    ///
    /// Waits first for a free publish slot (at most `max_in_flight` publishes of this sender
    /// and its clones are in flight at once, 256 by default). Returns the server's
    /// acknowledgement: the stream, the sequence, and `duplicate` (true when de-duplication
    /// recognised the id of [`with_msg_id`](Self::with_msg_id)).
    ///
    /// # Errors
    ///
    /// The value comes back in [`SendError`] when the sender is closed, the value does not
    /// encode, no stream takes the subject, or the publish failed or was not acknowledged
    /// within the JetStream context's timeout (e.g. while the connection is down). The cause
    /// is reported through `tracing` at warn level. After a failed publish the value may
    /// nevertheless have been stored (only the acknowledgement was lost): resending it is
    /// at-least-once, unless [`with_msg_id`](Self::with_msg_id) is set.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe while waiting for a slot (nothing published). Not cancel-safe once the
    /// publish has started: the value is dropped with the future and may or may not have been
    /// stored. In `select!`, use [`reserve`](Self::reserve) as the case and
    /// [`Permit::send`] after it.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let tx = gocsp_nats::jetstream::sender::<String>(&js, "events");
    /// match tx.send("created".to_string()).await {
    ///     Ok(ack) => println!("stored as {}", ack.sequence),
    ///     Err(gocsp::SendError(value)) => println!("not stored, retry later: {value}"),
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ack, err := js.Publish(subject, data)`.
    pub async fn send(&self, value: T) -> Result<PublishAck, SendError<T>> {
        match self.reserve().await {
            Ok(permit) => permit.send(value).await,
            Err(_) => Err(SendError(value)),
        }
    }

    /// Waits for a free publish slot and reserves it, without the value: the `select!` case
    /// of a JetStream send (`fut(tx.reserve()) -> permit => ...`).
    ///
    /// # Errors
    ///
    /// `SendError(())` once the sender is closed.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a reservation dropped before or after it completed gives its slot back,
    /// so a `select!` that chose another case has reserved nothing.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let tx = gocsp_nats::jetstream::sender::<u32>(&js, "numbers");
    /// let permit = tx.reserve().await.expect("not closed");
    /// let ack = permit.send(7).await.expect("stored");
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// The `case ch <- v:` of a `select`, up to the moment it is chosen.
    #[track_caller]
    pub fn reserve(&self) -> Reserve<'_, T, C> {
        Reserve {
            sender: self,
            recv: self.inner.slots_rx.recv(),
        }
    }

    /// Closes the sender: later sends and reservations fail, handing their values back;
    /// permits already granted still publish (a send that has begun). Returns `true` if this
    /// call closed it. Nothing is sent to the receivers: NATS has no end of stream.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let tx = gocsp_nats::jetstream::sender::<u32>(&js, "numbers");
    /// assert!(tx.close());
    /// assert_eq!(tx.send(1).await.unwrap_err().into_inner(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `close(ch)` on the channel that feeds the publisher.
    pub fn close(&self) -> bool {
        let first = !self.inner.closed.swap(true, Ordering::SeqCst);
        self.inner.slots_tx.close();
        first
    }

    /// Whether [`close`](Self::close) was called on this sender or a clone.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let tx = gocsp_nats::jetstream::sender::<u32>(&js, "numbers");
    /// assert!(!tx.is_closed());
    /// # Ok(()) }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// The subject values are published on.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// assert_eq!(gocsp_nats::jetstream::sender::<u32>(&js, "numbers").subject(), "numbers");
    /// # Ok(()) }
    /// ```
    pub fn subject(&self) -> &str {
        self.inner.subject.as_str()
    }
}

/// The future of [`JetStreamSender::reserve`]: a free publish slot, as a [`Permit`].
#[must_use = "futures do nothing unless awaited"]
pub struct Reserve<'a, T, C> {
    sender: &'a JetStreamSender<T, C>,
    recv: Recv<'a, ()>,
}

impl<T, C> fmt::Debug for Reserve<'_, T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reserve")
            .field("subject", &self.sender.inner.subject.as_str())
            .finish_non_exhaustive()
    }
}

impl<T, C: Codec<T>> Future for Reserve<'_, T, C> {
    type Output = Result<Permit<T, C>, SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match Pin::new(&mut this.recv).poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Err(SendError(()))),
            Poll::Ready(Some(())) => {
                let permit = Permit {
                    inner: this.sender.inner.clone(),
                };
                if this.sender.is_closed() {
                    // Closed after the token was buffered: hand the slot back, report closed.
                    drop(permit);
                    Poll::Ready(Err(SendError(())))
                } else {
                    Poll::Ready(Ok(permit))
                }
            }
        }
    }
}

/// One reserved publish slot of a [`JetStreamSender`]; [`send`](Self::send) publishes through
/// it, dropping it unused gives the slot back.
#[must_use = "a permit holds a publish slot until it sends or is dropped"]
pub struct Permit<T, C> {
    inner: Arc<Inner<T, C>>,
}

impl<T, C> fmt::Debug for Permit<T, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("subject", &self.inner.subject.as_str())
            .finish()
    }
}

impl<T, C> Drop for Permit<T, C> {
    fn drop(&mut self) {
        // Fails only once the sender is closed: the slot is then not needed.
        let _ = self.inner.slots_tx.try_send(());
    }
}

impl<T, C: Codec<T>> Permit<T, C> {
    /// Publishes `value` through this slot and waits until the stream has stored it; see
    /// [`JetStreamSender::send`] for the result and the errors.
    ///
    /// # Errors
    ///
    /// The value comes back in [`SendError`] if it does not encode, no stream takes the
    /// subject, or the publish failed or was not acknowledged in time.
    ///
    /// # Cancel safety
    ///
    /// Not cancel-safe: dropping the future drops the value, which may or may not have been
    /// stored. Await it to the end (it is bounded by the JetStream context's timeout).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let tx = gocsp_nats::jetstream::sender::<u32>(&js, "numbers");
    /// let permit = tx.reserve().await.unwrap();
    /// let ack = permit.send(3).await.unwrap();
    /// println!("stored in {} at {}", ack.stream, ack.sequence);
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// The body of a chosen `case ch <- v:` whose receiver is `js.Publish`.
    pub async fn send(self, value: T) -> Result<PublishAck, SendError<T>> {
        let inner = &self.inner;
        let payload = match inner.codec.encode(&value) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(subject = %inner.subject, %error, "gocsp-nats: value not published: it does not encode");
                return Err(SendError(value));
            }
        };
        let mut publish = PublishMessage::build().payload(payload);
        if let Some(id) = &inner.msg_id {
            publish = publish.message_id(id(&value));
        }
        let acked = match inner.js.send_publish(inner.subject.clone(), publish).await {
            Ok(ack) => ack.await,
            Err(error) => Err(error),
        };
        match acked {
            Ok(ack) => Ok(ack),
            Err(error) => {
                tracing::warn!(subject = %inner.subject, %error, "gocsp-nats: publish not acknowledged; the value is handed back");
                Err(SendError(value))
            }
        }
    }
}
