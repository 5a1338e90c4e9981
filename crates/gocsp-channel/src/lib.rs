//! Go channels for async Rust: unbuffered (rendezvous), buffered and unbounded, multi-producer
//! multi-consumer, cancel-safe, usable from async tasks and plain OS threads alike, and the
//! engine behind `gocsp::select!`.
//!
//! Most users reach this crate through the `gocsp` facade (`gocsp::chan`, `gocsp::select!`).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let (tx, rx) = gocsp_channel::chan::<u32>(0); // make(chan uint32)
//! tokio::spawn(async move {
//!     for i in 0..3 {
//!         tx.send(i).await.unwrap();            // ch <- i
//!     }
//! });                                           // tx dropped: close(ch)
//! let mut sum = 0;
//! while let Some(v) = rx.recv().await {         // for v := range ch
//!     sum += v;
//! }
//! assert_eq!(sum, 3);
//! # });
//! ```
//!
//! # Semantics
//!
//! - [`chan(0)`](chan()) is a rendezvous: [`Sender::send`] completes only once a receiver has taken
//!   the value, and [`Sender::try_send`] succeeds only if a receiver is waiting.
//!   [`chan(n)`](chan()) buffers `n` values; [`unbounded`] never makes a sender wait.
//! - Values are FIFO per channel; waiting receivers and waiting senders are each served in FIFO
//!   order.
//! - [`close`](Sender::close) (from either side) returns `true` if it closed the channel, `false`
//!   if it was already closed — where Go would panic. The channel also closes when the last
//!   `Sender` is dropped. Receivers get every value sent before the close, then `None`; a
//!   [`Permit`] reserved before the close is a send that has begun, so receivers wait for it
//!   (its value, or its return unused) before they report `None`.
//!   Senders get their value back in [`SendError`]. When the last `Receiver` is dropped the
//!   channel closes too and buffered values are dropped.
//! - Async futures take part in tokio's cooperative budget, so a task looping on an
//!   always-ready channel still yields to its neighbours.
//! - The blocking API (`send_blocking`, `recv_blocking`, `iter`, `select_blocking!`) serves
//!   plain OS threads on the same channels. Called from async code on a runtime thread it
//!   panics with a message saying what to use instead, rather than risking a deadlock.
//!
//! # Cancellation safety — the exact rule
//!
//! Every future of this crate ([`Send`], [`Recv`], [`Reserve`], a select) may be dropped at any
//! `.await` point, on any thread. Dropping it leaves the channel as if the operation had not
//! started, or as if it had completed; never in between:
//!
//! - A dropped **send** that had not completed did not send: its value is dropped with the
//!   future (it was never visible to a receiver). A send that completed is not undone.
//! - A dropped **receive** loses nothing. If a sender already handed its value to this waiting
//!   receiver (the sender's `send` has completed) and the receive is dropped before returning
//!   it, the value goes to the next waiting receiver, or to the *front* of the buffer (it was
//!   sent before anything buffered after it). On an unbuffered channel this is the one case
//!   where a value waits inside a `chan(0)`: [`len`](Receiver::len) may then read 1 and
//!   the next receive takes it at once.
//! - A dropped **reserve** or select send case gives back the slot, or (unbuffered) the claimed
//!   receiver, which returns to the head of the receive queue.
//! - A dropped **select** un-registers every case; a case already completed on its behalf is
//!   undone as above. Exactly one case of a completed select fired.
//!
//! No value is ever lost, duplicated or dropped twice.
//!
//! # Select, and lazy send values
//!
//! A select send case does not hold its value: the value expression is evaluated only once the
//! case is chosen. Firing a send case therefore yields a [`Permit`] — a buffer slot, or on an
//! unbuffered channel one *claimed* waiting receiver — and the value is sent through it right
//! after. A receiver that finds only such a lazy sender on an unbuffered channel waits for it
//! (a blocking receive succeeds; [`Receiver::try_recv`] reports `Empty`, unlike Go where the
//! value would already exist).
//!
//! # Internals
//!
//! One lock per channel, as Go's `hchan`, over a single state machine for every capacity
//! (`chan.rs`); waiting operations are entries in the channel's queues (`queue.rs`), found
//! again by id; each entry shares a pooled slot with its waiter, where the party that completes
//! the wait leaves the outcome (the value itself, for a receiver) for the waiter to collect
//! without the lock, so a wait allocates nothing in steady state (`waiters.rs`, `ops.rs`); the
//! select engine locks all its channels in address order (`select/`).
//!
//! `unsafe` lives in three places: the channel lock (`lock.rs`, whose raw API lets one holder
//! take several locks at once); the waiter's slot (`waiters.rs`, a cell written once under the
//! lock and read by its waiter after a `done` flag); and the select engine's `select/locks.rs`
//! and `select/cases.rs`, which hold the locks of all its cases through the lock's raw API,
//! behind guards that release them on drop (on a panic too), with `select/mod.rs` declaring the
//! `unsafe fn`s of the `CaseImpl` trait they implement. Every `unsafe` block and impl carries a
//! `// SAFETY:` comment directly above it. The other gocsp crates forbid `unsafe` altogether.

