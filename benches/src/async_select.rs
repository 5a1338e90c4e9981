//! The select workloads for the async peers, written with `tokio::select!`:
//!
//! - over `tokio::sync::mpsc` where one consumer per channel is enough (send cases through
//!   `reserve()`, which is cancel-safe);
//! - over flume where the workload needs capacity 0 or several consumers per channel (Go's
//!   shared channels), which tokio's mpsc cannot do. A flume `send_async` future dropped by
//!   a losing branch takes its value with it; the values here are constants, so the checks
//!   still hold, but a real program would need flume's `Selector` instead.
//!
//! Also spawn + wait with `tokio::spawn`.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{channel, Receiver};

use crate::workloads::{share, Check, Latch};

/// Run `body(share)` on `p` tasks whose shares add up to `n`, and wait for them.
async fn split<F, Fut>(n: u64, p: usize, body: F)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let handles: Vec<_> = (0..p).map(|i| tokio::spawn(body(share(n, p, i)))).collect();
    for h in handles {
        h.await.expect("bench task panicked");
    }
}

/// Fan-in of 4 producers through `tokio::select!`, disabling a branch once its channel closes.
pub async fn fan_in_select(n: u64) -> Check {
    let mut rxs: Vec<Receiver<u64>> = Vec::new();
    for k in 0..4u64 {
        let (tx, rx) = channel(128);
        rxs.push(rx);
        tokio::spawn(async move {
            let mut v = k + 1;
            while v <= n {
                tx.send(v).await.expect("closed");
                v += 4;
            }
        });
    }
    let [mut a, mut b, mut c, mut d] = <[Receiver<u64>; 4]>::try_from(rxs).expect("four");
    let (mut oa, mut ob, mut oc, mut od) = (true, true, true, true);
    let mut total = 0;
    while oa || ob || oc || od {
        tokio::select! {
            v = a.recv(), if oa => match v { Some(v) => total += v, None => oa = false },
            v = b.recv(), if ob => match v { Some(v) => total += v, None => ob = false },
            v = c.recv(), if oc => match v { Some(v) => total += v, None => oc = false },
            v = d.recv(), if od => match v { Some(v) => total += v, None => od = false },
        }
    }
    if total != n * (n + 1) / 2 {
        return Err(format!("sum {total}, want {}", n * (n + 1) / 2));
    }
    Ok(())
}

/// Go's `BenchmarkSelectUncontended` on `p` tasks.
pub async fn select_uncontended(n: u64, p: usize) -> Check {
    let bad = Arc::new(AtomicI64::new(0));
    split(n, p, |share| {
        let bad = bad.clone();
        async move {
            let (tx1, mut rx1) = channel::<u64>(1);
            let (tx2, mut rx2) = channel::<u64>(1);
            tx1.send(0).await.expect("fresh");
            for _ in 0..share {
                tokio::select! {
                    _ = rx1.recv() => tx2.send(0).await.expect("open"),
                    _ = rx2.recv() => tx1.send(0).await.expect("open"),
                }
            }
            if rx1.len() + rx2.len() != 1 {
                bad.fetch_add(1, Ordering::Relaxed);
            }
        }
    })
    .await;
    match bad.load(Ordering::Relaxed) {
        0 => Ok(()),
        _ => Err("token lost or duplicated".into()),
    }
}

