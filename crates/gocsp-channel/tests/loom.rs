//! loom models of the channel's state machine: the rendezvous handoff, close racing parked
//! waiters, a registered receive dropped in the middle of a delivery, and two selects meeting
//! on an unbuffered channel. Run with `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2
//! cargo test -p gocsp-channel --release --test loom` (`CARGO_TARGET_DIR=target/loom`). Two
//! threads per model: with the channel's spin lock under loom, three-thread models do not
//! finish in reasonable time.
#![cfg(loom)]

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use gocsp_channel::__private::{complete_send, select, Case, RecvCase, SendCase};
use gocsp_channel::{chan, SendError, TryRecvError, TrySendError};
use loom::future::block_on;
use loom::thread;

/// A value that counts its drops (a plain std atomic: it is read only after the threads join).
#[derive(Debug)]
struct Counted(u32, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `fut` exactly once with loom's waker; `None` if it was pending.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Option<F::Output> {
    block_on(futures::future::poll_fn(|cx| {
        Poll::Ready(match std::pin::Pin::new(&mut *fut).poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    }))
}

/// Rendezvous handoff on `chan(0)`: a sender thread and a receiver thread in every order
/// (receiver parks first, sender parks first, both arrive together); the value is delivered
/// exactly once, the send completes, and nothing is left in the channel.
#[test]
fn rendezvous_handoff_delivers_exactly_once() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let d = drops.clone();
        let sender = thread::spawn(move || block_on(tx.send(Counted(7, d))).is_ok());
        let got = block_on(rx.recv()).expect("a value");
        assert_eq!(got.0, 7);
        assert!(sender.join().unwrap(), "the send completed");
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(got);
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Closed));
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Close racing a rendezvous on `chan(0)`: the main thread registers a receive (one poll),
/// closes the channel, then finishes the receive, while a sender thread sends (and may park).
/// Either they met before the close (`Some(v)` and `Ok`) or neither completed (`None` and the
/// value handed back); never one without the other, and the value is dropped once.
#[test]
fn close_races_parked_receiver_and_sender() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let d = drops.clone();
        let sender = thread::spawn(move || match block_on(tx.send(Counted(1, d))) {
            Ok(()) => true,
            Err(SendError(v)) => {
                assert_eq!(v.0, 1);
                false
            }
        });
        let got = {
            let mut recv = rx.recv();
            match poll_once(&mut recv) {
                Some(v) => v,
                None => {
                    rx.close();
                    block_on(recv)
                }
            }
        };
        let got = got.map(|v| v.0);
        rx.close();
        let sent = sender.join().unwrap();
        assert_eq!(sent, got == Some(1), "sent {sent}, received {got:?}");
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Close racing a receiver parked on an empty `chan(0)` (no sender): the receive returns
/// `None` whether the close lands before it registers, while it is registering, or after it
/// parked.
#[test]
fn close_races_parked_receiver() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let receiver = thread::spawn(move || block_on(rx.recv()));
        assert!(tx.close());
        assert_eq!(receiver.join().unwrap(), None);
    });
}

/// Close racing a sender parked on a full `chan(1)`: the buffered value survives the close;
/// the parked value is either buffered behind it (send `Ok`) or handed back (`Err`), once.
#[test]
fn close_races_sender_parked_on_full_buffer() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(1);
        tx.try_send(Counted(1, drops.clone())).unwrap();
        let d = drops.clone();
        let sender = thread::spawn(move || block_on(tx.send(Counted(2, d))).is_ok());
        rx.close();
        let sent = sender.join().unwrap();
        assert_eq!(rx.try_recv().map(|v| v.0), Ok(1));
        if sent {
            assert_eq!(rx.try_recv().map(|v| v.0), Ok(2));
        }
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Closed));
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    });
}

