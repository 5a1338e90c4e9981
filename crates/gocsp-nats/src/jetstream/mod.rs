//! JetStream channels: at least once, nothing lost.
//!
//! - [`sender`] → a [`JetStreamSender`]: a send completes once the stream has stored the
//!   value; a failed publish hands the value back in [`SendError`](gocsp_channel::SendError).
//! - [`receiver`] → a gocsp [`Receiver<T>`] on a durable pull consumer, acknowledged when a
//!   local receiver has taken the value (the unbuffered-channel rule across the network).
//! - [`deliveries`] → a [`Receiver<Delivery<T>>`](Delivery): the program acknowledges after
//!   processing, for work that must survive a crash *during* processing.
//!
//! The crate docs say exactly what is guaranteed, which duplicates are possible, and what
//! happens while the connection is lost.

mod receiver;
mod sender;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer};
use async_nats::jetstream::Context;
use async_nats::Subject;
use gocsp_channel::{chan, Receiver};
use gocsp_runtime::Goroutine;
use std::time::Duration;

pub use async_nats::jetstream::message::Acker;
pub use async_nats::jetstream::publish::PublishAck;
pub use receiver::Delivery;
pub use sender::{JetStreamSender, Permit, Reserve};

use crate::codec::{Codec, Json};
use crate::Error;

/// Publishes a [`JetStreamSender`] may have in flight by default (awaiting their
/// acknowledgement), over all its clones.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Values a receive bridge pulls at once by default: the most it holds un-taken.
pub const DEFAULT_BATCH: usize = 128;
/// How long a pull request waits on the server for values by default.
pub const DEFAULT_PULL_EXPIRES: Duration = Duration::from_secs(5);

/// Options for JetStream bridges: the codec, the publishes in flight, the pull batch, where
/// undecodable payloads go.
///
/// [`sender`], [`receiver`] and [`deliveries`] are `Bridge::new()` with the defaults.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
/// let consumer = js.get_stream("ORDERS").await?.get_consumer("billing").await?;
/// let bridge = gocsp_nats::jetstream::Bridge::new()
///     .batch(32)
///     .dead_letter(&js, "dlq.orders");
/// let rx = bridge.receiver::<u64>(&consumer).await?;
/// let tx = bridge.sender::<u64>(&js, "orders.new");
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// The options of `jetstream.Consumer.Messages(jetstream.PullMaxMessages(n))` and of
/// `jetstream.WithPublishAsyncMaxPending(n)`.
#[derive(Clone, Debug)]
#[must_use = "a Bridge starts nothing until `sender` or `receiver` is called"]
pub struct Bridge<C = Json> {
    codec: C,
    max_in_flight: usize,
    batch: usize,
    expires: Duration,
    dead_letter: Option<(Context, Subject)>,
}

impl Default for Bridge<Json> {
    fn default() -> Self {
        Bridge::new()
    }
}

impl Bridge<Json> {
    /// JSON, [`DEFAULT_MAX_IN_FLIGHT`], [`DEFAULT_BATCH`], [`DEFAULT_PULL_EXPIRES`], no
    /// dead-letter subject.
    ///
    /// ```
    /// let bridge = gocsp_nats::jetstream::Bridge::new();
    /// # drop(bridge);
    /// ```
    pub fn new() -> Self {
        Bridge {
            codec: Json,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            batch: DEFAULT_BATCH,
            expires: DEFAULT_PULL_EXPIRES,
            dead_letter: None,
        }
    }
}

impl<C> Bridge<C> {
    /// Encodes and decodes with `codec` instead of JSON.
    ///
    /// ```
    /// let bridge = gocsp_nats::jetstream::Bridge::new().codec(gocsp_nats::Json);
    /// # drop(bridge);
    /// ```
    pub fn codec<D>(self, codec: D) -> Bridge<D> {
        Bridge {
            codec,
            max_in_flight: self.max_in_flight,
            batch: self.batch,
            expires: self.expires,
            dead_letter: self.dead_letter,
        }
    }

