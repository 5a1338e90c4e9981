//! Core NATS bridges: a [`Sender`] whose values are published, and a [`Receiver`] fed by a
//! subscription or a queue group. At most once: a value is delivered once or, if a process,
//! the connection or a slow consumer drops it, not at all.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use async_nats::client::{PublishErrorKind, RequestErrorKind};
use async_nats::{Client, HeaderMap, Message, Subject, Subscriber};
use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use gocsp_channel::{chan, Receiver, Sender};
use gocsp_runtime::{GoHandle, Goroutine};

use crate::codec::{Codec, Json};
use crate::Error;

/// How often an idle receive bridge checks whether its local receivers are gone (a `Sender`
/// learns that only when it sends).
pub(crate) const CLOSED_CHECK: Duration = Duration::from_millis(250);

/// The local buffer of [`sender`] and [`receiver`]: core NATS promises nothing about a value
/// the bridge has taken (async-nats buffers it again: 2,048 commands on the way out, 65,536
/// messages per subscription on the way in), so a buffer costs no guarantee. It needs to hold
/// at least a turn (up to 256 values: the bridges move values in turns, not one by one); a
/// deeper one only absorbs bursts. The channel allocates at most 1,024 slots up front.
pub const DEFAULT_CAPACITY: usize = 4096;

/// Header naming the subject a dead-lettered payload arrived on.
pub const DEAD_LETTER_SUBJECT: &str = "Gocsp-Subject";
/// Header carrying why a dead-lettered payload did not decode.
pub const DEAD_LETTER_ERROR: &str = "Gocsp-Error";

/// Options for core NATS bridges: the codec, the local buffer, where undecodable payloads go.
///
/// [`sender`], [`receiver`] and [`queue_receiver`] are `Bridge::new(client)` with the defaults:
/// [`Json`], a buffer of [`DEFAULT_CAPACITY`], no dead-letter subject.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// let client = async_nats::connect("127.0.0.1:4222").await?;
/// let bridge = gocsp_nats::Bridge::new(&client).capacity(0).dead_letter("orders.bad");
/// let rx = bridge.receiver::<u64>("orders").await?;
/// let tx = bridge.sender::<u64>("orders");
/// tx.send(7).await.unwrap();
/// assert_eq!(rx.recv().await, Some(7));
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// `nats.NewEncodedConn(nc, nats.JSON_ENCODER)`, whose `BindSendChan` / `BindRecvChan` /
/// `BindRecvQueueChan` are [`sender`](Self::sender), [`receiver`](Self::receiver) and
/// [`queue_receiver`](Self::queue_receiver).
#[derive(Clone, Debug)]
#[must_use = "a Bridge starts nothing until `sender` or `receiver` is called"]
pub struct Bridge<C = Json> {
    client: Client,
    codec: C,
    capacity: usize,
    dead_letter: Option<Subject>,
}

impl Bridge<Json> {
    /// Bridges on `client` with JSON, a buffer of [`DEFAULT_CAPACITY`] and no dead-letter
    /// subject.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let client = async_nats::connect("127.0.0.1:4222").await?;
    /// let tx = gocsp_nats::Bridge::new(&client).sender::<String>("greetings");
    /// # Ok(()) }
    /// ```
    pub fn new(client: &Client) -> Self {
        Bridge {
            client: client.clone(),
            codec: Json,
            capacity: DEFAULT_CAPACITY,
            dead_letter: None,
        }
    }
}

impl<C> Bridge<C> {
    /// Encodes and decodes with `codec` instead.
    ///
    /// ```no_run
    /// # #[derive(Clone)] struct MyCodec;
    /// # impl gocsp_nats::Codec<u8> for MyCodec {
    /// #     type Error = std::convert::Infallible;
    /// #     fn encode(&self, v: &u8) -> Result<bytes::Bytes, Self::Error> { Ok(vec![*v].into()) }
    /// #     fn decode(&self, p: &[u8]) -> Result<u8, Self::Error> { Ok(p[0]) }
    /// # }
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let client = async_nats::connect("127.0.0.1:4222").await?;
    /// let tx = gocsp_nats::Bridge::new(&client).codec(MyCodec).sender::<u8>("bytes");
    /// # Ok(()) }
    /// ```
    pub fn codec<D>(self, codec: D) -> Bridge<D> {
        Bridge {
            client: self.client,
            codec,
            capacity: self.capacity,
            dead_letter: self.dead_letter,
        }
    }

