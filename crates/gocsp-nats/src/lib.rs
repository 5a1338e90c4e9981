//! # gocsp-nats: gocsp channels over NATS
//!
//! A Go-style service outgrows one process by running its pipeline stages as separate
//! processes connected by a broker. This crate makes the connection a channel: a remote
//! channel is an ordinary gocsp [`Sender`](gocsp_channel::Sender) /
//! [`Receiver`](gocsp_channel::Receiver), so `select!`, `Context`, `ErrGroup`, the goroutine
//! dump and `GOCSP_TRACE=profile` work on it unchanged. It is built on
//! [async-nats](https://docs.rs/async-nats), the official client; values are JSON by default
//! ([`Json`]), so Go programs on the same subject read and write them, and any [`Codec`] can
//! replace it. The facade re-exports it as `gocsp::nats` with the `nats` feature.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), gocsp_nats::Error> {
//! use gocsp::{select, time::{after, Duration}};
//! let client = async_nats::connect("127.0.0.1:4222").await?;
//! let rx = gocsp_nats::receiver::<String>(&client, "greetings").await?; // BindRecvChan
//! let tx = gocsp_nats::sender::<String>(&client, "greetings");          // BindSendChan
//! tx.send("hello".into()).await.unwrap();
//! select! {
//!     recv(rx) -> g => println!("{g:?}"),
//!     recv(after(Duration::from_secs(1))) => println!("timeout"),
//! }
//! # Ok(()) }
//! ```
//!
//! ## Two modes, two guarantees
//!
//! | | core NATS | JetStream |
//! |---|---|---|
//! | send | [`sender`] → `Sender<T>`; completes when the local channel has the value | [`jetstream::sender`] → [`JetStreamSender`](jetstream::JetStreamSender); completes when the stream stored the value, else hands it back |
//! | receive | [`receiver`], [`queue_receiver`] → `Receiver<T>` | [`jetstream::receiver`] → `Receiver<T>` (ack on take), [`jetstream::deliveries`] → `Receiver<Delivery<T>>` (the program acks) |
//! | delivery | at most once | at least once |
//! | a process dies | what it had buffered or in flight is lost | nothing untaken is lost: it is redelivered |
//! | Go | `EncodedConn.BindSendChan` / `BindRecvChan` / `BindRecvQueueChan` | `js.Publish` + `jetstream.Consumer` with `msg.Ack()` |
//!
//! Every bridge is a goroutine named `nats-send:{subject}` or `nats-recv:{subject}`, visible in
//! [`gocsp::dump()`](gocsp_runtime::dump()) and in the profile.
//!
//! ## JetStream: what "nothing lost" means, exactly
//!
//! **Receiving.** [`jetstream::receiver`] offers each value on an *unbuffered* channel (a
//! pending send, in stream order) and acknowledges it only after the rendezvous: a local
//! receiver has the value. Until then the
//! message is unacknowledged on the server, so a value that no receiver took — the process was
//! killed, every receiver was dropped, the context was cancelled — is delivered again (at once
//! after a drop or close, which sends `-NAK`; after the consumer's AckWait after a kill). The
//! bridge holds at most [`batch`](jetstream::Bridge::batch) pulled values and keeps them from
//! redelivery with progress acknowledgements while they wait for a receiver.
//!
//! One case counts as taken without the program seeing the value: a receive future (or a
//! `select!` that chose this case) dropped *after* the value was handed to it. gocsp's channel
//! rule then passes the value to the next receive on the same channel; if none comes and the
//! channel is dropped, the value is gone though acknowledged. Await receives to the end, or
//! use [`jetstream::deliveries`].
//!
//! Taking is not processing. When a value must survive a crash *during* its processing, use
//! [`jetstream::deliveries`]: the program calls [`Delivery::ack`](jetstream::Delivery::ack)
//! after the work, and anything not acknowledged — dropped, or in a killed process — is
//! redelivered after AckWait.
//!
//! **Duplicates**, that is a value taken (or, with deliveries, processed) twice, happen only
//! when an acknowledgement does not reach the server in time:
//!
//! 1. the process dies, or the connection drops, between the take (or the work) and the
//!    server's receipt of `+ACK` — the acknowledgement is sent without waiting for a reply
//!    ([`Delivery::ack_confirmed`](jetstream::Delivery::ack_confirmed) waits for one);
//! 2. the connection is down for longer than AckWait, so the server redelivers values whose
//!    acknowledgement or progress it could not receive;
//! 3. with [`jetstream::deliveries`], processing outlasts AckWait without
//!    [`in_progress`](jetstream::Delivery::in_progress).
//!
//! A duplicate is a redelivery, so its [`Delivery::delivered`](jetstream::Delivery::delivered)
//! is above 1 and its [`stream_sequence`](jetstream::Delivery::stream_sequence) repeats. After
//! one fault there are at most as many duplicates as values were taken and not yet
//! acknowledged at that moment, which is at most the consumer's `max_ack_pending`; in
//! practice a handful (the acknowledgements still in the client's write buffer). Without a
//! fault there are none.
//!
//! **Sending.** [`JetStreamSender::send`](jetstream::JetStreamSender::send) returns `Ok` only
//! with the stream's acknowledgement (the value is stored) and otherwise `Err(SendError(v))`
//! with the value, within the JetStream context's timeout. A failed send may nevertheless have
//! been stored (only the acknowledgement was lost), so resending is at-least-once — unless the
//! sender names values with [`with_msg_id`](jetstream::JetStreamSender::with_msg_id), which lets
//! the stream drop the second copy within its duplicate window. A plain gocsp `Sender` cannot
//! promise "stored or handed back": its send completes at the rendezvous with a bridge that
//! has not published yet. So the JetStream sender publishes from the sending goroutine, and
//! its channel part is the cancel-safe [`reserve`](jetstream::JetStreamSender::reserve) of a
//! publish slot — the `select!` case — followed by the publish.
//!
//! **Undecodable payloads** are never dropped silently: they are reported through `tracing`
//! at error level with subject and sequence, then (JetStream) published to the dead-letter
//! subject if one is configured and terminated with `+TERM`, or (core) republished to the
//! dead-letter subject if one is configured.
//!
//! ## Connection loss
//!
//! Reconnecting is async-nats's: it retries with back-off and re-subscribes.
//!
//! - Core: messages published by anyone while a subscriber is disconnected are not delivered
//!   to it. Values a core `Sender` sends meanwhile wait in async-nats's buffer and go out after
//!   the reconnect, or are lost if the process ends first.
//! - JetStream sending: a send in flight completes after the reconnect or fails within the
//!   context's timeout (default 5 s) with its value handed back.
//! - JetStream receiving: values keep waiting in the stream. A pull the server forgot is
//!   replaced within [`pull_expires`](jetstream::Bridge::pull_expires) plus 5 s; values the
//!   bridge held or whose acknowledgement was lost are redelivered (duplicates, case 1 or 2).
//! - When the client gives up (or is closed), receive bridges end and their receivers report
//!   closed (`None`); a core sender's bridge closes its channel, so sends hand values back.
//!
//! ## Testing against a real server
//!
//! [`server::NatsServer`] starts `nats-server -js` on a free loopback port with a temporary
//! store, for tests, examples and benchmarks; a missing binary is an error saying how to install
//! it (`apt-get install -y nats-server`).
//!
//! ## Performance
//!
//! `cargo bench -p gocsp-benches --bench nats` (`benches/benches/nats.rs`) runs the bridges
//! next to raw async-nats on one `nats-server` (2.9.10, on the same 2-core VM, which other jobs
//! share: single runs move by ±20–50 %). Values are ~60-byte JSON structs, encoded and decoded
//! on both sides; each batch is checked complete. Medians of eight interleaved pairs (each
//! gocsp run next to a raw one of the same binary):
//!
//! | workload | raw async-nats (median) | gocsp-nats (median) | median of the pairs' gocsp / raw (range) |
//! |---|---:|---:|---:|
//! | core: 10,000 values published and received | 1.00 M values/s | 912 K values/s | 0.92 (0.83–1.09) |
//! | JetStream: 2,000 values, 16 senders awaiting each store, taken and acked one by one | 40.6 K values/s | 39.6 K values/s | 0.94 (0.93–1.13) |
//!
//! The target is the bridge within 10 % of raw async-nats. Each end of a core bridge adds a
//! goroutine between the program and async-nats, so the bridges move values in turns: the
//! send bridge publishes every value waiting in its channel (up to 256) in one go, encoding
//! them into one shared buffer; the receive bridge decodes every message that has arrived and
//! then hands the whole turn over, so a parked receiver is woken once per turn rather than per
//! value. The JetStream receive bridge offers every value it holds as a pending send on its
//! unbuffered channel, so a receiver takes the next one without waiting for the bridge to run.
//! The local buffer matters little once it holds a turn: 256 to 4,096 slots measure alike,
//! while unbuffered (`capacity(0)`) core runs at about a seventh of raw. The measurements and
//! the profile are in the workspace's `docs/performance.md` ("NATS bridges").
//!
//! TLS: the workspace builds async-nats without a TLS backend; a service that connects with TLS
//! enables async-nats's `ring` (or `aws-lc-rs`) feature in its own `Cargo.toml`.

#![forbid(unsafe_code)]

mod codec;
mod core;
pub mod jetstream;
pub mod server;

pub use crate::codec::{Codec, Json};
pub use crate::core::{
    queue_receiver, receiver, sender, Bridge, DEAD_LETTER_ERROR, DEAD_LETTER_SUBJECT,
    DEFAULT_CAPACITY,
};

/// The error of setting a bridge up and of acknowledgements: async-nats's boxed error.
pub type Error = async_nats::Error;
