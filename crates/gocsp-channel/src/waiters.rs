//! Who waits on a channel, and how a waiter learns what happened to it.
//!
//! A waiting operation is an entry in one of the channel's queues (`recvq`, `sendq`, each a
//! `WaitQueue`), owned by the channel state and touched only under the channel lock. Entries
//! carry an id unique within their channel; the future that registered an entry finds it again
//! by that id while it waits.
//!
//! Each entry also shares a [`Slot`] with its waiter (Go's `sudog.elem`): the party that
//! completes the wait writes the [`Outcome`] — the value itself, for a receiver — into the
//! slot under the channel lock, marks it done, and wakes the waiter after unlocking. The woken
//! waiter collects its outcome from its own slot with one atomic load and a read, without the
//! channel lock. Slots come from a per-channel pool (`State`'s `slots`) and are reused once
//! their waiter has let go of them, so a wait allocates nothing in steady state.
//!
//! An entry is woken in one of two ways:
//! - [`Who::Task`]: a plain future or blocking call. Whoever completes it writes its slot
//!   under the channel lock and wakes its waker. Its future removes the entry when dropped, so a
//!   `Task` entry in a queue is always live.
//! - [`Who::Select`]: one case of a select, registered on several channels at once. All its
//!   entries share one [`Signal`]; an actor completes a case only after winning the signal with
//!   [`Signal::try_select`] (Go's `selectDone`). Entries of a select that another channel won,
//!   or that was dropped, are stale: actors discard them when they meet them.

use std::task::Waker;

use crate::loom::{Arc, AtomicBool, AtomicUsize, AtomicWaker, Ordering, UnsafeCell};

/// Where a select stands, as its [`Signal`] records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SignalState {
    /// Registered and waiting: a channel may win it for one of its cases.
    Waiting,
    /// The owner is running a pass over its cases; nobody may select it meanwhile, and actors
    /// that meet its entries discard them (the pass sees what they did, under the channel
    /// locks).
    Polling,
    /// The select future was dropped; nobody may select it any more.
    Cancelled,
    /// This case won: a channel completed it (or, unbuffered, committed to it).
    Won(usize),
}

/// The encodings of `SignalState::Cancelled` and `SignalState::Polling`.
const CANCELLED: usize = usize::MAX;
const POLLING: usize = usize::MAX - 1;

impl SignalState {
    /// The atomic's encoding: `Waiting` is 0, `Won(case)` is `case + 1`, and the two other
    /// states take the two highest values (no select has that many cases).
    #[inline]
    const fn encode(self) -> usize {
        match self {
            SignalState::Waiting => 0,
            SignalState::Cancelled => CANCELLED,
            SignalState::Polling => POLLING,
            SignalState::Won(case) => case + 1,
        }
    }

    #[inline]
    const fn decode(v: usize) -> Self {
        match v {
            0 => SignalState::Waiting,
            CANCELLED => SignalState::Cancelled,
            POLLING => SignalState::Polling,
            case => SignalState::Won(case - 1),
        }
    }
}

/// The shared part of a select: which case won, and how to wake the select's task.
///
/// `state` is a [`SignalState`], encoded in one atomic word. It leaves `Waiting` only by a
/// compare-and-swap, so at most one case of a select is ever completed by another party. It
/// goes back to `Waiting` only under the lock of the channel of the winning case, when that
/// channel undoes a claim that was never filled (see `State::release`), or while the owner
/// holds the locks of all its cases.
pub(crate) struct Signal {
    state: AtomicUsize,
    /// Set when something changed that the select must look at again (a channel closed, a
    /// claim was given back): the owner re-runs its pass instead of waiting.
    poked: AtomicBool,
    /// Set when a waker's `clone` panicked while the owner stored it: the waker slot may be left
    /// half written, and the signal must never be reused.
    broken: AtomicBool,
    waker: AtomicWaker,
}

