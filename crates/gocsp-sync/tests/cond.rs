//! Cond: Go's `src/sync/cond_test.go` ported (tests named after Go's), plus cancellation.
//!
//! Parts of this file are adapted from Go's tests:
//! Copyright 2011 The Go Authors. All rights reserved. Use of this source code is governed by
//! a BSD-style license that can be found in Go's LICENSE file.
//!
//! Not ported: `TestCondCopy` (Go's copy check; a Rust `Cond` cannot be copied).

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use gocsp_sync::{Cond, Mutex};
use tokio::sync::mpsc;

/// Guards against a hang turning into a stuck CI job; never an assertion on speed.
async fn within<F: Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("hung: a waiter was never woken")
}

/// Go: `TestCondSignal` — each signal wakes exactly one waiter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_cond_signal() {
    let shared = Arc::new((Mutex::new(()), Cond::new()));
    let n = 2;
    let (running_tx, mut running) = mpsc::channel(n);
    let (awake_tx, mut awake) = mpsc::channel(n);
    for _ in 0..n {
        let (shared, running_tx, awake_tx) = (shared.clone(), running_tx.clone(), awake_tx.clone());
        tokio::spawn(async move {
            let (m, c) = &*shared;
            let g = m.lock().await;
            running_tx.send(()).await.unwrap();
            let _g = c.wait(g).await;
            awake_tx.send(()).await.unwrap();
        });
    }
    for _ in 0..n {
        running.recv().await.unwrap();
    }
    for _ in 0..n {
        assert!(awake.try_recv().is_err(), "goroutine not asleep");
        {
            let _g = shared.0.lock().await;
            shared.1.signal();
        }
        within(awake.recv()).await.unwrap();
        // The woken waiter sent while holding the lock; a second one would need another
        // signal, so nothing else can be in the channel once we hold the lock again.
        let _g = shared.0.lock().await;
        assert!(awake.try_recv().is_err(), "too many goroutines awake");
    }
    shared.1.signal();
}

/// Go: `TestCondSignalGenerations` — waiters wake in the order they started waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_cond_signal_generations() {
    let shared = Arc::new((Mutex::new(()), Cond::new()));
    let n = 100;
    let (running_tx, mut running) = mpsc::channel(n);
    let (awake_tx, mut awake) = mpsc::channel(n);
    for i in 0..n {
        let (shared2, running_tx, awake_tx) =
            (shared.clone(), running_tx.clone(), awake_tx.clone());
        tokio::spawn(async move {
            let (m, c) = &*shared2;
            let g = m.lock().await;
            running_tx.send(()).await.unwrap();
            let _g = c.wait(g).await;
            awake_tx.send(i).await.unwrap();
        });
        if i > 0 {
            let a = within(awake.recv()).await.unwrap();
            assert_eq!(a, i - 1, "wrong goroutine woke up");
        }
        running.recv().await.unwrap();
        let _g = shared.0.lock().await;
        shared.1.signal();
    }
}

/// Go: `TestCondBroadcast` — a broadcast wakes every waiter exactly once, n rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_cond_broadcast() {
    let shared = Arc::new((Mutex::new(false), Cond::new()));
    let n = 200;
    let (running_tx, mut running) = mpsc::channel(n);
    let (awake_tx, mut awake) = mpsc::channel(n);
    for g in 0..n {
        let (shared, running_tx, awake_tx) = (shared.clone(), running_tx.clone(), awake_tx.clone());
        tokio::spawn(async move {
            let (m, c) = &*shared;
            let mut exit = m.lock().await;
            while !*exit {
                running_tx.send(g).await.unwrap();
                exit = c.wait(exit).await;
                awake_tx.send(g).await.unwrap();
            }
        });
    }
    drop(running_tx);
    for i in 0..n {
        for _ in 0..n {
            within(running.recv()).await.unwrap(); // deadlocks unless n are running
        }
        if i == n - 1 {
            *shared.0.lock().await = true;
        }
        assert!(awake.try_recv().is_err(), "goroutine not asleep");
        {
            let _g = shared.0.lock().await;
            shared.1.broadcast();
        }
        let mut seen = vec![false; n];
        for _ in 0..n {
            let g = within(awake.recv()).await.unwrap();
            assert!(!seen[g], "goroutine woke up twice");
            seen[g] = true;
        }
    }
    // Every task has exited: the channel closes once all `running_tx` clones are gone.
    assert_eq!(within(running.recv()).await, None, "goroutine did not exit");
    shared.1.broadcast();
}

