//! The JetStream receive bridge: pulls from a durable consumer, hands each value over an
//! unbuffered channel, and acknowledges it only once a local receiver took it (or leaves the
//! acknowledgement to the program, with [`Delivery`]).

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::ops::Deref;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::Batch;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::{AckKind, Context, Message};
use async_nats::{Client, HeaderMap, Subject};
use futures_util::StreamExt;
use gocsp_channel::{SendError, Sender};

use crate::codec::Codec;
use crate::core::{CLOSED_CHECK, DEAD_LETTER_ERROR, DEAD_LETTER_SUBJECT};
use crate::Error;

/// A value the bridge holds: pulled, decoded, not yet taken by a local receiver.
pub(crate) struct Held<T> {
    value: T,
    subject: Subject,
    stream_sequence: u64,
    delivered: u64,
}

/// What the bridge hands over for a held value (`wrap`), and whether the bridge acknowledges
/// it once a local receiver took it (`false`: the program acknowledges, through a
/// [`Delivery`]).
pub(crate) struct Handoff<T, Out> {
    wrap: fn(Held<T>, Acker) -> Out,
    ack_on_take: bool,
}

/// The plain value; the bridge acknowledges through the message's reply subject, which it
/// keeps.
pub(crate) fn ack_on_take<T>() -> Handoff<T, T> {
    Handoff {
        wrap: |held, _acker| held.value,
        ack_on_take: true,
    }
}

/// A [`Delivery`], which the program acknowledges.
pub(crate) fn as_delivery<T>() -> Handoff<T, Delivery<T>> {
    Handoff {
        wrap: |held, acker| Delivery {
            value: held.value,
            acker,
            subject: held.subject,
            stream_sequence: held.stream_sequence,
            delivered: held.delivered,
        },
        ack_on_take: false,
    }
}

pub(crate) struct Config<C> {
    pub(crate) codec: C,
    pub(crate) batch: usize,
    pub(crate) expires: Duration,
    pub(crate) dead_letter: Option<(Context, Subject)>,
}