    /// The local channel's buffer; `0` makes it unbuffered: a send then completes only once
    /// the bridge goroutine took the value (a receive: once a local receiver did), which adds
    /// backpressure but no delivery guarantee, since core NATS has none.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let client = async_nats::connect("127.0.0.1:4222").await?;
    /// let tx = gocsp_nats::Bridge::new(&client).capacity(0).sender::<u32>("ticks");
    /// assert_eq!(tx.capacity(), Some(0));
    /// # Ok(()) }
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// Republishes payloads that do not decode to `subject`, with the headers
    /// [`DEAD_LETTER_SUBJECT`] (where it arrived) and [`DEAD_LETTER_ERROR`] (why it failed).
    /// Without it they are only reported through `tracing`.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let client = async_nats::connect("127.0.0.1:4222").await?;
    /// let rx = gocsp_nats::Bridge::new(&client)
    ///     .dead_letter("dlq.orders")
    ///     .receiver::<u64>("orders")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn dead_letter(mut self, subject: impl Into<String>) -> Self {
        self.dead_letter = Some(Subject::from(subject.into()));
        self
    }

    /// A [`Sender`] whose values are published on `subject`; see [`sender`].
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (the bridge is a goroutine).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let client = async_nats::connect("127.0.0.1:4222").await?;
    /// let tx = gocsp_nats::Bridge::new(&client).sender::<u64>("numbers");
    /// tx.send(1).await.unwrap();
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn sender<T>(&self, subject: impl Into<String>) -> Sender<T>
    where
        T: Send + 'static,
        C: Codec<T>,
    {
        self.spawn_sender(subject).0
    }

    /// [`sender`](Self::sender), and the handle of its bridge goroutine, which completes once
    /// every sender is gone (or the channel closed) and every value taken is published and
    /// flushed to the server: `Ok(n)` with the number of values published. Await it before a
    /// process exits to lose nothing that was sent.
    ///
    /// # Errors
    ///
    /// The handle's output is `Err` if the connection ended for good (the client was closed or
    /// gave up reconnecting): the bridge then closes the channel, so later sends hand their
    /// values back.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let client = async_nats::connect("127.0.0.1:4222").await?;
    /// let (tx, bridge) = gocsp_nats::Bridge::new(&client).spawn_sender::<u64>("numbers");
    /// for i in 0..100 { tx.send(i).await.unwrap(); }
    /// drop(tx); // close(ch)
    /// assert_eq!(bridge.await.unwrap()?, 100);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn spawn_sender<T>(
        &self,
        subject: impl Into<String>,
    ) -> (Sender<T>, GoHandle<Result<u64, Error>>)
    where
        T: Send + 'static,
        C: Codec<T>,
    {
        let subject = subject.into();
        let (tx, rx) = chan(self.capacity);
        let handle = Goroutine::builder()
            .name(format!("nats-send:{subject}"))
            .spawn(send_bridge(
                self.client.clone(),
                Subject::from(subject),
                self.codec.clone(),
                rx,
            ));
        (tx, handle)
    }

    /// A [`Receiver`] of the values published on `subject`; see [`receiver`].
    ///
    /// # Errors
    ///
    /// The subscription failed, or the server did not confirm it (a round trip: when the future
    /// completes, the server routes every later message on `subject` to this receiver).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future before it completes may leave a subscription that nothing reads
    /// until the client closes; no value is lost that a completed call would have received.
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let client = async_nats::connect("127.0.0.1:4222").await?;
    /// let rx = gocsp_nats::Bridge::new(&client).receiver::<u64>("numbers").await?;
    /// # Ok(()) }
    /// ```
    pub async fn receiver<T>(&self, subject: impl Into<String>) -> Result<Receiver<T>, Error>
    where
        T: Send + 'static,
        C: Codec<T>,
    {
        let subject = subject.into();
        let sub = self.client.subscribe(subject.clone()).await?;
        self.start_receiver(subject, sub).await
    }

    /// A [`Receiver`] in the queue group `group` on `subject`; see [`queue_receiver`].
    ///
    /// # Errors
    ///
    /// The subscription failed, or the server did not confirm it.
    ///
    /// # Cancel safety
    ///
    /// As [`receiver`](Self::receiver).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
    /// let client = async_nats::connect("127.0.0.1:4222").await?;
    /// let jobs = gocsp_nats::Bridge::new(&client)
    ///     .queue_receiver::<u64>("jobs", "workers")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn queue_receiver<T>(
        &self,
        subject: impl Into<String>,
        group: impl Into<String>,
    ) -> Result<Receiver<T>, Error>
    where
        T: Send + 'static,
        C: Codec<T>,
    {
        let subject = subject.into();
        let sub = self
            .client
            .queue_subscribe(subject.clone(), group.into())
            .await?;
        self.start_receiver(subject, sub).await
    }

    async fn start_receiver<T>(
        &self,
        subject: String,
        sub: Subscriber,
    ) -> Result<Receiver<T>, Error>
    where
        T: Send + 'static,
        C: Codec<T>,
    {
        // Once the server has answered, it has processed the SUB: every message published
        // after this function returns reaches the subscription.
        round_trip(&self.client).await?;
        let (tx, rx) = chan(self.capacity);
        let dead_letter = self.dead_letter.clone().map(|dl| (self.client.clone(), dl));
        Goroutine::builder()
            .name(format!("nats-recv:{subject}"))
            .spawn(recv_bridge(
                subject,
                sub,
                self.codec.clone(),
                tx,
                dead_letter,
            ));
        Ok(rx)
    }
}

