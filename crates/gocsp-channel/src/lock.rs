//! The channel lock: a mutex whose lock and unlock can be separated from a guard.
//!
//! Ordinary channel operations use [`Lock::lock`] and get an RAII [`Guard`]. The select engine
//! must hold the locks of all its channels at once, taken in address order and each distinct
//! channel only once (Go's `sellock`), over a type-erased list of cases. It therefore takes
//! locks with [`Lock::raw_lock`] and releases them with [`Lock::raw_unlock`] (from the guards
//! `AllLocked` and `OneLocked`, whose drop unlocks), and while it holds one, each case reaches
//! the channel state with [`Lock::locked_mut`].
//!
//! This module holds the crate's only `unsafe` API; the select engine calls its unsafe parts
//! (`raw_unlock`, `locked_mut`) from `select/locks.rs` and `select/cases.rs`, with a `SAFETY:`
//! comment at each call.

use std::ops::{Deref, DerefMut};

use crate::loom::{AtomicU64, Ordering, UnsafeCell};

/// Data that can summarise itself in a few bits that others may read without the lock.
pub(crate) trait Hinted {
    /// The summary of the current state (at most [`HINT_BITS`] bits), or `None` while nobody
    /// has asked for one (see [`Lock`]: the hint is *armed* by the first reader that needed
    /// the lock, and kept up to date from then on).
    fn hint_bits(&self) -> Option<u64>;
}

/// Bits of a hint word that carry [`Hinted::hint_bits`].
pub(crate) const HINT_BITS: u32 = 2;
/// The hint word's bit that says it is armed: maintained at every unlock. A reader may trust
/// the other bits only when it is set.
const HINT_ARMED: u64 = 1 << HINT_BITS;
/// The hint word's low bits (summary and armed bit); the rest count changes.
const HINT_SHIFT: u32 = HINT_BITS + 1;

