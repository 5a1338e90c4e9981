//! Unbuffered (rendezvous) channels: `chan(0)`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::FutureExt;
use gocsp_channel::{chan, SendError, TryRecvError, TrySendError};

/// Iteration counts: Miri interprets every instruction, so it runs a few rounds only.
const fn rounds(native: u64) -> u64 {
    if cfg!(miri) {
        20
    } else {
        native
    }
}

#[tokio::test]
async fn send_completes_only_when_received() {
    let (tx, rx) = chan::<i32>(0);
    let mut send = Box::pin(tx.send(1));
    // Nobody receives: the send waits.
    assert!((&mut send).now_or_never().is_none());
    assert_eq!(rx.len(), 0);
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(send.await, Ok(()));
}

#[tokio::test]
async fn try_send_needs_a_waiting_receiver() {
    let (tx, rx) = chan::<i32>(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    let mut recv = Box::pin(rx.recv());
    assert!((&mut recv).now_or_never().is_none()); // registered, waiting
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(recv.await, Some(2));
}

#[tokio::test]
async fn try_recv_takes_from_a_waiting_sender() {
    let (tx, rx) = chan::<i32>(0);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let mut send = Box::pin(tx.send(5));
    assert!((&mut send).now_or_never().is_none());
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(send.await, Ok(()));
}

#[tokio::test]
async fn capacity_and_len() {
    let (tx, rx) = chan::<()>(0);
    assert_eq!(tx.capacity(), Some(0));
    assert_eq!(rx.capacity(), Some(0));
    assert!(rx.is_empty());
}

#[tokio::test]
async fn close_wakes_receivers_and_rejects_senders() {
    let (tx, rx) = chan::<i32>(0);
    let rx2 = rx.clone();
    let waiting = tokio::spawn(async move { rx2.recv().await });
    tokio::task::yield_now().await;
    assert!(tx.close());
    assert!(!tx.close(), "second close reports false");
    assert_eq!(waiting.await.unwrap(), None);
    assert_eq!(rx.recv().await, None);
    assert_eq!(tx.send(3).await, Err(SendError(3)));
    assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    assert!(rx.is_closed() && tx.is_closed());
}

#[tokio::test]
async fn close_hands_waiting_senders_their_values() {
    let (tx, rx) = chan::<String>(0);
    let mut send = Box::pin(tx.send("kept".to_string()));
    assert!(
        (&mut send).now_or_never().is_none(),
        "parked: nobody receives"
    );
    rx.close();
    assert_eq!(send.await.unwrap_err().into_inner(), "kept");
}

#[tokio::test]
async fn last_sender_drop_closes() {
    let (tx, rx) = chan::<i32>(0);
    let tx2 = tx.clone();
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv().await, None);
}

#[tokio::test]
async fn last_receiver_drop_fails_waiting_sender() {
    let (tx, rx) = chan::<i32>(0);
    let t = tokio::spawn({
        let tx = tx.clone();
        async move { tx.send(9).await }
    });
    tokio::task::yield_now().await;
    drop(rx);
    assert_eq!(t.await.unwrap(), Err(SendError(9)));
    assert!(tx.is_closed());
}

#[tokio::test]
async fn dropped_receiver_future_passes_value_to_next_receiver() {
    let (tx, rx) = chan::<i32>(0);
    let mut first = Box::pin(rx.recv());
    assert!((&mut first).now_or_never().is_none());
    let mut second = Box::pin(rx.recv());
    assert!((&mut second).now_or_never().is_none());
    // The sender hands its value to `first` and completes.
    tx.send(7).await.unwrap();
    drop(first); // ... which is dropped before returning it.
    assert_eq!(second.await, Some(7));
}

#[tokio::test]
async fn dropped_receiver_future_with_no_other_receiver_keeps_value() {
    let (tx, rx) = chan::<i32>(0);
    let mut first = Box::pin(rx.recv());
    assert!((&mut first).now_or_never().is_none());
    tx.send(7).await.unwrap();
    drop(first);
    assert_eq!(rx.len(), 1, "the rescued value waits in the channel");
    assert_eq!(rx.try_recv(), Ok(7));
}

