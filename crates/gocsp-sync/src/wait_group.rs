//! [`WaitGroup`]: Go's `sync.WaitGroup`, a counter whose zero releases every waiter.
//!
//! The core is runtime-agnostic: one atomic word and a mutex-protected list of plain
//! [`Waker`]s, so the loom models at the bottom of this file check it directly. tokio appears
//! only in [`WaitGroup::wait_blocking`] (to refuse blocking a runtime worker) and in
//! [`WaitGroup::go`] (spawning through `gocsp-runtime`).

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use gocsp_channel::hook::{self, Op};

use crate::loom::{lock, Arc, AtomicU64, Mutex, Ordering};

/// The counter lives in the high 32 bits of [`Inner::state`].
const COUNTER_SHIFT: u32 = 32;
/// The number of registered waiters lives in the low 32 bits of [`Inner::state`].
const WAITER_MASK: u64 = (1 << COUNTER_SHIFT) - 1;
/// The largest counter value (Go's counter is an `int32`; ours is an unsigned 32-bit field).
const MAX_COUNT: u64 = u32::MAX as u64;

/// Waits for a collection of tasks to finish: Go's `sync.WaitGroup`.
///
/// The group holds a counter. [`add`](Self::add) raises it before starting work,
/// [`done`](Self::done) lowers it when a piece of work ends, and [`wait`](Self::wait) (or
/// [`wait_blocking`](Self::wait_blocking) on a plain thread) completes once it is zero.
/// [`go`](Self::go) does all three steps for one future, like Go 1.25's `wg.Go`.
///
/// `WaitGroup` is a cheap handle: clones share one counter, so a clone can be moved into each
/// task (in Go you pass `&wg`; here you pass `wg.clone()`).
///
/// Rules, as Go documents them:
/// - The counter must not go below zero: [`done`](Self::done) or a negative
///   [`add`](Self::add) that would do so panics with Go's message
///   `sync: negative WaitGroup counter` and leaves the counter unchanged.
/// - Any number of tasks and threads may wait at once; all are released when the counter
///   reaches zero, even if it is raised again before they run.
/// - A positive `add` while the counter is zero must happen before the `wait` it should
///   hold back; otherwise the `wait` may or may not see it.
/// - A group may be reused once every `wait` of the previous round has returned.
///
/// # Examples
///
/// ```
/// use gocsp_sync::WaitGroup;
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() {
/// let wg = WaitGroup::new();
/// let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
/// for i in 0..4 {
///     wg.add(1);
///     let (wg, tx) = (wg.clone(), tx.clone());
///     tokio::spawn(async move {
///         tx.send(i * i).unwrap();
///         wg.done();
///     });
/// }
/// wg.wait().await;
/// drop(tx);
/// let mut sum = 0;
/// while let Some(v) = rx.recv().await {
///     sum += v;
/// }
/// assert_eq!(sum, 0 + 1 + 4 + 9);
/// # }
/// ```
///
/// # Go equivalent
///
/// ```go
/// var wg sync.WaitGroup
/// for i := 0; i < 4; i++ {
///     wg.Add(1)
///     go func() { defer wg.Done(); work(i) }()
/// }
/// wg.Wait()
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

struct Inner {
    /// `counter << 32 | waiters`. The counter part is changed by `add`/`done` without the lock;
    /// the waiter part is changed only while `waiters` is locked, so it always equals the
    /// number of live entries in `Waiters::slots`.
    state: AtomicU64,
    waiters: Mutex<Waiters>,
}

/// The waiters of the current round.
struct Waiters {
    /// Bumped by every release. A [`Wait`] registered in an older round has been released.
    round: u64,
    /// A slab of wakers; `None` marks a free slot (also listed in `free`).
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

fn counter(state: u64) -> u64 {
    state >> COUNTER_SHIFT
}

impl WaitGroup {
    /// Creates a group whose counter is zero.
    ///
    /// ```
    /// let wg = gocsp_sync::WaitGroup::new();
    /// wg.wait_blocking(); // zero: returns at once
    /// ```
    pub fn new() -> Self {
        WaitGroup {
            inner: Arc::new(Inner {
                state: AtomicU64::new(0),
                waiters: Mutex::new(Waiters {
                    round: 0,
                    slots: Vec::new(),
                    free: Vec::new(),
                }),
            }),
        }
    }

    /// Adds `delta`, which may be negative, to the counter. When the counter reaches zero,
    /// every task and thread blocked in [`wait`](Self::wait) is released.
    ///
    /// Call `add` with a positive delta before starting the task it accounts for (before the
    /// `spawn`), never inside it, or a `wait` may find the counter at zero too early.
    ///
    /// # Panics
    ///
    /// With Go's message `sync: negative WaitGroup counter` if the counter would go below zero,
    /// and with `sync: WaitGroup counter overflow` above `u32::MAX`. The counter is unchanged
    /// after either panic.
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_sync::WaitGroup;
    /// let wg = WaitGroup::new();
    /// wg.add(3);
    /// wg.add(-2);
    /// wg.done();
    /// wg.wait_blocking();
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `wg.Add(delta)`.
    #[track_caller]
    pub fn add(&self, delta: isize) {
        let state = &self.inner.state;
        let magnitude = delta.unsigned_abs() as u64;
        if delta > 0 {
            if magnitude > MAX_COUNT {
                panic!("sync: WaitGroup counter overflow");
            }
            // Relaxed would do for an increment (it releases nothing), but `AcqRel` keeps the
            // reasoning uniform: every counter change is one RMW in one modification order.
            let prev = state.fetch_add(magnitude << COUNTER_SHIFT, Ordering::AcqRel);
            if counter(prev) + magnitude > MAX_COUNT {
                // The high bits wrapped; undo before anyone can rely on them.
                state.fetch_sub(magnitude << COUNTER_SHIFT, Ordering::AcqRel);
                panic!("sync: WaitGroup counter overflow");
            }
        } else if delta < 0 {
            if magnitude > MAX_COUNT {
                panic!("sync: negative WaitGroup counter");
            }
            // Release: the work done before `done()` happens-before a `wait` that observes the
            // new value (with Acquire). Acquire: if this call releases waiters, it must see
            // their registrations (also ordered by the lock in `release`).
            let prev = state.fetch_sub(magnitude << COUNTER_SHIFT, Ordering::AcqRel);
            let before = counter(prev);
            if before < magnitude {
                state.fetch_add(magnitude << COUNTER_SHIFT, Ordering::AcqRel);
                panic!("sync: negative WaitGroup counter");
            }
            if before == magnitude && prev & WAITER_MASK != 0 {
                self.inner.release();
            }
        }
    }

    /// Decrements the counter by one: `add(-1)`.
    ///
    /// # Panics
    ///
    /// With Go's message `sync: negative WaitGroup counter` if the counter is already zero.
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_sync::WaitGroup;
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// let worker = {
    ///     let wg = wg.clone();
    ///     std::thread::spawn(move || wg.done())
    /// };
    /// wg.wait_blocking();
    /// worker.join().unwrap();
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `wg.Done()`.
    #[track_caller]
    pub fn done(&self) {
        self.add(-1);
    }

    /// Waits until the counter is zero.
    ///
    /// Completes at once if the counter is zero now. Otherwise the returned [`Wait`] completes
    /// once the counter reaches zero, even if another `add` raises it again before this task
    /// is scheduled. While it is pending, the goroutine is shown as blocked in
    /// `sync.WaitGroup.Wait` at the caller's source line in `gocsp::dump()`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future unregisters the waiter and changes nothing else; a
    /// new `wait()` can be started at any time.
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_sync::WaitGroup;
    /// # #[tokio::main]
    /// # async fn main() {
    /// let wg = WaitGroup::new();
    /// wg.add(2);
    /// for _ in 0..2 {
    ///     let wg = wg.clone();
    ///     tokio::spawn(async move { wg.done() });
    /// }
    /// wg.wait().await;
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `wg.Wait()`.
    #[track_caller]
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            group: self,
            registered: None,
            site: Location::caller(),
        }
    }

    /// Blocks the current thread until the counter is zero: [`wait`](Self::wait) for plain
    /// OS threads and `spawn_blocking`.
    ///
    /// # Panics
    ///
    /// When called on a thread that runs async tasks (a tokio runtime worker or inside
    /// `block_on`), where blocking could deadlock the runtime. Use `wait().await` there.
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_sync::WaitGroup;
    /// let wg = WaitGroup::new();
    /// let threads: Vec<_> = (0..3)
    ///     .map(|_| {
    ///         wg.add(1);
    ///         let wg = wg.clone();
    ///         std::thread::spawn(move || wg.done())
    ///     })
    ///     .collect();
    /// wg.wait_blocking();
    /// # for t in threads { t.join().unwrap(); }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `wg.Wait()` in a goroutine that is allowed to block its thread.
    #[track_caller]
    pub fn wait_blocking(&self) {
        let wait = self.wait();
        if wait.is_zero() {
            return;
        }
        gocsp_channel::__private::block_on(
            wait,
            gocsp_channel::hook::Op::WaitGroup,
            std::panic::Location::caller(),
            "WaitGroup::wait_blocking",
            "wait().await",
        );
    }

    /// Starts `fut` as a goroutine counted by this group: `add(1)`, spawn, and `done()` when
    /// the future finishes — also if it panics or its goroutine is cancelled (Go 1.25's
    /// `wg.Go`). The future's output is dropped; send results over a channel, as in Go.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (the counter is restored first).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use gocsp_sync::WaitGroup;
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() {
    /// let wg = WaitGroup::new();
    /// let hits = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..10 {
    ///     let hits = hits.clone();
    ///     wg.go(async move {
    ///         hits.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// }
    /// wg.go(async { panic!("a panicking goroutine still counts as done") });
    /// wg.wait().await;
    /// assert_eq!(hits.load(Ordering::Relaxed), 10);
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `wg.Go(func() { ... })`.
    #[cfg(not(loom))]
    #[track_caller]
    pub fn go<F>(&self, fut: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.add(1);
        let done = DoneOnDrop(self.clone());
        // `done` lives inside the goroutine's future: a normal return, an unwinding panic and
        // a cancellation (the future dropped unfinished) all drop it. If spawning itself panics,
        // the future is dropped unpolled, which also drops it.
        let _detached = gocsp_runtime::go(async move {
            let _done = done;
            fut.await;
        });
    }

    /// The current counter value. Only a snapshot: other tasks may change it at any moment,
    /// so use it for logging and metrics, never to decide whether to `wait`.
    ///
    /// ```
    /// let wg = gocsp_sync::WaitGroup::new();
    /// wg.add(2);
    /// assert_eq!(wg.count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        counter(self.inner.state.load(Ordering::Acquire)) as usize
    }
}

