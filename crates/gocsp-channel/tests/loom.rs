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

/// Two values through `chan(0)`, one way: the waiter slot a woken waiter lets go of (without
/// the lock) is handed out again to the next wait, on either thread, and never while its
/// waiter still holds it (a slot shared by two waits would mix their outcomes, and loom sees
/// the cell's accesses collide); both values arrive once, in order.
#[test]
fn a_slot_let_go_of_is_reused_by_the_next_wait_on_another_thread() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let receiver = thread::spawn(move || {
            let a = block_on(rx.recv()).expect("first value");
            let b = block_on(rx.recv()).expect("second value");
            (a.0, b.0)
        });
        block_on(tx.send(Counted(1, drops.clone()))).unwrap();
        block_on(tx.send(Counted(2, drops.clone()))).unwrap();
        assert_eq!(receiver.join().unwrap(), (1, 2));
        assert_eq!(drops.load(Ordering::SeqCst), 2);
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

/// Direct hand-off racing a drop: a receive on `chan(1)` registers (its slot is empty), then
/// another thread sends 1 and 2 with `try_send` while this thread polls the receive once more
/// and drops it. The first value lands in the receiver's slot or in the buffer; if the dropped
/// receive did not collect it, it goes back to the front of the buffer, before 2. Whatever the
/// order, the values received are exactly the values sent, in order, each once.
#[test]
fn delivery_to_a_slot_races_the_receive_futures_drop() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(1);
        let mut recv = rx.recv();
        assert!(poll_once(&mut recv).is_none(), "nothing sent yet");
        let d = drops.clone();
        let sender = thread::spawn(move || {
            let mut sent = vec![];
            for i in [1, 2] {
                if tx.try_send(Counted(i, d.clone())).is_ok() {
                    sent.push(i);
                }
            }
            sent
        });
        let mut got: Vec<u32> = poll_once(&mut recv)
            .flatten()
            .map(|v| v.0)
            .into_iter()
            .collect();
        drop(recv);
        let sent = sender.join().unwrap();
        while let Ok(v) = rx.try_recv() {
            got.push(v.0);
        }
        assert_eq!(got, sent, "received {got:?}, sent {sent:?}");
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 2, "every value dropped once");
    });
}

/// A send parked on `chan(0)` (its value in the sender's queue entry) is dropped while another
/// thread tries to receive: the receiver took the value (the send completed), or the dropped
/// send gets it back and drops it. Never both, never neither.
#[test]
fn dropped_send_whose_value_was_not_taken_gets_it_back() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let mut send = tx.send(Counted(4, drops.clone()));
        assert!(poll_once(&mut send).is_none(), "nobody receives yet");
        // The receiver keeps what it took: only the dropped send may drop a value here.
        let receiver = thread::spawn(move || rx.try_recv().ok());
        let sent = poll_once(&mut send).map(|r| r.is_ok());
        drop(send);
        let dropped_with_send = drops.load(Ordering::SeqCst);
        let got = receiver.join().unwrap();
        match got {
            Some(v) => {
                assert_eq!(v.0, 4);
                assert_eq!(dropped_with_send, 0, "taken, so not the send's to drop");
                drop(v);
                assert_eq!(drops.load(Ordering::SeqCst), 1, "dropped exactly once");
            }
            None => {
                assert_eq!(dropped_with_send, 1, "not taken: back to the dropped send");
                assert_ne!(sent, Some(true), "a send nobody received did not complete");
            }
        }
    });
}

/// A parked send on `chan(0)` dropped while the channel closes on another thread: the
/// rejected value comes back to the dropped send (through its slot or its queue entry) and
/// drops exactly once.
#[test]
fn dropped_send_racing_close_gets_its_value_back() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let mut send = tx.send(Counted(6, drops.clone()));
        assert!(poll_once(&mut send).is_none());
        let closer = thread::spawn(move || {
            rx.close();
            rx
        });
        if let Some(r) = poll_once(&mut send) {
            let v = r.expect_err("nobody receives, so only a close completes it");
            assert_eq!(v.0 .0, 6);
        }
        drop(send);
        let rx = closer.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Closed));
    });
}

/// A select registered on `chan(0)` (polled once: pending) is chosen by a `try_send` on
/// another thread — the value handed to its case's slot — and dropped before it is polled
/// again: the value goes back to the channel for the next receiver. If the drop came first
/// the `try_send` found nobody and handed the value back. Exactly one of these.
#[test]
fn select_dropped_between_chosen_and_completed_gives_the_value_back() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let sent = {
            let mut recv = RecvCase::new(Some(&rx));
            let mut cases = [&mut recv as &mut (dyn Case + Send)];
            let mut fut = Box::pin(select(&mut cases, false, false));
            assert!(poll_once(&mut fut).is_none(), "nothing sent yet");
            let sender = thread::spawn(move || tx.try_send(8).is_ok());
            drop(fut);
            sender.join().unwrap()
        };
        let rescued = rx.try_recv().ok();
        assert_eq!(rescued.is_some(), sent, "sent {sent}, rescued {rescued:?}");
        assert_eq!(rescued.unwrap_or(8), 8);
        assert_eq!(rx.try_recv().err(), Some(TryRecvError::Closed));
    });
}

/// A select's send case on `chan(0)`, registered, is chosen by a receiver on another thread
/// (granted that receiver, which now waits for the value) and dropped before it completes:
/// the receiver goes back to waiting, and the next send reaches it. Nothing else changed.
#[test]
fn select_send_dropped_between_chosen_and_completed_gives_the_receiver_back() {
    loom::model(|| {
        let (tx, rx) = chan::<u32>(0);
        let receiver = thread::spawn(move || block_on(rx.recv()));
        {
            let mut send = SendCase::new(Some(&tx));
            let mut cases = [&mut send as &mut (dyn Case + Send)];
            let mut fut = Box::pin(select(&mut cases, false, false));
            if let Some(i) = poll_once(&mut fut) {
                // The receiver was already waiting: the case fired at once. Dropping the
                // permit unused gives the receiver back too.
                assert_eq!(i, 0);
                drop(fut);
                drop(send.take().expect("open"));
            }
        }
        block_on(tx.send(10)).expect("the receiver is still there");
        assert_eq!(receiver.join().unwrap(), Some(10));
    });
}
