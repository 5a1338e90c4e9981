//! Randomized cancellation stress: tasks send and receive numbered values on channels of every
//! capacity while their futures are dropped at random points (tiny timeouts, races against a
//! yield, permits dropped unused, futures dropped on another task). At the end every value was
//! received exactly once, handed back to its sender, or dropped unsent with its cancelled future;
//! and every value was dropped exactly once.

use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::{select, Either};
use futures::FutureExt;
use gocsp_channel::__private::{complete_send, select as chan_select, Case, RecvCase, SendCase};
use gocsp_channel::{chan, unbounded, Receiver, SendError, Sender, TryRecvError, TrySendError};

const SENDERS: usize = 4;
const RECEIVERS: usize = 3;
const ATTEMPTS: usize = 1500;

// Per-value flags.
/// The send completed (`Ok` from `send`, `try_send`, or a permit's `send`).
const SENT: u8 = 1;
/// The value came back to its sender (`SendError`, `TrySendError`, or never left a reserve).
const RETURNED: u8 = 2;
/// Its send future was dropped before it returned: it was sent or it was dropped, not both.
const ABANDONED: u8 = 4;
/// `try_send` found the channel full and the sender gave up: never sent.
const GAVE_UP: u8 = 8;

struct Book {
    flags: Vec<AtomicU8>,
    received: Vec<AtomicU8>,
    drops: Vec<AtomicU8>,
}

impl Book {
    fn new() -> Arc<Self> {
        let n = SENDERS * ATTEMPTS;
        let v = || (0..n).map(|_| AtomicU8::new(0)).collect();
        Arc::new(Book {
            flags: v(),
            received: v(),
            drops: v(),
        })
    }
    fn flag(&self, id: usize, f: u8) {
        let old = self.flags[id].fetch_or(f, Ordering::SeqCst);
        assert_eq!(old, 0, "value {id} classified twice ({old} then {f})");
    }
}

/// A numbered value that records its own drop.
struct Val {
    id: usize,
    book: Arc<Book>,
}