/// The bridge goroutine. Runs until every local receiver is gone; then negatively acknowledges
/// what it holds, so the server redelivers it at once instead of after AckWait.
///
/// Every value it holds is already offered: a pending send on the unbuffered channel, queued
/// in arrival order, so a receiver takes the oldest at once, without waiting for the bridge
/// to run. The bridge acknowledges a value when it sees its send complete. Until then the
/// value counts as held: it is kept alive with progress acknowledgements, and `-NAK`ed if the
/// receivers go away.
pub(crate) async fn bridge<T, C, Out>(
    consumer: PullConsumer,
    cfg: Config<C>,
    tx: Sender<Out>,
    handoff: Handoff<T, Out>,
) where
    C: Codec<T>,
    T: Send + 'static,
    Out: Send + 'static,
{
    let name = consumer.cached_info().name.clone();
    // Held values are kept alive with `+WPI` (work in progress) well within AckWait, so a value
    // that waits for a receiver is not redelivered meanwhile.
    let ack_wait = consumer.cached_info().config.ack_wait;
    let ack_wait = if ack_wait.is_zero() {
        Duration::from_secs(30)
    } else {
        ack_wait
    };
    let progress_every = ack_wait / 3;
    // The offered values, oldest first, and the reply subject that acknowledges each: a queue
    // of its own, so that sending progress to every held message borrows no `T` across an
    // `.await` (a `T` need not be `Sync`).
    let mut offered: VecDeque<gocsp_channel::Send<'_, Out>> = VecDeque::with_capacity(cfg.batch);
    let mut replies: VecDeque<Option<Subject>> = VecDeque::with_capacity(cfg.batch);
    let mut acks = Acks {
        client: None,
        consumer: &name,
        on_take: handoff.ack_on_take,
    };
    // A value whose send failed because the receivers are gone: not taken.
    let mut refused: Option<Option<Subject>> = None;
    let mut batch: Option<Batch> = None;
    let mut tick = tokio::time::interval(CLOSED_CHECK.min(progress_every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_progress = Instant::now();
    let mut retry_at: Option<Instant> = None;
    loop {
        // Pull when half of the batch was taken and no pull is open: at most `batch` values are
        // ever held here (pulled and not taken).
        if batch.is_none()
            && offered.len() <= cfg.batch / 2
            && retry_at.is_none_or(|at| Instant::now() >= at)
        {
            let want = cfg.batch - offered.len();
            match consumer
                .batch()
                .max_messages(want)
                .expires(cfg.expires)
                .messages()
                .await
            {
                Ok(b) => {
                    batch = Some(b);
                    retry_at = None;
                }
                Err(error) => {
                    tracing::warn!(consumer = %name, %error, "gocsp-nats: pull failed; retrying");
                    retry_at = Some(Instant::now() + CLOSED_CHECK);
                }
            }
        }
        tokio::select! {
            biased;
            taken = oldest_taken(&mut offered), if !offered.is_empty() => {
                offered.pop_front();
                let reply = replies.pop_front().flatten();
                if taken.is_err() {
                    refused = Some(reply);
                    break;
                }
                acks.taken(reply).await;
            }
            msg = next_message(&mut batch) => match msg {
                Some(Ok(msg)) => {
                    if acks.client.is_none() {
                        acks.client = Some(msg.context.client());
                    }
                    let reply = msg.message.reply.clone();
                    if let Some((value, acker)) = accept(msg, &cfg, &name).await {
                        let mut send = tx.send((handoff.wrap)(value, acker));
                        // The first poll queues the value on the channel, or hands it to a
                        // receiver that is waiting already.
                        match poll_once(&mut send).await {
                            Poll::Ready(Ok(())) => acks.taken(reply).await,
                            Poll::Ready(Err(_)) => {
                                refused = Some(reply);
                                break;
                            }
                            Poll::Pending => {
                                offered.push_back(send);
                                replies.push_back(reply);
                            }
                        }
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(consumer = %name, %error, "gocsp-nats: pull ended with an error");
                    batch = None;
                }
                None => batch = None,
            },
            _ = tick.tick() => {
                if tx.is_closed() {
                    break;
                }
                if !offered.is_empty() && last_progress.elapsed() >= progress_every {
                    for reply in &replies {
                        acks.send(reply.clone(), AckKind::Progress).await;
                    }
                    last_progress = Instant::now();
                }
            }
        }
    }
    // Every receiver is gone, so no offered value can be taken any more; one taken before
    // that shows its send complete here. The rest, and a refused one, are handed back.
    let mut untaken: Vec<Option<Subject>> = refused.into_iter().collect();
    for (mut send, reply) in offered.into_iter().zip(replies) {
        match poll_once(&mut send).await {
            Poll::Ready(Ok(())) => acks.taken(reply).await,
            Poll::Ready(Err(_)) | Poll::Pending => untaken.push(reply),
        }
    }
    for reply in untaken {
        acks.send(reply, AckKind::Nak(None)).await;
    }
    // The open pull may have values on their way (sent before the server saw this bridge stop
    // asking): hand back what arrives until the pull ends or goes quiet, so only a value still
    // in flight after that waits for AckWait. The server stops delivering to a pull once its
    // subscription is gone (dropping the batch unsubscribes).
    if let Some(mut batch) = batch {
        let deadline = Instant::now() + cfg.expires;
        while Instant::now() < deadline {
            match tokio::time::timeout(DRAIN_QUIET, batch.next()).await {
                Ok(Some(Ok(msg))) => {
                    let _ = msg.ack_with(AckKind::Nak(None)).await;
                }
                Ok(Some(Err(_))) | Ok(None) | Err(_) => break,
            }
        }
    }
}

/// Polls `fut` once with the bridge's own waker (a later wake reaches the bridge) and answers
/// at once, ready or not.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

/// How the bridge acknowledges the values it held: by publishing to each message's reply
/// subject, which outlives the message's [`Acker`] (that one may travel in a [`Delivery`]).
struct Acks<'a> {
    client: Option<Client>,
    consumer: &'a str,
    /// The handoff leaves the acknowledgement of a taken value to the bridge.
    on_take: bool,
}

impl Acks<'_> {
    /// A local receiver took the value of `reply`.
    async fn taken(&self, reply: Option<Subject>) {
        if self.on_take {
            self.send(reply, AckKind::Ack).await;
        }
    }

    async fn send(&self, reply: Option<Subject>, kind: AckKind) {
        let (Some(client), Some(reply)) = (&self.client, reply) else {
            return;
        };
        if let Err(error) = client.publish(reply, kind.into()).await {
            tracing::warn!(consumer = self.consumer, %error, ?kind, "gocsp-nats: acknowledgement not sent; the value will be redelivered");
        }
    }
}

/// Completes when the oldest offered value's send does: `Ok` once a receiver took it.
async fn oldest_taken<Out>(
    offered: &mut VecDeque<gocsp_channel::Send<'_, Out>>,
) -> Result<(), SendError<Out>> {
    poll_fn(|cx| match offered.front_mut() {
        Some(send) => Pin::new(send).poll(cx),
        None => Poll::Pending,
    })
    .await
}

/// How long a stopping bridge waits for more of its open pull before it unsubscribes.
const DRAIN_QUIET: Duration = Duration::from_millis(100);

/// The next message of the open pull, or never when none is open.
async fn next_message(batch: &mut Option<Batch>) -> Option<Result<Message, Error>> {
    match batch {
        Some(b) => b.next().await,
        None => std::future::pending().await,
    }
}

/// Decodes a pulled message into a held value; a payload that does not decode is reported,
/// dead-lettered if configured, and terminated (or, if dead-lettering failed, left for
/// redelivery), never dropped silently.
async fn accept<T, C: Codec<T>>(
    msg: Message,
    cfg: &Config<C>,
    consumer: &str,
) -> Option<(Held<T>, Acker)> {
    let (stream_sequence, delivered) = match msg.info() {
        Ok(info) => (
            info.stream_sequence,
            u64::try_from(info.delivered).unwrap_or(0),
        ),
        Err(_) => (0, 0),
    };
    let (msg, acker) = msg.split();
    match cfg.codec.decode(&msg.payload) {
        Ok(value) => Some((
            Held {
                value,
                subject: msg.subject,
                stream_sequence,
                delivered,
            },
            acker,
        )),
        Err(error) => {
            tracing::error!(
                consumer,
                subject = %msg.subject,
                stream_sequence,
                %error,
                payload_len = msg.payload.len(),
                dead_letter = cfg.dead_letter.as_ref().map(|(_, dl)| dl.as_str()),
                "gocsp-nats: a payload does not decode"
            );
            if let Some((js, dl)) = &cfg.dead_letter {
                let mut headers = HeaderMap::new();
                headers.insert(DEAD_LETTER_SUBJECT, msg.subject.as_str());
                headers.insert(DEAD_LETTER_ERROR, error.to_string().as_str());
                let stored = match js
                    .publish_with_headers(dl.clone(), headers, msg.payload.clone())
                    .await
                {
                    Ok(ack) => ack.await.map(|_| ()).map_err(Error::from),
                    Err(e) => Err(e.into()),
                };
                if let Err(error) = stored {
                    tracing::error!(consumer, %error, "gocsp-nats: dead-lettering failed; the message will be redelivered");
                    let _ = acker
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await;
                    return None;
                }
            }
            let _ = acker.ack_with(AckKind::Term).await;
            None
        }
    }
}

/// A value received from JetStream that the program acknowledges itself, after processing it:
/// the item of [`deliveries`](super::deliveries).
///
/// Derefs to the value. Until [`ack`](Self::ack), the message counts as unprocessed: if the
/// process dies, or the `Delivery` is dropped without an acknowledgement, the server delivers
/// it again once the consumer's AckWait has passed since its delivery (or since the last
/// [`in_progress`](Self::in_progress)). [`nak`](Self::nak) asks for redelivery sooner.
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
/// # let js = async_nats::jetstream::new(async_nats::connect("127.0.0.1:4222").await?);
/// # let consumer = js.get_stream("ORDERS").await?.get_consumer("billing").await?;
/// let rx = gocsp_nats::jetstream::deliveries::<u64>(&consumer).await?;
/// while let Some(d) = rx.recv().await {
///     println!("processing {} (delivery #{})", *d, d.delivered());
///     d.ack().await?; // only now is it done
/// }
/// # Ok(()) }
/// ```
///
/// # Go equivalent
///
/// A `jetstream.Msg` from `consumer.Messages()`, with `msg.Ack()` after the work.
pub struct Delivery<T> {
    value: T,
    acker: Acker,
    subject: Subject,
    stream_sequence: u64,
    delivered: u64,
}

impl<T: fmt::Debug> fmt::Debug for Delivery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("value", &self.value)
            .field("subject", &self.subject.as_str())
            .field("stream_sequence", &self.stream_sequence)
            .field("delivered", &self.delivered)
            .finish()
    }
}

