//! The channel: one state machine for every capacity, under one lock (Go's `hchan`).
//!
//! Capacity changes only a few rules (see [`Cap`]): whether a value may wait in the buffer, and
//! whether a lazy sender is granted a buffer *slot* or a *receiver*. Everything else — FIFO
//! queues of waiters, close, the cancellation rules — is shared, so it is written once.
//!
//! `State`'s fields are private to this file: the operations (`ops.rs`), the handles and the
//! select engine change a channel only through `State`'s methods, so the invariants below are
//! kept here, and each wait queue is a [`WaitQueue`] (`queue.rs`), which alone orders its
//! entries.
//!
//! Invariants (checked by the tests and loom models):
//! - A `Task` entry in `recvq`/`sendq`/`claimed` belongs to a live future or blocked thread.
//! - A receiver waits in `recvq` only while `buf` is empty; a value in `buf` never coexists
//!   with a live waiting receiver once the lock is released.
//! - `reserved` counts permits holding a buffer slot; `buf.len() + reserved <= cap` except for
//!   values given back by a dropped receiver (see [`State::rescue`]), which go to the front.
//! - Every value is in exactly one place: a sender's future, `buf`, a `sendq` entry,
//!   a waiter's `Slot` (completed, not yet collected), or a receiver's hands.
//! - A waiter's `Slot` is completed only by the party that has just removed its entry from
//!   its queue, under the lock, so at most once per wait; a completed slot's entry is in no
//!   queue, and its waiter collects the outcome without the lock.

use std::collections::VecDeque;

use crate::lock::{Hinted, Lock};
use crate::loom::{AtomicBool, AtomicUsize, Ordering};
use crate::queue::WaitQueue;
use crate::waiters::{
    Outcome, RecvWaiter, SendWaiter, Signal, SignalState, Slot, SlotPool, SlotRef, Who,
};

/// Channel capacity, the only difference between Go's channel flavours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cap {
    /// `make(chan T)`: no buffer; a value passes from sender to receiver directly.
    Zero,
    /// `make(chan T, n)`, `n > 0`.
    Bounded(usize),
    /// No limit.
    Unbounded,
}

impl Cap {
    /// The capacity of `make(chan T, capacity)`.
    pub(crate) fn of(capacity: usize) -> Cap {
        if capacity == 0 {
            Cap::Zero
        } else {
            Cap::Bounded(capacity)
        }
    }
}

pub(crate) struct Chan<T> {
    pub(crate) state: Lock<State<T>>,
    pub(crate) cap: Cap,
    pub(crate) senders: AtomicUsize,
    pub(crate) receivers: AtomicUsize,
    /// Mirrors `State::closed` for lock-free `is_closed`. Written under the lock.
    closed: AtomicBool,
    /// The synctest bubble the channel was created in (`hook::bubble`), 0 if none.
    pub(crate) bubble: u32,
    /// The pool's first waiter slot, in the channel's own allocation (outside the lock: a
    /// waiter reads its slot without it). See [`Chan::init`].
    slot0: Slot<T>,
}

pub(crate) struct State<T> {
    /// The channel's capacity (a copy of `Chan::cap`, for the hint and for code that holds
    /// only the guard).
    cap: Cap,
    /// The synctest bubble of the channel (a copy of `Chan::bubble`, for the slow paths, which
    /// hold only the guard).
    bubble: u32,
    buf: VecDeque<T>,
    /// Buffer slots promised to permits that have not sent yet.
    reserved: usize,
    recvq: WaitQueue<RecvWaiter<T>>,
    sendq: WaitQueue<SendWaiter<T>>,
    /// Receivers of an unbuffered channel promised to a permit, waiting for its value.
    claimed: WaitQueue<RecvWaiter<T>>,
    /// The waiter slots: each one handed out is shared by an entry and its waiter, and is
    /// handed out again once the waiter lets go of it.
    slots: SlotPool<T>,
    closed: bool,
    /// Every receiver is gone (set under the lock by `disconnect_receivers`): values that still
    /// arrive through permits are handed back to be dropped.
    disconnected: bool,
    next_id: u64,
    /// A non-blocking operation has asked for the readiness hint: keep it up to date from then
    /// on (see `Lock`: computing it at every unlock is a noticeable share of a buffered send +
    /// receive, which channels that only block never need).
    hint_armed: bool,
}