    /// How many publishes of a sender (and its clones) may await their acknowledgement at once
    /// (at least 1): a send beyond it waits, like a send on a full channel.
    ///
    /// ```
    /// let bridge = gocsp_nats::jetstream::Bridge::new().max_in_flight(16);
    /// # drop(bridge);
    /// ```
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// How many values a receive bridge pulls at once (at least 1): the most it holds that no
    /// local receiver has taken yet. Held values are kept from redelivery with progress
    /// acknowledgements; if the process dies they are redelivered after AckWait (they were
    /// never taken, so this is not a duplicate). Larger batches pull less often.
    ///
    /// ```
    /// let bridge = gocsp_nats::jetstream::Bridge::new().batch(8);
    /// # drop(bridge);
    /// ```
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// How long one pull request waits on the server for values (at least 1 ms): after a
    /// reconnect, a pull the restarted server forgot is replaced at most this long (plus
    /// async-nats's 5 s grace) later.
    ///
    /// ```
    /// let bridge = gocsp_nats::jetstream::Bridge::new()
    ///     .pull_expires(std::time::Duration::from_secs(1));
    /// # drop(bridge);
    /// ```
    pub fn pull_expires(mut self, expires: Duration) -> Self {
        self.expires = expires.max(Duration::from_millis(1));
        self
    }

    /// Publishes payloads that do not decode to `subject` through JetStream (a stream must
    /// take it), with the headers [`DEAD_LETTER_SUBJECT`](crate::DEAD_LETTER_SUBJECT) and
    /// [`DEAD_LETTER_ERROR`](crate::DEAD_LETTER_ERROR), before terminating them; if that
    /// publish fails the message is left for redelivery instead. Without it they are reported
    /// through `tracing` and terminated (`+TERM`: the server's advisory
    /// `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED` records them).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let bridge = gocsp_nats::jetstream::Bridge::new().dead_letter(&js, "dlq.orders");
    /// # Ok(()) }
    /// ```
    pub fn dead_letter(mut self, js: &Context, subject: impl Into<String>) -> Self {
        self.dead_letter = Some((js.clone(), Subject::from(subject.into())));
        self
    }

    /// A [`JetStreamSender`] publishing on `subject`; see [`sender`].
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let tx = gocsp_nats::jetstream::Bridge::new()
    ///     .max_in_flight(8)
    ///     .sender::<u64>(&js, "orders.new");
    /// # Ok(()) }
    /// ```
    pub fn sender<T>(&self, js: &Context, subject: impl Into<String>) -> JetStreamSender<T, C>
    where
        C: Codec<T>,
    {
        JetStreamSender::new(js, subject.into(), self.codec.clone(), self.max_in_flight)
    }

    /// A [`Receiver`] on `consumer`, acknowledging each value once a local receiver took it;
    /// see [`receiver`].
    ///
    /// # Errors
    ///
    /// The consumer is gone, or its ack policy is not `Explicit`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: nothing is pulled before the future completes.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let consumer = js.get_stream("ORDERS").await?.get_consumer("billing").await?;
    /// let rx = gocsp_nats::jetstream::Bridge::new().batch(16).receiver::<u64>(&consumer).await?;
    /// # Ok(()) }
    /// ```
    pub async fn receiver<T>(&self, consumer: &PullConsumer) -> Result<Receiver<T>, Error>
    where
        T: Send + 'static,
        C: Codec<T>,
    {
        self.start(consumer, receiver::ack_on_take()).await
    }

    /// A [`Receiver`] of [`Delivery`]s on `consumer`, which the program acknowledges; see
    /// [`deliveries`].
    ///
    /// # Errors
    ///
    /// The consumer is gone, or its ack policy is not `Explicit`.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: nothing is pulled before the future completes.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
    /// let consumer = js.get_stream("ORDERS").await?.get_consumer("billing").await?;
    /// let rx = gocsp_nats::jetstream::Bridge::new().deliveries::<u64>(&consumer).await?;
    /// # Ok(()) }
    /// ```
    pub async fn deliveries<T>(
        &self,
        consumer: &PullConsumer,
    ) -> Result<Receiver<Delivery<T>>, Error>
    where
        T: Send + 'static,
        C: Codec<T>,
    {
        self.start(consumer, receiver::as_delivery()).await
    }

    async fn start<T, Out>(
        &self,
        consumer: &PullConsumer,
        handoff: receiver::Handoff<T, Out>,
    ) -> Result<Receiver<Out>, Error>
    where
        T: Send + 'static,
        Out: Send + 'static,
        C: Codec<T>,
    {
        let mut consumer = consumer.clone();
        let info = consumer.info().await?;
        if info.config.ack_policy != AckPolicy::Explicit {
            return Err(format!(
                "consumer {} has ack policy {:?}: gocsp-nats acknowledges each value on its \
                 own and needs AckPolicy::Explicit",
                info.name, info.config.ack_policy
            )
            .into());
        }
        let subject = if info.config.filter_subject.is_empty() {
            info.stream_name.clone()
        } else {
            info.config.filter_subject.clone()
        };
        let (tx, rx) = chan(0);
        let cfg = receiver::Config {
            codec: self.codec.clone(),
            batch: self.batch,
            expires: self.expires,
            dead_letter: self.dead_letter.clone(),
        };
        Goroutine::builder()
            .name(format!("nats-recv:{subject}"))
            .spawn(receiver::bridge(consumer, cfg, tx, handoff));
        Ok(rx)
    }
}