impl Drop for Val {
    fn drop(&mut self) {
        self.book.drops[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

/// xorshift: enough randomness for choosing cancellation points, seeded per task.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
    fn tiny(&mut self) -> Duration {
        // Zero fires at the first poll that finds the operation waiting; the others need the
        // timer (1 ms resolution) and so let the other side act meanwhile.
        match self.below(4) {
            0 | 1 => Duration::ZERO,
            _ => Duration::from_micros(self.below(1_500)),
        }
    }
}

/// Races `fut` against one `yield_now`; `None` if the yield won (`fut` is then dropped).
async fn race_yield<F: Future + Unpin>(fut: F) -> Option<F::Output> {
    match select(fut, Box::pin(tokio::task::yield_now())).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(((), fut)) => {
            drop(fut);
            None
        }
    }
}

/// With `hold`, this sender waits half-way for the channel to be closed, so that the close
/// surely lands while sends are still to come.
async fn sender(k: usize, tx: Sender<Val>, book: Arc<Book>, hold: bool, done: Arc<AtomicUsize>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((k as u64 + 1) * 0x1234_5678_9ABC));
    // Never ready (its sender lives as long as this task): the other case of our selects.
    let (_idle_tx, idle_rx) = chan::<Val>(0);
    for j in 0..ATTEMPTS {
        if hold && j == ATTEMPTS / 2 {
            while !tx.is_closed() {
                tokio::task::yield_now().await;
            }
        }
        let id = k * ATTEMPTS + j;
        let v = Val {
            id,
            book: book.clone(),
        };
        match rng.below(7) {
            6 => {
                // A select send case, cancelled by tiny timeouts until it fires; the value is
                // produced only once the case is chosen, so a cancelled select loses nothing.
                let mut v = Some(v);
                loop {
                    let mut send_c = SendCase::new(Some(&tx));
                    let mut idle = RecvCase::new(Some(&idle_rx));
                    let fired = {
                        let mut cases = [&mut send_c as &mut (dyn Case + Send), &mut idle];
                        let sel = chan_select(&mut cases, false, false);
                        if rng.below(2) == 0 {
                            tokio::time::timeout(rng.tiny(), sel).await.ok()
                        } else {
                            // Inline rather than `race_yield`: a generic async fn over this
                            // future trips rustc's higher-ranked `Send` inference.
                            match select(sel, Box::pin(tokio::task::yield_now())).await {
                                Either::Left((i, _)) => Some(i),
                                Either::Right(((), sel)) => {
                                    drop(sel);
                                    None
                                }
                            }
                        }
                    };
                    match fired {
                        Some(0) => {
                            match complete_send(send_c.take(), v.take().unwrap()) {
                                Ok(()) => book.flag(id, SENT),
                                Err(SendError(v)) => {
                                    book.flag(id, RETURNED);
                                    drop(v);
                                }
                            }
                            break;
                        }
                        Some(i) => panic!("the idle case fired ({i})"),
                        None => {}
                    }
                }
            }
            0 => match tokio::time::timeout(rng.tiny(), tx.send(v)).await {
                Ok(Ok(())) => book.flag(id, SENT),
                Ok(Err(SendError(v))) => {
                    book.flag(id, RETURNED);
                    drop(v);
                }
                Err(_) => book.flag(id, ABANDONED),
            },
            1 => match race_yield(tx.send(v)).await {
                Some(Ok(())) => book.flag(id, SENT),
                Some(Err(SendError(v))) => {
                    book.flag(id, RETURNED);
                    drop(v);
                }
                None => book.flag(id, ABANDONED),
            },
            2 => {
                // Reserve with cancellation, keep trying; some permits are dropped unused.
                let mut v = Some(v);
                loop {
                    let r = if rng.below(2) == 0 {
                        tokio::time::timeout(rng.tiny(), tx.reserve()).await.ok()
                    } else {
                        race_yield(tx.reserve()).await
                    };
                    match r {
                        Some(Ok(permit)) if rng.below(3) == 0 => {
                            drop(permit);
                            tokio::task::yield_now().await;
                        }
                        Some(Ok(permit)) => {
                            permit.send(v.take().unwrap());
                            book.flag(id, SENT);
                            break;
                        }
                        Some(Err(SendError(()))) => {
                            book.flag(id, RETURNED);
                            break;
                        }
                        None => {}
                    }
                }
            }
            3 => {
                let mut v = v;
                loop {
                    match tx.try_send(v) {
                        Ok(()) => {
                            book.flag(id, SENT);
                            break;
                        }
                        Err(TrySendError::Full(back)) if rng.below(4) > 0 => {
                            v = back;
                            tokio::task::yield_now().await;
                        }
                        Err(TrySendError::Full(back)) => {
                            book.flag(id, GAVE_UP);
                            drop(back);
                            break;
                        }
                        Err(TrySendError::Closed(back)) => {
                            book.flag(id, RETURNED);
                            drop(back);
                            break;
                        }
                    }
                }
            }
            4 => {
                // A send registered here, dropped by another task (maybe on the other worker).
                let tx2 = tx.clone();
                let mut fut = Box::pin(async move { tx2.send(v).await });
                match (&mut fut).now_or_never() {
                    Some(Ok(())) => book.flag(id, SENT),
                    Some(Err(SendError(v))) => {
                        book.flag(id, RETURNED);
                        drop(v);
                    }
                    None => {
                        book.flag(id, ABANDONED);
                        tokio::spawn(async move { drop(fut) }).await.unwrap();
                    }
                }
            }
            _ => match tx.send(v).await {
                Ok(()) => book.flag(id, SENT),
                Err(SendError(v)) => {
                    book.flag(id, RETURNED);
                    drop(v);
                }
            },
        }
    }
    done.fetch_add(1, Ordering::SeqCst);
}

