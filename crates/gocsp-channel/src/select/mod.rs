//! The select engine: Go's `selectgo` over cancel-safe futures.
//!
//! One file per concern: `cases.rs` (the case types `select!` builds: [`RecvCase`],
//! [`SendCase`], [`FutCase`]), `args.rs` (the accepted shapes of a case's channel argument:
//! [`AsRecv`], [`AsSend`]), `engine.rs` ([`SelectFuture`]: the passes, registration, waking
//! and cancellation), `locks.rs` (the guards through which a pass holds channel locks) and
//! `nonblock.rs` (the lock-free answers of a select with `default`). This file holds what they
//! share: the sealed [`Case`] interface.
//!
//! A select is a list of type-erased cases ([`Case`]). One *pass* over them:
//!
//! 1. Future cases (`fut(..)`) are polled first — in written order under `biased`, else from a
//!    random starting point. A ready future fires. A select without future cases and with
//!    at most eight cases instead tries, on its first poll, its channel cases one at a time
//!    under that channel's lock alone, in a uniformly random order, and fires the first ready
//!    one: cheaper than step 2 when a case is ready, and the same distribution. A walk fires
//!    only a choice that step 2 could have made at one instant: under `biased` that is only
//!    the first channel case it looks at, so a `biased` walk leaves every later channel case
//!    to step 2 (a case found ready after an earlier one was found not ready may be a choice
//!    no single instant allows: the earlier one may have become ready in between).
//! 2. The channels of all channel cases are locked at once, in address order, each distinct
//!    channel once (Go's `sellock`), so the pass sees every channel at one instant. Among the
//!    ready cases one is chosen uniformly at random (the first in written order under
//!    `biased`) and *fired*: a receive takes its value; a send takes a
//!    [`Permit`](crate::Permit) (a buffer slot, or a claimed receiver on an unbuffered
//!    channel), and the caller evaluates the value and sends through the permit only after the
//!    select returned. If none is ready the select takes `default`, or registers an entry in
//!    every channel and waits.
//!
//! While registered, the select's shared [`Signal`] is `Waiting`; a channel that completes a
//! case first wins the signal by compare-and-swap (Go's `selectDone`), so exactly one case
//! fires (`Won(case)`). While the owner runs a pass the signal is `Polling` and nobody can win
//! it.
//!
//! Receiving on an unbuffered channel whose only sender is another select's lazy send case is
//! the one two-phase meeting: the receiver *commits* to that case and grants the sender a
//! claim on it; the sender's select wakes, evaluates its value and fills the claim. If the
//! sender's select is dropped instead, the claim is given back and the receiver runs its pass
//! again. If the receiver's select is dropped, the value goes to the next receiver.
//!
//! Cancel safety: dropping the select future un-registers every case; a case that another
//! party already completed is undone (a received value goes to the next receiver or back to
//! the front of the buffer; a granted slot or receiver is given back).

use std::task::{Context, Poll};

use crate::chan::Wakes;
use crate::loom::Arc;
use crate::waiters::Signal;

mod args;
mod cases;
mod engine;
mod locks;
mod nonblock;

pub use args::{AsRecv, AsSend};
pub use cases::{complete_send, FutCase, RecvCase, SendCase};
pub use engine::{select, select_blocking, SelectFuture};
pub use nonblock::{certainly_idle, poll_idle};

/// The index [`select`] returns when the `default` case fires.
pub const SELECT_DEFAULT: usize = usize::MAX;

/// What firing a case did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Fire {
    /// The case completed; its output is ready.
    Done,
    /// (Unbuffered receive) the case is committed to a lazy sender and waits for its value.
    Committed,
    /// Not ready after all (every candidate waiter turned out to be taken).
    NotReady,
}

/// How the engine sees a case.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// A channel case; the address orders the locks.
    Chan(usize),
    /// A future case.
    Fut,
    /// A nil channel or a case whose guard is false: never fires.
    Nil,
}

mod imp {
    use super::*;

    /// The engine's view of a case. Sealed: only this crate implements it.
    pub trait CaseImpl {
        fn kind(&self) -> Kind;
        /// Readiness read without the lock: `None` if the case might be ready, else the
        /// channel's hint word (0 for a case that never fires). See `Lock::hint`.
        fn idle_hint(&self) -> Option<u64>;
        fn lock(&self);
        /// Panics if the case's channel belongs to a synctest bubble the caller is outside of
        /// (`Chan::check_bubble`). Called before any lock is taken.
        fn check_bubble(&self) {}
        /// The synctest bubble of the case's channel (0: of none); `None` for a case without
        /// a channel.
        fn bubble(&self) -> Option<u32> {
            None
        }
        /// # Safety
        /// The caller locked this case's channel with `lock` on this thread.
        unsafe fn unlock(&self);
        /// # Safety
        /// The caller holds this case's channel lock.
        unsafe fn ready(&self) -> bool;
        /// Asks the channel to keep its readiness hint (`Lock`), which `idle_hint` reads.
        /// # Safety
        /// The caller holds this case's channel lock.
        unsafe fn arm_hint(&self) {}
        /// # Safety
        /// The caller holds this case's channel lock.
        unsafe fn fire(&mut self, sig: &mut SigSlot, case: usize, wakes: &mut Wakes) -> Fire;
        /// Ensures an entry for this case is queued. # Safety: the caller holds the lock.
        unsafe fn register(&mut self, sig: &Arc<Signal>, case: usize);
        /// Removes this case's entry, if any. # Safety: the caller holds the lock.
        unsafe fn unregister(&mut self);
        /// Polls a future case; `true` once its output is stored.
        fn poll_fut(&mut self, cx: &mut Context<'_>) -> bool;
        /// The select was won by this case: collect the outcome. `Ready(false)` if the win was
        /// undone meanwhile (a claim given back) and the select must run a pass again.
        fn complete(&mut self, sig: &Signal, case: usize) -> Poll<bool>;
        /// The select is being dropped while this case had won: undo it, unless the win was
        /// undone meanwhile (then `false`).
        fn undo_win(&mut self, sig: &Signal, case: usize, wakes: &mut Wakes) -> bool;
        /// Removes this case's entry and undoes any outcome (locks the channel itself).
        fn cancel(&mut self, wakes: &mut Wakes);
    }
}

/// One case of a select, as the engine sees it. Sealed; built by `select!` through
/// [`RecvCase`], [`SendCase`] and [`FutCase`].
pub trait Case: imp::CaseImpl {}
impl<C: imp::CaseImpl + ?Sized> Case for C {}

/// A select's signal, created on first need: a select that fires at once, or takes `default`,
/// never allocates or touches a waker.
pub(crate) struct SigSlot(Option<Arc<Signal>>);

impl SigSlot {
    pub(crate) fn get(&mut self) -> &Arc<Signal> {
        self.0.get_or_insert_with(engine::new_signal)
    }
}
