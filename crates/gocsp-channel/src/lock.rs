//! The channel lock: a mutex whose lock and unlock can be separated from a guard.
//!
//! Ordinary channel operations use [`Lock::lock`] and get an RAII [`Guard`]. The select engine
//! must hold the locks of all its channels at once, taken in address order and each distinct
//! channel only once (Go's `sellock`), over a type-erased list of cases. It therefore takes
//! locks with [`Lock::raw_lock`] and releases them with [`Lock::raw_unlock`], and while it holds
//! one, each case reaches the channel state with [`Lock::locked_mut`].
//!
//! This module and nothing else in the crate contains `unsafe`.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

#[cfg(not(loom))]
mod raw {
    use lock_api::RawMutex as _;

    /// parking_lot's word-sized mutex: spins briefly, then parks.
    pub(crate) struct RawLock(parking_lot::RawMutex);

    impl RawLock {
        pub(crate) const fn new() -> Self {
            RawLock(parking_lot::RawMutex::INIT)
        }
        #[inline]
        pub(crate) fn lock(&self) {
            self.0.lock();
        }
        /// # Safety
        /// The calling thread holds the lock.
        #[inline]
        pub(crate) unsafe fn unlock(&self) {
            // SAFETY: the caller holds the lock (this function's contract).
            unsafe { self.0.unlock() }
        }
    }
}

#[cfg(loom)]
mod raw {
    use loom::sync::atomic::{AtomicBool, Ordering};

    /// Under loom: a spin lock on a model-checked atomic, so loom sees every acquisition.
    pub(crate) struct RawLock(AtomicBool);

    impl RawLock {
        pub(crate) fn new() -> Self {
            RawLock(AtomicBool::new(false))
        }
        pub(crate) fn lock(&self) {
            while self
                .0
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                loom::thread::yield_now();
            }
        }
        /// # Safety
        /// The calling thread holds the lock.
        pub(crate) unsafe fn unlock(&self) {
            self.0.store(false, Ordering::Release);
        }
    }
}

/// A mutex around `T`.
///
/// Invariant: `data` is accessed only by the thread that holds `raw`, and only through a
/// [`Guard`] or through [`Lock::locked_mut`] while the caller holds the lock.
pub(crate) struct Lock<T> {
    raw: raw::RawLock,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `data` to one thread at a time, so `Lock<T>` can be
// sent and shared between threads whenever `T` itself may be sent (as `std::sync::Mutex`).
unsafe impl<T: Send> Send for Lock<T> {}
// SAFETY: as above: shared access to the `Lock` never gives two threads `&mut T` at once.
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T> Lock<T> {
    pub(crate) fn new(data: T) -> Self {
        Lock {
            raw: raw::RawLock::new(),
            data: UnsafeCell::new(data),
        }
    }

    /// Locks, returning a guard that unlocks on drop.
    #[inline]
    pub(crate) fn lock(&self) -> Guard<'_, T> {
        self.raw.lock();
        Guard { lock: self }
    }

    /// Locks without a guard. The caller must later call [`Lock::raw_unlock`] on this thread.
    #[inline]
    pub(crate) fn raw_lock(&self) {
        self.raw.lock();
    }

    /// Unlocks a lock taken with [`Lock::raw_lock`].
    ///
    /// # Safety
    /// The calling thread took this lock with `raw_lock` and holds no reference obtained from
    /// [`Lock::locked_mut`] any more.
    #[inline]
    pub(crate) unsafe fn raw_unlock(&self) {
        // SAFETY: the caller holds the lock (this function's contract).
        unsafe { self.raw.unlock() }
    }

    /// The protected data, while the caller holds the lock.
    ///
    /// # Safety
    /// The calling thread holds the lock (taken with `raw_lock`), and no other reference
    /// obtained from this lock is alive while the returned one is.
    #[inline]
    #[allow(
        clippy::mut_from_ref,
        reason = "exclusive access is what holding the lock gives"
    )]
    pub(crate) unsafe fn locked_mut(&self) -> &mut T {
        // SAFETY: the caller holds the lock and no other reference into `data` is alive (this
        // function's contract), so this is the only access to `data`.
        unsafe { &mut *self.data.get() }
    }
}

/// RAII access to a [`Lock`]'s data.
pub(crate) struct Guard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a `Guard` exists only while its thread holds the lock (it is created by
        // `Lock::lock` and unlocks on drop), and `&self` keeps the borrow shared.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a `Guard` exists only while its thread holds the lock, and `&mut self`
        // makes this the only live reference through this guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard was created by `Lock::lock`, so this thread holds the lock, and the
        // guard's borrows of the data ended before `drop`.
        unsafe { self.lock.raw.unlock() }
    }
}
