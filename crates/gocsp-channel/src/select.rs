//! The select engine: Go's `selectgo` over cancel-safe futures.
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
//!    `biased`) and *fired*: a receive takes its value; a send takes a [`Permit`] (a buffer
//!    slot, or a claimed receiver on an unbuffered channel), and the caller evaluates the value
//!    and sends through the permit only after the select returned. If none is ready the select
//!    takes `default`, or registers an entry in every channel and waits.
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

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

use smallvec::SmallVec;

use crate::blocking;
use crate::chan::{Wakes, RECV_MAYBE, SEND_MAYBE};
use crate::coop;
use crate::error::SendError;
use crate::hook::{self, Op};
use crate::loom::Arc;
use crate::waiters::{Outcome, Signal, SignalState, Who};
use crate::{Permit, Receiver, Sender};

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

/// A `recv(rx)` case.
pub struct RecvCase<'a, T> {
    rx: Option<&'a Receiver<T>>,
    reg: Option<u64>,
    out: Option<Option<T>>,
}

impl<'a, T> RecvCase<'a, T> {
    /// A receive case on `rx`; `None` is Go's nil channel (never ready).
    pub fn new(rx: Option<&'a Receiver<T>>) -> Self {
        RecvCase {
            rx,
            reg: None,
            out: None,
        }
    }

    /// The received value (`None`: closed and drained) once this case fired.
    ///
    /// # Panics
    /// If the case did not fire.
    pub fn take(&mut self) -> Option<T> {
        self.out
            .take()
            .expect("RecvCase::take on a case that did not fire")
    }
}

impl<T> imp::CaseImpl for RecvCase<'_, T> {
    fn idle_hint(&self) -> Option<u64> {
        let Some(rx) = self.rx else { return Some(0) };
        rx.chan.state.idle_hint(RECV_MAYBE)
    }
    fn kind(&self) -> Kind {
        match self.rx {
            Some(rx) => Kind::Chan(Arc::as_ptr(&rx.chan) as *const u8 as usize),
            None => Kind::Nil,
        }
    }
    fn lock(&self) {
        if let Some(rx) = self.rx {
            rx.chan.state.raw_lock();
        }
    }
    fn check_bubble(&self) {
        if let Some(rx) = self.rx {
            rx.chan.check_bubble();
        }
    }
    fn bubble(&self) -> Option<u32> {
        self.rx.map(|rx| rx.chan.bubble)
    }
    unsafe fn unlock(&self) {
        if let Some(rx) = self.rx {
            // SAFETY: the caller locked this channel with `lock` (this method's contract).
            unsafe { rx.chan.state.raw_unlock() }
        }
    }
    unsafe fn arm_hint(&self) {
        if let Some(rx) = self.rx {
            // SAFETY: the caller holds the lock, and this reference ends with this call.
            unsafe { rx.chan.state.locked_mut() }.arm_hint();
        }
    }
    unsafe fn ready(&self) -> bool {
        let Some(rx) = self.rx else { return false };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { rx.chan.state.locked_mut() };
        st.recv_ready()
    }
    unsafe fn fire(&mut self, sig: &mut SigSlot, case: usize, wakes: &mut Wakes) -> Fire {
        let Some(rx) = self.rx else {
            return Fire::NotReady;
        };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { rx.chan.state.locked_mut() };
        if let Some(id) = self.reg.take() {
            st.remove_recv(id);
        }
        if let Some(v) = st.try_take(wakes) {
            self.out = Some(Some(v));
            return Fire::Done;
        }
        if st.drained() {
            self.out = Some(None);
            return Fire::Done;
        }
        // The signal is fetched (perhaps made) only if a lazy sender is granted this case.
        let who = || Who::Select {
            sig: sig.get().clone(),
            case,
        };
        match st.commit_recv(who, wakes) {
            Some(id) => {
                self.reg = Some(id);
                // The owner holds every lock of its select: nobody else can touch the signal.
                sig.get().store(SignalState::Won(case));
                Fire::Committed
            }
            None => Fire::NotReady,
        }
    }
    unsafe fn register(&mut self, sig: &Arc<Signal>, case: usize) {
        let Some(rx) = self.rx else { return };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { rx.chan.state.locked_mut() };
        if let Some(id) = self.reg {
            if st.recv_entry(id).is_some() {
                return;
            }
        }
        self.reg = Some(st.queue_recv(Who::Select {
            sig: sig.clone(),
            case,
        }));
    }
    unsafe fn unregister(&mut self) {
        let (Some(rx), Some(id)) = (self.rx, self.reg.take()) else {
            return;
        };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { rx.chan.state.locked_mut() };
        st.remove_recv(id);
    }
    fn poll_fut(&mut self, _cx: &mut Context<'_>) -> bool {
        false
    }
    fn complete(&mut self, sig: &Signal, case: usize) -> Poll<bool> {
        let (Some(rx), Some(id)) = (self.rx, self.reg) else {
            return Poll::Ready(false);
        };
        let mut st = rx.chan.state.lock();
        match st.take_outcome(id) {
            Some(Outcome::Value(v)) => {
                self.reg = None;
                self.out = Some(Some(v));
                Poll::Ready(true)
            }
            Some(_) => unreachable!("a receiver only gets values"),
            None if sig.state() == SignalState::Won(case) && st.is_claimed(id) => Poll::Pending,
            None => Poll::Ready(false),
        }
    }
    fn undo_win(&mut self, sig: &Signal, case: usize, wakes: &mut Wakes) -> bool {
        let (Some(rx), Some(id)) = (self.rx, self.reg) else {
            return true;
        };
        let mut st = rx.chan.state.lock();
        if sig.state() != SignalState::Won(case) {
            return false;
        }
        st.undo_recv(id, wakes);
        self.reg = None;
        sig.store(SignalState::Cancelled);
        true
    }
    fn cancel(&mut self, wakes: &mut Wakes) {
        let (Some(rx), Some(id)) = (self.rx, self.reg.take()) else {
            return;
        };
        let mut st = rx.chan.state.lock();
        st.undo_recv(id, wakes);
    }
}

