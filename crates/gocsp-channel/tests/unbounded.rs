//! Unbounded channels: crossbeam-channel's list-flavor tests adapted to async.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use futures::FutureExt;
use gocsp_channel::{unbounded, SendError, TryRecvError, TrySendError};

/// Counts drops of the values it carries, so tests can check nothing is lost or dropped twice.
#[derive(Debug)]
struct Counted(u32, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn smoke() {
    let (tx, rx) = unbounded::<i32>();
    tx.try_send(7).unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
    tx.send(8).await.unwrap();
    assert_eq!(rx.recv().await, Some(8));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn capacity_len_is_empty() {
    let (tx, rx) = unbounded::<()>();
    assert_eq!(tx.capacity(), None);
    assert_eq!(rx.capacity(), None);
    assert!(tx.is_empty() && rx.is_empty());
    for i in 0..50 {
        assert_eq!(tx.len(), i);
        tx.try_send(()).unwrap();
    }
    assert!(!rx.is_empty());
    for i in (0..50).rev() {
        rx.try_recv().unwrap();
        assert_eq!(rx.len(), i);
    }
    assert!(rx.is_empty());
}

/// Outside a runtime (no cooperative budget), so every send must be ready on its first poll.
#[test]
fn sends_never_wait_and_stay_fifo() {
    let (tx, rx) = unbounded::<u32>();
    for i in 0..10_000 {
        // Always ready on the first poll.
        assert_eq!(tx.send(i).now_or_never(), Some(Ok(())));
    }
    assert_eq!(rx.len(), 10_000);
    for i in 0..10_000 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
}

#[tokio::test]
async fn reserve_is_always_ready() {
    let (tx, rx) = unbounded::<u32>();
    let permits: Vec<_> = (0..100).map(|_| tx.try_reserve().unwrap()).collect();
    assert_eq!(rx.len(), 0);
    tx.try_send(1000).unwrap();
    for (i, p) in permits.into_iter().enumerate() {
        p.send(i as u32);
    }
    assert_eq!(rx.try_recv(), Ok(1000));
    for i in 0..100 {
        assert_eq!(rx.recv().await, Some(i));
    }
    let p = tx.reserve().await.unwrap();
    drop(p);
    assert!(rx.is_empty());
}

#[tokio::test]
async fn waiting_receivers_served_in_fifo_order() {
    let (tx, rx) = unbounded::<u32>();
    let mut recvs: Vec<_> = (0..3).map(|_| Box::pin(rx.recv())).collect();
    for r in &mut recvs {
        assert!(r.now_or_never().is_none());
    }
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert!(
        rx.is_empty(),
        "values went straight to the waiting receivers"
    );
    for (i, r) in recvs.into_iter().enumerate() {
        assert_eq!(r.await, Some(i as u32));
    }
}

#[tokio::test]
async fn values_sent_before_close_are_delivered() {
    let (tx, rx) = unbounded::<i32>();
    for i in 0..5 {
        tx.send(i).await.unwrap();
    }
    assert!(rx.close());
    assert!(!rx.close());
    assert!(!tx.close());
    assert_eq!(tx.send(9).await, Err(SendError(9)));
    assert_eq!(tx.try_send(9), Err(TrySendError::Closed(9)));
    assert!(matches!(tx.reserve().await, Err(SendError(()))));
    for i in 0..5 {
        assert_eq!(rx.recv().await, Some(i));
    }
    assert_eq!(rx.recv().await, None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[tokio::test]
async fn close_wakes_waiting_receivers() {
    let (tx, rx) = unbounded::<i32>();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move { rx.recv().await })
        })
        .collect();
    tokio::task::yield_now().await;
    assert!(tx.close());
    for w in waiters {
        assert_eq!(w.await.unwrap(), None);
    }
}

#[tokio::test]
async fn last_sender_drop_closes() {
    let (tx, rx) = unbounded::<i32>();
    let tx2 = tx.clone();
    tx.send(1).await.unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test]
async fn last_receiver_drop_drops_buffer_and_fails_senders() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = unbounded::<Counted>();
    for i in 0..10 {
        tx.send(Counted(i, drops.clone())).await.unwrap();
    }
    let rx2 = rx.clone();
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(drops.load(Ordering::SeqCst), 10);
    let back = tx.send(Counted(10, drops.clone())).await.unwrap_err();
    assert_eq!(back.0 .0, 10);
    drop(back);
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 11);
}

