//! Buffered channels, `chan(n)` with `n > 0`: crossbeam-channel's flavor tests adapted to async.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use futures::FutureExt;
use gocsp_channel::{chan, SendError, TryRecvError, TrySendError};

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
    let (tx, rx) = chan::<i32>(1);
    tx.send(7).await.unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
    tx.try_send(8).unwrap();
    assert_eq!(rx.recv().await, Some(8));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn fifo_order() {
    let (tx, rx) = chan::<u32>(100);
    for i in 0..100 {
        tx.send(i).await.unwrap();
    }
    for i in 0..100 {
        assert_eq!(rx.recv().await, Some(i));
    }
}

#[tokio::test]
async fn capacity_len_is_empty() {
    for cap in 1..=10 {
        let (tx, rx) = chan::<()>(cap);
        assert_eq!(tx.capacity(), Some(cap));
        assert_eq!(rx.capacity(), Some(cap));
        assert!(tx.is_empty() && rx.is_empty());
        for i in 0..cap {
            assert_eq!(tx.len(), i);
            assert_eq!(rx.len(), i);
            tx.try_send(()).unwrap();
        }
        assert_eq!(rx.len(), cap);
        assert!(!rx.is_empty());
        assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));
        for i in (0..cap).rev() {
            rx.try_recv().unwrap();
            assert_eq!(rx.len(), i);
        }
        assert!(rx.is_empty());
    }
}

#[tokio::test]
async fn try_send_full_then_room_again() {
    let (tx, rx) = chan::<i32>(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(rx.try_recv(), Ok(1));
    tx.try_send(3).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[tokio::test]
async fn send_waits_when_full() {
    let (tx, rx) = chan::<i32>(1);
    tx.send(1).await.unwrap();
    let mut send = Box::pin(tx.send(2));
    assert!((&mut send).now_or_never().is_none(), "full: the send waits");
    assert_eq!(rx.len(), 1);
    assert_eq!(rx.recv().await, Some(1));
    // The receive moved the waiting sender's value into the freed slot.
    assert_eq!(rx.len(), 1);
    assert_eq!(send.await, Ok(()));
    assert_eq!(rx.recv().await, Some(2));
}

#[tokio::test]
async fn waiting_senders_proceed_in_fifo_order() {
    let (tx, rx) = chan::<u32>(1);
    tx.try_send(0).unwrap();
    let mut sends: Vec<_> = (1..=5).map(|i| Box::pin(tx.send(i))).collect();
    for s in &mut sends {
        assert!(s.now_or_never().is_none());
    }
    for i in 0..5u32 {
        assert_eq!(rx.recv().await, Some(i));
        // Exactly the oldest waiting sender got the slot.
        for (j, s) in sends.iter_mut().enumerate() {
            if (j as u32) < i + 1 {
                continue;
            }
            let ready = s.now_or_never().is_some();
            assert_eq!(ready, j as u32 == i, "after recv {i}, sender {j}");
        }
    }
    assert_eq!(rx.recv().await, Some(5));
}

#[tokio::test]
async fn waiting_receivers_served_in_fifo_order() {
    let (tx, rx) = chan::<u32>(4);
    let mut recvs: Vec<_> = (0..3).map(|_| Box::pin(rx.recv())).collect();
    for r in &mut recvs {
        assert!(r.now_or_never().is_none());
    }
    for i in 0..3 {
        tx.send(i).await.unwrap();
    }
    for (i, r) in recvs.into_iter().enumerate() {
        assert_eq!(r.await, Some(i as u32));
    }
}

#[tokio::test]
async fn values_sent_before_close_are_delivered() {
    let (tx, rx) = chan::<i32>(3);
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert!(tx.close());
    assert!(rx.is_closed() && tx.is_closed());
    assert_eq!(tx.send(3).await, Err(SendError(3)));
    assert_eq!(tx.try_send(4), Err(TrySendError::Closed(4)));
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv().await, None);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[tokio::test]
async fn double_close_returns_false() {
    let (tx, rx) = chan::<i32>(1);
    assert!(rx.close());
    assert!(!tx.close());
    assert!(!rx.close());
}

#[tokio::test]
async fn close_hands_waiting_senders_their_values() {
    let (tx, rx) = chan::<String>(1);
    tx.send("buffered".into()).await.unwrap();
    let mut s1 = Box::pin(tx.send("a".into()));
    let mut s2 = Box::pin(tx.send("b".into()));
    assert!((&mut s1).now_or_never().is_none());
    assert!((&mut s2).now_or_never().is_none());
    assert!(rx.close());
    assert_eq!(s1.await.unwrap_err().into_inner(), "a");
    assert_eq!(s2.await, Err(SendError("b".to_string())));
    // The buffered value survives the close.
    assert_eq!(rx.recv().await.as_deref(), Some("buffered"));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test]
async fn close_wakes_waiting_receivers() {
    let (tx, rx) = chan::<i32>(2);
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            tokio::spawn(async move { rx.recv().await })
        })
        .collect();
    tokio::task::yield_now().await;
    tx.close();
    for w in waiters {
        assert_eq!(w.await.unwrap(), None);
    }
}