/// A `send(tx, value)` case. The value is not part of the case: the select hands out a
/// [`Permit`] and the value is evaluated only if this case fired.
pub struct SendCase<'a, T> {
    tx: Option<&'a Sender<T>>,
    reg: Option<u64>,
    out: Option<Result<Permit<T>, SendError<()>>>,
}

impl<'a, T> SendCase<'a, T> {
    /// A send case on `tx`; `None` is Go's nil channel (never ready).
    pub fn new(tx: Option<&'a Sender<T>>) -> Self {
        SendCase {
            tx,
            reg: None,
            out: None,
        }
    }

    /// The permit to send with (or `Err` if the channel is closed) once this case fired.
    ///
    /// # Panics
    /// If the case did not fire.
    pub fn take(&mut self) -> Result<Permit<T>, SendError<()>> {
        self.out
            .take()
            .expect("SendCase::take on a case that did not fire")
    }
}

/// Completes a fired send case with its value: sends through the permit, or hands the value
/// back if the channel was closed.
///
/// ```
/// use gocsp_channel::__private::complete_send;
/// use gocsp_channel::SendError;
/// assert_eq!(complete_send::<u8>(Err(SendError(())), 7), Err(SendError(7)));
/// ```
pub fn complete_send<T>(p: Result<Permit<T>, SendError<()>>, value: T) -> Result<(), SendError<T>> {
    match p {
        Ok(p) => {
            p.send(value);
            Ok(())
        }
        Err(_) => Err(SendError(value)),
    }
}

impl<T> imp::CaseImpl for SendCase<'_, T> {
    fn idle_hint(&self) -> Option<u64> {
        let Some(tx) = self.tx else { return Some(0) };
        tx.chan.state.idle_hint(SEND_MAYBE)
    }
    fn kind(&self) -> Kind {
        match self.tx {
            Some(tx) => Kind::Chan(Arc::as_ptr(&tx.chan) as *const u8 as usize),
            None => Kind::Nil,
        }
    }
    fn lock(&self) {
        if let Some(tx) = self.tx {
            tx.chan.state.raw_lock();
        }
    }
    fn check_bubble(&self) {
        if let Some(tx) = self.tx {
            tx.chan.check_bubble();
        }
    }
    fn bubble(&self) -> Option<u32> {
        self.tx.map(|tx| tx.chan.bubble)
    }
    unsafe fn unlock(&self) {
        if let Some(tx) = self.tx {
            // SAFETY: the caller locked this channel with `lock` (this method's contract).
            unsafe { tx.chan.state.raw_unlock() }
        }
    }
    unsafe fn arm_hint(&self) {
        if let Some(tx) = self.tx {
            // SAFETY: the caller holds the lock, and this reference ends with this call.
            unsafe { tx.chan.state.locked_mut() }.arm_hint();
        }
    }
    unsafe fn ready(&self) -> bool {
        let Some(tx) = self.tx else { return false };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { tx.chan.state.locked_mut() };
        st.send_ready()
    }
    unsafe fn fire(&mut self, _sig: &mut SigSlot, _case: usize, _wakes: &mut Wakes) -> Fire {
        let Some(tx) = self.tx else {
            return Fire::NotReady;
        };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { tx.chan.state.locked_mut() };
        if let Some(id) = self.reg.take() {
            st.remove_send(id);
        }
        if st.is_closed() {
            self.out = Some(Err(SendError(())));
            return Fire::Done;
        }
        match st.try_reserve() {
            Some(g) => {
                self.out = Some(Ok(Permit::new(tx.chan.clone(), g)));
                Fire::Done
            }
            None => Fire::NotReady,
        }
    }
    unsafe fn register(&mut self, sig: &Arc<Signal>, case: usize) {
        let Some(tx) = self.tx else { return };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { tx.chan.state.locked_mut() };
        if let Some(id) = self.reg {
            if st.send_entry(id).is_some() {
                return;
            }
        }
        self.reg = Some(st.queue_send(
            None,
            Who::Select {
                sig: sig.clone(),
                case,
            },
        ));
    }
    unsafe fn unregister(&mut self) {
        let (Some(tx), Some(id)) = (self.tx, self.reg.take()) else {
            return;
        };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { tx.chan.state.locked_mut() };
        st.remove_send(id);
    }
    fn poll_fut(&mut self, _cx: &mut Context<'_>) -> bool {
        false
    }
    fn complete(&mut self, _sig: &Signal, _case: usize) -> Poll<bool> {
        let (Some(tx), Some(id)) = (self.tx, self.reg) else {
            return Poll::Ready(false);
        };
        let mut st = tx.chan.state.lock();
        let grant = match st.take_outcome(id) {
            Some(Outcome::Slot) => crate::chan::Grant::Slot,
            Some(Outcome::Claim(rid)) => crate::chan::Grant::Claim(rid),
            Some(_) => unreachable!("a lazy sender is only granted"),
            None => return Poll::Ready(false),
        };
        drop(st);
        self.reg = None;
        self.out = Some(Ok(Permit::new(tx.chan.clone(), grant)));
        Poll::Ready(true)
    }
    fn undo_win(&mut self, sig: &Signal, case: usize, wakes: &mut Wakes) -> bool {
        let (Some(tx), Some(id)) = (self.tx, self.reg) else {
            return true;
        };
        let mut st = tx.chan.state.lock();
        if sig.state() != SignalState::Won(case) {
            return false;
        }
        st.undo_lazy_send(id, wakes);
        self.reg = None;
        sig.store(SignalState::Cancelled);
        true
    }
    fn cancel(&mut self, wakes: &mut Wakes) {
        let (Some(tx), Some(id)) = (self.tx, self.reg.take()) else {
            return;
        };
        let mut st = tx.chan.state.lock();
        st.undo_lazy_send(id, wakes);
    }
}