impl<T> Deref for Delivery<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Delivery<T> {
    /// The value.
    ///
    /// ```no_run
    /// # fn f(d: gocsp_nats::jetstream::Delivery<u64>) {
    /// let v: &u64 = d.value();
    /// # }
    /// ```
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value and the handle that acknowledges it, apart: for moving the value on while
    /// keeping the ability to acknowledge.
    ///
    /// ```no_run
    /// # async fn f(d: gocsp_nats::jetstream::Delivery<String>) -> Result<(), gocsp_nats::Error> {
    /// let (text, acker) = d.into_parts();
    /// drop(text);
    /// acker.ack().await?;
    /// # Ok(()) }
    /// ```
    pub fn into_parts(self) -> (T, Acker) {
        (self.value, self.acker)
    }

    /// The subject the value was published on.
    ///
    /// ```no_run
    /// # fn f(d: gocsp_nats::jetstream::Delivery<u64>) {
    /// println!("from {}", d.subject());
    /// # }
    /// ```
    pub fn subject(&self) -> &str {
        self.subject.as_str()
    }

    /// The message's sequence number in its stream: the same on every redelivery, so a
    /// program can recognise a duplicate.
    ///
    /// ```no_run
    /// # fn f(d: gocsp_nats::jetstream::Delivery<u64>) {
    /// println!("stream sequence {}", d.stream_sequence());
    /// # }
    /// ```
    pub fn stream_sequence(&self) -> u64 {
        self.stream_sequence
    }