impl Inner {
    /// Wakes every registered waiter and starts a new round. Called by the `add`/`done` that
    /// took the counter to zero while it saw waiters.
    fn release(&self) {
        let wakers = {
            let mut w = lock(&self.waiters);
            // Between our decrement and this lock, another `add` may have raised the counter
            // again. Every waiter still registered then registered while the counter was
            // non-zero, so either it came after that `add` (and must keep waiting; the next
            // zero releases it) or Go's rule was broken (an `add` while a previous `wait` had
            // not returned). Releasing only at zero keeps correct programs exact.
            let state = self.state.load(Ordering::Acquire);
            if counter(state) != 0 || state & WAITER_MASK == 0 {
                return;
            }
            // The waiter bits change only under this lock, so clearing them here is exact.
            self.state.fetch_and(!WAITER_MASK, Ordering::AcqRel);
            w.round += 1;
            w.free.clear();
            std::mem::take(&mut w.slots)
        };
        // Woken outside the lock: a waker may run arbitrary code (even re-enter this group).
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }
}

/// Calls `done()` on its group when dropped.
#[cfg(not(loom))]
struct DoneOnDrop(WaitGroup);

#[cfg(not(loom))]
impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.done();
    }
}

impl Default for WaitGroup {
    /// Same as [`WaitGroup::new`].
    ///
    /// ```
    /// let wg = gocsp_sync::WaitGroup::default();
    /// assert_eq!(wg.count(), 0);
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.load(Ordering::Acquire);
        f.debug_struct("WaitGroup")
            .field("count", &counter(state))
            .field("waiters", &(state & WAITER_MASK))
            .finish()
    }
}