/// A `fut(future)` case.
pub struct FutCase<'a, F: Future> {
    fut: Option<Pin<&'a mut F>>,
    out: Option<F::Output>,
}

impl<'a, F: Future> FutCase<'a, F> {
    /// A case that fires when `fut` completes; `None` never fires.
    pub fn new(fut: Option<Pin<&'a mut F>>) -> Self {
        FutCase { fut, out: None }
    }

    /// The future's output once this case fired.
    ///
    /// # Panics
    /// If the case did not fire.
    pub fn take(&mut self) -> F::Output {
        self.out
            .take()
            .expect("FutCase::take on a case that did not fire")
    }
}

impl<F: Future> imp::CaseImpl for FutCase<'_, F> {
    fn idle_hint(&self) -> Option<u64> {
        if self.fut.is_some() {
            None
        } else {
            Some(0)
        }
    }
    fn kind(&self) -> Kind {
        if self.fut.is_some() {
            Kind::Fut
        } else {
            Kind::Nil
        }
    }
    fn lock(&self) {}
    unsafe fn unlock(&self) {}
    unsafe fn ready(&self) -> bool {
        false
    }
    unsafe fn fire(&mut self, _: &mut SigSlot, _: usize, _: &mut Wakes) -> Fire {
        Fire::NotReady
    }
    unsafe fn register(&mut self, _: &Arc<Signal>, _: usize) {}
    unsafe fn unregister(&mut self) {}
    fn poll_fut(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(f) = self.fut.as_mut() else {
            return false;
        };
        match f.as_mut().poll(cx) {
            Poll::Ready(v) => {
                self.out = Some(v);
                self.fut = None;
                true
            }
            Poll::Pending => false,
        }
    }
    fn complete(&mut self, _: &Signal, _: usize) -> Poll<bool> {
        Poll::Ready(false)
    }
    fn undo_win(&mut self, _: &Signal, _: usize, _: &mut Wakes) -> bool {
        true
    }
    fn cancel(&mut self, _: &mut Wakes) {}
}

/// Accepted forms of a `recv(..)` case's channel argument.
#[diagnostic::on_unimplemented(
    message = "`recv(..)` expects a channel receiver, found `{Self}`",
    label = "not a `Receiver<T>`",
    note = "accepted: `Receiver<T>`, `&Receiver<T>`, `Option<Receiver<T>>`, `Option<&Receiver<T>>` (None is a nil channel)"
)]
pub trait AsRecv<T> {
    /// The receiver, or `None` for a nil channel.
    fn as_recv(&self) -> Option<&Receiver<T>>;
}

