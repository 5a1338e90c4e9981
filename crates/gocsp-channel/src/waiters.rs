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

use std::ptr::NonNull;
use std::task::Waker;

use crate::chan::Grant;
use crate::loom::{AtomicBool, AtomicUsize, AtomicWaker, Ordering, UnsafeCell};

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

    /// `false` once [`mark_broken`](Self::mark_broken) was called. (Signals are recycled only
    /// outside loom, like [`reset`](Self::reset).)
    #[cfg(not(loom))]
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
    /// Where the value goes; the waiter holds the same slot.
    pub(crate) slot: SlotRef<T>,
}

/// A waiting sender. `value` is `Some` for an eager sender (`send`), `None` for a lazy one
/// (`reserve`, or a select send case whose value is computed only once it is chosen).
pub(crate) struct SendWaiter<T> {
    pub(crate) id: u64,
    pub(crate) value: Option<T>,
    pub(crate) who: Who,
    /// Where the outcome goes; the waiter holds the same slot.
    pub(crate) slot: SlotRef<T>,
}

/// The place a waiter's outcome is handed to: shared by the queue entry and the waiting
/// future (or select case, or blocked thread), owned by the channel's [`SlotPool`].
///
/// Protocol:
/// - The pool hands a slot out under the channel lock, only while `busy` is false (Acquire),
///   and sets `busy` and clears `done`; from then on the slot belongs to one wait.
/// - While `done` is false only the channel writes `outcome`, under the channel lock, and only
///   the party that has just removed the slot's entry from its queue (so at most one write per
///   wait); it stores `done` with `Release` last, and does not touch the slot after that.
/// - The waiter reads `outcome` only after it loads `done == true` with `Acquire`, with or
///   without the lock. When it is finished with the slot (its outcome collected or given
///   back, its entry in no queue) it stores `busy = false` with `Release`: the pool's next
///   Acquire load of `busy` orders everything the waiter did before any reuse.
///
/// Why slots owned by the channel rather than nodes pinned in the futures (tokio's intrusive
/// `LinkedList`, the shape of Go's `sudog`): the woken waiter still collects without the lock
/// and a wait still allocates nothing in steady state, without making the futures `!Unpin`;
/// and one kind of slot serves alike the futures, the `Stream` impl (whose receive lives in a
/// movable `Receiver`), the blocking API and select cases. A wait costs a pool lookup under
/// the lock and two plain stores, no atomic read-modify-write.
pub(crate) struct Slot<T> {
    /// Handed out to a wait that has not let go of it.
    busy: AtomicBool,
    done: AtomicBool,
    outcome: UnsafeCell<Option<Outcome<T>>>,
}

// SAFETY: the outcome cell is written by one party and then read by one other, ordered by the
// `done` flag (Release store, Acquire load), and reused only after the `busy` flag hands it
// back (Release store, Acquire load), as the protocol above says; a `Slot` moves values of `T`
// between threads, so `T: Send` is required and sufficient.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    /// A free slot.
    pub(crate) fn new() -> Self {
        Slot {
            busy: AtomicBool::new(false),
            done: AtomicBool::new(false),
            outcome: UnsafeCell::new(None),
        }
    }
}

/// A slot of a channel's [`SlotPool`], as a queue entry and its waiter hold it.
///
/// Invariant (what makes dereferencing it sound): a `SlotRef` is kept only in a queue entry
/// of the channel whose pool holds it, or in the `Waiting` of an operation on that channel,
/// whose owner holds the channel (a handle, or a borrow of one) for as long as it keeps the
/// `Waiting`. Every slot lives as long as its channel: the first one is a field of the
/// channel (`Chan::init`), the others are freed only when the pool is dropped with the
/// channel's state, so after every holder of a `SlotRef`.
pub(crate) struct SlotRef<T>(NonNull<Slot<T>>);

impl<T> Clone for SlotRef<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SlotRef<T> {}

// SAFETY: a `SlotRef` is a shared reference to a `Slot<T>`, which is `Sync` when `T: Send`
// (see there); the pool's invariant keeps the slot alive wherever the reference goes.
unsafe impl<T: Send> Send for SlotRef<T> {}
// SAFETY: as for `Send`: sharing a `SlotRef` shares only a `&Slot<T>`.
unsafe impl<T: Send> Sync for SlotRef<T> {}