/// A receive on `chan(0)` registered by one poll and then dropped, racing a `try_send` on
/// another thread: the value was taken by that poll, or rescued into the channel for the next
/// receiver, or the `try_send` found nobody waiting and handed it back. Exactly one of these.
#[test]
fn recv_dropped_mid_delivery_loses_nothing() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let d = drops.clone();
        let sender = thread::spawn(move || match tx.try_send(Counted(5, d)) {
            Ok(()) => true,
            Err(TrySendError::Full(v)) => {
                assert_eq!(v.0, 5);
                false
            }
            Err(TrySendError::Closed(_)) => unreachable!("nobody closes"),
        });
        let mut recv = rx.recv();
        let polled = poll_once(&mut recv).flatten().map(|v| v.0);
        drop(recv);
        let sent = sender.join().unwrap();
        let rescued = rx.try_recv().ok().map(|v| v.0);
        let got = usize::from(polled.is_some()) + usize::from(rescued.is_some());
        assert_eq!(
            got,
            usize::from(sent),
            "sent {sent}: polled {polled:?}, rescued {rescued:?}"
        );
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// A blocking-style send on `chan(0)` whose first receiver registers, is possibly handed the
/// value, and is dropped on its own thread; a second receive on that thread must then get the
/// value (from the rescue or from the still-waiting sender). The send completes exactly once.
#[test]
fn recv_dropped_mid_delivery_value_goes_to_next_receiver() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let d = drops.clone();
        let sender = thread::spawn(move || block_on(tx.send(Counted(9, d))).is_ok());
        let mut first = rx.recv();
        let early = poll_once(&mut first).flatten();
        drop(first);
        let v = match early {
            Some(v) => v,
            None => block_on(rx.recv()).expect("the value reaches the next receiver"),
        };
        assert_eq!(v.0, 9);
        assert!(sender.join().unwrap());
        drop(v);
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Closed));
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Two selects meet on unbuffered `c`: thread A selects {send on c, recv on a}; the main thread
/// first makes `a` ready (racing A's select), then selects {recv on c, recv on b} with `b`
/// already ready. (Two threads, not three: loom's spin-lock exploration of three threads does
/// not finish in CI time.) Whatever fires, A's send fired exactly when B's receive on `c` did,
/// and B got A's value.
#[test]
fn two_selects_meet_on_unbuffered_channel() {
    loom::model(|| {
        let (c_tx, c_rx) = chan::<u32>(0);
        // Keeps `c` open when A finishes by its other case (else B's receive sees the close).
        let c_open = c_tx.clone();
        let (a_tx, a_rx) = chan::<u32>(1);
        let (b_tx, b_rx) = chan::<u32>(1);
        b_tx.try_send(2).unwrap();
        let sel_a = thread::spawn(move || {
            let mut send_c = SendCase::new(Some(&c_tx));
            let mut recv_a = RecvCase::new(Some(&a_rx));
            let i = block_on(select(
                &mut [&mut send_c as &mut (dyn Case + Send), &mut recv_a],
                false,
                false,
            ));
            match i {
                0 => {
                    complete_send(send_c.take(), 42).expect("c is open");
                    "sent c"
                }
                1 => {
                    assert_eq!(recv_a.take(), Some(1));
                    "recv a"
                }
                _ => unreachable!("no default"),
            }
        });
        a_tx.try_send(1).unwrap();
        let mut recv_c = RecvCase::new(Some(&c_rx));
        let mut recv_b = RecvCase::new(Some(&b_rx));
        let i = block_on(select(
            &mut [&mut recv_c as &mut (dyn Case + Send), &mut recv_b],
            false,
            false,
        ));
        let b = match i {
            0 => {
                assert_eq!(recv_c.take(), Some(42));
                "recv c"
            }
            1 => {
                assert_eq!(recv_b.take(), Some(2));
                "recv b"
            }
            _ => unreachable!("no default"),
        };
        let a = sel_a.join().unwrap();
        assert_eq!(a == "sent c", b == "recv c", "A {a}, B {b}");
        if a == "sent c" {
            assert_eq!(b_rx.try_recv(), Ok(2), "b untouched");
        } else {
            assert_eq!(a_tx.len(), 0, "A took a");
        }
        drop(c_open);
    });
}

/// A `pin!`-ed select future is also droppable before it completes: a select registered on
/// an unbuffered channel and dropped while a `try_send` races it leaves the value either
/// taken by the select (it fired) or handed back, never lost.
#[test]
fn select_dropped_mid_delivery_loses_nothing() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let sender = thread::spawn(move || tx.try_send(3).is_ok());
        let mut recv = RecvCase::new(Some(&rx));
        let fired = {
            let mut cases = [&mut recv as &mut (dyn Case + Send)];
            let mut fut = pin!(select(&mut cases, false, false));
            poll_once(&mut fut)
        };
        let sent = sender.join().unwrap();
        let taken = match fired {
            Some(0) => recv.take(),
            Some(_) => unreachable!("one case"),
            None => None,
        };
        let rescued = rx.try_recv().ok();
        let got = usize::from(taken.is_some()) + usize::from(rescued.is_some());
        assert_eq!(got, usize::from(sent), "sent {sent}: {taken:?} {rescued:?}");
    });
}

/// A permit's `send` on one thread racing the drop of the last receiver on another (the permit
/// reads the receiver count, then the drop disconnects, then the permit takes the lock): the
/// value must not be stranded in a channel nobody can receive from; it is dropped at once,
/// exactly once, whichever side goes first.
#[test]
fn permit_send_races_last_receiver_drop() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(1);
        let permit = tx.try_reserve().unwrap();
        let d = drops.clone();
        let sender = thread::spawn(move || permit.send(Counted(1, d)));
        drop(rx);
        sender.join().unwrap();
        assert_eq!(
            tx.len(),
            0,
            "a value is stranded in a channel with no receiver"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the value was not dropped");
        drop(tx);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Go's TestNonblockSelectRace, in the small: `c1` holds a value; one thread runs a
/// non-blocking select over `c1` and `c2`; the other fills `c2` and then empties `c1`. At every
/// instant one of them holds a value, so the select must never take `default` — in
/// particular not through the lock-free double collect of the channels' hints (first collect
/// sees `c2` empty then `c1` empty; the second must notice `c2` changed).
#[test]
fn nonblocking_select_never_misses_a_value_that_was_always_there() {
    loom::model(|| {
        let (tx1, rx1) = chan::<u8>(1);
        let (tx2, rx2) = chan::<u8>(1);
        tx1.try_send(1).unwrap();
        let (rx1b, rx2b) = (rx1.clone(), rx2.clone());
        let selector = thread::spawn(move || {
            let mut c1 = RecvCase::new(Some(&rx1b));
            let mut c2 = RecvCase::new(Some(&rx2b));
            // `c2` first: the first collect reads it empty, then `c1`, which may be empty by
            // then (the window a single collect would miss).
            let i = block_on(select(
                &mut [&mut c2 as &mut (dyn Case + Send), &mut c1],
                false,
                true,
            ));
            i != gocsp_channel::__private::SELECT_DEFAULT
        });
        tx2.try_send(2).unwrap();
        // Take one of the two (whichever is still there), as Go's main goroutine does.
        let took = rx1.try_recv().is_ok() || rx2.try_recv().is_ok();
        assert!(took);
        assert!(
            selector.join().unwrap(),
            "a non-blocking select missed a ready channel"
        );
    });
}