impl<T> AsRecv<T> for Receiver<T> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}
impl<T> AsRecv<T> for &Receiver<T> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}
impl<T> AsRecv<T> for &mut Receiver<T> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}
impl<T> AsRecv<T> for Option<Receiver<T>> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        self.as_ref()
    }
}
impl<T> AsRecv<T> for Option<&Receiver<T>> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        *self
    }
}
impl<T> AsRecv<T> for &Option<Receiver<T>> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        self.as_ref()
    }
}

/// Accepted forms of a `send(..)` case's channel argument.
#[diagnostic::on_unimplemented(
    message = "`send(..)` expects a channel sender, found `{Self}`",
    label = "not a `Sender<T>`",
    note = "accepted: `Sender<T>`, `&Sender<T>`, `Option<Sender<T>>`, `Option<&Sender<T>>` (None is a nil channel)"
)]
pub trait AsSend<T> {
    /// The sender, or `None` for a nil channel.
    fn as_send(&self) -> Option<&Sender<T>>;
}

impl<T> AsSend<T> for Sender<T> {
    fn as_send(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}
impl<T> AsSend<T> for &Sender<T> {
    fn as_send(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}
impl<T> AsSend<T> for &mut Sender<T> {
    fn as_send(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}
impl<T> AsSend<T> for Option<Sender<T>> {
    fn as_send(&self) -> Option<&Sender<T>> {
        self.as_ref()
    }
}
impl<T> AsSend<T> for Option<&Sender<T>> {
    fn as_send(&self) -> Option<&Sender<T>> {
        *self
    }
}
impl<T> AsSend<T> for &Option<Sender<T>> {
    fn as_send(&self) -> Option<&Sender<T>> {
        self.as_ref()
    }
}

// ---------------------------------------------------------------------------------------------
// The engine.

/// Up to this many cases the engine works in fixed arrays on the stack.
const INLINE: usize = 8;

/// Case indices with their channel's address, inline up to `INLINE` (no allocation for the
/// selects people write).
type Indices = SmallVec<[(usize, u32); INLINE]>;

/// Cases found not ready after all during one pass: a bit mask, or a vector past 64 cases.
struct Excluded {
    bits: u64,
    big: Vec<bool>,
}

impl Excluded {
    #[inline]
    fn new(n: usize) -> Self {
        Excluded {
            bits: 0,
            big: if n > 64 { vec![false; n] } else { Vec::new() },
        }
    }
    #[inline]
    fn insert(&mut self, i: usize) {
        if self.big.is_empty() {
            self.bits |= 1 << i;
        } else {
            self.big[i] = true;
        }
    }
    #[inline]
    fn contains(&self, i: usize) -> bool {
        if self.big.is_empty() {
            self.bits & (1 << i) != 0
        } else {
            self.big[i]
        }
    }
}

/// Sorts a select's lock order: an inline insertion sort for the few cases a select has (the
/// library sort is an out-of-line call that costs more than sorting two to eight entries).
#[inline]
fn sort_small(v: &mut [(usize, u32)]) {
    if v.len() > INLINE {
        v.sort_unstable();
        return;
    }
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

fn random_below(n: usize) -> usize {
    #[cfg(loom)]
    {
        let _ = n;
        0
    }
    #[cfg(not(loom))]
    {
        fastrand::usize(..n)
    }
}

/// A select's signal, created on first need: a select that fires at once, or takes `default`,
/// never allocates or touches a waker.
pub(crate) struct SigSlot(Option<Arc<Signal>>);

impl SigSlot {
    pub(crate) fn get(&mut self) -> &Arc<Signal> {
        self.0.get_or_insert_with(new_signal)
    }
}

enum PassResult {
    Fired(usize),
    Committed,
    Default,
    Registered,
}

thread_local! {
    static POOL: std::cell::RefCell<Vec<Arc<Signal>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn new_signal() -> Arc<Signal> {
    #[cfg(not(loom))]
    if let Some(s) = POOL.with(|p| p.borrow_mut().pop()) {
        return s;
    }
    Arc::new(Signal::new())
}

fn recycle_signal(sig: Arc<Signal>) {
    // Only a signal nobody else holds may be reused: a channel that still has it (an entry not
    // yet removed, a wake in flight) could otherwise complete the wrong select.
    #[cfg(not(loom))]
    if Arc::strong_count(&sig) == 1 {
        sig.reset();
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < 16 {
                p.push(sig);
            }
        });
    }
    #[cfg(loom)]
    drop(sig);
}

/// Whether `case` certainly cannot fire now: a nil case, or a channel case whose channel's
/// readiness hint says so (one lock-free read: a single channel needs no double collect). A
/// future case is never certainly idle; it must be polled.
///
/// The macros use it for a `select!` of one channel case and `default` — Go compiles those to
/// `selectnbrecv`/`selectnbsend`, which skip `selectgo` — and run the engine only when the
/// case may fire. Monomorphized, so the common "nothing there" answer costs a load and a test.
#[inline]
pub fn certainly_idle<C: Case + ?Sized>(case: &C) -> bool {
    case.kind() != Kind::Fut && case.idle_hint().is_some()
}

/// [`certainly_idle`] for `select!`, charged to tokio's cooperative budget: a loop of
/// `select! { recv(rx) => .., default => .. }` that never finds a value still yields to the
/// other tasks on its worker, rather than starving the one that would send. One unit is charged
/// per `IDLE_PER_UNIT` idle answers (a thread-local count): reading the budget costs more than
/// the answer itself, and a loop still yields after about a thousand idle answers.
pub fn poll_idle<C: Case + ?Sized>(case: &mut C) -> impl Future<Output = bool> + '_ {
    std::future::poll_fn(move |cx| {
        if !certainly_idle(&*case) {
            // Not charged here: the engine's own poll charges the select.
            return Poll::Ready(false);
        }
        let n = IDLE_ANSWERS.get().wrapping_add(1);
        IDLE_ANSWERS.set(n);
        if n % IDLE_PER_UNIT == 0 {
            // Out of budget: yield (the waker is already scheduled); the next poll answers.
            std::task::ready!(coop::poll_proceed(cx)).made_progress();
        }
        Poll::Ready(true)
    })
}

/// Idle answers of [`poll_idle`] per unit of tokio's cooperative budget.
const IDLE_PER_UNIT: u32 = 8;

thread_local! {
    /// Idle answers [`poll_idle`] gave on this thread (wrapping).
    static IDLE_ANSWERS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The future of a select. Resolves to the index of the fired case, or [`SELECT_DEFAULT`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SelectFuture<'a, D: ?Sized + Case> {
    cases: &'a mut [&'a mut D],
    biased: bool,
    has_default: bool,
    has_fut: bool,
    sig: SigSlot,
    /// Entries may be queued (or the signal won) on our behalf.
    registered: bool,
    done: bool,
    site: &'static Location<'static>,
}

/// Runs a select over `cases`. See the module docs for the algorithm.
#[track_caller]
pub fn select<'a>(
    cases: &'a mut [&'a mut (dyn Case + Send + 'a)],
    biased: bool,
    has_default: bool,
) -> SelectFuture<'a, dyn Case + Send + 'a> {
    SelectFuture::new(cases, biased, has_default, Location::caller())
}

/// Runs a select over `cases` on the current OS thread, parking it until a case fires.
///
/// # Panics
/// If called from async code on a tokio runtime thread.
#[track_caller]
pub fn select_blocking<'a>(
    cases: &'a mut [&'a mut (dyn Case + 'a)],
    biased: bool,
    has_default: bool,
) -> usize {
    let site = Location::caller();
    let fut = SelectFuture::new(cases, biased, has_default, site);
    blocking::block_on(fut, Op::Select, site, "select_blocking!", "select!")
}

impl<'a, D: ?Sized + Case + 'a> SelectFuture<'a, D> {
    fn new(
        cases: &'a mut [&'a mut D],
        biased: bool,
        has_default: bool,
        site: &'static Location<'static>,
    ) -> Self {
        let has_fut = cases.iter().any(|c| c.kind() == Kind::Fut);
        SelectFuture {
            cases,
            biased,
            has_default,
            has_fut,
            sig: SigSlot(None),
            registered: false,
            done: false,
            site,
        }
    }