/// A test-and-test-and-set spin lock that yields its thread when spinning does not pay, and
/// naps when this thread keeps meeting contention.
///
/// Why not a parking mutex (parking_lot, futex): a channel's critical sections are a few dozen
/// instructions, and its lock is taken on tokio worker threads. Parking a worker thread on a
/// futex stops every task queued on it, and waking it costs a system call and a cross-core
/// wake-up. Under contention from two workers a parking mutex spends a large share of an
/// `mpmc4` profile in its slow path (parking_lot's `lock_slow` and its `sched_yield`s); its
/// unlock is also a second atomic read-modify-write per operation (it must check for parked
/// threads), where this unlock is a plain release store. Nothing waits while holding this lock
/// (values are dropped and wakers woken after unlocking; only a waker's `clone` runs inside), so
/// a holder is always about to release it, and nobody needs to be woken by an unlock.
///
/// Why it naps anyway: when many tasks on two workers hammer one channel, the holder's worker
/// releases and re-takes the lock in a tight loop while the other worker spins on it, and each
/// operation moves the lock's cache line between the cores. The work is serial on the lock,
/// so it runs fastest on one core. A thread that meets contention again within
/// [`NAP_WITHIN`](raw::NAP_WITHIN) of its own completed operations (a convoy, not a chance
/// collision), and still finds the lock held after spinning, therefore sleeps for the shortest
/// time the OS gives instead of yielding: the holder's worker runs its batch without the line
/// bouncing, and tokio's work stealing takes over what was queued on the napping worker. This
/// speeds up the contended workloads (many senders and receivers on one channel, a channel used
/// as a semaphore, contended selects); the price is a lone producer and consumer on a buffered
/// channel, which pipeline across two cores and collapse onto one whenever two of their chance
/// collisions come close together (docs/performance.md has the figures). kanal's lock does the
/// same, with a 1 ms sleep; Go's runtime lock sleeps on a futex after spinning and yielding. A
/// blocking-API caller on an OS thread completes no async operations, so once contended it
/// always naps after spinning.
///
/// A holder that is descheduled (an OS thread preempted inside the critical section) keeps
/// others waiting until it runs again; yielding or napping after a short spin hands its core
/// back so that it can.
#[cfg(not(loom))]
mod raw {
    use std::hint::spin_loop;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Rounds of exponential spinning (1, 2, 4, ... `1 << (SPIN_ROUNDS - 1)` pause
    /// instructions) before the waiter starts yielding its thread between looks.
    const SPIN_ROUNDS: u32 = 7;

    pub(crate) struct RawLock(AtomicBool);

    /// A thread that meets contention again within this many of its own completed channel
    /// operations naps instead of yielding (see this module's docs). The bound sits between
    /// the two cases it must tell apart: a 1→1 pair on two cores collides by chance far more
    /// rarely than this, while a convoy of several senders and receivers on one channel
    /// collides every few operations (docs/performance.md has the counts).
    pub(super) const NAP_WITHIN: u32 = 64;

    /// The nap: a token sleep. The kernel rounds it up by the thread's timer slack (50 µs by
    /// default on Linux), which is what a nap really lasts.
    const NAP: std::time::Duration = std::time::Duration::from_micros(1);

    /// Records a contention on this thread and says whether the previous one was recent
    /// (within [`NAP_WITHIN`] completed operations).
    pub(super) fn contended_often() -> bool {
        thread_local! {
            /// `coop::completed()` at this thread's last contention; the start value makes a
            /// thread's first contention look old.
            static LAST: std::cell::Cell<u32> = const { std::cell::Cell::new(u32::MAX / 2) };
        }
        let now = crate::coop::completed();
        let last = LAST.replace(now);
        now.wrapping_sub(last) < NAP_WITHIN
    }

    impl RawLock {
        pub(crate) const fn new() -> Self {
            RawLock(AtomicBool::new(false))
        }

        #[inline]
        pub(crate) fn lock(&self) {
            // Acquire: what the previous holder wrote under the lock is visible to us.
            if self
                .0
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                self.lock_contended();
            }
        }

        #[cold]
        #[inline(never)]
        fn lock_contended(&self) {
            let nap = contended_often();
            let mut round = 0;
            loop {
                // Wait with plain loads: they share the cache line, where a failing
                // compare-exchange would take it away from the holder.
                while self.0.load(Ordering::Relaxed) {
                    if round < SPIN_ROUNDS {
                        for _ in 0..1 << round {
                            spin_loop();
                        }
                        round += 1;
                    } else if nap {
                        std::thread::sleep(NAP);
                    } else {
                        std::thread::yield_now();
                    }
                }
                if self
                    .0
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return;
                }
            }
        }

