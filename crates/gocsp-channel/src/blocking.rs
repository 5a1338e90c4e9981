//! The blocking API's engine: run an operation to completion on the calling OS thread.
//!
//! The operation is the same state machine the async futures use; here it is polled with a
//! waker that unparks this thread, so async and blocking callers meet on one channel.

use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use crate::hook::{self, Op};

/// Spin rounds (with growing pause counts) before yielding, and yields before parking.
const SPINS: u32 = 40;
const YIELDS: u32 = 10;

struct ThreadWaker {
    thread: Thread,
    notified: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // Release: what the waker published before waking is visible after the park returns.
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

thread_local! {
    static WAKER: (Arc<ThreadWaker>, Waker) = {
        let tw = Arc::new(ThreadWaker { thread: thread::current(), notified: AtomicBool::new(false) });
        let w = Waker::from(tw.clone());
        (tw, w)
    };
}

/// Runs `fut` to completion on this thread. `op` and `site` are reported to the observer each
/// time the thread parks. Panics if called from async code on a runtime thread (see
/// `assert_blocking_allowed`), naming `api` and the async form to use `instead`.
///
/// The one blocking engine of the workspace: gocsp-sync's `wait_blocking` uses it too
/// (through `__private`), so every blocking call parks, reports and refuses alike.
#[track_caller]
pub fn block_on<F: Future>(
    fut: F,
    op: Op,
    site: &'static Location<'static>,
    api: &str,
    instead: &str,
) -> F::Output {
    assert_blocking_allowed(api, instead);
    let mut fut = pin!(fut);
    WAKER.with(|(tw, waker)| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            hook::blocked(op, site);
            // A wake often comes within microseconds (the peer is running on another core):
            // spin, then yield, before paying for a futex sleep and wake-up (crossbeam's
            // Backoff does the same). Acquire pairs with the Release in `wake_by_ref`.
            let mut notified = false;
            for i in 0..SPINS + YIELDS {
                if tw.notified.swap(false, Ordering::Acquire) {
                    notified = true;
                    break;
                }
                if i < SPINS {
                    for _ in 0..(1 << (i / 8).min(4)) {
                        std::hint::spin_loop();
                    }
                } else {
                    thread::yield_now();
                }
            }
            // Spurious unparks loop.
            while !notified && !tw.notified.swap(false, Ordering::Acquire) {
                thread::park();
            }
        }
    })
}

/// Panics with a message saying what to use instead if this thread is driving async code for
/// a tokio runtime (a worker thread inside a task, or inside `block_on`): blocking it could
/// deadlock the very tasks that would unblock it. Threads of `spawn_blocking` and plain OS
/// threads may block.
///
/// How it tells: tokio gives a cooperative budget to every task poll and `block_on`, and none
/// to `spawn_blocking` closures or foreign threads. Taking budget units without reporting
/// progress reaches zero within tokio's budget (128 units) only when a budget is in force; the
/// guards are then dropped newest first, which restores the budget exactly.
#[track_caller]
fn assert_blocking_allowed(api: &str, instead: &str) {
    if in_budgeted_context() {
        panic!(
            "gocsp: `{api}` was called from async code on a tokio runtime thread; blocking here \
             can deadlock the tasks that would unblock it. Use `{instead}` in async code, or \
             run the blocking code in `tokio::task::spawn_blocking` / `gocsp::go_blocking!` or \
             on a plain OS thread."
        );
    }
}

#[cfg(not(loom))]
fn in_budgeted_context() -> bool {
    if tokio::runtime::Handle::try_current().is_err() {
        return false;
    }
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    // On the stack: this runs before every blocking call made from a runtime's thread.
    let mut guards: [Option<tokio::task::coop::RestoreOnPending>; 129] = [const { None }; 129];
    let mut budgeted = false;
    for slot in guards.iter_mut() {
        match tokio::task::coop::poll_proceed(&mut cx) {
            Poll::Ready(g) => *slot = Some(g),
            Poll::Pending => {
                budgeted = true;
                break;
            }
        }
    }
    // Newest first: each guard restores the budget it found, so the oldest restores the start.
    for g in guards.iter_mut().rev() {
        drop(g.take());
    }
    budgeted
}

#[cfg(loom)]
fn in_budgeted_context() -> bool {
    false
}
