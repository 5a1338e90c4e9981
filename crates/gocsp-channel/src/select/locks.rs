//! The guards through which a pass holds channel locks: they release them on drop, on a panic
//! too. The case methods that need their channel's lock are called through them, so the
//! engine itself contains no `unsafe`.

use super::engine::Excluded;
use super::{Case, Fire, Kind, SigSlot};
use crate::chan::Wakes;
use crate::loom::Arc;
use crate::waiters::Signal;

/// The locks of a pass: those of every distinct channel of the select's channel cases, taken
/// in address order (Go's `sellock`) and released in the reverse order when the guard drops —
/// at the end of the pass, or while unwinding from a panic under them (a waker's `clone` is
/// user code, and runs under these locks), so a panic never leaves a channel locked. Taking a
/// lock never panics, so the guard covers every lock it took.
///
/// While it lives, the case methods that need their channel's lock are called through it.
pub(super) struct AllLocked<'g, 'a, D: ?Sized + Case> {
    cases: &'g mut [&'a mut D],
    /// `(channel address, case index)` of every channel case, sorted by address.
    order: &'g [(usize, u32)],
}

impl<'g, 'a, D: ?Sized + Case> AllLocked<'g, 'a, D> {
    /// Locks each distinct channel of `order` (sorted by address) once.
    #[inline]
    pub(super) fn lock(cases: &'g mut [&'a mut D], order: &'g [(usize, u32)]) -> Self {
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
    pub(super) fn kind(&self, i: usize) -> Kind {
        self.cases[i].kind()
    }

    /// A channel case `i`, not excluded, ready now.
    #[inline]
    pub(super) fn is_candidate(&self, i: usize, excluded: &Excluded) -> bool {
        if excluded.contains(i) {
            return false;
        }
        // SAFETY: the guard holds the lock of every channel case (a case without a channel
        // needs none).
        unsafe { self.cases[i].ready() }
    }

    #[inline]
    pub(super) fn arm_hint(&self, i: usize) {
        // SAFETY: the guard holds the lock of every channel case.
        unsafe { self.cases[i].arm_hint() }
    }

    #[inline]
    pub(super) fn fire(&mut self, i: usize, sig: &mut SigSlot, wakes: &mut Wakes) -> Fire {
        // SAFETY: the guard holds the lock of every channel case.
        unsafe { self.cases[i].fire(sig, i, wakes) }
    }

    #[inline]
    pub(super) fn register(&mut self, i: usize, sig: &Arc<Signal>) {
        // SAFETY: the guard holds the lock of every channel case.
        unsafe { self.cases[i].register(sig, i) }
    }

    #[inline]
    pub(super) fn unregister(&mut self, i: usize) {
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
pub(super) struct OneLocked<'g, D: ?Sized + Case> {
    case: &'g mut D,
}

impl<'g, D: ?Sized + Case> OneLocked<'g, D> {
    #[inline]
    pub(super) fn lock(case: &'g mut D) -> Self {
        case.lock();
        OneLocked { case }
    }

    #[inline]
    pub(super) fn ready(&self) -> bool {
        // SAFETY: the guard holds the case's lock.
        unsafe { self.case.ready() }
    }

    #[inline]
    pub(super) fn fire(&mut self, i: usize, sig: &mut SigSlot, wakes: &mut Wakes) -> Fire {
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
