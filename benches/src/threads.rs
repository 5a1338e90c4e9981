//! The OS-thread variants of the workloads, generic over a [`SyncFlavor`], plus the select
//! workloads written with crossbeam-channel's `select!`. Threads stand in for goroutines
//! here, so the `--workers` setting does not apply; "parallel" workloads use as many
//! threads as Go's `GOMAXPROCS` would.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{after, bounded, never, select, Receiver, Sender};

use crate::flavor::SyncFlavor;
use crate::workloads::{share, Check};

/// Ping-pong over two channels of capacity `cap`, `n` round trips.
pub fn ping_pong<S: SyncFlavor>(n: u64, cap: usize) -> Check {
    let (ping_tx, ping_rx) = S::bounded(cap);
    let (pong_tx, pong_rx) = S::bounded(cap);
    let echo = thread::spawn(move || {
        while let Some(v) = S::recv(&ping_rx) {
            S::send(&pong_tx, v + 1);
        }
    });
    let mut v = 0;
    for _ in 0..n {
        S::send(&ping_tx, v);
        v = S::recv(&pong_rx).ok_or("pong closed early")?;
    }
    drop(ping_tx);
    echo.join().map_err(|_| "echo thread panicked")?;
    if v != n {
        return Err(format!("counter {v} after {n} round trips"));
    }
    Ok(())
}

/// `p` producer threads, `q` consumer threads, one channel of capacity `cap`.
pub fn mpmc<S: SyncFlavor>(n: u64, cap: usize, p: u64, q: usize) -> Check {
    let (tx, rx) = S::bounded(cap);
    let consumers: Vec<_> = (0..q)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut sum = 0u64;
                while let Some(v) = S::recv(&rx) {
                    sum += v;
                }
                sum
            })
        })
        .collect();
    drop(rx);
    let producers: Vec<_> = (0..p)
        .map(|w| {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut v = w + 1;
                while v <= n {
                    S::send(&tx, v);
                    v += p;
                }
            })
        })
        .collect();
    drop(tx);
    for p in producers {
        p.join().map_err(|_| "producer panicked")?;
    }
    let mut total = 0;
    for c in consumers {
        total += c.join().map_err(|_| "consumer panicked")?;
    }
    let want = n * (n + 1) / 2;
    if total != want {
        return Err(format!("sum {total}, want {want}"));
    }
    Ok(())
}

/// 8 worker threads between a jobs and a results channel of capacity 128.
pub fn worker_pool<S: SyncFlavor>(n: u64) -> Check {
    let (jobs_tx, jobs_rx) = S::bounded(128);
    let (results_tx, results_rx) = S::bounded(128);
    for _ in 0..8 {
        let (jobs, results) = (jobs_rx.clone(), results_tx.clone());
        thread::spawn(move || {
            while let Some(j) = S::recv(&jobs) {
                S::send(&results, j * 2);
            }
        });
    }
    drop((jobs_rx, results_tx));
    thread::spawn(move || {
        for i in 1..=n {
            S::send(&jobs_tx, i);
        }
    });
    let mut total = 0;
    while let Some(r) = S::recv(&results_rx) {
        total += r;
    }
    if total != n * (n + 1) {
        return Err(format!("sum {total}, want {}", n * (n + 1)));
    }
    Ok(())
}

