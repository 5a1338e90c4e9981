//! The case types `select!` builds: a receive, a lazy send, a future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::imp::CaseImpl;
use super::{Fire, Kind, SigSlot};
use crate::chan::{Chan, Waiting, Wakes, RECV_MAYBE, SEND_MAYBE};
use crate::error::SendError;
use crate::loom::Arc;
use crate::waiters::{Signal, SignalState, Who};
use crate::{Permit, Receiver, Sender};

/// The parts of `CaseImpl` that a receive case and a send case do alike on their channel
/// (`None`: Go's nil channel, never ready).
mod on_chan {
    use super::{Arc, Chan, Kind};

    pub(super) fn idle_hint<T>(chan: Option<&Arc<Chan<T>>>, maybe: u64) -> Option<u64> {
        chan.map_or(Some(0), |c| c.state.idle_hint(maybe))
    }

    pub(super) fn kind<T>(chan: Option<&Arc<Chan<T>>>) -> Kind {
        match chan {
            Some(c) => Kind::Chan(Arc::as_ptr(c) as *const u8 as usize),
            None => Kind::Nil,
        }
    }

    pub(super) fn lock<T>(chan: Option<&Arc<Chan<T>>>) {
        if let Some(c) = chan {
            c.state.raw_lock();
        }
    }

    pub(super) fn check_bubble<T>(chan: Option<&Arc<Chan<T>>>) {
        if let Some(c) = chan {
            c.check_bubble();
        }
    }

    /// # Safety
    /// The caller locked `chan` with [`lock`].
    pub(super) unsafe fn unlock<T>(chan: Option<&Arc<Chan<T>>>) {
        if let Some(c) = chan {
            // SAFETY: the caller locked this channel (this function's contract).
            unsafe { c.state.raw_unlock() }
        }
    }

    /// # Safety
    /// The caller holds `chan`'s lock.
    pub(super) unsafe fn arm_hint<T>(chan: Option<&Arc<Chan<T>>>) {
        if let Some(c) = chan {
            // SAFETY: the caller holds the lock, and this reference ends with this call.
            unsafe { c.state.locked_mut() }.arm_hint();
        }
    }
}

/// A `recv(rx)` case.
pub struct RecvCase<'a, T> {
    rx: Option<&'a Receiver<T>>,
    reg: Option<Waiting<T>>,
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