    /// `true` if no case can fire at one instant: every case's hint says idle, twice, with no
    /// change in between. A hint's version changes whenever its bits do, so if both collects
    /// agree, every channel stayed idle from its first read to its second, and all these
    /// intervals contain the end of the first collect: a consistent snapshot, as Go's select
    /// gets by locking every channel (TestNonblockSelectRace). Up to `INLINE` cases only.
    fn all_idle(&self) -> bool {
        let n = self.cases.len();
        if n > INLINE {
            return false;
        }
        let mut first = [0u64; INLINE];
        for (slot, c) in first.iter_mut().zip(self.cases.iter()) {
            match c.idle_hint() {
                Some(h) => *slot = h,
                None => return false,
            }
        }
        self.cases
            .iter()
            .zip(first.iter())
            .all(|(c, &h)| c.idle_hint() == Some(h))
    }

    /// The synctest bubble of the select's channels, for the runtime's report: theirs if they
    /// share one, [`hook::MIXED_BUBBLES`] if not (0 without channel cases).
    fn bubble(&self) -> u32 {
        let mut bubbles = self.cases.iter().filter_map(|c| c.bubble());
        let first = bubbles.next().unwrap_or(0);
        if bubbles.all(|b| b == first) {
            first
        } else {
            hook::MIXED_BUBBLES
        }
    }

    /// Removes every case's entries except `keep`'s, each under its own lock.
    fn cancel_all_except(&mut self, keep: usize) {
        let mut wakes = Wakes::new();
        for (i, c) in self.cases.iter_mut().enumerate() {
            if i != keep {
                c.cancel(&mut wakes);
            }
        }
        wakes.wake_all();
    }