#[tokio::test]
async fn channel_drop_drops_every_value_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = unbounded::<Counted>();
    for i in 0..100 {
        tx.try_send(Counted(i, drops.clone())).unwrap();
    }
    for _ in 0..40 {
        drop(rx.try_recv().unwrap());
    }
    assert_eq!(drops.load(Ordering::SeqCst), 40);
    drop((tx, rx));
    assert_eq!(drops.load(Ordering::SeqCst), 100);
}

#[tokio::test]
async fn same_channel() {
    let (tx1, rx1) = unbounded::<()>();
    let (tx2, rx2) = unbounded::<()>();
    assert!(tx1.same_channel(&tx1.clone()));
    assert!(!tx1.same_channel(&tx2));
    assert!(rx1.same_channel(&rx1.clone()));
    assert!(!rx1.same_channel(&rx2));
}

/// Async tasks and OS threads on one channel, senders and receivers of both kinds.
#[test]
fn mpmc_threads_and_tasks() {
    const PER: u64 = 5_000;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tx, rx) = unbounded::<u64>();
    let mut threads = Vec::new();
    let mut tasks = Vec::new();
    for k in 0..2u64 {
        let tx = tx.clone();
        threads.push(thread::spawn(move || {
            for i in 0..PER {
                tx.send_blocking(k * PER + i).unwrap();
            }
            0u64
        }));
    }
    for k in 2..4u64 {
        let tx = tx.clone();
        tasks.push(rt.spawn(async move {
            for i in 0..PER {
                tx.send(k * PER + i).await.unwrap();
            }
            0u64
        }));
    }
    drop(tx);
    let r = rx.clone();
    threads.push(thread::spawn(move || r.iter().sum()));
    let r = rx.clone();
    threads.push(thread::spawn(move || {
        let mut sum = 0;
        while let Some(v) = r.recv_blocking() {
            sum += v;
        }
        sum
    }));
    for _ in 0..2 {
        let r = rx.clone();
        tasks.push(rt.spawn(async move {
            let mut sum = 0;
            while let Some(v) = r.recv().await {
                sum += v;
            }
            sum
        }));
    }
    drop(rx);
    let mut total: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    total += rt.block_on(async {
        let mut s = 0;
        for t in tasks {
            s += t.await.unwrap();
        }
        s
    });
    let n = 4 * PER;
    assert_eq!(total, n * (n - 1) / 2);
}

/// A task looping on an always-ready channel still lets other tasks run on a single-threaded
/// runtime: channel operations spend tokio's cooperative budget.
#[tokio::test(flavor = "current_thread")]
async fn cooperative_budget_does_not_starve_neighbours() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    tokio::spawn(async move { f.store(true, Ordering::SeqCst) });
    let (tx, rx) = unbounded::<u32>();
    let mut seen = false;
    for i in 0..10_000 {
        tx.send(i).await.unwrap();
        assert_eq!(rx.recv().await, Some(i));
        seen |= flag.load(Ordering::SeqCst);
    }
    assert!(seen, "the other task never ran during the loop");
}

/// The same with only sends: an unbounded send is always ready, yet it yields.
#[tokio::test(flavor = "current_thread")]
async fn cooperative_budget_applies_to_sends_alone() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    tokio::spawn(async move { f.store(true, Ordering::SeqCst) });
    let (tx, rx) = unbounded::<u32>();
    let mut seen = false;
    for i in 0..10_000 {
        tx.send(i).await.unwrap();
        seen |= flag.load(Ordering::SeqCst);
    }
    assert!(seen, "the other task never ran during the loop");
    assert_eq!(rx.len(), 10_000);
}