async fn receiver(k: usize, rx: Receiver<Val>, book: Arc<Book>, got: Arc<AtomicUsize>) {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ ((k as u64 + 7) * 0x2545_F491_4F6C));
    let (_idle_tx, idle_rx) = chan::<Val>(0);
    let take = |v: Val| {
        book.received[v.id].fetch_add(1, Ordering::SeqCst);
        got.fetch_add(1, Ordering::SeqCst);
    };
    loop {
        let r = match rng.below(6) {
            5 => {
                // A select receive case, cancelled by a tiny timeout or a lost race.
                let mut recv_c = RecvCase::new(Some(&rx));
                let mut idle = RecvCase::new(Some(&idle_rx));
                let fired = {
                    let mut cases = [&mut recv_c as &mut (dyn Case + Send), &mut idle];
                    let sel = chan_select(&mut cases, false, false);
                    if rng.below(2) == 0 {
                        tokio::time::timeout(rng.tiny(), sel).await.ok()
                    } else {
                        match select(sel, Box::pin(tokio::task::yield_now())).await {
                            Either::Left((i, _)) => Some(i),
                            Either::Right(((), sel)) => {
                                drop(sel);
                                None
                            }
                        }
                    }
                };
                match fired {
                    Some(0) => Some(recv_c.take()),
                    Some(i) => panic!("the idle case fired ({i})"),
                    None => None,
                }
            }
            0 => tokio::time::timeout(rng.tiny(), rx.recv()).await.ok(),
            1 => race_yield(rx.recv()).await,
            2 => match rx.try_recv() {
                Ok(v) => Some(Some(v)),
                Err(TryRecvError::Closed) => Some(None),
                Err(TryRecvError::Empty) => {
                    tokio::task::yield_now().await;
                    None
                }
            },
            3 => {
                // Registered here, dropped by another task: a value handed to it is rescued.
                let rx2 = rx.clone();
                let mut fut = Box::pin(async move { rx2.recv().await });
                match (&mut fut).now_or_never() {
                    Some(r) => Some(r),
                    None => {
                        tokio::spawn(async move { drop(fut) }).await.unwrap();
                        None
                    }
                }
            }
            _ => Some(rx.recv().await),
        };
        match r {
            Some(Some(v)) => take(v),
            Some(None) => return,
            None => {}
        }
    }
}

/// One run: `close_early` makes a receiver close the channel after some values, so senders
/// get values back; otherwise the channel closes when the last sender is done.
async fn run(make: fn() -> (Sender<Val>, Receiver<Val>), close_early: bool) {
    let book = Book::new();
    let got = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = make();
    let mut tasks = Vec::new();
    for k in 0..SENDERS {
        let hold = close_early && k == 0;
        tasks.push(tokio::spawn(sender(
            k,
            tx.clone(),
            book.clone(),
            hold,
            done.clone(),
        )));
    }
    drop(tx);
    for k in 0..RECEIVERS {
        tasks.push(tokio::spawn(receiver(
            k,
            rx.clone(),
            book.clone(),
            got.clone(),
        )));
    }
    if close_early {
        // Close in the middle of the traffic (or once only the held sender is left).
        while got.load(Ordering::SeqCst) < SENDERS * ATTEMPTS / 4
            && done.load(Ordering::SeqCst) < SENDERS - 1
        {
            tokio::task::yield_now().await;
        }
        assert!(rx.close());
    }
    for t in tasks {
        t.await.unwrap();
    }
    // A permit may deliver after the receivers saw the close: collect those too.
    while let Ok(v) = rx.try_recv() {
        book.received[v.id].fetch_add(1, Ordering::SeqCst);
    }
    assert_eq!(rx.try_recv().err(), Some(TryRecvError::Closed));
    drop(rx);

    let (mut sent, mut returned, mut abandoned) = (0, 0, 0);
    for id in 0..SENDERS * ATTEMPTS {
        let flags = book.flags[id].load(Ordering::SeqCst);
        let received = book.received[id].load(Ordering::SeqCst);
        let drops = book.drops[id].load(Ordering::SeqCst);
        assert_eq!(drops, 1, "value {id} dropped {drops} times (flags {flags})");
        match flags {
            SENT => {
                assert_eq!(received, 1, "value {id} sent, received {received} times");
                sent += 1;
            }
            RETURNED | GAVE_UP => {
                assert_eq!(received, 0, "value {id} handed back yet received");
                returned += usize::from(flags == RETURNED);
            }
            ABANDONED => {
                assert!(received <= 1, "value {id} received {received} times");
                abandoned += 1;
            }
            _ => panic!("value {id} never classified (flags {flags})"),
        }
    }
    assert!(sent > 0);
    if close_early {
        assert!(returned > 0, "the close handed nothing back");
    } else {
        assert_eq!(
            returned, 0,
            "nothing is handed back before the senders are done"
        );
    }
    eprintln!("sent {sent} returned {returned} abandoned {abandoned}");
}

fn cap0() -> (Sender<Val>, Receiver<Val>) {
    chan(0)
}
fn cap1() -> (Sender<Val>, Receiver<Val>) {
    chan(1)
}
fn cap16() -> (Sender<Val>, Receiver<Val>) {
    chan(16)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbuffered() {
    run(cap0, false).await;
    run(cap0, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_one() {
    run(cap1, false).await;
    run(cap1, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_sixteen() {
    run(cap16, false).await;
    run(cap16, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_channel() {
    run(unbounded, false).await;
    run(unbounded, true).await;
}
