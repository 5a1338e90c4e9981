//! Helpers shared by the select test files (`select.rs`, `select_stress.rs`, `golang.rs`).
//! Each test binary uses only some of them.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};

/// A small xorshift generator: the tests need cheap randomness, not a dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Ready after `n` polls, waking itself in between: a select raced against it is dropped
/// after a chosen number of polls.
pub(crate) struct Countdown(pub(crate) u64);

impl Future for Countdown {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Wraps `fut` so that `flag` is set once it has returned `Pending` (it is then parked in
/// its channels' queues): how these tests know a task waits, without sleeping. Replaces Go's
/// `time.Sleep` "to make sure the goroutine is blocked".
pub(crate) fn flag_pending<F: Future>(
    fut: F,
    flag: Arc<AtomicBool>,
) -> impl Future<Output = F::Output> {
    let mut fut = Box::pin(fut);
    std::future::poll_fn(move |cx| {
        let r = fut.as_mut().poll(cx);
        if r.is_pending() {
            flag.store(true, SeqCst);
        }
        r
    })
}

/// Yields until `flag` is set.
pub(crate) async fn until(flag: &AtomicBool) {
    while !flag.load(SeqCst) {
        tokio::task::yield_now().await;
    }
}