/// Go: `TestRace` — the state written before `signal` under the lock is seen after `wait`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_race() {
    let shared = Arc::new((Mutex::new(0), Cond::new()));
    let a = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let (m, c) = &*shared;
            let mut x = m.lock().await;
            *x = 1;
            x = c.wait(x).await;
            assert_eq!(*x, 2, "want 2");
            *x = 3;
            c.signal();
        })
    };
    let b = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let (m, c) = &*shared;
            loop {
                let mut x = m.lock().await;
                if *x == 1 {
                    *x = 2;
                    c.signal();
                    break;
                }
                drop(x);
                tokio::task::yield_now().await;
            }
        })
    };
    let c3 = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let (m, c) = &*shared;
            loop {
                let mut x = m.lock().await;
                if *x == 2 {
                    x = c.wait(x).await;
                    assert_eq!(*x, 3, "want 3");
                    break;
                }
                if *x == 3 {
                    break;
                }
                drop(x);
                tokio::task::yield_now().await;
            }
        })
    };
    within(a).await.unwrap();
    within(b).await.unwrap();
    within(c3).await.unwrap();
}

/// Go: `TestCondSignalStealing` — a waiter that starts racing a broadcast cannot steal the
/// wakeup of a waiter that was already waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_cond_signal_stealing() {
    for _ in 0..200 {
        let shared = Arc::new((Mutex::new(false), Cond::new()));
        let (ch_tx, mut ch) = mpsc::channel::<()>(1);
        {
            let shared = shared.clone();
            tokio::spawn(async move {
                let (m, c) = &*shared;
                let g = m.lock().await;
                ch_tx.send(()).await.unwrap();
                drop(c.wait(g).await);
                ch_tx.send(()).await.unwrap();
            });
        }
        ch.recv().await.unwrap();
        // Taking the lock proves the waiter is inside `wait` (queued, lock released).
        drop(shared.0.lock().await);

        let b = {
            let shared = shared.clone();
            tokio::spawn(async move { shared.1.broadcast() })
        };
        let w = {
            let shared = shared.clone();
            tokio::spawn(async move {
                let (m, c) = &*shared;
                let mut done = m.lock().await;
                while !*done {
                    done = c.wait(done).await;
                }
            })
        };
        within(ch.recv())
            .await
            .expect("first waiter didn't get broadcast");
        *shared.0.lock().await = true;
        shared.1.broadcast();
        within(b).await.unwrap();
        within(w).await.unwrap();
    }
}

/// A signal with no waiter is not remembered (unlike a `Notify` permit).
#[tokio::test]
async fn signal_without_waiter_is_lost() {
    let m = Mutex::new(());
    let c = Cond::new();
    c.signal();
    let g = m.lock().await;
    let mut wait = std::pin::pin!(c.wait(g));
    let waker = futures::task::noop_waker();
    assert!(wait
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    // The wait released the lock while pending.
    assert!(m.try_lock().is_ok());
    c.signal();
    assert!(matches!(
        wait.as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(_)
    ));
}

/// Cancellation: a waiter dropped after being signalled passes the signal on, so the next
/// waiter wakes; a waiter dropped before any signal leaves nothing behind.
#[tokio::test]
async fn dropped_signalled_waiter_forwards() {
    let m = Mutex::new(());
    let c = Cond::new();
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);

    let mut first = Box::pin(c.wait(m.lock().await));
    assert!(first.as_mut().poll(&mut cx).is_pending());
    let mut second = Box::pin(c.wait(m.lock().await));
    assert!(second.as_mut().poll(&mut cx).is_pending());
    let mut third = Box::pin(c.wait(m.lock().await));
    assert!(third.as_mut().poll(&mut cx).is_pending());
    assert!(format!("{c:?}").contains("waiters: 3"));

    drop(third); // not signalled: just unregisters
    c.signal(); // goes to `first` (FIFO)
    drop(first); // signalled but never observed: forwarded to `second`
    assert!(matches!(second.as_mut().poll(&mut cx), Poll::Ready(_)));
    drop(second);
    assert!(format!("{c:?}").contains("waiters: 0"));
}

/// Many cancelled waiters do not grow the queue without bound.
#[tokio::test]
async fn cancelled_waiters_leave_no_trace() {
    let m = Mutex::new(());
    let c = Cond::new();
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..10_000 {
        let mut w = Box::pin(c.wait(m.lock().await));
        assert!(w.as_mut().poll(&mut cx).is_pending());
    }
    assert!(format!("{c:?}").contains("waiters: 0"));
    let mut w = Box::pin(c.wait(m.lock().await));
    assert!(w.as_mut().poll(&mut cx).is_pending());
    c.signal();
    assert!(matches!(w.as_mut().poll(&mut cx), Poll::Ready(_)));
}

/// Compile-time: `Cond` and its wait future are `Send + Sync`, usable in spawned tasks.
#[test]
fn send_sync() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let m = Mutex::new(0u8);
    let c = Cond::new();
    assert_send_sync(&c);
    let fut = async {
        let g = m.lock().await;
        c.wait(g).await
    };
    fn assert_send<T: Send>(_: &T) {}
    assert_send(&fut);
}
