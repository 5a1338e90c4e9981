//! Futures that let a test control or observe polling: [`Countdown`], [`flag_pending`],
//! [`until`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Ready after `n` polls, waking itself in between: a select raced against it is dropped
/// after a chosen number of polls.
#[derive(Debug)]
pub struct Countdown(pub u64);

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
/// its channels' queues): how tests know a task waits, without sleeping. Replaces Go's
/// `time.Sleep` "to make sure the goroutine is blocked".
pub fn flag_pending<F: Future>(fut: F, flag: Arc<AtomicBool>) -> impl Future<Output = F::Output> {
    let mut fut = Box::pin(fut);
    std::future::poll_fn(move |cx| {
        let r = fut.as_mut().poll(cx);
        if r.is_pending() {
            flag.store(true, SeqCst);
        }
        r
    })
}

/// Yields (tokio's `yield_now`) until `flag` is set.
pub async fn until(flag: &AtomicBool) {
    while !flag.load(SeqCst) {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls `fut` once with a no-op waker.
    fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
        Pin::new(fut).poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn countdown_is_ready_after_n_polls() {
        let mut c = Countdown(3);
        for _ in 0..3 {
            assert!(poll_once(&mut c).is_pending());
        }
        assert!(poll_once(&mut c).is_ready());
        assert!(poll_once(&mut Countdown(0)).is_ready());
    }

    #[test]
    fn flag_pending_sets_the_flag_only_once_pending() {
        let flag = Arc::new(AtomicBool::new(false));
        let mut ready = Box::pin(flag_pending(std::future::ready(1), flag.clone()));
        assert_eq!(poll_once(&mut ready), Poll::Ready(1));
        assert!(!flag.load(SeqCst));
        let mut waits = Box::pin(flag_pending(Countdown(1), flag.clone()));
        assert!(poll_once(&mut waits).is_pending());
        assert!(flag.load(SeqCst));
        assert!(poll_once(&mut waits).is_ready());
    }

    #[tokio::test]
    async fn until_returns_once_another_task_sets_the_flag() {
        let flag = Arc::new(AtomicBool::new(false));
        let setter = tokio::spawn({
            let flag = flag.clone();
            async move { flag.store(true, SeqCst) }
        });
        until(&flag).await;
        setter.await.unwrap();
    }
}