/// Go's `BenchmarkSelectNonblock` on `p` tasks sharing four flume channels, with `try_*`
/// as the non-blocking form.
pub async fn select_nonblock_flume(n: u64, p: usize) -> Check {
    let (_tx1, rx1) = flume::bounded::<u64>(0);
    let (tx2, _rx2) = flume::bounded::<u64>(0);
    let (_tx3, rx3) = flume::bounded::<u64>(1);
    let (tx4, rx4) = flume::bounded::<u64>(1);
    let fired = Arc::new(AtomicI64::new(0));
    split(n, p, |share| {
        let (rx1, tx2, rx3, tx4) = (rx1.clone(), tx2.clone(), rx3.clone(), tx4.clone());
        let fired = fired.clone();
        async move {
            let mut k = 0;
            for _ in 0..share {
                k += i64::from(rx1.try_recv().is_ok());
                k += i64::from(tx2.try_send(0).is_ok());
                k += i64::from(rx3.try_recv().is_ok());
                let _ = tx4.try_send(0);
            }
            fired.fetch_add(k, Ordering::Relaxed);
        }
    })
    .await;
    if fired.load(Ordering::Relaxed) != 0 || rx4.len() != 1 {
        return Err("a case fired that cannot be ready".into());
    }
    Ok(())
}

/// Go's `BenchmarkSelectProdCons`: `p` producers and `p` consumers. tokio's mpsc has one
/// consumer, so each producer/consumer pair gets its own channel of capacity 128.
pub async fn select_prod_cons(n: u64, p: usize) -> Check {
    let remaining = Arc::new(AtomicI64::new(n as i64));
    let (close_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut handles = Vec::new();
    for _ in 0..p {
        let (tx, mut rx) = channel::<u64>(128);
        let remaining = remaining.clone();
        let mut close = close_tx.subscribe();
        handles.push(tokio::spawn(async move {
            let timer = tokio::time::sleep(Duration::from_secs(3600));
            tokio::pin!(timer);
            let mut work = 0u64;
            let mut sent = 0i64;
            while remaining.fetch_sub(1, Ordering::Relaxed) > 0 {
                for _ in 0..100 {
                    work = std::hint::black_box(work * 2) / 2;
                }
                tokio::select! {
                    permit = tx.reserve() => { permit.expect("open").send(1); sent += 1 }
                    _ = &mut timer => {}
                    _ = close.recv() => {}
                }
            }
            tx.send(0).await.expect("open");
            sent + work as i64
        }));
        let mut close = close_tx.subscribe();
        handles.push(tokio::spawn(async move {
            let timer = tokio::time::sleep(Duration::from_secs(3600));
            tokio::pin!(timer);
            let mut work = 0u64;
            let mut got = 0i64;
            loop {
                tokio::select! {
                    v = rx.recv() => match v.expect("open") { 0 => break, _ => got += 1 },
                    _ = &mut timer => {}
                    _ = close.recv() => {}
                }
                for _ in 0..100 {
                    work = std::hint::black_box(work * 2) / 2;
                }
            }
            -got - work as i64
        }));
    }
    let mut balance = 0;
    for h in handles {
        balance += h.await.map_err(|_| "task panicked")?;
    }
    drop(close_tx);
    if balance != 0 {
        return Err(format!("sent and received differ by {balance}"));
    }
    Ok(())
}

/// Go's `BenchmarkSelectSyncContended` on flume's capacity-0 channels: `p` receiver tasks
/// select over 3 shared channels, `p` sender tasks select over sending to them or `done`.
pub async fn select_sync_contended_flume(n: u64, p: usize) -> Check {
    let (tx1, rx1) = flume::bounded::<u64>(0);
    let (tx2, rx2) = flume::bounded::<u64>(0);
    let (tx3, rx3) = flume::bounded::<u64>(0);
    let (done_tx, done_rx) = flume::bounded::<()>(0);
    let mut senders = Vec::new();
    for _ in 0..p {
        let (tx1, tx2, tx3, done) = (tx1.clone(), tx2.clone(), tx3.clone(), done_rx.clone());
        senders.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    Ok(()) = tx1.send_async(1) => {}
                    Ok(()) = tx2.send_async(1) => {}
                    Ok(()) = tx3.send_async(1) => {}
                    _ = done.recv_async() => return,
                }
            }
        }));
    }
    drop((tx1, tx2, tx3));
    let got = Arc::new(AtomicI64::new(0));
    split(n, p, |share| {
        let (got, a, b, c) = (got.clone(), rx1.clone(), rx2.clone(), rx3.clone());
        async move {
            let mut s = 0;
            for _ in 0..share {
                s += tokio::select! {
                    v = a.recv_async() => v.expect("open"),
                    v = b.recv_async() => v.expect("open"),
                    v = c.recv_async() => v.expect("open"),
                };
            }
            got.fetch_add(s as i64, Ordering::Relaxed);
        }
    })
    .await;
    drop(done_tx);
    drop((rx1, rx2, rx3));
    for s in senders {
        s.await.map_err(|_| "sender panicked")?;
    }
    if got.load(Ordering::Relaxed) != n as i64 {
        return Err(format!(
            "received {}, want {n}",
            got.load(Ordering::Relaxed)
        ));
    }
    Ok(())
}

