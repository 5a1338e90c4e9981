//! The JetStream receive bridge: pulls from a durable consumer, hands each value over an
//! unbuffered channel, and acknowledges it only once a local receiver took it (or leaves the
//! acknowledgement to the program, with [`Delivery`]).

use std::collections::VecDeque;
use std::fmt;
use std::ops::Deref;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::Batch;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::{AckKind, Context, Message};
use async_nats::{HeaderMap, Subject};
use futures_util::StreamExt;
use gocsp_channel::Sender;

use crate::codec::Codec;
use crate::core::{CLOSED_CHECK, DEAD_LETTER_ERROR, DEAD_LETTER_SUBJECT};
use crate::Error;

/// A value the bridge holds: pulled, decoded, not yet taken by a local receiver. Its
/// [`Acker`] waits in a queue of its own, so that sending progress to every held message
/// borrows no `T` across an `.await` (a `T` need not be `Sync`).
pub(crate) struct Held<T> {
    value: T,
    subject: Subject,
    stream_sequence: u64,
    delivered: u64,
}

/// What the bridge hands over for a held value, and the acknowledgement it sends itself once
/// the value was taken (`None`: the program acknowledges, through a [`Delivery`]).
pub(crate) type Handoff<T, Out> = fn(Held<T>, Acker) -> (Out, Option<Acker>);

pub(crate) fn ack_on_take<T>(held: Held<T>, acker: Acker) -> (T, Option<Acker>) {
    (held.value, Some(acker))
}

pub(crate) fn as_delivery<T>(held: Held<T>, acker: Acker) -> (Delivery<T>, Option<Acker>) {
    (
        Delivery {
            value: held.value,
            acker,
            subject: held.subject,
            stream_sequence: held.stream_sequence,
            delivered: held.delivered,
        },
        None,
    )
}

pub(crate) struct Config<C> {
    pub(crate) codec: C,
    pub(crate) batch: usize,
    pub(crate) expires: Duration,
    pub(crate) dead_letter: Option<(Context, Subject)>,
}

/// The bridge goroutine. Runs until every local receiver is gone; then negatively acknowledges
/// what it holds, so the server redelivers it at once instead of after AckWait.
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
    let mut queue: VecDeque<Held<T>> = VecDeque::with_capacity(cfg.batch);
    let mut ackers: VecDeque<Acker> = VecDeque::with_capacity(cfg.batch);
    let mut batch: Option<Batch> = None;
    let mut tick = tokio::time::interval(CLOSED_CHECK.min(progress_every));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_progress = Instant::now();
    let mut retry_at: Option<Instant> = None;
    loop {
        // Pull when the queue is half empty and no pull is open: at most `batch` values are
        // ever held here (pulled and not taken).
        if batch.is_none()
            && queue.len() <= cfg.batch / 2
            && retry_at.is_none_or(|at| Instant::now() >= at)
        {
            let want = cfg.batch - queue.len();
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
            permit = tx.reserve(), if !queue.is_empty() => {
                let Ok(permit) = permit else { break };
                let (Some(held), Some(acker)) = (queue.pop_front(), ackers.pop_front()) else {
                    continue;
                };
                let (out, acker) = handoff(held, acker);
                // The receiver waits for this value: it has taken it once `send` returns.
                permit.send(out);
                if let Some(acker) = acker {
                    if let Err(error) = acker.ack().await {
                        tracing::warn!(consumer = %name, %error, "gocsp-nats: ack not sent; the value will be redelivered");
                    }
                }
            }
            msg = next_message(&mut batch) => match msg {
                Some(Ok(msg)) => {
                    if let Some((held, acker)) = accept(msg, &cfg, &name).await {
                        queue.push_back(held);
                        ackers.push_back(acker);
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
                if !queue.is_empty() && last_progress.elapsed() >= progress_every {
                    for acker in &ackers {
                        let _ = acker.ack_with(AckKind::Progress).await;
                    }
                    last_progress = Instant::now();
                }
            }
        }
    }
    drop(queue);
    for acker in ackers {
        let _ = acker.ack_with(AckKind::Nak(None)).await;
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