    fn finish(&mut self, idx: usize) -> Poll<usize> {
        self.done = true;
        self.registered = false;
        if let Some(sig) = self.sig.0.take() {
            recycle_signal(sig);
        }
        Poll::Ready(idx)
    }

    /// One pass: futures first, then all channels at one instant.
    fn pass(&mut self, cx: &mut Context<'_>) -> PassResult {
        let n = self.cases.len();
        if self.has_fut {
            // With future cases, walk every case once — in written order under `biased`, else
            // from a random start (tokio's select! rule) — polling futures and checking each
            // channel under its own lock, so no kind of case is preferred over another.
            //
            // Under `biased`, the walk fires a channel case only if it is the first channel case
            // it looks at: after one was found not ready under its own lock, a later one found
            // ready is not a choice the all-locks pass could have made at one instant (the
            // earlier one may have become ready meanwhile). Later channel cases wait for that
            // pass; futures are still polled.
            let start = if self.biased || n == 0 {
                0
            } else {
                random_below(n)
            };
            let mut chan_missed = false;
            for k in 0..n {
                let i = (start + k) % n;
                let is_chan = matches!(self.cases[i].kind(), Kind::Chan(_));
                if is_chan && chan_missed && self.biased {
                    continue;
                }
                if let Some(r) = self.try_alone(i, cx) {
                    return r;
                }
                chan_missed |= is_chan;
            }
        } else if !self.registered && n <= INLINE {
            // First poll (Go's pass 1): look for a ready case in a random order, holding one
            // channel's lock at a time. The first ready case of a uniformly random order is
            // uniform among the ready ones, and each is ready at the instant it is looked at:
            // a choice the all-locks pass could have made. Cheaper than locking every channel
            // when a case is ready, the common case; if none is, the pass below checks again
            // under every lock before registering or taking `default`.
            //
            // Under `biased` only the first case is looked at: a later case found ready after
            // an earlier one was found not ready is not a choice made at one instant (the
            // earlier one may have become ready in between), so it is left to the pass below.
            let mut perm: [u8; INLINE] = std::array::from_fn(|i| i as u8);
            let tries = if self.biased {
                n.min(1)
            } else {
                // Fisher-Yates.
                for i in (1..n).rev() {
                    perm.swap(i, random_below(i + 1));
                }
                n
            };
            for &i in &perm[..tries] {
                if let Some(r) = self.try_alone(usize::from(i), cx) {
                    return r;
                }
            }
        }

        // A select about to wait (or to take `default`) on a synctest bubble's channel from
        // outside that bubble panics here, before any lock is taken.
        for c in self.cases.iter() {
            c.check_bubble();
        }

        // Lock every distinct channel in address order.
        let mut order = Indices::with_capacity(n);
        for (i, c) in self.cases.iter().enumerate() {
            if let Kind::Chan(addr) = c.kind() {
                order.push((addr, i as u32));
            }
        }
        let order = &mut order[..];
        sort_small(order);
        // Declared before the locks are taken, so that while unwinding from a panic under them
        // the locks are released before the wakers are dropped.
        let mut wakes = Wakes::new();
        let mut locked = AllLocked::lock(&mut *self.cases, order);
        if self.has_default {
            // Next time, `all_idle` may answer without these locks.
            for &(_, i) in order.iter() {
                locked.arm_hint(i as usize);
            }
        }

        let mut excluded = Excluded::new(n);
        let result = 'choose: loop {
            // Ready cases: count them and find the first in written order.
            let mut ready = 0usize;
            let mut first = usize::MAX;
            for &(_, i) in order.iter() {
                let i = i as usize;
                if locked.is_candidate(i, &excluded) {
                    ready += 1;
                    first = first.min(i);
                }
            }
            if ready == 0 {
                break 'choose None;
            }
            let pick = if self.biased || ready == 1 {
                first
            } else {
                // The j-th ready case in written order: uniform among the ready ones.
                let mut j = random_below(ready);
                let mut pick = first;
                for i in first..n {
                    if matches!(locked.kind(i), Kind::Chan(_)) && locked.is_candidate(i, &excluded)
                    {
                        if j == 0 {
                            pick = i;
                            break;
                        }
                        j -= 1;
                    }
                }
                pick
            };
            match locked.fire(pick, &mut self.sig, &mut wakes) {
                Fire::Done => break 'choose Some((pick, false)),
                Fire::Committed => break 'choose Some((pick, true)),
                Fire::NotReady => excluded.insert(pick),
            }
        };

