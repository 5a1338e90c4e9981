//! gocsp's side of every workload: the [`Gocsp`] flavor for the generic channel workloads,
//! goroutines through `go` (with gocsp's registry and deadlock detector, as users get them),
//! `select!` for the select workloads, `WaitGroup` for spawn-and-wait, and the blocking API
//! on OS threads ([`GocspThreads`]).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gocsp::time::after;
use gocsp::{chan, go, select, CancelHandle, Context, Receiver, Sender, WaitGroup};

use crate::flavor::{Flavor, Rx, SyncFlavor, Tx};
use crate::workloads::{share, Check};

/// gocsp's channels on gocsp goroutines.
pub struct Gocsp;

impl Flavor for Gocsp {
    const NAME: &'static str = "gocsp";
    const RENDEZVOUS: bool = true;
    const MPMC: bool = true;
    const GOCSP_RUNTIME: bool = true;
    type Tx = Sender<u64>;
    type Rx = Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        chan(cap)
    }
    fn spawn<T: Send + 'static>(
        fut: impl std::future::Future<Output = T> + Send + 'static,
    ) -> impl std::future::Future<Output = T> + Send + 'static {
        let handle = go(fut);
        async move { handle.await.expect("bench goroutine failed") }
    }
}

impl Tx for Sender<u64> {
    async fn send(&self, v: u64) -> bool {
        Sender::send(self, v).await.is_ok()
    }
}

impl Rx for Receiver<u64> {
    async fn recv(&mut self) -> Option<u64> {
        Receiver::recv(self).await
    }
    fn clone_rx(&self) -> Self {
        self.clone()
    }
}

/// gocsp's blocking API (`send_blocking`/`recv_blocking`) on OS threads.
pub struct GocspThreads;

impl SyncFlavor for GocspThreads {
    const NAME: &'static str = "gocsp (threads)";
    type Tx = Sender<u64>;
    type Rx = Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        chan(cap)
    }
    fn send(tx: &Self::Tx, v: u64) {
        tx.send_blocking(v).expect("bench channel closed");
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv_blocking()
    }
}

/// Run `body(share)` on `p` goroutines whose shares add up to `n` (Go's `RunParallel`).
async fn split<F, Fut>(n: u64, p: usize, body: F)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let handles: Vec<_> = (0..p).map(|i| go(body(share(n, p, i)))).collect();
    for h in handles {
        h.await.expect("bench goroutine failed");
    }
}

/// Fan-in of 4 producers through `select!`, each case set to `None` (Go's nil) once closed.
pub async fn fan_in_select(n: u64) -> Check {
    let mut rxs = Vec::new();
    for k in 0..4u64 {
        let (tx, rx) = chan::<u64>(128);
        rxs.push(Some(rx));
        // Detached: the producer ends by itself; dropping its handle does not stop it.
        drop(go(async move {
            let mut v = k + 1;
            while v <= n {
                tx.send(v).await.expect("closed");
                v += 4;
            }
        }));
    }
    let [mut a, mut b, mut c, mut d] = <[Option<Receiver<u64>>; 4]>::try_from(rxs).expect("four");
    let (mut total, mut open) = (0, 4);
    while open > 0 {
        let got = select! {
            recv(a.as_ref()) -> v => v.ok_or(0),
            recv(b.as_ref()) -> v => v.ok_or(1),
            recv(c.as_ref()) -> v => v.ok_or(2),
            recv(d.as_ref()) -> v => v.ok_or(3),
        };
        match got {
            Ok(v) => total += v,
            Err(i) => {
                [&mut a, &mut b, &mut c, &mut d][i].take();
                open -= 1;
            }
        }
    }
    if total != n * (n + 1) / 2 {
        return Err(format!("sum {total}, want {}", n * (n + 1) / 2));
    }
    Ok(())
}

