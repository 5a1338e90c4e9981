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

use std::task::{Poll, Waker};

use crate::chan::{Chan, Grant, State, Wakes};
use crate::lock::Guard;
use crate::waiters::{Outcome, Who};

/// A receive in progress. `id` is set while an entry is registered.
pub(crate) struct RecvOp {
    id: Option<u64>,
}

impl RecvOp {
    pub(crate) const fn new() -> Self {
        RecvOp { id: None }
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.id.is_some()
    }

    /// Go's `chanrecv` fast path inline — a first poll that finds a value in the buffer and no
    /// sender waiting to refill it — and everything else out of line, so the common case
    /// saves no registers it does not use.
    #[inline]
    pub(crate) fn poll<T>(&mut self, chan: &Chan<T>, waker: &Waker) -> Poll<Option<T>> {
        let mut st = chan.state.lock();
        if self.id.is_none() {
            if let Some(v) = st.take_buffered() {
                return Poll::Ready(Some(v));
            }
        }
        self.poll_locked(st, waker)
    }

    #[inline(never)]
    fn poll_locked<T>(&mut self, mut st: Guard<'_, State<T>>, waker: &Waker) -> Poll<Option<T>> {
        st.check_bubble();
        let mut wakes = Wakes::new();
        let res = {
            'op: {
                if let Some(id) = self.id {
                    if let Some(o) = st.take_outcome(id) {
                        self.id = None;
                        match o {
                            Outcome::Value(v) => break 'op Poll::Ready(Some(v)),
                            _ => unreachable!("a receiver only gets values"),
                        }
                    }
                    if let Some(r) = st.recv_entry(id) {
                        r.who.set_waker(waker);
                        break 'op Poll::Pending;
                    }
                    // Removed without an outcome: the channel closed. Look again.
                    self.id = None;
                }
                if let Some(v) = st.try_take(&mut wakes) {
                    break 'op Poll::Ready(Some(v));
                }
                if st.drained() {
                    break 'op Poll::Ready(None);
                }
                self.id = Some(st.wait_recv(Who::Task(Some(waker.clone())), &mut wakes));
                Poll::Pending
            }
        };
        drop(st);
        wakes.wake_all();
        res
    }

    /// Undoes a pending receive (nothing to do if none is registered: a single test, inlined).
    #[inline]
    pub(crate) fn cancel<T>(&mut self, chan: &Chan<T>) {
        if let Some(id) = self.id.take() {
            Self::undo(id, chan);
        }
    }

    #[inline(never)]
    fn undo<T>(id: u64, chan: &Chan<T>) {
        let mut wakes = Wakes::new();
        {
            chan.state.lock().undo_recv(id, &mut wakes);
        }
        wakes.wake_all();
    }
}

/// A send in progress: holds the value until it is registered in the channel.
pub(crate) struct SendOp<T> {
    value: Option<T>,
    id: Option<u64>,
}

impl<T> SendOp<T> {
    pub(crate) const fn new(value: T) -> Self {
        SendOp {
            value: Some(value),
            id: None,
        }
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.id.is_some()
    }

    /// `Err(v)` hands the value back: the channel is closed.
    ///
    /// Go's `chansend` fast path inline — a first poll that finds room in the buffer and no
    /// receiver waiting — and everything else out of line.
    #[inline]
    pub(crate) fn poll(&mut self, chan: &Chan<T>, waker: &Waker) -> Poll<Result<(), T>> {
        let mut st = chan.state.lock();
        if self.id.is_none() && st.can_buffer() {
            let v = self.value.take().expect("SendOp polled after completion");
            st.push_buffered(v);
            return Poll::Ready(Ok(()));
        }
        self.poll_locked(st, waker)
    }

    #[inline(never)]
    fn poll_locked(&mut self, mut st: Guard<'_, State<T>>, waker: &Waker) -> Poll<Result<(), T>> {
        st.check_bubble();
        let mut wakes = Wakes::new();
        let res = {
            if let Some(id) = self.id {
                match st.take_outcome(id) {
                    Some(Outcome::Sent) => {
                        self.id = None;
                        Poll::Ready(Ok(()))
                    }
                    Some(Outcome::Rejected(v)) => {
                        self.id = None;
                        Poll::Ready(Err(v))
                    }
                    Some(_) => unreachable!("an eager sender is only sent or rejected"),
                    None => {
                        // Eager entries leave the queue only with an outcome.
                        if let Some(s) = st.send_entry(id) {
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
                            self.id = Some(st.queue_send(Some(v), who));
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

    /// Undoes a pending send. The value, if it was still waiting, is returned to be dropped by
    /// the caller outside the lock.
    ///
    /// Nothing to do if none is registered: a single test, inlined.
    #[inline]
    pub(crate) fn cancel(&mut self, chan: &Chan<T>) -> Option<T> {
        let id = self.id.take()?;
        Self::undo(id, chan)
    }

    #[inline(never)]
    fn undo(id: u64, chan: &Chan<T>) -> Option<T> {
        let mut st = chan.state.lock();
        match st.take_outcome(id) {
            Some(Outcome::Rejected(v)) => Some(v),
            Some(_) => None,
            None => st.remove_send(id).and_then(|s| s.value),
        }
    }
}

/// A reserve in progress (a lazy sender: no value yet).
pub(crate) struct ReserveOp {
    id: Option<u64>,
}

impl ReserveOp {
    pub(crate) const fn new() -> Self {
        ReserveOp { id: None }
    }

    /// `Err(())`: the channel is closed.
    pub(crate) fn poll<T>(&mut self, chan: &Chan<T>, waker: &Waker) -> Poll<Result<Grant, ()>> {
        let mut st = chan.state.lock();
        st.check_bubble();
        if let Some(id) = self.id {
            match st.take_outcome(id) {
                Some(Outcome::Slot) => {
                    self.id = None;
                    return Poll::Ready(Ok(Grant::Slot));
                }
                Some(Outcome::Claim(rid)) => {
                    self.id = None;
                    return Poll::Ready(Ok(Grant::Claim(rid)));
                }
                Some(_) => unreachable!("a lazy sender is only granted"),
                None => {}
            }
            if let Some(s) = st.send_entry(id) {
                s.who.set_waker(waker);
                return Poll::Pending;
            }
            // Removed without an outcome: the channel closed. Look again.
            self.id = None;
        }
        if st.is_closed() {
            return Poll::Ready(Err(()));
        }
        if let Some(g) = st.try_reserve() {
            return Poll::Ready(Ok(g));
        }
        self.id = Some(st.queue_send(None, Who::Task(Some(waker.clone()))));
        Poll::Pending
    }

    pub(crate) fn cancel<T>(&mut self, chan: &Chan<T>) {
        let Some(id) = self.id.take() else { return };
        let mut wakes = Wakes::new();
        {
            chan.state.lock().undo_lazy_send(id, &mut wakes);
        }
        wakes.wake_all();
    }
}