/// A [`Sender`] whose values are published on `subject` as JSON: core NATS, at most once.
///
/// A bridge goroutine named `nats-send:{subject}` takes the values waiting in the local
/// channel (buffered by [`DEFAULT_CAPACITY`]), a few hundred at a time, and publishes them;
/// dropping every `Sender` (or closing the channel) makes it publish what is buffered, flush,
/// and exit. A send completes once the value is in the local channel: like Go's `nc.Publish`,
/// that says nothing about delivery. A value that does not encode is reported through
/// `tracing` and not published. To wait until everything sent is on the server, use
/// [`Bridge::spawn_sender`] and await its handle.
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// let client = async_nats::connect("127.0.0.1:4222").await?;
/// let tx = gocsp_nats::sender::<String>(&client, "greetings");
/// tx.send("hello".to_string()).await.unwrap(); // ch <- "hello", published
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// `ec.BindSendChan("greetings", ch)` of the deprecated `nats.EncodedConn`.
#[track_caller]
pub fn sender<T>(client: &Client, subject: impl Into<String>) -> Sender<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    Bridge::new(client).sender(subject)
}

/// A [`Receiver`] of every value published on `subject` (wildcards allowed) as JSON: core
/// NATS, at most once.
///
/// When the future completes the server has confirmed the subscription, so every value
/// published after that reaches this receiver unless a fault drops it: the connection is lost
/// (messages published while it reconnects are not delivered), or the receiver falls so far
/// behind that async-nats's subscription buffer (64 Ki messages by default) or the server's
/// per-client limit overflows ("slow consumer"). A bridge goroutine named
/// `nats-recv:{subject}` takes the messages that have arrived, a few hundred at a time, decodes
/// them and sends them in order into the local channel (buffered by [`DEFAULT_CAPACITY`]); a
/// payload that does not decode is reported through `tracing` at error level. Dropping every
/// `Receiver` (or closing it) unsubscribes within a quarter of a second; when the client's
/// connection ends for good the receiver reports closed (`None`).
///
/// # Errors
///
/// The subscription failed, or the server did not confirm it.
///
/// # Cancel safety
///
/// As [`Bridge::receiver`].
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// let client = async_nats::connect("127.0.0.1:4222").await?;
/// let rx = gocsp_nats::receiver::<String>(&client, "greetings").await?;
/// while let Some(greeting) = rx.recv().await {   // for g := range ch
///     println!("{greeting}");
/// }
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// `ec.BindRecvChan("greetings", ch)`.
pub async fn receiver<T>(client: &Client, subject: impl Into<String>) -> Result<Receiver<T>, Error>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    Bridge::new(client).receiver(subject).await
}