        let out = match result {
            Some((i, committed)) => {
                if self.registered {
                    for j in 0..n {
                        if j != i {
                            locked.unregister(j);
                        }
                    }
                }
                if committed {
                    // Before unlocking: the sender we committed to wakes this waker.
                    self.sig.get().set_waker(cx.waker());
                    PassResult::Committed
                } else {
                    PassResult::Fired(i)
                }
            }
            // A select with a default never registers, so there is nothing to take back.
            None if self.has_default => PassResult::Default,
            None => {
                let sig = self.sig.get().clone();
                // Register the waker before any channel can see the entries ("register,
                // then check again": the checks above ran under the same locks).
                sig.set_waker(cx.waker());
                // Queue order decides which case a later peer completes when several share a
                // channel: start at a random case unless biased (Go: TestPseudoRandomSend).
                let start = if self.biased || n == 0 {
                    0
                } else {
                    random_below(n)
                };
                for k in 0..n {
                    let j = (start + k) % n;
                    locked.register(j, &sig);
                }
                // Still under every lock: from here on channels may select us.
                sig.store(SignalState::Waiting);
                PassResult::Registered
            }
        };

        drop(locked);
        wakes.wake_all();
        out
    }

    /// Tries case `i` on its own: polls a future case; fires a channel case if it is ready,
    /// under its channel's lock alone. A registered select never meets its own queue entries
    /// here: while it polls, its signal is not `Waiting`, so they are not live.
    fn try_alone(&mut self, i: usize, cx: &mut Context<'_>) -> Option<PassResult> {
        match self.cases[i].kind() {
            Kind::Fut => return self.cases[i].poll_fut(cx).then_some(PassResult::Fired(i)),
            Kind::Nil => return None,
            Kind::Chan(_) => {}
        }
        let mut wakes = Wakes::new();
        let mut locked = OneLocked::lock(&mut *self.cases[i]);
        let fired = if locked.ready() {
            locked.fire(i, &mut self.sig, &mut wakes)
        } else {
            Fire::NotReady
        };
        if fired == Fire::Committed {
            // Before unlocking: the sender we committed to wakes this waker.
            self.sig.get().set_waker(cx.waker());
        }
        drop(locked);
        wakes.wake_all();
        match fired {
            Fire::Done => Some(PassResult::Fired(i)),
            Fire::Committed => {
                self.cancel_all_except(i);
                Some(PassResult::Committed)
            }
            Fire::NotReady => None,
        }
    }
}

/// The locks of a pass: those of every distinct channel of the select's channel cases, taken
/// in address order (Go's `sellock`) and released in the reverse order when the guard drops —
/// at the end of the pass, or while unwinding from a panic under them (a waker's `clone` is
/// user code, and runs under these locks), so a panic never leaves a channel locked. Taking a
/// lock never panics, so the guard covers every lock it took.
///
/// While it lives, the case methods that need their channel's lock are called through it.
struct AllLocked<'g, 'a, D: ?Sized + Case> {
    cases: &'g mut [&'a mut D],
    /// `(channel address, case index)` of every channel case, sorted by address.
    order: &'g [(usize, u32)],
}

impl<'g, 'a, D: ?Sized + Case> AllLocked<'g, 'a, D> {
    /// Locks each distinct channel of `order` (sorted by address) once.
    #[inline]
    fn lock(cases: &'g mut [&'a mut D], order: &'g [(usize, u32)]) -> Self {
        let mut prev = 0usize;
        for &(addr, i) in order {
            if addr != prev {
                cases[i as usize].lock();
                prev = addr;
            }
        }
        AllLocked { cases, order }
    }

    #[inline]
    fn kind(&self, i: usize) -> Kind {
        self.cases[i].kind()
    }

    /// A channel case `i`, not excluded, ready now.
    #[inline]
    fn is_candidate(&self, i: usize, excluded: &Excluded) -> bool {
        if excluded.contains(i) {
            return false;
        }
        // SAFETY: the guard holds the lock of every channel case (a case without a channel
        // needs none).
        unsafe { self.cases[i].ready() }
    }

    #[inline]
    fn arm_hint(&self, i: usize) {
        // SAFETY: the guard holds the lock of every channel case.
        unsafe { self.cases[i].arm_hint() }
    }

    #[inline]
    fn fire(&mut self, i: usize, sig: &mut SigSlot, wakes: &mut Wakes) -> Fire {
        // SAFETY: the guard holds the lock of every channel case.
        unsafe { self.cases[i].fire(sig, i, wakes) }
    }

    #[inline]
    fn register(&mut self, i: usize, sig: &Arc<Signal>) {
        // SAFETY: the guard holds the lock of every channel case.
        unsafe { self.cases[i].register(sig, i) }
    }

    #[inline]
    fn unregister(&mut self, i: usize) {
        // SAFETY: the guard holds the lock of every channel case.
        unsafe { self.cases[i].unregister() }
    }
}

impl<D: ?Sized + Case> Drop for AllLocked<'_, '_, D> {
    #[inline]
    fn drop(&mut self) {
        let mut prev = 0usize;
        for &(addr, i) in self.order.iter().rev() {
            if addr != prev {
                // SAFETY: `lock` took this channel's lock once, on this thread, and no reference
                // from `locked_mut` outlives the case method that made it.
                unsafe { self.cases[i as usize].unlock() };
                prev = addr;
            }
        }
    }
}

