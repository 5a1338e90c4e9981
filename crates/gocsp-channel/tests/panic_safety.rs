//! A panic in user code that runs while a select holds channel locks leaves every channel
//! usable, and as if the select had not run: the select takes its locks through guards that
//! release them while unwinding, and the dropped select takes back what the pass had done.
//!
//! The user code that runs under a select's locks is a waker's `clone` (a select registers its
//! waker while it holds the lock of every case, "register, then check again"; a receive case
//! that commits to a lazy sender does the same under that channel's lock). Here it panics.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, RawWaker, RawWakerVTable, Wake, Waker};
use std::time::Duration;

use gocsp_channel::__private::{select, RecvCase};
use gocsp_channel::chan;

/// A waker whose `clone` panics.
fn panicky_waker() -> Waker {
    // SAFETY: every function of the vtable ignores the (null) data pointer, and `clone` never
    // returns, so no `RawWaker` is ever built from another one.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &PANICKY)) }
}

fn clone_panics(_: *const ()) -> RawWaker {
    panic!("this waker's clone panics");
}
fn no_op(_: *const ()) {}
static PANICKY: RawWakerVTable = RawWakerVTable::new(clone_panics, no_op, no_op, no_op);

/// A waker that records that it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Flag {
    fn woken(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn a_panic_under_a_selects_locks_leaves_its_channels_unlocked() {
    let (tx1, rx1) = chan::<u32>(1);
    let (tx2, rx2) = chan::<u32>(1);

    let waker = panicky_waker();
    let mut cx = Context::from_waker(&waker);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let (mut a, mut b) = (RecvCase::new(Some(&rx1)), RecvCase::new(Some(&rx2)));
        let mut cases: [&mut (dyn gocsp_channel::__private::Case + Send); 2] = [&mut a, &mut b];
        let fut = std::pin::pin!(select(&mut cases, false, false));
        // Nothing is ready: the select locks both channels and registers its waker.
        let _ = fut.poll(&mut cx);
    }));
    assert!(panicked.is_err(), "the waker's clone was expected to panic");

    // Another thread uses both channels; were a lock still held, it would spin forever.
    let (done_tx, done_rx) = mpsc::channel();
    let user = std::thread::spawn(move || {
        tx1.try_send(1).unwrap();
        tx2.try_send(2).unwrap();
        done_tx.send((rx1.try_recv(), rx2.try_recv())).unwrap();
    });
    let got = done_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("a channel stayed locked after the panic");
    assert_eq!(got, (Ok(1), Ok(2)));
    user.join().unwrap();
}

#[test]
fn a_panic_after_a_select_committed_to_a_lazy_sender_gives_the_receiver_back() {
    let (tx, rx) = chan::<u32>(0);
    // A reserve waits on the unbuffered channel: a lazy sender.
    let mut reserve = std::pin::pin!(tx.reserve());
    let flag = Arc::new(Flag::default());
    let flag_waker = Waker::from(Arc::clone(&flag));
    let mut reserve_cx = Context::from_waker(&flag_waker);
    assert!(reserve.as_mut().poll(&mut reserve_cx).is_pending());

    // The select's receive case finds it, commits to it (granting it this receiver) and
    // registers its waker under the channel's lock: the clone panics.
    let waker = panicky_waker();
    let mut cx = Context::from_waker(&waker);
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        let mut a = RecvCase::new(Some(&rx));
        let mut cases: [&mut (dyn gocsp_channel::__private::Case + Send); 1] = [&mut a];
        let fut = std::pin::pin!(select(&mut cases, false, false));
        let _ = fut.poll(&mut cx);
    }));
    assert!(panicked.is_err(), "the waker's clone was expected to panic");

    // The reserve was granted the select's receiver and woken (by the unwinding select), and
    // the dropped select took the receiver back: the value sent through the permit waits for
    // the next receiver instead of being lost.
    assert!(
        flag.woken(),
        "the reserve granted a receiver was never woken"
    );
    let std::task::Poll::Ready(Ok(permit)) = reserve.as_mut().poll(&mut reserve_cx) else {
        panic!("the reserve was granted the select's receiver");
    };
    permit.send(7);
    assert_eq!(rx.try_recv(), Ok(7));
}

/// A select whose waker's `clone` panicked inside its signal's waker slot, caught inside the
/// poll and dropped later (not while panicking), does not hand that broken signal to the next
/// select on the thread.
#[test]
fn a_signal_whose_waker_clone_panicked_is_not_reused() {
    let (tx, rx) = chan::<u32>(1);
    {
        let mut a = RecvCase::new(Some(&rx));
        let mut cases: [&mut (dyn gocsp_channel::__private::Case + Send); 1] = [&mut a];
        let mut fut = Box::pin(select(&mut cases, false, false));
        let waker = panicky_waker();
        let mut cx = Context::from_waker(&waker);
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let _ = fut.as_mut().poll(&mut cx);
        }));
        assert!(panicked.is_err(), "the waker's clone was expected to panic");
        drop(fut);
    }
    // The next select on this thread waits with a waker that records wakes.
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(Arc::clone(&flag));
    let mut a = RecvCase::new(Some(&rx));
    let mut cases: [&mut (dyn gocsp_channel::__private::Case + Send); 1] = [&mut a];
    let mut fut = std::pin::pin!(select(&mut cases, false, false));
    assert!(fut
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    tx.try_send(1).unwrap();
    assert!(
        flag.woken(),
        "the select waiting on a reused signal was never woken"
    );
}