#[tokio::test]
async fn last_sender_drop_closes() {
    let (tx, rx) = chan::<i32>(2);
    let tx2 = tx.clone();
    tx.send(1).await.unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    tx2.send(2).await.unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, Some(2));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test]
async fn last_receiver_drop_drops_buffer_and_fails_senders() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::<Counted>(2);
    tx.send(Counted(1, drops.clone())).await.unwrap();
    tx.send(Counted(2, drops.clone())).await.unwrap();
    let mut waiting = Box::pin(tx.send(Counted(3, drops.clone())));
    assert!((&mut waiting).now_or_never().is_none());
    let rx2 = rx.clone();
    drop(rx);
    assert!(!tx.is_closed(), "one receiver is left");
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(drops.load(Ordering::SeqCst), 2, "buffered values dropped");
    let back = waiting.await.unwrap_err().into_inner();
    assert_eq!(back.0, 3, "the waiting sender got its value back");
    let again = tx.try_send(Counted(4, drops.clone())).unwrap_err();
    assert!(matches!(&again, TrySendError::Closed(c) if c.0 == 4));
    drop((back, again));
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    drop(tx);
    assert_eq!(drops.load(Ordering::SeqCst), 4, "nothing dropped twice");
}

#[tokio::test]
async fn permit_holds_a_slot() {
    let (tx, rx) = chan::<i32>(1);
    let permit = tx.reserve().await.unwrap();
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
    assert_eq!(rx.len(), 0, "a reserved slot holds no value yet");
    permit.send(2);
    assert_eq!(rx.recv().await, Some(2));
    tx.try_send(3).unwrap();
}