impl Signal {
    pub(crate) fn new() -> Self {
        Signal {
            state: AtomicUsize::new(SignalState::Waiting.encode()),
            poked: AtomicBool::new(false),
            broken: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    /// `from -> to` by compare-and-swap; on failure returns the state found.
    #[inline]
    fn transition(&self, from: SignalState, to: SignalState) -> Result<(), SignalState> {
        self.state
            .compare_exchange(
                from.encode(),
                to.encode(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(|_| ())
            .map_err(SignalState::decode)
    }

    /// Tries to make `case` the winner (`Waiting -> Won(case)`). Called by an actor holding
    /// the lock of that case's channel. `AcqRel`: the winner's later writes (the outcome) are
    /// published by the channel lock, and the owner reads the state before taking that lock.
    #[inline]
    pub(crate) fn try_select(&self, case: usize) -> bool {
        self.transition(SignalState::Waiting, SignalState::Won(case))
            .is_ok()
    }

    /// The winning case, if one won.
    #[inline]
    pub(crate) fn selected(&self) -> Option<usize> {
        match self.state() {
            SignalState::Won(case) => Some(case),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn state(&self) -> SignalState {
        SignalState::decode(self.state.load(Ordering::Acquire))
    }

    /// Sets the state unconditionally. Only the owner does this while it holds the locks of all
    /// its channels (so no actor can race it), or a channel undoing its own claim under its lock.
    #[inline]
    pub(crate) fn store(&self, state: SignalState) {
        self.state.store(state.encode(), Ordering::Release);
    }

    /// `Waiting -> Polling`; on failure returns the state found.
    pub(crate) fn try_begin_poll(&self) -> Result<(), SignalState> {
        self.transition(SignalState::Waiting, SignalState::Polling)
    }

    /// Makes the signal fresh for reuse by another select (not under loom, which models fresh
    /// signals only).
    #[cfg(not(loom))]
    pub(crate) fn reset(&self) {
        self.state
            .store(SignalState::Waiting.encode(), Ordering::Relaxed);
        self.poked.store(false, Ordering::Relaxed);
        drop(self.waker.take());
    }

    /// `Waiting -> Cancelled`; on failure returns the state found.
    pub(crate) fn try_cancel(&self) -> Result<(), SignalState> {
        self.transition(SignalState::Waiting, SignalState::Cancelled)
    }

    pub(crate) fn set_poked(&self) {
        self.poked.store(true, Ordering::Release);
    }

    pub(crate) fn is_poked(&self) -> bool {
        self.poked.load(Ordering::Acquire)
    }

    pub(crate) fn take_poke(&self) -> bool {
        self.poked.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn wake(&self) {
        self.waker.wake();
    }

    /// Stores the owner's waker. Called before the owner checks the state again, so a wake
    /// after the check finds this waker ("register, then check again").
    pub(crate) fn set_waker(&self, waker: &Waker) {
        self.waker.register(waker);
    }

    /// Records that a waker's `clone` panicked inside [`set_waker`](Self::set_waker). Only the
    /// owner writes and reads the mark: relaxed is enough.
    pub(crate) fn mark_broken(&self) {
        self.broken.store(true, Ordering::Relaxed);
    }

    /// `false` once [`mark_broken`](Self::mark_broken) was called.
    pub(crate) fn reusable(&self) -> bool {
        !self.broken.load(Ordering::Relaxed)
    }
}

/// Who is behind a queue entry.
pub(crate) enum Who {
    /// A plain future or blocking call; the waker is taken when it is woken.
    Task(Option<Waker>),
    /// Case `case` of a select.
    Select {
        sig: crate::loom::Arc<Signal>,
        case: usize,
    },
}

impl Who {
    /// Claims the waiter for completion: a task always; a select only if this case wins.
    pub(crate) fn try_claim(&self) -> bool {
        match self {
            Who::Task(_) => true,
            Who::Select { sig, case } => sig.try_select(*case),
        }
    }

    /// Wakes a claimed waiter.
    pub(crate) fn wake(self) {
        match self {
            Who::Task(w) => {
                if let Some(w) = w {
                    w.wake();
                }
            }
            Who::Select { sig, .. } => sig.wake(),
        }
    }

    /// Could this waiter still be completed? Tasks always; selects while waiting.
    pub(crate) fn is_live(&self) -> bool {
        match self {
            Who::Task(_) => true,
            Who::Select { sig, .. } => sig.state() == SignalState::Waiting,
        }
    }

    /// Updates a task's waker after a re-poll.
    pub(crate) fn set_waker(&mut self, waker: &Waker) {
        if let Who::Task(slot) = self {
            match slot {
                Some(w) if w.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
        }
    }
}

/// A waiting receiver.
pub(crate) struct RecvWaiter<T> {
    pub(crate) id: u64,
    pub(crate) who: Who,
    /// Where the value goes; the waiter holds the other reference.
    pub(crate) slot: Arc<Slot<T>>,
}

/// A waiting sender. `value` is `Some` for an eager sender (`send`), `None` for a lazy one
/// (`reserve`, or a select send case whose value is computed only once it is chosen).
pub(crate) struct SendWaiter<T> {
    pub(crate) id: u64,
    pub(crate) value: Option<T>,
    pub(crate) who: Who,
    /// Where the outcome goes; the waiter holds the other reference.
    pub(crate) slot: Arc<Slot<T>>,
}

/// The place a waiter's outcome is handed to: shared by the queue entry and the waiting
/// future (or select case, or blocked thread).
///
/// Protocol: while `done` is false only the channel writes `outcome`, under the channel lock,
/// and only the party that has just removed the slot's entry from its queue (so at most one
/// write per wait); it stores `done` with `Release` last. The waiter reads `outcome` only after
/// it loads `done == true` with `Acquire`, with or without the lock; from then on nobody else
/// touches the slot. The channel's pool reuses a slot only when it holds the last reference
/// (`State::new_slot`), so a reset never races either side.
///
/// Why a pooled, shared slot rather than a node pinned in the future (tokio's intrusive
/// `LinkedList`, the shape of Go's `sudog`): it gives the lock-free collection without making
/// the futures `!Unpin` or moving the queues to raw pointers, and it serves alike the futures,
/// the `Stream` impl (whose receive lives in a movable `Receiver`), the blocking API and select
/// cases. Its price is a reference count taken and dropped per wait and an id kept beside the
/// pointer; an intrusive node would remove both, and is the next step.
pub(crate) struct Slot<T> {
    done: AtomicBool,
    outcome: UnsafeCell<Option<Outcome<T>>>,
}

// SAFETY: the outcome cell is written by one party and then read by one other, ordered by the
// `done` flag (Release store, Acquire load) as the protocol above says; a `Slot` moves values
// of `T` between threads, so `T: Send` is required and sufficient.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    pub(crate) fn new() -> Self {
        Slot {
            done: AtomicBool::new(false),
            outcome: UnsafeCell::new(None),
        }
    }

    /// Writes the outcome of this slot's wait and marks it done. Called under the channel lock
    /// by the party that removed the slot's entry from its queue.
    #[inline]
    pub(crate) fn complete(&self, o: Outcome<T>) {
        debug_assert!(!self.done.load(Ordering::Relaxed), "a slot completed twice");
        // SAFETY: `done` is false, so the waiter does not read the cell; the caller holds the
        // channel lock and has just removed this slot's entry, so no other writer exists.
        self.outcome.with_mut(|p| unsafe { *p = Some(o) });
        self.done.store(true, Ordering::Release);
    }

    /// The outcome, if the wait completed: for the waiter only, with or without the lock.
    #[inline]
    pub(crate) fn take(&self) -> Option<Outcome<T>> {
        if !self.done.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `done` was set (Acquire pairs with `complete`'s Release), so the write is
        // visible and finished, and nobody writes the cell again until the slot is reset,
        // which needs the last reference; the caller is the slot's one waiter.
        self.outcome.with_mut(|p| unsafe { (*p).take() })
    }

    /// Makes a slot fresh for another wait. Only the pool calls it, when it holds the last
    /// reference (nobody else can look at the slot).
    #[inline]
    pub(crate) fn reset(&self) {
        // The waiter always collects a completed outcome (or gives it back through the channel)
        // before it lets go of the slot, so no value is left to drop here, under the lock.
        debug_assert!(
            self.take().is_none(),
            "a slot reused with its outcome uncollected"
        );
        self.done.store(false, Ordering::Relaxed);
    }
}

/// What happened to a waiter, written by the party that completed it.
pub(crate) enum Outcome<T> {
    /// A receiver got this value.
    Value(T),
    /// An eager sender's value was taken.
    Sent,
    /// An eager sender's value is handed back: the channel closed first.
    Rejected(T),
    /// A lazy sender was granted one buffer slot (already counted in `reserved`).
    Slot,
    /// A lazy sender on an unbuffered channel was granted the receiver with this id, which now
    /// sits in `claimed` waiting for the value.
    Claim(u64),
}
