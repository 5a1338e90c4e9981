//! The async workloads of the comparison, generic over a [`Flavor`]. Each mirrors the Go
//! function of the same name in `benches/go/` and checks its result the same way, returning
//! `Err` with what went wrong so that a broken channel cannot look fast.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::flavor::{Flavor, Rx, Tx};

/// What a workload returns: `Err` says which check failed.
pub type Check = Result<(), String>;

/// A countdown that tasks decrement and one task awaits (the peers' stand-in for Go's
/// `sync.WaitGroup`, made of tokio parts every async peer can use).
#[derive(Clone)]
pub struct Latch(Arc<(AtomicUsize, tokio::sync::Notify)>);

impl Latch {
    /// A latch that opens after `n` calls to [`Latch::done`].
    pub fn new(n: usize) -> Self {
        Latch(Arc::new((AtomicUsize::new(n), tokio::sync::Notify::new())))
    }
    /// Count one down; the last one wakes the waiter.
    pub fn done(&self) {
        // AcqRel: the waiter's Acquire load in `wait` sees everything done before each `done`.
        if self.0 .0.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0 .1.notify_one();
        }
    }
    /// Wait until the count reaches zero.
    pub async fn wait(&self) {
        loop {
            let notified = self.0 .1.notified();
            if self.0 .0.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Ping-pong: a counter bounced over two channels of capacity `cap`; `n` round trips.
pub async fn ping_pong<F: Flavor>(n: u64, cap: usize) -> Check {
    let (ping_tx, mut ping_rx) = F::bounded(cap);
    let (pong_tx, mut pong_rx) = F::bounded(cap);
    let echo = F::spawn(async move {
        while let Some(v) = ping_rx.recv().await {
            if !pong_tx.send(v + 1).await {
                break;
            }
        }
    });
    let mut v = 0;
    for _ in 0..n {
        ping_tx.send(v).await;
        v = pong_rx.recv().await.ok_or("pong closed early")?;
    }
    drop(ping_tx);
    echo.await;
    if v != n {
        return Err(format!("counter {v} after {n} round trips"));
    }
    Ok(())
}

/// The receivers for `q` consumers: clones plus the original (tokio's cannot be cloned,
/// so with `q == 1` it is only moved).
fn receivers<F: Flavor>(rx: F::Rx, q: usize) -> Vec<F::Rx> {
    let mut rxs: Vec<F::Rx> = (1..q).map(|_| rx.clone_rx()).collect();
    rxs.push(rx);
    rxs
}

/// `p` producers send `1..=n` (interleaved) over one channel of capacity `cap`, read by `q`
/// consumers; the sum must be `n(n+1)/2`. `p == q == 1` is SPSC.
pub async fn mpmc<F: Flavor>(n: u64, cap: usize, p: u64, q: usize) -> Check {
    let (tx, rx) = F::bounded(cap);
    let consumers: Vec<_> = receivers::<F>(rx, q)
        .into_iter()
        .map(|mut rx| {
            F::spawn(async move {
                let mut sum = 0u64;
                while let Some(v) = rx.recv().await {
                    sum += v;
                }
                sum
            })
        })
        .collect();
    let producers: Vec<_> = (0..p)
        .map(|w| {
            let tx = tx.clone();
            F::spawn(async move {
                let mut v = w + 1;
                while v <= n {
                    assert!(tx.send(v).await, "closed while producing");
                    v += p;
                }
            })
        })
        .collect();
    drop(tx);
    for producer in producers {
        producer.await;
    }
    let mut total = 0;
    for consumer in consumers {
        total += consumer.await;
    }
    let want = n * (n + 1) / 2;
    if total != want {
        return Err(format!("sum {total}, want {want}"));
    }
    Ok(())
}

/// `n` tasks each wait on their own channel (capacity 0, or 1 for flavors without
/// rendezvous: the receiver parks either way); once all have started, RSS growth per task is
/// measured and returned; then each is sent its index, checks it and ends.
pub async fn park<F: Flavor>(n: usize) -> Result<f64, String> {
    let cap = usize::from(!F::RENDEZVOUS);
    let before = crate::rss_bytes();
    let started = Latch::new(n);
    let finished = Latch::new(n);
    let bad = Arc::new(AtomicU64::new(0));
    let mut txs = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let (tx, mut rx) = F::bounded(cap);
        txs.push(tx);
        let (started, finished, bad) = (started.clone(), finished.clone(), bad.clone());
        // Detached: the spawn's output future is dropped, the task runs on.
        drop(F::spawn(async move {
            started.done();
            if rx.recv().await != Some(i) {
                bad.fetch_add(1, Ordering::Relaxed);
            }
            finished.done();
        }));
    }
    started.wait().await;
    let after = crate::rss_bytes();
    for (i, tx) in txs.iter().enumerate() {
        tx.send(i as u64).await;
    }
    finished.wait().await;
    match bad.load(Ordering::Relaxed) {
        0 => Ok((after - before) as f64 / n as f64),
        b => Err(format!("{b} tasks received the wrong value")),
    }
}

/// The concurrent prime sieve on capacity-0 channels up to the 3,000th prime (27449).
/// Dropping the last receiver ends the chain: each filter's send fails, it returns and drops
/// its own receiver, and so on back to the generator.
pub async fn sieve<F: Flavor>() -> Check {
    const COUNT: usize = 3000;
    let (tx, mut rx) = F::bounded(0);
    drop(F::spawn(async move {
        let mut i = 2;
        while tx.send(i).await {
            i += 1;
        }
    }));
    let mut last = 0;
    for _ in 0..COUNT {
        let prime = rx.recv().await.ok_or("sieve chain closed")?;
        last = prime;
        let (tx1, rx1) = F::bounded(0);
        let mut input = std::mem::replace(&mut rx, rx1);
        drop(F::spawn(async move {
            while let Some(i) = input.recv().await {
                if i % prime != 0 && !tx1.send(i).await {
                    break;
                }
            }
        }));
    }
    if last != 27449 {
        return Err(format!("3000th prime {last}, want 27449"));
    }
    Ok(())
}

/// 8 workers read jobs from a channel of capacity 128 and send `2 * job` to another; a
/// feeder sends `1..=n`; the sum of the results must be `n(n+1)`.
pub async fn worker_pool<F: Flavor>(n: u64) -> Check {
    const WORKERS: usize = 8;
    let (jobs_tx, jobs_rx) = F::bounded(128);
    let (results_tx, mut results_rx) = F::bounded(128);
    for mut jobs in receivers::<F>(jobs_rx, WORKERS) {
        let results = results_tx.clone();
        drop(F::spawn(async move {
            while let Some(j) = jobs.recv().await {
                assert!(results.send(j * 2).await, "results closed");
            }
        }));
    }
    drop(results_tx);
    drop(F::spawn(async move {
        for i in 1..=n {
            assert!(jobs_tx.send(i).await, "jobs closed");
        }
    }));
    let mut total = 0;
    while let Some(r) = results_rx.recv().await {
        total += r;
    }
    if total != n * (n + 1) {
        return Err(format!("sum {total}, want {}", n * (n + 1)));
    }
    Ok(())
}

/// Go's `BenchmarkChanSem`: a channel of capacity `p` used as a semaphore by `p` tasks
/// sharing `n` acquire/release pairs.
pub async fn chan_sem<F: Flavor>(n: u64, p: usize) -> Check {
    let (tx, rx) = F::bounded(p);
    let tasks: Vec<_> = receivers::<F>(rx, p)
        .into_iter()
        .enumerate()
        .map(|(i, mut rx)| {
            let tx = tx.clone();
            let share = share(n, p, i);
            F::spawn(async move {
                for _ in 0..share {
                    assert!(tx.send(0).await, "closed");
                    rx.recv().await.expect("closed");
                }
                rx
            })
        })
        .collect();
    let mut left = None;
    for t in tasks {
        left = Some(t.await);
    }
    drop(tx);
    // Every token taken was given back: the channel is empty and now closed.
    match left {
        Some(mut rx) => match rx.recv().await {
            None => Ok(()),
            Some(_) => Err("semaphore left holding a token".into()),
        },
        None => Err("no tasks".into()),
    }
}

/// Checks that `sum` is 0 + 1 + ... + (n - 1): every index `0..n` arrived exactly once.
pub fn check_sum(sum: u64, n: u64) -> Check {
    let want = n * n.saturating_sub(1) / 2;
    if sum == want {
        Ok(())
    } else {
        Err(format!("sum {sum}, want {want}"))
    }
}

/// Task `i`'s share of `n` operations split over `p` tasks (as `testing.B.RunParallel`).
pub fn share(n: u64, p: usize, i: usize) -> u64 {
    let p = p as u64;
    n / p + u64::from((i as u64) < n % p)
}