/// A [`Receiver`] in the queue group `group` on `subject`: the server gives each message to
/// one member of the group, so receivers in many processes share the work (multi-producer,
/// multi-consumer across machines). Otherwise as [`receiver`].
///
/// # Errors
///
/// The subscription failed, or the server did not confirm it.
///
/// # Cancel safety
///
/// As [`Bridge::receiver`].
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// # Examples
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// let client = async_nats::connect("127.0.0.1:4222").await?;
/// let jobs = gocsp_nats::queue_receiver::<u64>(&client, "jobs", "workers").await?;
/// while let Some(job) = jobs.recv().await {
///     println!("job {job}");
/// }
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// `ec.BindRecvQueueChan("jobs", "workers", ch)`.
pub async fn queue_receiver<T>(
    client: &Client,
    subject: impl Into<String>,
    group: impl Into<String>,
) -> Result<Receiver<T>, Error>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    Bridge::new(client).queue_receiver(subject, group).await
}

/// Returns once the server has processed every command `client` sent before the call.
/// async-nats's `flush` only empties the socket's write buffer; a request to an inbox nobody
/// listens on comes back from the server itself ("no responders"), after everything before it.
async fn round_trip(client: &Client) -> Result<(), Error> {
    match client.request(client.new_inbox(), Bytes::new()).await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == RequestErrorKind::NoResponders => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The most values a bridge moves per turn: the send bridge takes up to this many buffered
/// values from its channel before it publishes them, the receive bridge takes up to this many
/// messages the subscription already holds before it decodes and delivers them. A turn ends
/// early when nothing more is waiting, so a lone value goes out at once.
const BATCH: usize = 256;

/// Room the send bridge's encoding buffer keeps ahead: payloads are encoded into one block and
/// split off it, so a block of this size is allocated once per few hundred values instead of one
/// buffer per value.
const ENCODE_BLOCK: usize = 64 * 1024;

/// Takes the first value of a turn (waiting for it), then every value already buffered, up to
/// [`BATCH`]. Returns `false` once the channel is closed and drained.
async fn take_turn<T>(rx: &Receiver<T>, values: &mut Vec<T>) -> bool {
    let Some(first) = rx.recv().await else {
        return false;
    };
    values.push(first);
    // `len` counts the values that wait in the buffer now: each `recv` below completes at once.
    for _ in 0..rx.len().min(BATCH - 1) {
        match rx.recv().await {
            Some(value) => values.push(value),
            None => break,
        }
    }
    true
}

async fn send_bridge<T, C: Codec<T>>(
    client: Client,
    subject: Subject,
    codec: C,
    rx: Receiver<T>,
) -> Result<u64, Error> {
    let mut published = 0u64;
    let mut values: Vec<T> = Vec::with_capacity(BATCH);
    let mut buf = BytesMut::new();
    while take_turn(&rx, &mut values).await {
        for value in values.drain(..) {
            if buf.capacity() - buf.len() < ENCODE_BLOCK / 8 {
                buf.reserve(ENCODE_BLOCK);
            }
            if let Err(error) = codec.encode_into(&value, &mut buf) {
                buf.clear();
                tracing::error!(%subject, %error, "gocsp-nats: a value was not published: it does not encode");
                continue;
            }
            let payload = buf.split().freeze();
            match client.publish(subject.clone(), payload).await {
                Ok(()) => published += 1,
                Err(error) if error.kind() == PublishErrorKind::MaxPayloadExceeded => {
                    tracing::error!(%subject, %error, "gocsp-nats: a value was not published: it exceeds the server's max_payload");
                }
                Err(error) => {
                    // Core NATS is at most once: the values of this turn not yet published
                    // are dropped with the channel's, as a dead connection's buffer would be.
                    tracing::error!(%subject, %error, "gocsp-nats: the connection is gone; closing the channel");
                    rx.close();
                    return Err(error.into());
                }
            }
        }
    }
    client.flush().await?;
    Ok(published)
}

async fn recv_bridge<T, C: Codec<T>>(
    subject: String,
    mut sub: Subscriber,
    codec: C,
    tx: Sender<T>,
    dead_letter: Option<(Client, Subject)>,
) {
    let mut check = tokio::time::interval(CLOSED_CHECK);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut messages: Vec<Message> = Vec::with_capacity(BATCH);
    let mut values: Vec<T> = Vec::with_capacity(BATCH);
    'run: loop {
        let mut ended = match next_turn(&mut sub, &mut check, &mut messages).await {
            Turn::Messages { ended } => ended,
            Turn::Ended => break,
            Turn::Tick if tx.is_closed() => break,
            Turn::Tick => continue,
        };
        // Decodes the turn, then takes what arrived meanwhile, until nothing more is waiting
        // or the turn is full; then hands the values over back to back, so a local receiver
        // woken by the first finds the rest already waiting.
        loop {
            for msg in messages.drain(..) {
                match codec.decode(&msg.payload) {
                    Ok(value) => values.push(value),
                    Err(error) => undecodable(&subject, &msg, &error, dead_letter.as_ref()).await,
                }
            }
            if ended || values.len() >= BATCH {
                break;
            }
            let room = BATCH - values.len();
            ended = poll_fn(|cx| Poll::Ready(take_ready(&mut sub, &mut messages, room, cx))).await;
            if messages.is_empty() {
                break;
            }
        }
        for value in values.drain(..) {
            if tx.send(value).await.is_err() {
                // Every local receiver is gone: core NATS keeps nothing for us, so the values
                // are dropped, as messages to a closed subscription would be.
                break 'run;
            }
        }
        if ended {
            break;
        }
    }
    let _ = sub.unsubscribe().await;
}