    /// How many times the server has delivered this message, this time included (1 the first
    /// time).
    ///
    /// ```no_run
    /// # fn f(d: gocsp_nats::jetstream::Delivery<u64>) {
    /// if d.delivered() > 1 { println!("redelivered: maybe processed before"); }
    /// # }
    /// ```
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Acknowledges the message: the server will not deliver it again (unless this
    /// acknowledgement is lost with the connection, see the crate docs on duplicates).
    ///
    /// # Errors
    ///
    /// The acknowledgement could not be queued: the connection is gone for good.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped call may or may not have acknowledged; call it again.
    ///
    /// ```no_run
    /// # async fn f(d: gocsp_nats::jetstream::Delivery<u64>) -> Result<(), gocsp_nats::Error> {
    /// d.ack().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `msg.Ack()`.
    pub async fn ack(&self) -> Result<(), Error> {
        self.acker.ack().await
    }

    /// Acknowledges the message and waits until the server confirms it: after `Ok`, the
    /// message will not be delivered again even if this process dies now.
    ///
    /// # Errors
    ///
    /// The server did not confirm (connection lost, timeout): the message may be redelivered.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a dropped call may or may not have acknowledged; call it again.
    ///
    /// ```no_run
    /// # async fn f(d: gocsp_nats::jetstream::Delivery<u64>) -> Result<(), gocsp_nats::Error> {
    /// d.ack_confirmed().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `msg.DoubleAck(ctx)`.
    pub async fn ack_confirmed(&self) -> Result<(), Error> {
        self.acker.double_ack().await
    }

    /// Asks the server to deliver the message again, after `delay` if given.
    ///
    /// # Errors
    ///
    /// The request could not be queued: the connection is gone for good (the message is then
    /// redelivered after AckWait anyway).
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    ///
    /// ```no_run
    /// # async fn f(d: gocsp_nats::jetstream::Delivery<u64>) -> Result<(), gocsp_nats::Error> {
    /// d.nak(Some(std::time::Duration::from_secs(5))).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `msg.Nak()` / `msg.NakWithDelay(d)`.
    pub async fn nak(&self, delay: Option<Duration>) -> Result<(), Error> {
        self.acker.ack_with(AckKind::Nak(delay)).await
    }

    /// Tells the server the message is still being worked on, restarting its AckWait: call it
    /// during work that may take longer than AckWait, or the message is redelivered while it is
    /// still being processed.
    ///
    /// # Errors
    ///
    /// The request could not be queued: the connection is gone for good.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    ///
    /// ```no_run
    /// # async fn f(d: gocsp_nats::jetstream::Delivery<u64>) -> Result<(), gocsp_nats::Error> {
    /// d.in_progress().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `msg.InProgress()`.
    pub async fn in_progress(&self) -> Result<(), Error> {
        self.acker.ack_with(AckKind::Progress).await
    }

    /// Tells the server never to deliver the message again, without counting it as processed
    /// (for a value the program can never handle).
    ///
    /// # Errors
    ///
    /// The request could not be queued: the connection is gone for good.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe.
    ///
    /// ```no_run
    /// # async fn f(d: gocsp_nats::jetstream::Delivery<u64>) -> Result<(), gocsp_nats::Error> {
    /// d.term().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `msg.Term()`.
    pub async fn term(&self) -> Result<(), Error> {
        self.acker.ack_with(AckKind::Term).await
    }
}