#[tokio::test]
async fn dropped_permit_frees_the_slot() {
    let (tx, rx) = chan::<i32>(1);
    let permit = tx.try_reserve().unwrap();
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    drop(permit);
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[tokio::test]
async fn dropped_permit_wakes_a_waiting_sender() {
    let (tx, rx) = chan::<i32>(1);
    let permit = tx.reserve().await.unwrap();
    let sender = tokio::spawn({
        let tx = tx.clone();
        async move { tx.send(5).await }
    });
    tokio::task::yield_now().await;
    assert!(!sender.is_finished());
    drop(permit);
    assert_eq!(sender.await.unwrap(), Ok(()));
    assert_eq!(rx.recv().await, Some(5));
}

#[tokio::test]
async fn dropped_permit_wakes_a_waiting_reserve() {
    let (tx, rx) = chan::<i32>(1);
    let permit = tx.reserve().await.unwrap();
    let mut second = Box::pin(tx.reserve());
    assert!((&mut second).now_or_never().is_none());
    drop(permit);
    let p2 = second.await.unwrap();
    p2.send(9);
    assert_eq!(rx.recv().await, Some(9));
}

#[tokio::test]
async fn reserve_waits_for_room() {
    let (tx, rx) = chan::<i32>(1);
    tx.send(1).await.unwrap();
    let mut reserve = Box::pin(tx.reserve());
    assert!((&mut reserve).now_or_never().is_none());
    assert_eq!(rx.recv().await, Some(1));
    reserve.await.unwrap().send(2);
    assert_eq!(rx.recv().await, Some(2));
}

#[tokio::test]
async fn reserve_fails_when_closed_but_a_permit_still_sends() {
    let (tx, rx) = chan::<i32>(2);
    let permit = tx.reserve().await.unwrap();
    let mut waiting = Box::pin(async {
        let _p = tx.reserve().await.unwrap();
        tx.reserve().await
    });
    assert!((&mut waiting).now_or_never().is_none());
    assert!(tx.close());
    assert!(matches!(waiting.await, Err(SendError(()))));
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
    // A permit's send cannot fail: its value is delivered after the close.
    permit.send(1);
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(rx.recv().await, None);
}

#[tokio::test]
async fn same_channel() {
    let (tx1, rx1) = chan::<()>(1);
    let (tx2, rx2) = chan::<()>(1);
    assert!(tx1.same_channel(&tx1.clone()));
    assert!(!tx1.same_channel(&tx2));
    assert!(rx1.same_channel(&rx1.clone()));
    assert!(!rx1.same_channel(&rx2));
}

#[tokio::test]
async fn dropped_send_future_loses_nothing_else() {
    let (tx, rx) = chan::<i32>(1);
    tx.send(1).await.unwrap();
    let mut s2 = Box::pin(tx.send(2));
    let mut s3 = Box::pin(tx.send(3));
    assert!((&mut s2).now_or_never().is_none());
    assert!((&mut s3).now_or_never().is_none());
    drop(s2); // the send of 2 never happened
    assert_eq!(rx.recv().await, Some(1));
    assert_eq!(s3.await, Ok(()));
    assert_eq!(rx.recv().await, Some(3));
    assert!(rx.is_empty());
}

/// Async tasks and OS threads on one channel, senders and receivers of both kinds.
#[test]
fn mpmc_threads_and_tasks() {
    const PER: u64 = 2_000;
    for cap in [1, 3, 64] {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        let (tx, rx) = chan::<u64>(cap);
        let mut threads = Vec::new();
        let mut tasks = Vec::new();
        // 2 thread senders, 2 task senders: values k*PER .. (k+1)*PER.
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
        // 1 thread receiving with recv_blocking, 1 with iter, 2 tasks.
        let r = rx.clone();
        threads.push(thread::spawn(move || {
            let mut sum = 0;
            while let Some(v) = r.recv_blocking() {
                sum += v;
            }
            sum
        }));
        let r = rx.clone();
        threads.push(thread::spawn(move || r.iter().sum()));
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
        assert_eq!(total, n * (n - 1) / 2, "cap {cap}");
    }
}

/// Per-sender order is kept across the channel even with several senders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_sender_fifo_under_contention() {
    let (tx, rx) = chan::<(usize, u32)>(4);
    for k in 0..3 {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..2_000 {
                tx.send((k, i)).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut next = [0u32; 3];
    while let Some((k, i)) = rx.recv().await {
        assert_eq!(i, next[k]);
        next[k] += 1;
    }
    assert_eq!(next, [2_000; 3]);
}

/// A task looping on an always-ready channel still lets other tasks run on a single-threaded
/// runtime: channel operations spend tokio's cooperative budget.
#[tokio::test(flavor = "current_thread")]
async fn cooperative_budget_does_not_starve_neighbours() {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    tokio::spawn(async move { f.store(true, Ordering::SeqCst) });
    let (tx, rx) = chan::<u32>(1);
    let mut seen_at = None;
    for i in 0..10_000 {
        tx.send(i).await.unwrap();
        assert_eq!(rx.recv().await, Some(i));
        if seen_at.is_none() && flag.load(Ordering::SeqCst) {
            seen_at = Some(i);
        }
    }
    let seen_at = seen_at.expect("the other task never ran during the loop");
    // tokio's budget is 128 units; a channel operation is charged one unit per four (see
    // `coop::OPS_PER_UNIT`), so the loop's 2 operations a turn yield by turn 256.
    assert!(seen_at <= 300, "the other task first ran at turn {seen_at}");
}

/// A permit holding the only slot sends while a receiver waits (the value goes straight to it)
/// and a `reserve` waits for room (a lazy sender: a receiver cannot take a value from it, so
/// both wait). The slot the permit held is free again and must go to the waiting reserve, or
/// the reserve stays parked forever on an empty, open channel.
#[tokio::test]
async fn permit_send_to_waiting_receiver_frees_its_slot_for_waiting_senders() {
    use futures::FutureExt;
    let (tx, rx) = gocsp_channel::chan::<u32>(1);
    let permit = tx.try_reserve().unwrap();
    let mut reserve = Box::pin(tx.reserve());
    assert!(
        (&mut reserve).now_or_never().is_none(),
        "reserve parks: the slot is taken"
    );
    let mut recv = Box::pin(rx.recv());
    assert!(
        (&mut recv).now_or_never().is_none(),
        "receiver parks: nothing buffered"
    );
    permit.send(1);
    assert_eq!(recv.await, Some(1));
    let second = reserve.now_or_never();
    assert!(
        matches!(second, Some(Ok(_))),
        "the freed slot goes to the waiting reserve"
    );
    second.unwrap().unwrap().send(2);
    assert_eq!(rx.try_recv(), Ok(2));
}

/// A permit reserved before `close` is a send that has begun: receivers must not report the
/// channel drained (`None`) while it is outstanding, and must get its value; once it is given
/// back unused, waiting receivers see the close.
#[tokio::test]
async fn close_with_outstanding_permit_is_not_drained_until_it_resolves() {
    use futures::FutureExt;
    let (tx, rx) = gocsp_channel::chan::<u32>(2);
    let permit = tx.try_reserve().unwrap();
    tx.close();
    assert_eq!(rx.try_recv(), Err(gocsp_channel::TryRecvError::Empty));
    let mut recv = Box::pin(rx.recv());
    assert!(
        (&mut recv).now_or_never().is_none(),
        "a value is still coming"
    );
    permit.send(7);
    assert_eq!(recv.await, Some(7));
    assert_eq!(rx.recv().await, None);

    let (tx, rx) = gocsp_channel::chan::<u32>(2);
    let permit = tx.try_reserve().unwrap();
    tx.close();
    let mut recv = Box::pin(rx.recv());
    assert!((&mut recv).now_or_never().is_none());
    drop(permit);
    assert_eq!(recv.await, None, "the permit was given back: now drained");
}