/// The lock of one channel case (the first poll's walk), released when the guard drops, on a
/// panic too (as [`AllLocked`]).
struct OneLocked<'g, D: ?Sized + Case> {
    case: &'g mut D,
}

impl<'g, D: ?Sized + Case> OneLocked<'g, D> {
    #[inline]
    fn lock(case: &'g mut D) -> Self {
        case.lock();
        OneLocked { case }
    }

    #[inline]
    fn ready(&self) -> bool {
        // SAFETY: the guard holds the case's lock.
        unsafe { self.case.ready() }
    }

    #[inline]
    fn fire(&mut self, i: usize, sig: &mut SigSlot, wakes: &mut Wakes) -> Fire {
        // SAFETY: the guard holds the case's lock.
        unsafe { self.case.fire(sig, i, wakes) }
    }
}

impl<D: ?Sized + Case> Drop for OneLocked<'_, D> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: `lock` took this channel's lock on this thread, and no reference from
        // `locked_mut` outlives the case method that made it.
        unsafe { self.case.unlock() }
    }
}

impl<'a, D: ?Sized + Case + 'a> Future for SelectFuture<'a, D> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        assert!(!this.done, "select future polled after completion");
        let coop = std::task::ready!(coop::poll_proceed(cx));

        // Non-blocking select: if every case is certainly idle at one instant, take `default`
        // without locking anything (Go's lock-free `selectnbrecv` fast path, extended to
        // several cases by a double collect of the channels' hint words).
        if !this.registered && this.has_default && !this.has_fut && this.all_idle() {
            coop.made_progress();
            return this.finish(SELECT_DEFAULT);
        }

        if this.registered {
            // A borrow of the signal field, not a clone: this runs on every wake-up.
            let sig: &Signal = this.sig.get();
            sig.set_waker(cx.waker());
            loop {
                if let Some(i) = sig.selected() {
                    match this.cases[i].complete(sig, i) {
                        Poll::Ready(true) => {
                            this.cancel_all_except(i);
                            coop.made_progress();
                            hook::progressed();
                            return this.finish(i);
                        }
                        Poll::Pending => {
                            hook::blocked_on(Op::Select, this.site, this.bubble());
                            return Poll::Pending;
                        }
                        Poll::Ready(false) => continue,
                    }
                }
                if !this.has_fut && !sig.is_poked() {
                    hook::blocked_on(Op::Select, this.site, this.bubble());
                    return Poll::Pending;
                }
                match sig.try_begin_poll() {
                    Ok(()) => break,
                    Err(_) => continue,
                }
            }
            sig.take_poke();
        } else if let Some(sig) = &this.sig.0 {
            sig.store(SignalState::Polling);
            sig.take_poke();
        }

        match this.pass(cx) {
            PassResult::Fired(i) => {
                if this.registered {
                    this.cancel_all_except(i);
                }
                coop.made_progress();
                hook::progressed();
                this.finish(i)
            }
            PassResult::Default => {
                coop.made_progress();
                this.finish(SELECT_DEFAULT)
            }
            PassResult::Committed | PassResult::Registered => {
                this.registered = true;
                hook::blocked_on(Op::Select, this.site, this.bubble());
                Poll::Pending
            }
        }
    }
}

impl<'a, D: ?Sized + Case + 'a> Drop for SelectFuture<'a, D> {
    fn drop(&mut self) {
        if self.done || !self.registered {
            return;
        }
        let Some(sig) = self.sig.0.take() else { return };
        let mut wakes = Wakes::new();
        loop {
            match sig.try_cancel() {
                Ok(()) => break,
                // Undone under that case's channel lock, unless the channel gave the win back
                // meanwhile (the signal is `Waiting` again): then cancel again.
                Err(SignalState::Won(i)) => {
                    if self.cases[i].undo_win(&sig, i, &mut wakes) {
                        break;
                    }
                }
                // `Polling` (a pass that panicked) or `Cancelled`: only the owner sets these.
                Err(s) => {
                    debug_assert!(s != SignalState::Waiting);
                    break;
                }
            }
        }
        for c in self.cases.iter_mut() {
            c.cancel(&mut wakes);
        }
        wakes.wake_all();
        recycle_signal(sig);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{sort_small, INLINE};

    #[test]
    fn the_lock_order_is_sorted_for_every_size() {
        for n in 0..=INLINE + 3 {
            for seed in 0..50u64 {
                let mut rng = fastrand::Rng::with_seed(seed);
                // Few distinct addresses, so equal channels (one locked once) occur often.
                let mut v: Vec<(usize, u32)> =
                    (0..n).map(|i| (rng.usize(0..4) * 64, i as u32)).collect();
                let mut want = v.clone();
                want.sort_unstable();
                sort_small(&mut v);
                assert_eq!(v, want, "n = {n}, seed {seed}");
            }
        }
    }
}