/// A registered wait, as its waiter holds it: the entry's id (to find the entry again under
/// the lock) and the slot its outcome is handed to (to collect it without the lock).
///
/// Every path that ends a wait lets go of the slot ([`Waiting::release`],
/// [`Waiting::clear`]) once the entry is in no queue and the outcome is collected or given
/// back; one that did not would only keep the slot out of the pool.
pub(crate) struct Waiting<T> {
    pub(crate) id: u64,
    slot: SlotRef<T>,
}

impl<T> Waiting<T> {
    fn new(id: u64, slot: SlotRef<T>) -> Self {
        Waiting { id, slot }
    }

    /// The outcome, if the wait completed: one atomic load, no lock.
    #[inline]
    pub(crate) fn outcome(&self) -> Option<Outcome<T>> {
        self.slot.take()
    }

    /// Lets go of the slot: the wait is over (the pool may hand the slot out again).
    #[inline]
    pub(crate) fn release(self) {
        self.slot.release();
    }

    /// Releases the wait in `w`, if any.
    #[inline]
    pub(crate) fn clear(w: &mut Option<Self>) {
        if let Some(w) = w.take() {
            w.release();
        }
    }
}

/// What a lazy sender was granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Grant {
    /// One buffer slot, counted in `reserved`.
    Slot,
    /// The waiting receiver with this id, now in `claimed`.
    Claim(u64),
}

/// Wake-ups collected under the lock and delivered after it is released.
pub(crate) struct Wakes {
    one: Option<Who>,
    more: Vec<Who>,
}

impl Wakes {
    pub(crate) fn new() -> Self {
        Wakes {
            one: None,
            more: Vec::new(),
        }
    }
    pub(crate) fn push(&mut self, who: Who) {
        if self.one.is_none() {
            self.one = Some(who);
        } else {
            self.more.push(who);
        }
    }
    fn push_poke(&mut self, sig: crate::loom::Arc<Signal>) {
        // A poke is a wake that also asks the select to look again.
        sig.set_poked();
        self.push(Who::Select { sig, case: 0 });
    }
    /// Wakes everyone. Call after the channel lock is released.
    ///
    /// Most operations wake nobody: that case is a single test, inlined into the caller.
    #[inline(always)]
    pub(crate) fn wake_all(self) {
        // `more` fills only after `one`, so an empty `one` means nothing to wake and nothing
        // allocated: skip the (out-of-line) drop glue.
        if self.one.is_some() {
            self.wake_some();
        } else {
            std::mem::forget(self);
        }
    }

    #[inline(never)]
    fn wake_some(self) {
        let Wakes { one, more } = self;
        if let Some(w) = one {
            w.wake();
        }
        if more.capacity() == 0 {
            // Nothing allocated: no drop glue to run.
            std::mem::forget(more);
        } else {
            for w in more {
                w.wake();
            }
        }
    }
}

impl<T> Chan<T> {
    /// A channel of capacity `cap` in synctest bubble `bubble` (0: none).
    pub(crate) fn new(cap: Cap, bubble: u32) -> Self {
        let buf = match cap {
            Cap::Bounded(n) => VecDeque::with_capacity(n.min(1024)),
            _ => VecDeque::new(),
        };
        Chan {
            state: Lock::new(State {
                cap,
                bubble,
                buf,
                reserved: 0,
                recvq: WaitQueue::new(),
                sendq: WaitQueue::new(),
                claimed: WaitQueue::new(),
                slots: SlotPool::new(),
                closed: false,
                disconnected: false,
                hint_armed: false,
                next_id: 1,
            }),
            cap,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            closed: AtomicBool::new(false),
            bubble,
            slot0: Slot::new(),
        }
    }

    /// Hands the channel's own slot to its pool, once the channel has its final address (in
    /// its `Arc`), before any handle exists. A channel whose waits never overlap then never
    /// allocates a slot.
    pub(crate) fn init(&self) {
        let slot0 = SlotRef::new(&self.slot0);
        self.state.lock().slots.set_first(slot0);
    }