#![warn(missing_docs)]

mod blocking;
mod chan;
mod coop;
mod dynamic;
mod error;
pub mod hook;
mod lock;
mod loom;
mod ops;
mod queue;
mod receiver;
#[allow(
    private_interfaces,
    reason = "Case is sealed: its methods take crate-private types no user can name or call"
)]
mod select;
mod sender;
mod waiters;

pub use dynamic::{Select, Selected};
pub use error::{SendError, TryRecvError, TrySendError};
pub use receiver::{Iter, Receiver, Recv};
pub use select::SelectFuture;
pub use sender::{Permit, Reserve, Send, SendSink, Sender};

use chan::{Cap, Chan};

/// Creates a channel with a buffer of `capacity` values; `0` makes it unbuffered.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gocsp_channel::chan::<String>(64);
/// assert_eq!(tx.capacity(), Some(64));
/// # drop(rx);
/// ```
///
/// # Go equivalent
///
/// `make(chan T, capacity)`.
#[track_caller]
pub fn chan<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    pair(Cap::of(capacity), true)
}

/// Creates a channel whose buffer grows without limit: sends never wait.
///
/// ```
/// let (tx, rx) = gocsp_channel::unbounded();
/// for i in 0..10_000 { tx.try_send(i).unwrap(); }
/// assert_eq!(rx.len(), 10_000);
/// ```
#[track_caller]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    pair(Cap::Unbounded, true)
}

/// A channel that belongs to no synctest bubble even when created inside one: for process-wide
/// channels created lazily (a never-cancelled context's `done()`), which every bubble and every
/// thread may use. Not a public API.
///
/// ```
/// let (tx, rx) = gocsp_channel::chan_of_no_bubble::<u8>(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// ```
#[doc(hidden)]
#[track_caller]
pub fn chan_of_no_bubble<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    pair(Cap::of(capacity), false)
}

/// A new channel of capacity `cap`, in the caller's synctest bubble if `in_bubble`.
#[track_caller]
fn pair<T>(cap: Cap, in_bubble: bool) -> (Sender<T>, Receiver<T>) {
    let bubble = if in_bubble { hook::bubble() } else { 0 };
    let chan = loom::Arc::new(Chan::new(cap, bubble));
    chan.init();
    (
        Sender::new(chan.clone()),
        Receiver::new(chan, std::panic::Location::caller()),
    )
}

/// Items used by the code `select!` and `select_blocking!` generate, and by gocsp's sibling
/// crates (`block_on` for `WaitGroup::wait_blocking`). Not a public API: names and
/// signatures change without notice. Users reach it as `gocsp::__private`.
#[doc(hidden)]
pub mod __private {
    pub use crate::blocking::block_on;
    pub use crate::select::{
        certainly_idle, complete_send, poll_idle, select, select_blocking, AsRecv, AsSend, Case,
        FutCase, RecvCase, SendCase, SELECT_DEFAULT,
    };
}
