//! [`Cond`]: Go's `sync.Cond`, a condition variable for tokio's [`Mutex`](tokio::sync::Mutex).
//!
//! The waiter list is runtime-agnostic (plain [`Waker`]s, FIFO). A waiter is queued before its
//! guard is released, as Go's `notifyListAdd` runs before `c.L.Unlock()`, so a `signal` that
//! follows the unlock is never lost.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use gocsp_channel::hook::{self, Op};
use tokio::sync::MutexGuard;

use crate::loom::{lock, Mutex};

/// A condition variable: tasks wait for an event while holding a [`Mutex`](crate::Mutex)
/// guard, others [`signal`](Self::signal) one waiter or [`broadcast`](Self::broadcast) to all.
///
/// As in Go, waking is only a hint that something changed: always re-check the condition
/// in a loop around [`wait`](Self::wait). Waiters are woken in the order they started waiting.
/// One `Cond` may serve several mutexes (Go binds one `Locker`; here the guard says which).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use gocsp_sync::{Cond, Mutex};
/// # #[tokio::main]
/// # async fn main() {
/// let state = Arc::new((Mutex::new(false), Cond::new()));
/// let setter = {
///     let state = state.clone();
///     tokio::spawn(async move {
///         *state.0.lock().await = true;
///         state.1.broadcast();
///     })
/// };
/// let mut ready = state.0.lock().await;
/// while !*ready {
///     ready = state.1.wait(ready).await;
/// }
/// # setter.await.unwrap();
/// # }
/// ```
///
/// # Go equivalent
///
/// ```go
/// c := sync.NewCond(&mu)
/// mu.Lock()
/// for !ready { c.Wait() }
/// mu.Unlock()
/// ```
pub struct Cond {
    list: Mutex<List>,
}

/// The waiters: FIFO order of ids in `queue`, state in `entries`. An id in `queue` whose entry
/// is gone or already notified is skipped lazily.
#[derive(Default)]
struct List {
    next_id: u64,
    queue: VecDeque<u64>,
    entries: HashMap<u64, Entry>,
}

struct Entry {
    waker: Option<Waker>,
    notified: bool,
}

impl List {
    /// Notifies the oldest waiter that is not notified yet. Returns its waker.
    fn notify_one(&mut self) -> Option<Waker> {
        while let Some(id) = self.queue.pop_front() {
            if let Some(entry) = self.entries.get_mut(&id) {
                if !entry.notified {
                    entry.notified = true;
                    return entry.waker.take();
                }
            }
        }
        None
    }

    fn compact(&mut self) {
        // Cancelled waiters leave their id in `queue`; keep it proportional to live waiters.
        if self.queue.len() > 2 * self.entries.len() + 16 {
            let entries = &self.entries;
            self.queue.retain(|id| entries.contains_key(id));
        }
    }
}

impl Cond {
    /// Creates a condition variable with no waiters.
    ///
    /// ```
    /// let cond = gocsp_sync::Cond::new();
    /// cond.signal(); // no waiter: nothing happens, nothing is remembered
    /// ```
    pub fn new() -> Self {
        Cond {
            list: Mutex::new(List::default()),
        }
    }

    /// Releases `guard`'s mutex, waits for a [`signal`](Self::signal) or
    /// [`broadcast`](Self::broadcast), then locks the mutex again and returns the new guard.
    ///
    /// The waiter is queued before the mutex is released, so a notification sent by anyone
    /// who takes the mutex after this call is never missed. The guard is released at the first
    /// poll of the returned future.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe in the sense of keeping the lock: the future owns the guard, and
    /// dropping it leaves the mutex unlocked. A notification this waiter had already received
    /// is passed on to the next waiter, so dropping never swallows a `signal`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gocsp_sync::{Cond, Mutex};
    /// # #[tokio::main]
    /// # async fn main() {
    /// let queue = Arc::new((Mutex::new(Vec::<u32>::new()), Cond::new()));
    /// let consumer = {
    ///     let queue = queue.clone();
    ///     tokio::spawn(async move {
    ///         let (items, cond) = &*queue;
    ///         let mut items_guard = items.lock().await;
    ///         while items_guard.is_empty() {
    ///             items_guard = cond.wait(items_guard).await;
    ///         }
    ///         items_guard.pop().unwrap()
    ///     })
    /// };
    /// queue.0.lock().await.push(7);
    /// queue.1.signal();
    /// assert_eq!(consumer.await.unwrap(), 7);
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `c.Wait()`.
    #[track_caller]
    pub fn wait<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
    ) -> impl Future<Output = MutexGuard<'a, T>> + use<'a, '_, T> {
        let site = Location::caller();
        async move {
            let mutex = MutexGuard::mutex(&guard);
            let notified = self.register(site);
            drop(guard);
            notified.await;
            mutex.lock().await
        }
    }

    /// Wakes the longest-waiting task, if any. A signal with no waiter does nothing (it is
    /// not remembered). Holding the mutex while calling it is allowed, not required.
    ///
    /// ```
    /// use gocsp_sync::{Cond, Mutex};
    /// let cond = Cond::new();
    /// cond.signal();
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `c.Signal()`.
    pub fn signal(&self) {
        let waker = lock(&self.list).notify_one();
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every waiting task.
    ///
    /// ```
    /// let cond = gocsp_sync::Cond::new();
    /// cond.broadcast();
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `c.Broadcast()`.
    pub fn broadcast(&self) {
        let wakers: Vec<Waker> = {
            let mut list = lock(&self.list);
            let list = &mut *list;
            let mut wakers = Vec::with_capacity(list.queue.len());
            for id in list.queue.drain(..) {
                if let Some(entry) = list.entries.get_mut(&id) {
                    if !entry.notified {
                        entry.notified = true;
                        wakers.extend(entry.waker.take());
                    }
                }
            }
            wakers
        };
        for w in wakers {
            w.wake();
        }
    }

    fn register(&self, site: &'static Location<'static>) -> Notified<'_> {
        let mut list = lock(&self.list);
        let id = list.next_id;
        list.next_id += 1;
        list.queue.push_back(id);
        list.entries.insert(
            id,
            Entry {
                waker: None,
                notified: false,
            },
        );
        Notified {
            cond: self,
            id,
            done: false,
            site,
        }
    }
}

impl Default for Cond {
    /// Same as [`Cond::new`].
    ///
    /// ```
    /// let _cond = gocsp_sync::Cond::default();
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = lock(&self.list);
        f.debug_struct("Cond")
            .field("waiters", &list.entries.len())
            .finish()
    }
}

/// One queued waiter, between registration and notification.
struct Notified<'a> {
    cond: &'a Cond,
    id: u64,
    done: bool,
    site: &'static Location<'static>,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut list = lock(&this.cond.list);
        let entry = list
            .entries
            .get_mut(&this.id)
            .expect("a pending waiter keeps its entry");
        if entry.notified {
            list.entries.remove(&this.id);
            this.done = true;
            drop(list);
            hook::progressed();
            return Poll::Ready(());
        }
        match &entry.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => entry.waker = Some(cx.waker().clone()),
        }
        drop(list);
        hook::blocked(Op::Cond, this.site);
        Poll::Pending
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let forwarded = {
            let mut list = lock(&self.cond.list);
            match list.entries.remove(&self.id) {
                // Notified but never observed: hand the notification to the next waiter.
                Some(entry) if entry.notified => list.notify_one(),
                _ => {
                    list.compact();
                    None
                }
            }
        };
        if let Some(w) = forwarded {
            w.wake();
        }
    }
}