#[tokio::test]
async fn reserve_claims_a_receiver_and_gives_it_back() {
    let (tx, rx) = chan::<i32>(0);
    let mut recv = Box::pin(rx.recv());
    assert!((&mut recv).now_or_never().is_none());
    let permit = tx.reserve().await.unwrap();
    // The receiver is claimed: a try_send finds nobody waiting.
    assert!(tx.try_send(1).is_err());
    drop(permit);
    // Given back: it can be served again.
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(recv.await, Some(2));
}

#[tokio::test]
async fn reserve_waits_for_a_receiver() {
    let (tx, rx) = chan::<i32>(0);
    let t = tokio::spawn(async move {
        let p = tx.reserve().await.unwrap();
        p.send(11);
    });
    assert_eq!(rx.recv().await, Some(11));
    t.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_pong_many() {
    let (ping_tx, ping_rx) = chan::<u32>(0);
    let (pong_tx, pong_rx) = chan::<u32>(0);
    let t = tokio::spawn(async move {
        while let Some(v) = ping_rx.recv().await {
            pong_tx.send(v + 1).await.unwrap();
        }
    });
    for i in 0..rounds(10_000) as u32 {
        ping_tx.send(i).await.unwrap();
        assert_eq!(pong_rx.recv().await, Some(i + 1));
    }
    drop(ping_tx);
    t.await.unwrap();
}

#[test]
fn blocking_threads_rendezvous() {
    let (tx, rx) = chan::<u64>(0);
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..rounds(1000) {
                    tx.send_blocking(p * 1000 + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let got: u64 = rx.iter().sum();
    for p in producers {
        p.join().unwrap();
    }
    let expected: u64 = (0..4)
        .flat_map(|p| (0..rounds(1000)).map(move |i| p * 1000 + i))
        .sum();
    assert_eq!(got, expected);
}

#[test]
fn async_to_thread_and_back() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (to_thread, from_task) = chan::<i32>(0);
    let (to_task, from_thread) = chan::<i32>(0);
    let thread = std::thread::spawn(move || {
        for v in from_task.iter() {
            to_task.send_blocking(v * 2).unwrap();
        }
    });
    rt.block_on(async move {
        for i in 0..rounds(500) as i32 {
            to_thread.send(i).await.unwrap();
            assert_eq!(from_thread.recv().await, Some(i * 2));
        }
    });
    thread.join().unwrap();
}

#[tokio::test]
async fn blocking_call_on_runtime_thread_panics_clearly() {
    let (tx, rx) = chan::<i32>(1);
    let err =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rx.recv_blocking())).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("recv_blocking"), "{msg}");
    assert!(msg.contains(".recv().await"), "{msg}");
    // The channel is untouched and still usable.
    tx.send(1).await.unwrap();
    assert_eq!(rx.recv().await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_allowed_in_spawn_blocking() {
    let (tx, rx) = chan::<i32>(0);
    let h = tokio::task::spawn_blocking(move || rx.recv_blocking());
    tx.send(3).await.unwrap();
    assert_eq!(h.await.unwrap(), Some(3));
}

#[tokio::test]
async fn values_dropped_exactly_once_on_close_and_drop() {
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::<Counted>(0);
    let mut pending = Box::pin(tx.send(Counted(drops.clone())));
    assert!((&mut pending).now_or_never().is_none());
    drop(pending); // the send did not happen: the value drops with the future
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let mut r = Box::pin(rx.recv());
    assert!((&mut r).now_or_never().is_none());
    tx.try_send(Counted(drops.clone())).ok().unwrap();
    drop(r); // rescued into the channel
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    drop(rx); // last receiver: buffered values dropped
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 2);
}

/// Counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

#[tokio::test]
async fn a_value_handed_to_forgotten_receive_futures_drops_with_the_channel() {
    // Two receives wait at once (the channel's own waiter slot and one the channel makes),
    // each is handed a value, and neither future is ever polled again nor dropped: the values
    // sit in their slots, and drop exactly once, with the channel (Miri checks no leak).
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::<Counted>(0);
    // On the stack, never dropped: a forgotten future, without leaking the future's memory.
    let mut r1 = std::mem::ManuallyDrop::new(rx.recv());
    let mut r2 = std::mem::ManuallyDrop::new(rx.recv());
    assert!((&mut *r1).now_or_never().is_none());
    assert!((&mut *r2).now_or_never().is_none());
    tx.send(Counted(drops.clone())).await.unwrap();
    tx.send(Counted(drops.clone())).await.unwrap();
    assert_eq!(drops.load(Ordering::Relaxed), 0);
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::Relaxed), 2);
}