/// Future returned by [`WaitGroup::wait`]: completes once the group's counter is zero.
///
/// # Cancel safety
///
/// Cancel safe: dropping it only unregisters the waiter.
///
/// # Examples
///
/// ```
/// use gocsp_sync::{Wait, WaitGroup};
/// # #[tokio::main]
/// # async fn main() {
/// let wg = WaitGroup::new();
/// let wait: Wait<'_> = wg.wait();
/// wait.await;
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<'a> {
    group: &'a WaitGroup,
    /// `(round, slot)` once a waker is registered.
    registered: Option<(u64, usize)>,
    site: &'static Location<'static>,
}

impl Wait<'_> {
    fn is_zero(&self) -> bool {
        // Acquire pairs with the Release of the `done` that made it zero.
        counter(self.group.inner.state.load(Ordering::Acquire)) == 0
    }
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let inner = &this.group.inner;
        match this.registered {
            None => {
                if this.is_zero() {
                    return Poll::Ready(());
                }
                let mut w = lock(&inner.waiters);
                // Register, then check again: the counter may have reached zero between the
                // load above and taking the lock. The waiter bit is added only while the
                // counter is non-zero, in one CAS, so the `done` that takes it to zero either
                // comes before (we see zero and leave) or after (it sees our bit and calls
                // `release`, which waits for this lock).
                let mut state = inner.state.load(Ordering::Acquire);
                loop {
                    if counter(state) == 0 {
                        return Poll::Ready(());
                    }
                    match inner.state.compare_exchange_weak(
                        state,
                        state + 1,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => break,
                        Err(actual) => state = actual,
                    }
                }
                let waker = Some(cx.waker().clone());
                let slot = match w.free.pop() {
                    Some(i) => {
                        w.slots[i] = waker;
                        i
                    }
                    None => {
                        w.slots.push(waker);
                        w.slots.len() - 1
                    }
                };
                this.registered = Some((w.round, slot));
            }
            Some((round, slot)) => {
                let mut w = lock(&inner.waiters);
                if w.round != round {
                    // Released: the counter reached zero after we registered.
                    this.registered = None;
                    drop(w);
                    hook::progressed();
                    return Poll::Ready(());
                }
                match &mut w.slots[slot] {
                    Some(old) if old.will_wake(cx.waker()) => {}
                    entry => *entry = Some(cx.waker().clone()),
                }
            }
        }
        hook::blocked(Op::WaitGroup, this.site);
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some((round, slot)) = self.registered.take() {
            let mut w = lock(&self.group.inner.waiters);
            if w.round == round {
                w.slots[slot] = None;
                w.free.push(slot);
                // Under the lock, as every change of the waiter bits.
                self.group.inner.state.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("group", self.group)
            .field("registered", &self.registered.is_some())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::future::block_on;
    use loom::thread;

    fn waiter_bits(wg: &WaitGroup) -> u64 {
        wg.inner.state.load(Ordering::SeqCst) & WAITER_MASK
    }

    /// `done` on another thread races the waiter's check-then-register: the waiter must be
    /// released whichever comes first, and leave no waiter bit behind.
    #[test]
    fn done_races_wait() {
        loom::model(|| {
            let wg = WaitGroup::new();
            wg.add(1);
            let t = {
                let wg = wg.clone();
                thread::spawn(move || wg.done())
            };
            block_on(wg.wait());
            t.join().unwrap();
            assert_eq!(wg.count(), 0);
            assert_eq!(waiter_bits(&wg), 0);
        });
    }

    /// Two `done`s on two threads and one waiter: only the one that reaches zero releases,
    /// and the waiter never returns while the counter is non-zero.
    #[test]
    fn two_dones_one_waiter() {
        loom::model(|| {
            let wg = WaitGroup::new();
            wg.add(2);
            let ts: Vec<_> = (0..2)
                .map(|_| {
                    let wg = wg.clone();
                    thread::spawn(move || wg.done())
                })
                .collect();
            block_on(wg.wait());
            assert_eq!(wg.count(), 0);
            for t in ts {
                t.join().unwrap();
            }
            assert_eq!(waiter_bits(&wg), 0);
        });
    }

    /// Two waiters on two threads, one `done`: both are released.
    #[test]
    fn one_done_two_waiters() {
        loom::model(|| {
            let wg = WaitGroup::new();
            wg.add(1);
            let t = {
                let wg = wg.clone();
                thread::spawn(move || block_on(wg.wait()))
            };
            let d = {
                let wg = wg.clone();
                thread::spawn(move || wg.done())
            };
            block_on(wg.wait());
            t.join().unwrap();
            d.join().unwrap();
            assert_eq!(waiter_bits(&wg), 0);
        });
    }

    /// A registered `Wait` dropped while `done` runs on another thread: the drop and the
    /// release agree on the waiter bits, and a fresh wait afterwards completes.
    #[test]
    fn dropped_wait_races_done() {
        loom::model(|| {
            let wg = WaitGroup::new();
            wg.add(1);
            let t = {
                let wg = wg.clone();
                thread::spawn(move || wg.done())
            };
            {
                let mut wait = Box::pin(wg.wait());
                let waker = futures::task::noop_waker();
                let _ = wait.as_mut().poll(&mut Context::from_waker(&waker));
            }
            t.join().unwrap();
            assert_eq!(waiter_bits(&wg), 0);
            block_on(wg.wait());
        });
    }

    /// Reuse: a second round (`add` after the first `wait` returned) waits for its own `done`,
    /// not released by the first round's late `release`.
    #[test]
    fn reuse_after_zero() {
        loom::model(|| {
            let wg = WaitGroup::new();
            let done_second = Arc::new(loom::sync::atomic::AtomicBool::new(false));
            wg.add(1);
            let t1 = {
                let wg = wg.clone();
                thread::spawn(move || wg.done())
            };
            block_on(wg.wait());
            wg.add(1);
            let t2 = {
                let (wg, d) = (wg.clone(), done_second.clone());
                thread::spawn(move || {
                    d.store(true, Ordering::Release);
                    wg.done()
                })
            };
            block_on(wg.wait());
            assert!(done_second.load(Ordering::Acquire));
            t1.join().unwrap();
            t2.join().unwrap();
            assert_eq!(waiter_bits(&wg), 0);
        });
    }
}