impl<T> SlotRef<T> {
    /// A reference to a slot that lives as long as its channel (the invariant above).
    pub(crate) fn new(slot: &Slot<T>) -> Self {
        SlotRef(NonNull::from(slot))
    }

    #[inline]
    fn slot(&self) -> &Slot<T> {
        // SAFETY: the pool that made this slot outlives every `SlotRef` to it (the invariant
        // above), and a slot is only ever reached through shared references: its fields are
        // atomics and a cell whose accesses the protocol orders.
        unsafe { self.0.as_ref() }
    }

    /// Writes the outcome of this slot's wait and marks it done. Called under the channel lock
    /// by the party that removed the slot's entry from its queue.
    #[inline]
    pub(crate) fn complete(&self, o: Outcome<T>) {
        let slot = self.slot();
        debug_assert!(!slot.done.load(Ordering::Relaxed), "a slot completed twice");
        // SAFETY: `done` is false, so the waiter does not read the cell; the caller holds the
        // channel lock and has just removed this slot's entry, so no other writer exists.
        slot.outcome.with_mut(|p| unsafe { *p = Some(o) });
        slot.done.store(true, Ordering::Release);
    }

    /// The outcome, if the wait completed: for the waiter only, with or without the lock.
    #[inline]
    pub(crate) fn take(&self) -> Option<Outcome<T>> {
        let slot = self.slot();
        if !slot.done.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `done` was set (Acquire pairs with `complete`'s Release), so the write is
        // visible and finished, and nobody writes the cell again until the pool hands the slot
        // out again, which waits for `release`; the caller is the slot's one waiter.
        slot.outcome.with_mut(|p| unsafe { (*p).take() })
    }

    /// The waiter lets go of the slot: its outcome is collected (or given back) and its entry
    /// is in no queue. The pool may hand it out again.
    #[inline]
    pub(crate) fn release(&self) {
        self.slot().busy.store(false, Ordering::Release);
    }

    /// Hands the slot out to a new wait if its last waiter has let go of it. Pool only, under
    /// the channel lock.
    #[inline]
    fn try_claim(&self) -> bool {
        let slot = self.slot();
        if slot.busy.load(Ordering::Acquire) {
            return false;
        }
        // The waiter always collects a completed outcome (or gives it back through the channel)
        // before it lets go of the slot, so no value is left to drop here, under the lock.
        debug_assert!(
            self.take().is_none(),
            "a slot reused with its outcome uncollected"
        );
        slot.busy.store(true, Ordering::Relaxed);
        slot.done.store(false, Ordering::Relaxed);
        true
    }
}

/// A channel's waiter slots, kept for reuse: a wait takes one that its last waiter let go of,
/// so waiting allocates nothing in steady state. The first slot is the channel's own field
/// (given by [`set_first`](Self::set_first)); the pool makes more when waits overlap, and frees
/// them when the channel's state is dropped.
///
/// Waiters let go of their slots without the lock (one `Release` store), so the pool does not
/// know which slots are free; it looks. A lookup checks the slot it handed out last and the
/// next one (a channel's waits usually end in the order they began, so those come free first).
/// When both are busy it makes a new slot, unless the pool holds more than twice the waits
/// queued on the channel, plus eight: then most of its slots are free and it searches for one,
/// going on from the cursor (when a search finds none, searching waits until the pool has
/// doubled). So the pool holds at most about twice the most slots ever busy at once, and a
/// lookup is a few loads except right after a burst of waits.
pub(crate) struct SlotPool<T> {
    /// The channel's own slot (`None` only before `set_first`).
    first: Option<SlotRef<T>>,
    /// The slots `grow` made, once waits overlapped: boxed, so that a channel whose waits
    /// never overlap carries one word for them.
    more: Option<Box<More<T>>>,
}

/// The part of a [`SlotPool`] that only channels with overlapping waits need.
struct More<T> {
    /// Owned by the pool: index `i + 1` of the pool (index `i` before `set_first`).
    slots: Vec<SlotRef<T>>,
    /// The pool index a lookup checks first.
    cursor: usize,
    /// No search for a free slot until the pool holds this many (see [`SlotPool`]).
    search_from: usize,
}

impl<T> SlotPool<T> {
    pub(crate) const fn new() -> Self {
        SlotPool {
            first: None,
            more: None,
        }
    }

