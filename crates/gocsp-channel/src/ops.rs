//! The three waiting operations — receive, send, reserve — as state machines over a channel.
//!
//! Each is driven by `poll` and undone by `cancel`; the public futures, the blocking API, the
//! `Stream`/`Sink` adapters all wrap these, so the cancellation rules live in one place:
//!
//! - `RecvOp::cancel`: a registered receiver is removed from the queue; a value already handed
//!   to it goes to the next receiver (or the front of the buffer).
//! - `SendOp::cancel`: a registered sender is removed with its value, which drops with the
//!   future (the send did not happen); a completed send stays completed.
//! - `ReserveOp::cancel`: a granted slot or claimed receiver is given back.
//!
//! A registered operation holds its [`Waiting`]: the entry's id and the slot its outcome is
//! handed to. A poll after a wake first looks at the slot (one atomic load, no lock): a
//! completed wait returns without touching the channel lock. Only a wait that has not
//! completed (a spurious poll, a close, a given-back claim) takes the lock to look further.

use std::task::{Poll, Waker};

use crate::chan::{Chan, Grant, State, Waiting, Wakes};
use crate::lock::Guard;
use crate::waiters::{Outcome, Who};

/// A receive in progress. `wait` is set while an entry is registered.
pub(crate) struct RecvOp<T> {
    wait: Option<Waiting<T>>,
}

impl<T> RecvOp<T> {
    pub(crate) const fn new() -> Self {
        RecvOp { wait: None }
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.wait.is_some()
    }

    /// Go's `chanrecv` fast paths inline — a woken receiver whose value was handed to its
    /// slot, and a first poll that finds a value in the buffer and no sender waiting to refill
    /// it — and everything else out of line, so the common cases save no registers they do
    /// not use.
    #[inline]
    pub(crate) fn poll(&mut self, chan: &Chan<T>, waker: &Waker) -> Poll<Option<T>> {
        if self.wait.is_some() {
            return self.poll_woken(chan, waker);
        }
        let mut st = chan.state.lock();
        if let Some(v) = st.take_buffered() {
            return Poll::Ready(Some(v));
        }
        self.poll_locked(st, waker)
    }

    /// A poll of a registered receive: its value, if one was handed to its slot, without the
    /// lock; else the slow path.
    #[inline(never)]
    fn poll_woken(&mut self, chan: &Chan<T>, waker: &Waker) -> Poll<Option<T>> {
        if let Some(w) = &self.wait {
            if let Some(o) = w.outcome() {
                Waiting::clear(&mut self.wait);
                return Poll::Ready(Some(o.into_value()));
            }
        }
        self.poll_locked(chan.state.lock(), waker)
    }

    #[inline(never)]
    fn poll_locked(&mut self, mut st: Guard<'_, State<T>>, waker: &Waker) -> Poll<Option<T>> {
        st.check_bubble();
        let mut wakes = Wakes::new();
        let res = {
            'op: {
                if let Some(w) = &self.wait {
                    // Completed since the look before the lock was taken.
                    if let Some(o) = w.outcome() {
                        Waiting::clear(&mut self.wait);
                        break 'op Poll::Ready(Some(o.into_value()));
                    }
                    if let Some(r) = st.recv_entry(w.id) {
                        r.who.set_waker(waker);
                        break 'op Poll::Pending;
                    }
                    // Removed without an outcome: the channel closed. Look again.
                    Waiting::clear(&mut self.wait);
                }
                if let Some(v) = st.try_take(&mut wakes) {
                    break 'op Poll::Ready(Some(v));
                }
                if st.drained() {
                    break 'op Poll::Ready(None);
                }
                self.wait = Some(st.wait_recv(Who::Task(Some(waker.clone())), &mut wakes));
                Poll::Pending
            }
        };
        drop(st);
        wakes.wake_all();
        res
    }

    /// Undoes a pending receive (nothing to do if none is registered: a single test, inlined).
    #[inline]
    pub(crate) fn cancel(&mut self, chan: &Chan<T>) {
        if self.wait.is_some() {
            self.undo(chan);
        }
    }

    #[inline(never)]
    fn undo(&mut self, chan: &Chan<T>) {
        let Some(w) = self.wait.take() else { return };
        let mut wakes = Wakes::new();
        {
            chan.state.lock().undo_recv(&w, &mut wakes);
        }
        w.release();
        wakes.wake_all();
    }
}

/// A send in progress: holds the value until it is registered in the channel.
pub(crate) struct SendOp<T> {
    value: Option<T>,
    wait: Option<Waiting<T>>,
}

impl<T> SendOp<T> {
    pub(crate) const fn new(value: T) -> Self {
        SendOp {
            value: Some(value),
            wait: None,
        }
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.wait.is_some()
    }

    /// `Err(v)` hands the value back: the channel is closed.
    ///
    /// Go's `chansend` fast paths inline — a woken sender whose value was taken (its slot
    /// says so), and a first poll that finds room in the buffer and no receiver waiting — and
    /// everything else out of line.
    #[inline]
    pub(crate) fn poll(&mut self, chan: &Chan<T>, waker: &Waker) -> Poll<Result<(), T>> {
        if self.wait.is_some() {
            return self.poll_woken(chan, waker);
        }
        let mut st = chan.state.lock();
        if st.can_buffer() {
            let v = self.value.take().expect("SendOp polled after completion");
            st.push_buffered(v);
            return Poll::Ready(Ok(()));
        }
        self.poll_locked(st, waker)
    }