/// Go's `BenchmarkChanPopular` on flume's capacity-0 channels: 1000 tasks each select over
/// a shared channel that never fires and their own channel; `n` rounds of one send to each.
pub async fn chan_popular_flume(n: u64) -> Check {
    const K: usize = 1000;
    let (_c_tx, c) = flume::bounded::<u64>(0);
    let mut txs = Vec::with_capacity(K);
    let mut handles = Vec::with_capacity(K);
    for _ in 0..K {
        let (tx, rx) = flume::bounded::<u64>(0);
        txs.push(tx);
        let c = c.clone();
        handles.push(tokio::spawn(async move {
            let mut got = 0;
            for _ in 0..n {
                tokio::select! {
                    _ = c.recv_async() => {}
                    _ = rx.recv_async() => got += 1,
                }
            }
            got
        }));
    }
    for _ in 0..n {
        for tx in &txs {
            tx.send_async(1).await.expect("open");
        }
    }
    for h in handles {
        let got = h.await.map_err(|_| "task panicked")?;
        if got != n {
            return Err(format!("a task received {got}, want {n}"));
        }
    }
    Ok(())
}

/// Spawn `n` tasks that each add their index to a counter, wait for all with a [`Latch`].
pub async fn spawn_wait(n: u64) -> Check {
    let latch = Latch::new(n as usize);
    let sum = Arc::new(AtomicI64::new(0));
    for i in 0..n {
        let (latch, sum) = (latch.clone(), sum.clone());
        tokio::spawn(async move {
            sum.fetch_add(i as i64, Ordering::Relaxed);
            latch.done();
        });
    }
    latch.wait().await;
    crate::workloads::check_sum(sum.load(Ordering::Relaxed) as u64, n)
}

/// The context fan-out of `ctx_cancel_10k` with tokio-util's `CancellationToken` (one child
/// token of a root per round) and a [`Latch`] per round for the wait.
pub async fn ctx_cancel_fanout_tokio(n: u64) -> Check {
    use tokio_util::sync::CancellationToken;
    const WAITERS: usize = 10_000;
    let root = CancellationToken::new();
    let tokens: Arc<Vec<CancellationToken>> =
        Arc::new((0..n).map(|_| root.child_token()).collect());
    let latches: Arc<Vec<Latch>> = Arc::new((0..n).map(|_| Latch::new(WAITERS)).collect());
    let woke = Arc::new(AtomicI64::new(0));
    for _ in 0..WAITERS {
        let (tokens, latches, woke) = (tokens.clone(), latches.clone(), woke.clone());
        tokio::spawn(async move {
            for (t, l) in tokens.iter().zip(latches.iter()) {
                t.cancelled().await;
                woke.fetch_add(1, Ordering::Relaxed);
                l.done();
            }
        });
    }
    for (t, l) in tokens.iter().zip(latches.iter()) {
        t.cancel();
        l.wait().await;
    }
    match woke.load(Ordering::Relaxed) {
        w if w == n as i64 * WAITERS as i64 => Ok(()),
        w => Err(format!("woke {w}, want {}", n as i64 * WAITERS as i64)),
    }
}