/// Reports a payload that does not decode, and republishes it to the dead-letter subject if
/// there is one.
async fn undecodable<E: std::fmt::Display>(
    subject: &str,
    msg: &Message,
    error: &E,
    dead_letter: Option<&(Client, Subject)>,
) {
    tracing::error!(
        %subject,
        message_subject = %msg.subject,
        %error,
        payload_len = msg.payload.len(),
        dead_letter = dead_letter.map(|(_, dl)| dl.as_str()),
        "gocsp-nats: a payload does not decode"
    );
    if let Some((client, dl)) = dead_letter {
        let mut headers = HeaderMap::new();
        headers.insert(DEAD_LETTER_SUBJECT, msg.subject.as_str());
        headers.insert(DEAD_LETTER_ERROR, error.to_string().as_str());
        if let Err(error) = client
            .publish_with_headers(dl.clone(), headers, msg.payload.clone())
            .await
        {
            tracing::error!(%subject, %error, "gocsp-nats: dead-lettering failed");
        }
    }
}

enum Turn {
    /// `messages` holds at least one message; `ended`: the subscription ended after them.
    Messages { ended: bool },
    /// The subscription ended (the client's connection is gone for good), with nothing left.
    Ended,
    /// The check interval fired while no message was waiting.
    Tick,
}

/// Moves the messages `sub` already holds into `messages`, at most `room` of them; returns
/// whether the subscription ended.
fn take_ready(
    sub: &mut Subscriber,
    messages: &mut Vec<Message>,
    room: usize,
    cx: &mut std::task::Context<'_>,
) -> bool {
    for _ in 0..room {
        match Pin::new(&mut *sub).poll_next(cx) {
            Poll::Ready(Some(msg)) => messages.push(msg),
            Poll::Ready(None) => return true,
            Poll::Pending => break,
        }
    }
    false
}

/// Waits for the subscription's next message, then moves every message it already holds into
/// `messages`, up to [`BATCH`]; or reports `Tick` when `tick` fires first. The interval lives
/// outside the loop, so a busy subscription never touches the timer.
async fn next_turn(
    sub: &mut Subscriber,
    tick: &mut tokio::time::Interval,
    messages: &mut Vec<Message>,
) -> Turn {
    poll_fn(|cx| {
        let ended = take_ready(sub, messages, BATCH, cx);
        if !messages.is_empty() {
            return Poll::Ready(Turn::Messages { ended });
        }
        if ended {
            return Poll::Ready(Turn::Ended);
        }
        if tick.poll_tick(cx).is_ready() {
            return Poll::Ready(Turn::Tick);
        }
        Poll::Pending
    })
    .await
}