/// Go's `BenchmarkSelectUncontended`.
pub async fn select_uncontended(n: u64, p: usize) -> Check {
    let bad = Arc::new(AtomicI64::new(0));
    split(n, p, |share| {
        let bad = bad.clone();
        async move {
            let (tx1, rx1) = chan::<u64>(1);
            let (tx2, rx2) = chan::<u64>(1);
            tx1.send(0).await.expect("fresh");
            for _ in 0..share {
                select! {
                    recv(rx1) => tx2.send(0).await.expect("open"),
                    recv(rx2) => tx1.send(0).await.expect("open"),
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

/// Go's `BenchmarkSelectNonblock`: four one-case selects with `default`.
pub async fn select_nonblock(n: u64, p: usize) -> Check {
    let (_tx1, rx1) = chan::<u64>(0);
    let (tx2, _rx2) = chan::<u64>(0);
    let (_tx3, rx3) = chan::<u64>(1);
    let (tx4, rx4) = chan::<u64>(1);
    let fired = Arc::new(AtomicI64::new(0));
    split(n, p, |share| {
        let (rx1, tx2, rx3, tx4) = (rx1.clone(), tx2.clone(), rx3.clone(), tx4.clone());
        let fired = fired.clone();
        async move {
            let mut k = 0;
            for _ in 0..share {
                select! {
                    recv(rx1) => k += 1,
                    default => {}
                }
                select! {
                    send(tx2, 0) -> _ => k += 1,
                    default => {}
                }
                select! {
                    recv(rx3) => k += 1,
                    default => {}
                }
                select! {
                    send(tx4, 0) -> _ => {}
                    default => {}
                }
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

/// Go's `BenchmarkSelectProdCons`, with its never-firing `time.After(time.Hour)` cases.
pub async fn select_prod_cons(n: u64, p: usize) -> Check {
    let remaining = Arc::new(AtomicI64::new(n as i64));
    let (tx, rx) = chan::<u64>(128);
    let (close_tx, close_rx) = chan::<()>(0);
    let mut handles = Vec::new();
    for _ in 0..p {
        let (remaining, tx, close) = (remaining.clone(), tx.clone(), close_rx.clone());
        handles.push(go(async move {
            let timer = after(Duration::from_secs(3600));
            let mut work = 0u64;
            let mut sent = 0i64;
            while remaining.fetch_sub(1, Ordering::Relaxed) > 0 {
                for _ in 0..100 {
                    work = std::hint::black_box(work * 2) / 2;
                }
                select! {
                    send(tx, 1) -> r => { r.expect("open"); sent += 1 }
                    recv(timer) => {}
                    recv(close) => {}
                }
            }
            tx.send(0).await.expect("open");
            sent + work as i64
        }));
        let (rx, close) = (rx.clone(), close_rx.clone());
        handles.push(go(async move {
            let timer = after(Duration::from_secs(3600));
            let mut work = 0u64;
            let mut got = 0i64;
            loop {
                select! {
                    recv(rx) -> v => match v.expect("open") { 0 => break, _ => got += 1 },
                    recv(timer) => {}
                    recv(close) => {}
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
        balance += h.await.map_err(|e| e.to_string())?;
    }
    while let Ok(v) = rx.try_recv() {
        balance -= i64::from(v == 1);
    }
    drop(close_tx);
    if balance != 0 {
        return Err(format!("sent and received differ by {balance}"));
    }
    Ok(())
}

/// Go's `BenchmarkSelectSyncContended`.
pub async fn select_sync_contended(n: u64, p: usize) -> Check {
    let (tx1, rx1) = chan::<u64>(0);
    let (tx2, rx2) = chan::<u64>(0);
    let (tx3, rx3) = chan::<u64>(0);
    let (done_tx, done_rx) = chan::<()>(0);
    let mut senders = Vec::new();
    for _ in 0..p {
        let (tx1, tx2, tx3, done) = (tx1.clone(), tx2.clone(), tx3.clone(), done_rx.clone());
        senders.push(go(async move {
            loop {
                select! {
                    send(tx1, 1) -> _ => {}
                    send(tx2, 1) -> _ => {}
                    send(tx3, 1) -> _ => {}
                    recv(done) => return,
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
                s += select! {
                    recv(a) -> v => v.expect("open"),
                    recv(b) -> v => v.expect("open"),
                    recv(c) -> v => v.expect("open"),
                };
            }
            got.fetch_add(s as i64, Ordering::Relaxed);
        }
    })
    .await;
    done_tx.close();
    drop((rx1, rx2, rx3));
    for s in senders {
        s.await.map_err(|e| e.to_string())?;
    }
    if got.load(Ordering::Relaxed) != n as i64 {
        return Err(format!(
            "received {}, want {n}",
            got.load(Ordering::Relaxed)
        ));
    }
    Ok(())
}

/// Go's `BenchmarkChanPopular`.
pub async fn chan_popular(n: u64) -> Check {
    const K: usize = 1000;
    let (_c_tx, c) = chan::<bool>(0);
    let mut txs = Vec::with_capacity(K);
    let mut handles = Vec::with_capacity(K);
    for _ in 0..K {
        let (tx, d) = chan::<bool>(0);
        txs.push(tx);
        let c = c.clone();
        handles.push(go(async move {
            let mut got = 0;
            for _ in 0..n {
                select! {
                    recv(c) => {}
                    recv(d) => got += 1,
                }
            }
            got
        }));
    }
    for _ in 0..n {
        for tx in &txs {
            tx.send(true).await.expect("open");
        }
    }
    for h in handles {
        let got = h.await.map_err(|e| e.to_string())?;
        if got != n {
            return Err(format!("a goroutine received {got}, want {n}"));
        }
    }
    Ok(())
}

/// Spawn `n` goroutines that each add their index to a counter; wait with a `WaitGroup`.
pub async fn spawn_wait_group(n: u64) -> Check {
    let wg = WaitGroup::new();
    let sum = Arc::new(AtomicI64::new(0));
    for i in 0..n {
        wg.add(1);
        let (wg, sum) = (wg.clone(), sum.clone());
        drop(go(async move {
            sum.fetch_add(i as i64, Ordering::Relaxed);
            wg.done();
        }));
    }
    wg.wait().await;
    crate::workloads::check_sum(sum.load(Ordering::Relaxed) as u64, n)
}

/// Go's `BenchmarkWaitGroupAddDone` on 1,000 goroutines: they share `n` `add(1)`+`done()`
/// pairs on one `WaitGroup`, then the driver waits for all of them.
pub async fn wg_add_done(n: u64) -> Check {
    const G: usize = 1000;
    let wg = WaitGroup::new();
    let pairs = Arc::new(AtomicI64::new(0));
    wg.add(G as isize);
    for i in 0..G {
        let (wg, pairs) = (wg.clone(), pairs.clone());
        let share = share(n, G, i);
        drop(go(async move {
            for _ in 0..share {
                wg.add(1);
                wg.done();
            }
            pairs.fetch_add(share as i64, Ordering::Relaxed);
            wg.done();
        }));
    }
    wg.wait().await;
    match pairs.load(Ordering::Relaxed) {
        p if p == n as i64 => Ok(()),
        p => Err(format!("pairs {p}, want {n}")),
    }
}

/// Context cancellation fan-out: 10,000 goroutines wait on one context's `done()` per round;
/// each round the driver cancels it and waits (a `WaitGroup`) until every waiter saw it.
/// ns/op is one round.
pub async fn ctx_cancel_fanout(n: u64) -> Check {
    const WAITERS: usize = 10_000;
    let (ctxs, cancels): (Vec<Context>, Vec<CancelHandle>) =
        (0..n).map(|_| Context::background().with_cancel()).unzip();
    let ctxs = Arc::new(ctxs);
    let wg = WaitGroup::new();
    let woke = Arc::new(AtomicI64::new(0));
    wg.add(WAITERS as isize);
    for _ in 0..WAITERS {
        let (ctxs, wg, woke) = (ctxs.clone(), wg.clone(), woke.clone());
        drop(go(async move {
            for ctx in ctxs.iter() {
                ctx.cancelled().await;
                woke.fetch_add(1, Ordering::Relaxed);
                wg.done();
            }
        }));
    }
    for (r, cancel) in cancels.iter().enumerate() {
        cancel.cancel();
        wg.wait().await;
        if r + 1 < cancels.len() {
            wg.add(WAITERS as isize);
        }
    }
    match woke.load(Ordering::Relaxed) {
        w if w == n as i64 * WAITERS as i64 => Ok(()),
        w => Err(format!("woke {w}, want {}", n as i64 * WAITERS as i64)),
    }
}

/// gocsp's channels on plain `tokio::spawn` tasks (no goroutine wrapper): the channel's own cost.
pub struct GocspTokio;

impl Flavor for GocspTokio {
    const NAME: &'static str = "gocsp-chan/tokio";
    const RENDEZVOUS: bool = true;
    const MPMC: bool = true;
    type Tx = Sender<u64>;
    type Rx = Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        chan(cap)
    }
    // `spawn`: the trait's default, `tokio::spawn`.
}