    /// Panics if this channel belongs to a synctest bubble and the caller runs outside it (Go
    /// panics the same way): a goroutine outside the bubble could wake one the bubble counts as
    /// durably blocked. One compare for a channel of no bubble.
    #[inline(always)]
    pub(crate) fn check_bubble(&self) {
        if self.bubble != 0 {
            outside_bubble(self.bubble);
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the channel. Returns `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        let mut wakes = Wakes::new();
        let closed = {
            let mut st = self.state.lock();
            let c = st.close(&mut wakes);
            self.closed.store(true, Ordering::Release);
            c
        };
        wakes.wake_all();
        closed
    }

    /// The last receiver is gone: close, and drop the buffered values (outside the lock, as
    /// their `Drop` may use channels).
    pub(crate) fn disconnect_receivers(&self) {
        let mut wakes = Wakes::new();
        let buf = {
            let mut st = self.state.lock();
            st.close(&mut wakes);
            st.disconnected = true;
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut st.buf)
        };
        wakes.wake_all();
        drop(buf);
    }

    pub(crate) fn len(&self) -> usize {
        self.state.lock().buf.len()
    }

    /// [`State::drained`] under the lock: closed, empty, and no permit outstanding.
    pub(crate) fn drained(&self) -> bool {
        self.state.lock().drained()
    }
}

#[cold]
#[inline(never)]
fn outside_bubble(bubble: u32) {
    let here = crate::hook::bubble();
    if here != bubble {
        panic!(
            "gocsp: a channel created in synctest bubble {bubble} used from {}: a bubble's \
             channels belong to its goroutines (Go panics the same way)",
            if here == 0 {
                "outside any bubble".to_string()
            } else {
                format!("bubble {here}")
            }
        );
    }
}

/// Hint bit: a receive might complete now.
pub(crate) const RECV_MAYBE: u64 = 1;
/// Hint bit: a send might complete now.
pub(crate) const SEND_MAYBE: u64 = 2;

impl<T> Hinted for State<T> {
    /// Conservative readiness, readable without the lock by non-blocking operations (Go's
    /// lock-free fast path of `selectnbrecv`): a bit clear means "certainly not ready".
    #[inline]
    fn hint_bits(&self) -> Option<u64> {
        if !self.hint_armed {
            return None;
        }
        let recv = !self.buf.is_empty() || self.drained() || !self.sendq.is_empty();
        // A waiting receiver takes a value directly, even when every slot is full or reserved.
        let send = self.closed || !self.recvq.is_empty() || self.has_room();
        Some((recv as u64 * RECV_MAYBE) | (send as u64 * SEND_MAYBE))
    }
}

impl<T> State<T> {
    /// [`Chan::check_bubble`] for code that holds only the guard: the slow paths of the
    /// operations, where a waiter is registered, taken or woken.
    #[inline]
    pub(crate) fn check_bubble(&self) {
        if self.bubble != 0 {
            outside_bubble(self.bubble);
        }
    }
}

impl<T> State<T> {
    /// Keeps the readiness hint from the next unlock on. Called under the lock by the
    /// non-blocking operations that read the hint, when they found it unarmed.
    #[inline]
    pub(crate) fn arm_hint(&mut self) {
        self.hint_armed = true;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    fn new_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// A slot for a new waiter, from the channel's pool.
    #[inline]
    fn new_slot(&mut self) -> SlotRef<T> {
        let queued = self.recvq.len() + self.sendq.len() + self.claimed.len();
        self.slots.take(queued)
    }

    fn has_room(&self) -> bool {
        match self.cap {
            Cap::Zero => false,
            Cap::Bounded(n) => self.buf.len() + self.reserved < n,
            Cap::Unbounded => true,
        }
    }

    /// Hands `v` to the first live waiting receiver, or gives it back.
    #[inline]
    fn hand_to_receiver(&mut self, v: T, wakes: &mut Wakes) -> Result<(), T> {
        if self.recvq.is_empty() {
            return Err(v);
        }
        self.hand_to_first_receiver(v, wakes)
    }

    fn hand_to_first_receiver(&mut self, v: T, wakes: &mut Wakes) -> Result<(), T> {
        match self.recvq.claim_first() {
            Some(r) => {
                r.slot.complete(Outcome::Value(v));
                wakes.push(r.who);
                Ok(())
            }
            None => Err(v),
        }
    }

    /// A send that does not wait: to a waiting receiver, else into the buffer if there is room.
    pub(crate) fn try_give(&mut self, v: T, wakes: &mut Wakes) -> Result<(), T> {
        let v = match self.hand_to_receiver(v, wakes) {
            Ok(()) => return Ok(()),
            Err(v) => v,
        };
        if self.has_room() {
            self.buf.push_back(v);
            Ok(())
        } else {
            Err(v)
        }
    }

    /// A slot of the buffer became free: waiting senders fill it, in FIFO order.
    #[inline]
    fn refill(&mut self, wakes: &mut Wakes) {
        if !self.sendq.is_empty() {
            self.refill_from_senders(wakes);
        }
    }

    fn refill_from_senders(&mut self, wakes: &mut Wakes) {
        while self.has_room() {
            let Some(s) = self.sendq.claim_first() else {
                break;
            };
            match s.value {
                Some(v) => {
                    if let Err(v) = self.hand_to_receiver(v, wakes) {
                        self.buf.push_back(v);
                    }
                    s.slot.complete(Outcome::Sent);
                }
                None => {
                    self.reserved += 1;
                    s.slot.complete(Outcome::Slot);
                }
            }
            wakes.push(s.who);
        }
    }

    /// A receive that does not wait: from the buffer, else from a waiting eager sender.
    #[inline]
    pub(crate) fn try_take(&mut self, wakes: &mut Wakes) -> Option<T> {
        if let Some(v) = self.buf.pop_front() {
            self.refill(wakes);
            return Some(v);
        }
        if self.sendq.is_empty() {
            return None;
        }
        self.take_from_sender(wakes)
    }

    fn take_from_sender(&mut self, wakes: &mut Wakes) -> Option<T> {
        // Eager senders wait with their value only when the buffer has no room: always on an
        // unbuffered channel, and on a buffered one whose free slots are all reserved. Eager
        // entries are always `Task`s (select send cases are lazy), so they are live.
        let mut s = self.sendq.remove_first_where(|s| s.value.is_some())?;
        let v = s.value.take();
        s.slot.complete(Outcome::Sent);
        wakes.push(s.who);
        v
    }

    /// Unbuffered only: a receiver with id `rid` is about to wait. If a lazy sender (a
    /// `reserve` or a select send case) waits, grant it this receiver and return `true`; the
    /// caller then puts its entry in `claimed` instead of `recvq`.
    fn grant_to_lazy_sender(&mut self, rid: u64, wakes: &mut Wakes) -> bool {
        match self.sendq.claim_first_where(|s| s.value.is_none()) {
            Some(s) => {
                s.slot.complete(Outcome::Claim(rid));
                wakes.push(s.who);
                true
            }
            None => false,
        }
    }

    /// A receive that waits: registers `who` as a receiver and returns its entry's id and
    /// its slot. On an unbuffered channel a waiting lazy sender is granted it at once (the
    /// entry goes to `claimed`); otherwise it queues in `recvq`.
    #[inline]
    pub(crate) fn wait_recv(&mut self, who: Who, wakes: &mut Wakes) -> Waiting<T> {
        let id = self.new_id();
        let slot = self.new_slot();
        let entry = RecvWaiter { id, who, slot };
        if self.cap == Cap::Zero && self.grant_to_lazy_sender(id, wakes) {
            self.claimed.push_back(entry);
        } else {
            self.recvq.push_back(entry);
        }
        Waiting::new(id, slot)
    }

    /// A select's receive case that waits: queues `who` in `recvq` (never granted here: a
    /// select registers while it holds the lock of every case, after it found none ready).
    pub(crate) fn queue_recv(&mut self, who: Who) -> Waiting<T> {
        let id = self.new_id();
        let slot = self.new_slot();
        self.recvq.push_back(RecvWaiter { id, who, slot });
        Waiting::new(id, slot)
    }

    /// Unbuffered only: a select's receive case commits to a waiting lazy sender, which is
    /// granted the new entry (in `claimed`, with the `who` made by `who`). `None` if no lazy
    /// sender waits, or the channel is buffered.
    pub(crate) fn commit_recv(
        &mut self,
        who: impl FnOnce() -> Who,
        wakes: &mut Wakes,
    ) -> Option<Waiting<T>> {
        if self.cap != Cap::Zero {
            return None;
        }
        let id = self.new_id();
        if !self.grant_to_lazy_sender(id, wakes) {
            return None;
        }
        let slot = self.new_slot();
        self.claimed.push_back(RecvWaiter {
            id,
            who: who(),
            slot,
        });
        Some(Waiting::new(id, slot))
    }

    /// A send that waits: queues `who` in `sendq` with its value (`None`: a lazy sender) and
    /// returns its entry's id and slot.
    #[inline]
    pub(crate) fn queue_send(&mut self, value: Option<T>, who: Who) -> Waiting<T> {
        let id = self.new_id();
        let slot = self.new_slot();
        self.sendq.push_back(SendWaiter {
            id,
            value,
            who,
            slot,
        });
        Waiting::new(id, slot)
    }

    /// Whether receive entry `id` is claimed by a permit and waits for its value.
    pub(crate) fn is_claimed(&self, id: u64) -> bool {
        self.claimed.contains(id)
    }

    /// The fast path of a first receive: a buffered value, when no sender waits to take the
    /// slot it frees (then the slow path refills it).
    #[inline]
    pub(crate) fn take_buffered(&mut self) -> Option<T> {
        if self.sendq.is_empty() {
            self.buf.pop_front()
        } else {
            None
        }
    }

    /// The fast path of a first send may put its value in the buffer: the channel is open, no
    /// receiver waits (it must be handed the value) and there is room.
    #[inline]
    pub(crate) fn can_buffer(&self) -> bool {
        !self.closed && self.recvq.is_empty() && self.has_room()
    }

    /// Buffers `v`; the caller saw [`State::can_buffer`] under this same lock.
    #[inline]
    pub(crate) fn push_buffered(&mut self, v: T) {
        self.buf.push_back(v);
    }

    /// A lazy send that does not wait: a buffer slot, or (unbuffered) a waiting receiver.
    pub(crate) fn try_reserve(&mut self) -> Option<Grant> {
        match self.cap {
            Cap::Zero => {
                let r = self.recvq.claim_first()?;
                let id = r.id;
                self.claimed.push_back(r);
                Some(Grant::Claim(id))
            }
            _ if self.has_room() => {
                self.reserved += 1;
                Some(Grant::Slot)
            }
            _ => None,
        }
    }

    /// Delivers a permit's value. Never fails: a permit's send cannot. If every receiver is
    /// gone the value is handed back to be dropped (outside the lock) — nobody can receive it.
    /// Decided under the lock, so it cannot race the last receiver's disconnect.
    pub(crate) fn fulfil(&mut self, grant: Grant, v: T, wakes: &mut Wakes) -> Option<T> {
        if self.disconnected {
            if grant == Grant::Slot {
                self.reserved -= 1;
            }
            return Some(v);
        }
        self.fulfil_inner(grant, v, wakes);
        None
    }

    fn fulfil_inner(&mut self, grant: Grant, v: T, wakes: &mut Wakes) {
        match grant {
            Grant::Slot => {
                self.reserved -= 1;
                match self.hand_to_receiver(v, wakes) {
                    // Straight to a waiting receiver: the slot this permit held is free again,
                    // and a lazy sender may be waiting for it (soak-test regression).
                    Ok(()) => {
                        self.refill(wakes);
                        self.wake_if_drained(wakes);
                    }
                    Err(v) => self.buf.push_back(v),
                }
            }
            Grant::Claim(rid) => match self.claimed.remove(rid) {
                Some(r) => {
                    r.slot.complete(Outcome::Value(v));
                    wakes.push(r.who);
                }
                // The claimed receiver's future was dropped: the value goes to the next one.
                None => self.rescue(v, wakes),
            },
        }
    }

    /// Gives back a grant that will not be used (a permit dropped unused).
    pub(crate) fn release(&mut self, grant: Grant, wakes: &mut Wakes) {
        match grant {
            Grant::Slot => {
                self.reserved -= 1;
                self.refill(wakes);
                self.wake_if_drained(wakes);
            }
            Grant::Claim(rid) => {
                let Some(r) = self.claimed.remove(rid) else {
                    return; // the receiver left already
                };
                match r.who {
                    // Closed meanwhile: wake it with no outcome; it finds the channel closed
                    // (after draining what is buffered). Never queue a waiter on a closed channel.
                    Who::Task(_) if self.closed => wakes.push(r.who),
                    Who::Task(_) => {
                        // Back to the head of the queue it was taken from, then pair it again
                        // with any sender that arrived meanwhile.
                        let id = r.id;
                        if let Some(v) = self.try_take(wakes) {
                            r.slot.complete(Outcome::Value(v));
                            wakes.push(r.who);
                        } else if self.grant_to_lazy_sender(id, wakes) {
                            self.claimed.push_back(r);
                        } else {
                            self.recvq.push_front(r);
                        }
                    }
                    Who::Select { sig, .. } => {
                        // Un-select it under this lock (the only place a won select goes back
                        // to `Waiting`) and let it run its pass again.
                        sig.store(SignalState::Waiting);
                        wakes.push_poke(sig);
                    }
                }
            }
        }
    }

    /// A value that reached a receiver which then went away: to the next receiver, else to the
    /// front of the buffer (it was sent before anything buffered now).
    fn rescue(&mut self, v: T, wakes: &mut Wakes) {
        if let Err(v) = self.hand_to_receiver(v, wakes) {
            self.buf.push_front(v);
        }
    }

    /// Closed, and nothing more will arrive: the buffer is empty and no permit reserved before
    /// the close still holds a slot (a permit is a send that has begun). A receive then
    /// reports `None`.
    pub(crate) fn drained(&self) -> bool {
        self.closed && self.buf.is_empty() && self.reserved == 0
    }

    /// Wakes every waiting receiver with no outcome: its future looks again and finds the
    /// channel drained. Selects are poked to run their pass again.
    fn wake_receivers(&mut self, wakes: &mut Wakes) {
        for r in self.recvq.take_all() {
            match r.who {
                Who::Task(_) => wakes.push(r.who),
                Who::Select { sig, .. } => {
                    if sig.state() == SignalState::Waiting {
                        wakes.push_poke(sig);
                    }
                }
            }
        }
    }

    /// After a slot permit resolved on a closed channel: if that was the last thing to come,
    /// the receivers still waiting learn that the channel is drained.
    fn wake_if_drained(&mut self, wakes: &mut Wakes) {
        if self.drained() {
            self.wake_receivers(wakes);
        }
    }

    pub(crate) fn close(&mut self, wakes: &mut Wakes) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        // Receivers wait on only while permits reserved before the close are outstanding.
        if self.reserved == 0 {
            self.wake_receivers(wakes);
        }
        for s in self.sendq.take_all() {
            match (s.value, s.who) {
                (Some(v), who) => {
                    s.slot.complete(Outcome::Rejected(v));
                    wakes.push(who);
                }
                (None, Who::Select { sig, .. }) => {
                    if sig.state() == SignalState::Waiting {
                        wakes.push_poke(sig);
                    }
                }
                (None, who) => wakes.push(who),
            }
        }
        true
    }

    /// Would a select's receive case fire now? (Pure; the lock is held.)
    pub(crate) fn recv_ready(&self) -> bool {
        !self.buf.is_empty()
            || self.drained()
            || self
                .sendq
                .any(|s| s.value.is_some() || (self.cap == Cap::Zero && s.who.is_live()))
    }

    /// Would a select's send case fire now? (Pure; the lock is held.)
    pub(crate) fn send_ready(&self) -> bool {
        self.closed
            || match self.cap {
                Cap::Zero => self.recvq.any(|r| r.who.is_live()),
                _ => self.has_room(),
            }
    }

    /// Takes back receive wait `w` (a future or select case that goes away): a value already
    /// handed to its slot goes to the next receiver, or the front of the buffer; else the entry
    /// just leaves its queue (or `claimed`, where the permit that claimed it will find it gone).
    /// Under the lock, so a delivery either completed the slot before this look or finds the
    /// entry gone.
    pub(crate) fn undo_recv(&mut self, w: &Waiting<T>, wakes: &mut Wakes) {
        match w.slot.take() {
            Some(o) => self.rescue(o.into_value(), wakes),
            None => {
                self.remove_recv(w.id);
            }
        }
    }

    /// Takes back lazy send wait `w` (a reserve or select send case that goes away): a slot
    /// or receiver already granted to it is given back; else the entry leaves the queue.
    pub(crate) fn undo_lazy_send(&mut self, w: &Waiting<T>, wakes: &mut Wakes) {
        match w.slot.take() {
            Some(o) => self.release(o.into_grant(), wakes),
            None => {
                self.remove_send(w.id);
            }
        }
    }

    /// The waiting receiver entry with this id (queued or claimed).
    pub(crate) fn recv_entry(&mut self, id: u64) -> Option<&mut RecvWaiter<T>> {
        if let Some(r) = self.recvq.get_mut(id) {
            return Some(r);
        }
        self.claimed.get_mut(id)
    }

    /// Removes receiver entry `id` (queued or claimed) without looking at its outcome.
    pub(crate) fn remove_recv(&mut self, id: u64) -> Option<RecvWaiter<T>> {
        match self.recvq.remove(id) {
            Some(r) => Some(r),
            None => self.claimed.remove(id),
        }
    }

    /// The waiting sender entry with this id.
    pub(crate) fn send_entry(&mut self, id: u64) -> Option<&mut SendWaiter<T>> {
        self.sendq.get_mut(id)
    }

    /// Removes sender entry `id` without looking at its outcome.
    pub(crate) fn remove_send(&mut self, id: u64) -> Option<SendWaiter<T>> {
        self.sendq.remove(id)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{RECV_MAYBE, SEND_MAYBE};
    use crate::select::{select_blocking, RecvCase, SELECT_DEFAULT};
    use crate::{chan, TryRecvError};

    #[test]
    fn the_hint_is_kept_once_a_non_blocking_operation_asks_for_it() {
        let (tx, rx) = chan::<u8>(1);
        tx.send_blocking(1).unwrap();
        assert_eq!(rx.recv_blocking(), Some(1));
        assert_eq!(
            rx.chan.state.hint(),
            None,
            "blocking operations never arm it"
        );

        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        let h = rx.chan.state.hint().expect("try_recv arms the hint");
        assert_eq!(h & (RECV_MAYBE | SEND_MAYBE), SEND_MAYBE);

        // Armed, it follows every change, blocking operations included.
        tx.send_blocking(2).unwrap();
        let h = rx.chan.state.hint().unwrap();
        assert_eq!(
            h & (RECV_MAYBE | SEND_MAYBE),
            RECV_MAYBE,
            "full: receive only"
        );
        assert_eq!(
            rx.try_recv(),
            Ok(2),
            "the fast path did not answer from a stale hint"
        );
        tx.close();
        let h = rx.chan.state.hint().unwrap();
        assert_eq!(h & (RECV_MAYBE | SEND_MAYBE), RECV_MAYBE | SEND_MAYBE);
    }

    #[test]
    fn a_select_with_default_arms_the_hints_of_its_channels() {
        let (_tx, rx) = chan::<u8>(0);
        let (_tx2, rx2) = chan::<u8>(0);
        let (mut a, mut b) = (RecvCase::new(Some(&rx)), RecvCase::new(Some(&rx2)));
        let fired = select_blocking(&mut [&mut a, &mut b], false, true);
        assert_eq!(fired, SELECT_DEFAULT);
        for r in [&rx, &rx2] {
            let h = r.chan.state.hint().expect("the select armed the hint");
            assert_eq!(h & (RECV_MAYBE | SEND_MAYBE), 0, "nothing is ready");
        }
    }
}