        /// # Safety
        /// The calling thread holds the lock.
        #[inline]
        pub(crate) unsafe fn unlock(&self) {
            // Release: publishes what we wrote under the lock to the next holder.
            self.0.store(false, Ordering::Release);
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
/// [`Guard`] or through [`Lock::locked_mut`] while the caller holds the lock. Under loom,
/// `data` is loom's cell (`loom::UnsafeCell`), so the models check this invariant too: every
/// access must happen after the previous holder's, through the lock.
///
/// `hint` is `version << HINT_SHIFT | HINT_ARMED | bits`: the data's [`Hinted::hint_bits`] as
/// of the last unlock, and how many times they changed. It is written only by the lock holder,
/// just before unlocking, so a reader without the lock sees the summary of some state the data
/// was in when it was last unlocked.
///
/// The summary costs a few dozen instructions per unlock, and only non-blocking operations
/// read it, so it is kept lazily: until the data arms it (the first non-blocking reader that
/// found it unarmed and took the lock), `HINT_ARMED` is clear, every reader takes the lock,
/// and unlocking only tests a flag. Once armed it stays armed.
pub(crate) struct Lock<T> {
    raw: raw::RawLock,
    hint: AtomicU64,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `data` to one thread at a time, so `Lock<T>` can be
// sent and shared between threads whenever `T` itself may be sent (as `std::sync::Mutex`).
unsafe impl<T: Send> Send for Lock<T> {}
// SAFETY: as above: shared access to the `Lock` never gives two threads `&mut T` at once.
unsafe impl<T: Send> Sync for Lock<T> {}

impl<T: Hinted> Lock<T> {
    pub(crate) fn new(data: T) -> Self {
        let hint = data.hint_bits().map_or(0, |bits| bits | HINT_ARMED);
        Lock {
            raw: raw::RawLock::new(),
            hint: AtomicU64::new(hint),
            data: UnsafeCell::new(data),
        }
    }

    /// The hint word (see [`Lock`]), read without the lock; `None` while it is not armed.
    /// `SeqCst`, as its store: readers compare hints of several locks and need one order of all
    /// their changes (double collect).
    #[inline]
    pub(crate) fn hint(&self) -> Option<u64> {
        let h = self.hint.load(Ordering::SeqCst);
        (h & HINT_ARMED != 0).then_some(h)
    }

    /// The hint word if it is armed and every bit of `mask` is clear in it ("certainly not
    /// ready" for what `mask` stands for); `None` means "maybe ready: take the lock".
    #[inline]
    pub(crate) fn idle_hint(&self, mask: u64) -> Option<u64> {
        self.hint().filter(|h| h & mask == 0)
    }

    /// Publishes the data's hint bits if they changed (or were just armed). Called by the
    /// lock holder only.
    #[inline]
    fn publish(&self, data: &T) {
        let Some(bits) = data.hint_bits() else { return };
        let low = bits | HINT_ARMED;
        // Relaxed: only lock holders write `hint`, and the lock orders them.
        let old = self.hint.load(Ordering::Relaxed);
        if old & ((1 << HINT_SHIFT) - 1) != low {
            let version = (old >> HINT_SHIFT).wrapping_add(1);
            self.hint
                .store((version << HINT_SHIFT) | low, Ordering::SeqCst);
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
        // SAFETY: the caller holds the lock and holds no other reference into `data` (this
        // function's contract), so this shared reference is the only access.
        self.publish(self.data.with(|data| unsafe { &*data }));
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
        self.data.with_mut(|data| unsafe { &mut *data })
    }
}

/// RAII access to a [`Lock`]'s data.
pub(crate) struct Guard<'a, T: Hinted> {
    lock: &'a Lock<T>,
}

impl<T: Hinted> Deref for Guard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: a `Guard` exists only while its thread holds the lock (it is created by
        // `Lock::lock` and unlocks on drop), and `&self` keeps the borrow shared.
        self.lock.data.with(|data| unsafe { &*data })
    }
}

impl<T: Hinted> DerefMut for Guard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: a `Guard` exists only while its thread holds the lock, and `&mut self`
        // makes this the only live reference through this guard.
        self.lock.data.with_mut(|data| unsafe { &mut *data })
    }
}

impl<T: Hinted> Drop for Guard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.publish(self);
        // SAFETY: the guard was created by `Lock::lock`, so this thread holds the lock, and the
        // guard's borrows of the data ended before `drop`.
        unsafe { self.lock.raw.unlock() }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::raw::{contended_often, NAP_WITHIN};
    use super::{Hinted, Lock};

    struct Counter(u64);
    impl Hinted for Counter {
        fn hint_bits(&self) -> Option<u64> {
            None
        }
    }

    #[test]
    fn naps_only_when_contention_comes_back_soon() {
        std::thread::spawn(|| {
            assert!(
                !contended_often(),
                "a thread's first contention is not a convoy"
            );
            assert!(
                contended_often(),
                "a second one with no operation between is"
            );
            crate::coop::count_completed(NAP_WITHIN - 1);
            assert!(
                contended_often(),
                "within NAP_WITHIN operations: still a convoy"
            );
            crate::coop::count_completed(NAP_WITHIN);
            assert!(
                !contended_often(),
                "NAP_WITHIN operations later: a chance collision"
            );
        })
        .join()
        .unwrap();
    }

    /// Threads that spin, yield and nap on one lock still exclude each other and all finish.
    #[test]
    fn contended_lock_excludes_and_progresses() {
        let threads = 4;
        let rounds: u64 = if cfg!(miri) { 50 } else { 20_000 };
        let lock = std::sync::Arc::new(Lock::new(Counter(0)));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        let mut g = lock.lock();
                        let v = g.0;
                        std::hint::spin_loop();
                        g.0 = v + 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(lock.lock().0, threads * rounds);
    }
}