impl<T> CaseImpl for RecvCase<'_, T> {
    fn idle_hint(&self) -> Option<u64> {
        on_chan::idle_hint(self.rx.map(|rx| &rx.chan), RECV_MAYBE)
    }
    fn kind(&self) -> Kind {
        on_chan::kind(self.rx.map(|rx| &rx.chan))
    }
    fn lock(&self) {
        on_chan::lock(self.rx.map(|rx| &rx.chan));
    }
    fn check_bubble(&self) {
        on_chan::check_bubble(self.rx.map(|rx| &rx.chan));
    }
    fn bubble(&self) -> Option<u32> {
        self.rx.map(|rx| rx.chan.bubble)
    }
    unsafe fn unlock(&self) {
        // SAFETY: the caller locked this channel with `lock` (this method's contract).
        unsafe { on_chan::unlock(self.rx.map(|rx| &rx.chan)) }
    }
    unsafe fn arm_hint(&self) {
        // SAFETY: the caller holds the lock (this method's contract).
        unsafe { on_chan::arm_hint(self.rx.map(|rx| &rx.chan)) }
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
        if let Some(w) = self.reg.take() {
            st.remove_recv(w.id);
            w.release();
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
            Some(w) => {
                self.reg = Some(w);
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
        if let Some(w) = &self.reg {
            if st.recv_entry(w.id).is_some() {
                return;
            }
        }
        self.reg = Some(st.queue_recv(Who::Select {
            sig: sig.clone(),
            case,
        }));
    }
    unsafe fn unregister(&mut self) {
        let (Some(rx), Some(w)) = (self.rx, self.reg.take()) else {
            return;
        };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { rx.chan.state.locked_mut() };
        st.remove_recv(w.id);
        w.release();
    }
    fn poll_fut(&mut self, _cx: &mut Context<'_>) -> bool {
        false
    }
    fn complete(&mut self, sig: &Signal, case: usize) -> Poll<bool> {
        let (Some(rx), Some(w)) = (self.rx, &self.reg) else {
            return Poll::Ready(false);
        };
        // The value handed to this case's slot: collected without the channel lock.
        let o = match w.outcome() {
            Some(o) => o,
            None => {
                let st = rx.chan.state.lock();
                match w.outcome() {
                    Some(o) => o,
                    None if sig.state() == SignalState::Won(case) && st.is_claimed(w.id) => {
                        return Poll::Pending
                    }
                    None => return Poll::Ready(false),
                }
            }
        };
        Waiting::clear(&mut self.reg);
        self.out = Some(Some(o.into_value()));
        Poll::Ready(true)
    }
    fn undo_win(&mut self, sig: &Signal, case: usize, wakes: &mut Wakes) -> bool {
        let (Some(rx), Some(w)) = (self.rx, &self.reg) else {
            return true;
        };
        let mut st = rx.chan.state.lock();
        if sig.state() != SignalState::Won(case) {
            return false;
        }
        st.undo_recv(w, wakes);
        Waiting::clear(&mut self.reg);
        sig.store(SignalState::Cancelled);
        true
    }
    fn cancel(&mut self, wakes: &mut Wakes) {
        let (Some(rx), Some(w)) = (self.rx, self.reg.take()) else {
            return;
        };
        let mut st = rx.chan.state.lock();
        st.undo_recv(&w, wakes);
        drop(st);
        w.release();
    }
}

/// A `send(tx, value)` case. The value is not part of the case: the select hands out a
/// [`Permit`] and the value is evaluated only if this case fired.
pub struct SendCase<'a, T> {
    tx: Option<&'a Sender<T>>,
    reg: Option<Waiting<T>>,
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

impl<T> CaseImpl for SendCase<'_, T> {
    fn idle_hint(&self) -> Option<u64> {
        on_chan::idle_hint(self.tx.map(|tx| &tx.chan), SEND_MAYBE)
    }
    fn kind(&self) -> Kind {
        on_chan::kind(self.tx.map(|tx| &tx.chan))
    }
    fn lock(&self) {
        on_chan::lock(self.tx.map(|tx| &tx.chan));
    }
    fn check_bubble(&self) {
        on_chan::check_bubble(self.tx.map(|tx| &tx.chan));
    }
    fn bubble(&self) -> Option<u32> {
        self.tx.map(|tx| tx.chan.bubble)
    }
    unsafe fn unlock(&self) {
        // SAFETY: the caller locked this channel with `lock` (this method's contract).
        unsafe { on_chan::unlock(self.tx.map(|tx| &tx.chan)) }
    }
    unsafe fn arm_hint(&self) {
        // SAFETY: the caller holds the lock (this method's contract).
        unsafe { on_chan::arm_hint(self.tx.map(|tx| &tx.chan)) }
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
        if let Some(w) = self.reg.take() {
            st.remove_send(w.id);
            w.release();
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
        if let Some(w) = &self.reg {
            if st.send_entry(w.id).is_some() {
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
        let (Some(tx), Some(w)) = (self.tx, self.reg.take()) else {
            return;
        };
        // SAFETY: the caller holds the lock, and this reference ends with this call.
        let st = unsafe { tx.chan.state.locked_mut() };
        st.remove_send(w.id);
        w.release();
    }
    fn poll_fut(&mut self, _cx: &mut Context<'_>) -> bool {
        false
    }
    fn complete(&mut self, _sig: &Signal, _case: usize) -> Poll<bool> {
        let (Some(tx), Some(w)) = (self.tx, &self.reg) else {
            return Poll::Ready(false);
        };
        // What this case was granted, from its slot. A slot that is not complete stays so
        // until the channel wins this case, and the engine asks only after a win.
        let o = match w.outcome() {
            Some(o) => o,
            None => {
                let _st = tx.chan.state.lock();
                match w.outcome() {
                    Some(o) => o,
                    None => return Poll::Ready(false),
                }
            }
        };
        let grant = o.into_grant();
        Waiting::clear(&mut self.reg);
        self.out = Some(Ok(Permit::new(tx.chan.clone(), grant)));
        Poll::Ready(true)
    }
    fn undo_win(&mut self, sig: &Signal, case: usize, wakes: &mut Wakes) -> bool {
        let (Some(tx), Some(w)) = (self.tx, &self.reg) else {
            return true;
        };
        let mut st = tx.chan.state.lock();
        if sig.state() != SignalState::Won(case) {
            return false;
        }
        st.undo_lazy_send(w, wakes);
        Waiting::clear(&mut self.reg);
        sig.store(SignalState::Cancelled);
        true
    }
    fn cancel(&mut self, wakes: &mut Wakes) {
        let (Some(tx), Some(w)) = (self.tx, self.reg.take()) else {
            return;
        };
        let mut st = tx.chan.state.lock();
        st.undo_lazy_send(&w, wakes);
        drop(st);
        w.release();
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

impl<F: Future> CaseImpl for FutCase<'_, F> {
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