/// Go's `BenchmarkChanSem` on `p` threads.
pub fn chan_sem<S: SyncFlavor>(n: u64, p: usize) -> Check {
    let (tx, rx) = S::bounded(p);
    let handles: Vec<_> = (0..p)
        .map(|i| {
            let (tx, rx) = (tx.clone(), rx.clone());
            thread::spawn(move || {
                for _ in 0..share(n, p, i) {
                    S::send(&tx, 0);
                    S::recv(&rx).expect("closed");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "thread panicked")?;
    }
    drop(tx);
    match S::recv(&rx) {
        None => Ok(()),
        Some(_) => Err("semaphore left holding a token".into()),
    }
}

/// Run `body(share)` on `p` threads whose shares add up to `n` (Go's `RunParallel`).
fn split(n: u64, p: usize, body: impl Fn(u64) + Send + Sync + 'static) {
    let body = Arc::new(body);
    let handles: Vec<_> = (0..p)
        .map(|i| {
            let body = body.clone();
            thread::spawn(move || body(share(n, p, i)))
        })
        .collect();
    for h in handles {
        h.join().expect("bench thread panicked");
    }
}

/// Fan-in of 4 producer threads through crossbeam's `select!`.
pub fn fan_in_select(n: u64) -> Check {
    let chans: Vec<(Sender<u64>, Receiver<u64>)> = (0..4).map(|_| bounded(128)).collect();
    for (k, (tx, _)) in chans.iter().enumerate() {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut v = k as u64 + 1;
            while v <= n {
                tx.send(v).expect("closed");
                v += 4;
            }
        });
    }
    let mut rxs: Vec<Option<Receiver<u64>>> = chans.into_iter().map(|(_, rx)| Some(rx)).collect();
    let nev = never::<u64>();
    let (mut total, mut open) = (0, 4);
    while open > 0 {
        let r = |i: usize| rxs[i].as_ref().unwrap_or(&nev).clone();
        let (a, b, c, d) = (r(0), r(1), r(2), r(3));
        let (i, v) = select! {
            recv(a) -> v => (0, v),
            recv(b) -> v => (1, v),
            recv(c) -> v => (2, v),
            recv(d) -> v => (3, v),
        };
        match v {
            Ok(v) => total += v,
            Err(_) => {
                rxs[i] = None;
                open -= 1;
            }
        }
    }
    if total != n * (n + 1) / 2 {
        return Err(format!("sum {total}, want {}", n * (n + 1) / 2));
    }
    Ok(())
}

/// Go's `BenchmarkSelectUncontended` on `p` threads.
pub fn select_uncontended(n: u64, p: usize) -> Check {
    let bad = Arc::new(AtomicI64::new(0));
    let b = bad.clone();
    split(n, p, move |share| {
        let (tx1, rx1) = bounded::<u64>(1);
        let (tx2, rx2) = bounded::<u64>(1);
        tx1.send(0).expect("fresh channel");
        for _ in 0..share {
            select! {
                recv(rx1) -> _ => tx2.send(0).expect("open"),
                recv(rx2) -> _ => tx1.send(0).expect("open"),
            }
        }
        if rx1.len() + rx2.len() != 1 {
            b.fetch_add(1, Ordering::Relaxed);
        }
    });
    match bad.load(Ordering::Relaxed) {
        0 => Ok(()),
        _ => Err("token lost or duplicated".into()),
    }
}

/// Go's `BenchmarkSelectNonblock` on `p` threads (`try_*`, crossbeam's non-blocking form).
pub fn select_nonblock(n: u64, p: usize) -> Check {
    let (_tx1, rx1) = bounded::<u64>(0);
    let (tx2, _rx2) = bounded::<u64>(0);
    let (_tx3, rx3) = bounded::<u64>(1);
    let (tx4, rx4) = bounded::<u64>(1);
    let fired = Arc::new(AtomicI64::new(0));
    let f = fired.clone();
    split(n, p, move |share| {
        let mut k = 0;
        for _ in 0..share {
            k += i64::from(rx1.try_recv().is_ok());
            k += i64::from(tx2.try_send(0).is_ok());
            k += i64::from(rx3.try_recv().is_ok());
            let _ = tx4.try_send(0);
        }
        f.fetch_add(k, Ordering::Relaxed);
    });
    if fired.load(Ordering::Relaxed) != 0 || rx4.len() != 1 {
        return Err("a case fired that cannot be ready".into());
    }
    Ok(())
}

/// Go's `BenchmarkSelectProdCons` with `p` producer and `p` consumer threads.
pub fn select_prod_cons(n: u64, p: usize) -> Check {
    let remaining = Arc::new(AtomicI64::new(n as i64));
    let (tx, rx) = bounded::<u64>(128);
    let (_close_tx, close_rx) = bounded::<()>(0);
    let mut handles = Vec::new();
    for _ in 0..p {
        let (remaining, tx, close) = (remaining.clone(), tx.clone(), close_rx.clone());
        handles.push(thread::spawn(move || {
            let timer = after(Duration::from_secs(3600));
            let mut work = 0u64;
            let mut sent = 0i64;
            while remaining.fetch_sub(1, Ordering::Relaxed) > 0 {
                for _ in 0..100 {
                    work = std::hint::black_box(work * 2) / 2;
                }
                select! {
                    send(tx, 1) -> r => { r.expect("open"); sent += 1 },
                    recv(timer) -> _ => {},
                    recv(close) -> _ => {},
                }
            }
            tx.send(0).expect("open");
            sent + work as i64
        }));
        let (rx, close) = (rx.clone(), close_rx.clone());
        handles.push(thread::spawn(move || {
            let timer = after(Duration::from_secs(3600));
            let mut work = 0u64;
            let mut got = 0i64;
            loop {
                select! {
                    recv(rx) -> v => match v.expect("open") { 0 => break, _ => got += 1 },
                    recv(timer) -> _ => {},
                    recv(close) -> _ => {},
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
        balance += h.join().map_err(|_| "thread panicked")?;
    }
    while let Ok(v) = rx.try_recv() {
        balance -= i64::from(v == 1);
    }
    if balance != 0 {
        return Err(format!("sent and received differ by {balance}"));
    }
    Ok(())
}

/// Go's `BenchmarkSelectSyncContended` on `p` threads (+ `p` sender threads).
pub fn select_sync_contended(n: u64, p: usize) -> Check {
    let (tx1, rx1) = bounded::<u64>(0);
    let (tx2, rx2) = bounded::<u64>(0);
    let (tx3, rx3) = bounded::<u64>(0);
    let (done_tx, done_rx) = bounded::<()>(0);
    let mut senders = Vec::new();
    for _ in 0..p {
        let (tx1, tx2, tx3, done) = (tx1.clone(), tx2.clone(), tx3.clone(), done_rx.clone());
        senders.push(thread::spawn(move || loop {
            select! {
                send(tx1, 1) -> _ => {},
                send(tx2, 1) -> _ => {},
                send(tx3, 1) -> _ => {},
                recv(done) -> _ => return,
            }
        }));
    }
    let got = Arc::new(AtomicI64::new(0));
    let g = got.clone();
    split(n, p, move |share| {
        let mut s = 0;
        for _ in 0..share {
            s += select! {
                recv(rx1) -> v => v.expect("open"),
                recv(rx2) -> v => v.expect("open"),
                recv(rx3) -> v => v.expect("open"),
            };
        }
        g.fetch_add(s as i64, Ordering::Relaxed);
    });
    drop(done_tx);
    for s in senders {
        s.join().map_err(|_| "sender panicked")?;
    }
    if got.load(Ordering::Relaxed) != n as i64 {
        return Err(format!(
            "received {}, want {n}",
            got.load(Ordering::Relaxed)
        ));
    }
    Ok(())
}