    /// Makes `slot` the pool's first slot: the channel's own, which lives as long as the
    /// channel. Called once, before any wait.
    pub(crate) fn set_first(&mut self, slot: SlotRef<T>) {
        debug_assert!(
            self.first.is_none() && self.more.is_none(),
            "set_first after a wait"
        );
        self.first = Some(slot);
    }

    /// How many slots the pool holds.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.as_ref().map_or(0, |m| m.slots.len())
    }

    /// A slot for a new wait, already marked busy. Under the channel lock; `queued` is how
    /// many waits are queued on the channel.
    #[inline]
    pub(crate) fn take(&mut self, queued: usize) -> SlotRef<T> {
        match (&mut self.more, self.first) {
            (None, Some(s)) if s.try_claim() => s,
            (Some(more), first) => more.take(first, queued),
            (None, _) => self.grow_first(),
        }
    }

    /// The first overlapping wait: the pool makes its second slot.
    #[cold]
    fn grow_first(&mut self) -> SlotRef<T> {
        let more = self.more.insert(Box::new(More {
            slots: Vec::new(),
            cursor: 0,
            search_from: 0,
        }));
        more.grow()
    }
}

impl<T> More<T> {
    /// The slot at pool index `i` (`i < self.len(first)`).
    #[inline]
    fn get(&self, first: Option<SlotRef<T>>, i: usize) -> SlotRef<T> {
        match (i, first) {
            (0, Some(s)) => s,
            (i, Some(_)) => self.slots[i - 1],
            (i, None) => self.slots[i],
        }
    }

    #[inline]
    fn take(&mut self, first: Option<SlotRef<T>>, queued: usize) -> SlotRef<T> {
        let n = usize::from(first.is_some()) + self.slots.len();
        let i = self.cursor;
        let s = self.get(first, i);
        if s.try_claim() {
            return s;
        }
        let j = if i + 1 == n { 0 } else { i + 1 };
        let s = self.get(first, j);
        if s.try_claim() {
            self.cursor = j;
            return s;
        }
        self.cursor = if j + 1 == n { 0 } else { j + 1 };
        if n > 2 * queued + 8 && n >= self.search_from {
            return self.search(first, n);
        }
        self.grow()
    }

    /// Looks at every slot from the cursor on for a free one; makes a new one if there is none
    /// (and searches no more until the pool has doubled).
    #[cold]
    fn search(&mut self, first: Option<SlotRef<T>>, n: usize) -> SlotRef<T> {
        for k in 0..n {
            let i = (self.cursor + k) % n;
            let s = self.get(first, i);
            if s.try_claim() {
                self.cursor = i;
                return s;
            }
        }
        self.search_from = 2 * n;
        self.grow()
    }

    #[cold]
    fn grow(&mut self) -> SlotRef<T> {
        let slot = Box::new(Slot::new());
        slot.busy.store(true, Ordering::Relaxed);
        let s = SlotRef(NonNull::from(Box::leak(slot)));
        self.slots.push(s);
        s
    }
}