    /// A poll of a registered send: done, if its slot says so, without the lock; else the
    /// slow path.
    #[inline]
    fn poll_woken(&mut self, chan: &Chan<T>, waker: &Waker) -> Poll<Result<(), T>> {
        if let Some(w) = &self.wait {
            if let Some(o) = w.outcome() {
                Waiting::clear(&mut self.wait);
                return Self::sent(o);
            }
        }
        self.poll_locked(chan.state.lock(), waker)
    }

    #[inline(never)]
    fn poll_locked(&mut self, mut st: Guard<'_, State<T>>, waker: &Waker) -> Poll<Result<(), T>> {
        st.check_bubble();
        let mut wakes = Wakes::new();
        let res = {
            if let Some(w) = &self.wait {
                match w.outcome() {
                    Some(o) => {
                        Waiting::clear(&mut self.wait);
                        Self::sent(o)
                    }
                    None => {
                        // Eager entries leave the queue only with an outcome.
                        if let Some(s) = st.send_entry(w.id) {
                            s.who.set_waker(waker);
                        }
                        Poll::Pending
                    }
                }
            } else {
                let v = self.value.take().expect("SendOp polled after completion");
                if st.is_closed() {
                    Poll::Ready(Err(v))
                } else {
                    match st.try_give(v, &mut wakes) {
                        Ok(()) => Poll::Ready(Ok(())),
                        Err(v) => {
                            let who = Who::Task(Some(waker.clone()));
                            self.wait = Some(st.queue_send(Some(v), who));
                            Poll::Pending
                        }
                    }
                }
            }
        };
        drop(st);
        wakes.wake_all();
        res
    }

    /// An eager sender's completed wait as its poll's answer.
    #[inline]
    fn sent(o: Outcome<T>) -> Poll<Result<(), T>> {
        match o {
            Outcome::Sent => Poll::Ready(Ok(())),
            Outcome::Rejected(v) => Poll::Ready(Err(v)),
            _ => unreachable!("an eager sender is only sent or rejected"),
        }
    }

    /// Undoes a pending send. The value, if it was still waiting, is returned to be dropped by
    /// the caller outside the lock.
    ///
    /// Nothing to do if none is registered: a single test, inlined.
    #[inline]
    pub(crate) fn cancel(&mut self, chan: &Chan<T>) -> Option<T> {
        let w = self.wait.take()?;
        Self::undo(w, chan)
    }

    #[inline(never)]
    fn undo(w: Waiting<T>, chan: &Chan<T>) -> Option<T> {
        // A completed wait needs no lock: its slot says what happened.
        let o = match w.outcome() {
            Some(o) => o,
            None => {
                let mut st = chan.state.lock();
                match w.outcome() {
                    Some(o) => o,
                    None => {
                        let v = st.remove_send(w.id).and_then(|s| s.value);
                        drop(st);
                        w.release();
                        return v;
                    }
                }
            }
        };
        w.release();
        match o {
            Outcome::Rejected(v) => Some(v),
            _ => None,
        }
    }
}

/// A reserve in progress (a lazy sender: no value yet).
pub(crate) struct ReserveOp<T> {
    wait: Option<Waiting<T>>,
}

impl<T> ReserveOp<T> {
    pub(crate) const fn new() -> Self {
        ReserveOp { wait: None }
    }

    /// `Err(())`: the channel is closed.
    pub(crate) fn poll(&mut self, chan: &Chan<T>, waker: &Waker) -> Poll<Result<Grant, ()>> {
        if let Some(g) = self.granted() {
            return Poll::Ready(Ok(g));
        }
        let mut st = chan.state.lock();
        st.check_bubble();
        if let Some(g) = self.granted() {
            return Poll::Ready(Ok(g));
        }
        if let Some(w) = &self.wait {
            if let Some(s) = st.send_entry(w.id) {
                s.who.set_waker(waker);
                return Poll::Pending;
            }
            // Removed without an outcome: the channel closed. Look again.
            Waiting::clear(&mut self.wait);
        }
        if st.is_closed() {
            return Poll::Ready(Err(()));
        }
        if let Some(g) = st.try_reserve() {
            return Poll::Ready(Ok(g));
        }
        self.wait = Some(st.queue_send(None, Who::Task(Some(waker.clone()))));
        Poll::Pending
    }

    /// What the registered wait was granted, if it completed (its slot; no lock needed).
    fn granted(&mut self) -> Option<Grant> {
        let o = self.wait.as_ref()?.outcome()?;
        Waiting::clear(&mut self.wait);
        Some(o.into_grant())
    }

    pub(crate) fn cancel(&mut self, chan: &Chan<T>) {
        let Some(w) = self.wait.take() else { return };
        let mut wakes = Wakes::new();
        {
            chan.state.lock().undo_lazy_send(&w, &mut wakes);
        }
        w.release();
        wakes.wake_all();
    }
}