/// A [`JetStreamSender`] publishing JSON on `subject`: each send completes once a stream has
/// stored the value, or hands it back.
///
/// A stream whose subjects include `subject` must exist. See [`JetStreamSender`] for why it is
/// not a plain gocsp `Sender`, and how to use it in `select!`.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
/// js.get_or_create_stream(async_nats::jetstream::stream::Config {
///     name: "ORDERS".into(),
///     subjects: vec!["orders.>".into()],
///     ..Default::default()
/// })
/// .await?;
/// let tx = gocsp_nats::jetstream::sender::<u64>(&js, "orders.new");
/// let ack = tx.send(42).await.expect("stored");
/// assert_eq!(ack.stream, "ORDERS");
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// `js.Publish("orders.new", data)` for each value of a channel.
pub fn sender<T>(js: &Context, subject: impl Into<String>) -> JetStreamSender<T, Json>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    Bridge::new().sender(js, subject)
}

/// A gocsp [`Receiver`] of the values of a durable pull consumer, as JSON, each acknowledged
/// only once a local receiver has taken it.
///
/// A bridge goroutine named `nats-recv:{subject}` (the consumer's filter subject, or its
/// stream's name) pulls up to [`DEFAULT_BATCH`] values, decodes them, and offers them in order
/// on an **unbuffered** channel, each as a pending send, so a receiver (`recv`, a `select!`
/// case, `for`-style loop, on any goroutine or thread) takes the next one at once. A send
/// completes when a receiver has its value, and only then does the bridge send `+ACK`. A value no receiver took is never acknowledged: if the process
/// is killed it is redelivered after AckWait; if every receiver is dropped or closed (say on a
/// cancelled `Context`) the bridge sends `-NAK` for what it holds, so it is redelivered at once,
/// and exits. Many processes may bind the same durable consumer: the server spreads the
/// values over them.
///
/// The consumer must use `AckPolicy::Explicit` (async-nats's default for pull consumers).
/// Its `ack_wait` bounds how late a value held by a killed process comes back.
///
/// Taking is not processing: a process killed after a value was taken and acknowledged but
/// before the program finished with it has lost that value. Use [`deliveries`] when the
/// acknowledgement must follow the work.
///
/// # Errors
///
/// The consumer is gone, or its ack policy is not `Explicit`.
///
/// # Cancel safety
///
/// Cancel-safe: nothing is pulled before the future completes.
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// use async_nats::jetstream::consumer::pull;
/// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
/// let stream = js.get_stream("ORDERS").await?;
/// let consumer = stream
///     .get_or_create_consumer("billing", pull::Config {
///         durable_name: Some("billing".into()),
///         ..Default::default()
///     })
///     .await?;
/// let orders = gocsp_nats::jetstream::receiver::<u64>(&consumer).await?;
/// while let Some(order) = orders.recv().await {   // acknowledged as it is taken
///     println!("order {order}");
/// }
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// `cons.Consume(func(msg jetstream.Msg) { ch <- decode(msg); msg.Ack() })` with an unbuffered
/// `ch`.
pub async fn receiver<T>(consumer: &PullConsumer) -> Result<Receiver<T>, Error>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    Bridge::new().receiver(consumer).await
}

/// A gocsp [`Receiver`] of [`Delivery`]s from a durable pull consumer, as JSON, which the
/// program acknowledges itself (`d.ack().await`) once it has processed the value.
///
/// The bridge is [`receiver`]'s, except that it acknowledges nothing: a value is done only
/// when the program says so, so a process killed *while processing* does not lose it (it is
/// redelivered after AckWait). Work longer than AckWait calls
/// [`Delivery::in_progress`].
///
/// # Errors
///
/// The consumer is gone, or its ack policy is not `Explicit`.
///
/// # Cancel safety
///
/// Cancel-safe: nothing is pulled before the future completes.
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
/// let consumer = js.get_stream("ORDERS").await?.get_consumer("billing").await?;
/// let orders = gocsp_nats::jetstream::deliveries::<u64>(&consumer).await?;
/// while let Some(order) = orders.recv().await {
///     println!("billing order {}", *order);
///     order.ack().await?;
/// }
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// `iter, _ := cons.Messages(); msg, _ := iter.Next(); work(msg); msg.Ack()`.
pub async fn deliveries<T>(consumer: &PullConsumer) -> Result<Receiver<Delivery<T>>, Error>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    Bridge::new().deliveries(consumer).await
}