impl<T> Drop for More<T> {
    fn drop(&mut self) {
        for s in self.slots.drain(..) {
            // SAFETY: each slot in `slots` was leaked from a `Box` by `grow` and is freed only
            // here, once; the pool is dropped with the channel's state, after every holder of a
            // `SlotRef` (the invariant on `SlotRef`). An outcome nobody collected (a waiter
            // that was forgotten) drops with its slot. The first slot is the channel's field.
            drop(unsafe { Box::from_raw(s.0.as_ptr()) });
        }
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

impl<T> Outcome<T> {
    /// A receiver's outcome: the value handed to it.
    #[inline]
    pub(crate) fn into_value(self) -> T {
        match self {
            Outcome::Value(v) => v,
            _ => unreachable!("a receiver only gets values"),
        }
    }

    /// A lazy sender's outcome: what it was granted.
    #[inline]
    pub(crate) fn into_grant(self) -> Grant {
        match self {
            Outcome::Slot => Grant::Slot,
            Outcome::Claim(rid) => Grant::Claim(rid),
            _ => unreachable!("a lazy sender is only granted"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{Outcome, Slot, SlotPool, SlotRef};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Takes slots and lets them go in the order `order` gives, `rounds` times, `at_once` at a
    /// time; returns the pool's size after each round.
    fn sizes(
        first: Option<&Slot<u32>>,
        at_once: usize,
        rounds: usize,
        mut order: impl FnMut(&mut Vec<SlotRef<u32>>),
    ) -> Vec<usize> {
        let mut pool = SlotPool::new();
        if let Some(s) = first {
            pool.set_first(SlotRef::new(s));
        }
        let mut out = Vec::new();
        for _ in 0..rounds {
            let mut held: Vec<SlotRef<u32>> = (0..at_once).map(|k| pool.take(k)).collect();
            order(&mut held);
            for s in held {
                s.release();
            }
            out.push(pool.len());
        }
        out
    }

    #[test]
    fn one_wait_at_a_time_reuses_one_slot() {
        let own = Slot::new();
        assert_eq!(sizes(Some(&own), 1, 100, |_| {}), vec![1; 100]);
        assert_eq!(sizes(None, 1, 100, |_| {}), vec![1; 100]);
    }

    #[test]
    fn overlapping_waits_grow_the_pool_to_the_waits_at_once_and_no_further() {
        // Miri interprets every instruction: fewer waits at once there.
        let peak = if cfg!(miri) { 50 } else { 1000 };
        let own = Slot::new();
        // Waits that end in the order they began: the common case, exactly the peak.
        assert_eq!(sizes(Some(&own), peak, 20, |_| {}), vec![peak; 20]);
        // The reverse order and a shuffled one: bounded by twice the peak.
        let rev = sizes(Some(&own), peak, 20, |h| h.reverse());
        assert!(rev.iter().all(|&n| n <= 2 * peak), "{rev:?}");
        assert_eq!(rev[19], rev[10], "the pool kept growing: {rev:?}");
        let mut x = 0x9e37_79b9_u64;
        let shuffled = sizes(Some(&own), peak, 20, |h| {
            for i in (1..h.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                h.swap(i, (x % (i as u64 + 1)) as usize);
            }
        });
        assert!(shuffled.iter().all(|&n| n <= 2 * peak), "{shuffled:?}");
    }

    #[test]
    fn waits_that_end_in_any_order_keep_the_pool_near_their_number() {
        // `peak` waits at all times: one that ends (at random) is replaced by a new one.
        let (peak, steps) = if cfg!(miri) {
            (20, 2_000)
        } else {
            (200, 2_000_000)
        };
        let own = Slot::new();
        let mut pool = SlotPool::<u32>::new();
        pool.set_first(SlotRef::new(&own));
        let mut held: Vec<SlotRef<u32>> = (0..peak).map(|k| pool.take(k)).collect();
        let mut x = 0x2545_f491_u64;
        for _ in 0..steps {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x % peak as u64) as usize;
            held[i].release();
            held[i] = pool.take(peak - 1);
        }
        // Twice the slots ever busy at once, plus the few a search-free pool may make.
        assert!(
            pool.len() <= 2 * peak + 9,
            "{} slots for {peak} waits",
            pool.len()
        );
    }

    #[test]
    fn a_slot_is_not_handed_out_again_before_its_waiter_lets_go() {
        let mut pool = SlotPool::<u32>::new();
        let a = pool.take(0);
        a.complete(Outcome::Value(7));
        // The waiter has not collected: the next wait gets another slot.
        let b = pool.take(0);
        assert_ne!(a.0, b.0);
        match a.take() {
            Some(Outcome::Value(7)) => {}
            _ => panic!("the first wait's outcome was lost"),
        }
        a.release();
        b.release();
        let c = pool.take(0);
        assert!(c.0 == a.0 || c.0 == b.0);
        assert_eq!(pool.len(), 2, "a slot let go of is handed out again");
    }

    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn an_outcome_nobody_collected_drops_with_its_slot() {
        let drops = Arc::new(AtomicUsize::new(0));
        let own = Slot::new();
        {
            let mut pool = SlotPool::new();
            pool.set_first(SlotRef::new(&own));
            let first = pool.take(0);
            let made = pool.take(0);
            first.complete(Outcome::Value(Counted(drops.clone())));
            made.complete(Outcome::Value(Counted(drops.clone())));
            // Neither waiter collects (a forgotten future): the pool's own slot drops its
            // value with the pool, the channel's slot with the channel.
        }
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        drop(own);
        assert_eq!(drops.load(Ordering::Relaxed), 2);
    }
}
