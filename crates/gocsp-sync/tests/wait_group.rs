//! WaitGroup: Go's `src/sync/waitgroup_test.go` ported (tests named after Go's), plus gocsp's
//! own rules:
//!
//! - `done` below zero panics with Go's message; a negative `add` larger than the counter
//!   panics and leaves the counter unchanged.
//! - `wait` on a zero counter is ready at once. The `done` that reaches zero releases every
//!   waiter (tasks and threads), and a released waiter stays released though a later `add`
//!   raises the counter; an `add` before `wait` holds it back, and after zero a new round
//!   waits for its own `add`s. A dropped `Wait` unregisters itself.
//! - `wait_blocking` panics on a tokio worker thread, naming `wait().await`, unless the
//!   counter is zero; it may block in `spawn_blocking` and on plain threads.
//! - `WaitGroup` is `Send + Sync`, its `Wait` future `Send + Sync + Unpin`.
//! - `WaitGroup::go` counts the goroutine and calls `done` when it ends, panics or is
//!   cancelled; outside a runtime it panics and leaves the counter as it was.
//!
//! Parts of this file are adapted from Go's tests:
//! Copyright 2011 The Go Authors. All rights reserved. Use of this source code is governed by
//! a BSD-style license that can be found in Go's LICENSE file.
//!
//! Not ported: `TestWaitGroupMisuse2`/`3` test Go's opportunistic detection of `Add` racing
//! `Wait` ("WaitGroup is reused before previous Wait has returned"); gocsp does not detect
//! that misuse (a late `add` simply holds the next round). `TestWaitGroupAlign` tests Go's
//! memory layout.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use gocsp_sync::WaitGroup;

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        String::from("<non-string panic>")
    }
}

async fn test_wait_group(wg1: &WaitGroup, wg2: &WaitGroup) {
    let n = 16;
    wg1.add(n);
    wg2.add(n);
    let (exited_tx, mut exited) = tokio::sync::mpsc::channel::<()>(n as usize);
    for _ in 0..n {
        let (wg1, wg2, exited_tx) = (wg1.clone(), wg2.clone(), exited_tx.clone());
        tokio::spawn(async move {
            wg1.done();
            wg2.wait().await;
            exited_tx.send(()).await.unwrap();
        });
    }
    wg1.wait().await;
    for _ in 0..n {
        assert!(
            exited.try_recv().is_err(),
            "WaitGroup released group too soon"
        );
        wg2.done();
    }
    for _ in 0..n {
        exited.recv().await.unwrap(); // hangs if the barrier fails to release someone
    }
}

/// Go: `TestWaitGroup` — a group used as a barrier, eight rounds on the same groups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_wait_group_go() {
    let wg1 = WaitGroup::new();
    let wg2 = WaitGroup::new();
    for _ in 0..8 {
        test_wait_group(&wg1, &wg2).await;
    }
}

/// Go: `TestWaitGroupMisuse` — `Done` below zero panics with Go's message.
#[test]
fn test_wait_group_misuse() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    let err = catch_unwind(AssertUnwindSafe(|| wg.done())).unwrap_err();
    assert_eq!(panic_message(err), "sync: negative WaitGroup counter");
    // The counter is left at zero, not corrupted: the group is still usable.
    assert_eq!(wg.count(), 0);
    wg.add(1);
    wg.done();
    wg.wait_blocking();
}

/// A negative `add` larger than the counter panics and leaves the counter unchanged.
#[test]
fn negative_add_leaves_counter_unchanged() {
    let wg = WaitGroup::new();
    wg.add(2);
    let err = catch_unwind(AssertUnwindSafe(|| wg.add(-3))).unwrap_err();
    assert_eq!(panic_message(err), "sync: negative WaitGroup counter");
    assert_eq!(wg.count(), 2);
}

/// Go: `TestWaitGroupRace` — `Wait` never returns before every `Done`'s work is visible.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_wait_group_race() {
    for _ in 0..1000 {
        let wg = WaitGroup::new();
        let n = Arc::new(AtomicUsize::new(0));
        for _ in 0..2 {
            wg.add(1);
            let (wg, n) = (wg.clone(), n.clone());
            tokio::spawn(async move {
                n.fetch_add(1, Ordering::Relaxed);
                wg.done();
            });
        }
        wg.wait().await;
        assert_eq!(n.load(Ordering::Relaxed), 2, "Spurious wakeup from Wait");
    }
}

/// Many waiters, tasks and threads mixed, are all released by the one `done` that reaches zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_waiters_all_released() {
    let wg = WaitGroup::new();
    wg.add(1);
    let released = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (wg, released) = (wg.clone(), released.clone());
        tasks.push(tokio::spawn(async move {
            wg.wait().await;
            released.fetch_add(1, Ordering::SeqCst);
        }));
    }
    let mut threads = Vec::new();
    for _ in 0..4 {
        let (wg, released) = (wg.clone(), released.clone());
        threads.push(std::thread::spawn(move || {
            wg.wait_blocking();
            released.fetch_add(1, Ordering::SeqCst);
        }));
    }
    tokio::task::yield_now().await;
    assert_eq!(released.load(Ordering::SeqCst), 0);
    wg.done();
    for t in tasks {
        t.await.unwrap();
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(released.load(Ordering::SeqCst), 104);
}

/// Waiting on a zero counter completes at once, without ever being pending.
#[test]
fn wait_on_zero_is_ready() {
    let wg = WaitGroup::new();
    let mut wait = std::pin::pin!(wg.wait());
    let waker = futures::task::noop_waker();
    assert_eq!(
        wait.as_mut().poll(&mut Context::from_waker(&waker)),
        Poll::Ready(())
    );
}

/// Reuse after zero: a new round waits for its own `add`s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_after_zero() {
    let wg = WaitGroup::new();
    for round in 0..50 {
        let finished = Arc::new(AtomicUsize::new(0));
        for _ in 0..4 {
            wg.add(1);
            let (wg, finished) = (wg.clone(), finished.clone());
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                finished.fetch_add(1, Ordering::SeqCst);
                wg.done();
            });
        }
        wg.wait().await;
        assert_eq!(finished.load(Ordering::SeqCst), 4, "round {round}");
        assert_eq!(wg.count(), 0);
    }
}

/// A waiter registered before the counter reaches zero is released even if an `add` raises
/// the counter again before the waiter runs (Go: Wait returns once the counter hit zero).
#[test]
fn released_waiter_stays_released_after_new_add() {
    let wg = WaitGroup::new();
    wg.add(1);
    let mut wait = Box::pin(wg.wait());
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    wg.done();
    wg.add(1); // the next round starts before the waiter is polled again
    assert_eq!(wait.as_mut().poll(&mut cx), Poll::Ready(()));
    drop(wait);
    // The new round's waiter is held back until its own done.
    let mut wait2 = Box::pin(wg.wait());
    assert!(wait2.as_mut().poll(&mut cx).is_pending());
    wg.done();
    assert_eq!(wait2.as_mut().poll(&mut cx), Poll::Ready(()));
}

/// `add` racing `wait`, as Go documents: an `add` that happens before `wait` holds it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_before_wait_holds_it() {
    let wg = WaitGroup::new();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    wg.add(1);
    let worker = {
        let wg = wg.clone();
        tokio::spawn(async move {
            go_rx.await.unwrap();
            wg.done();
        })
    };
    let mut wait = std::pin::pin!(wg.wait());
    let waker = futures::task::noop_waker();
    assert!(wait
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    go_tx.send(()).unwrap();
    wait.await;
    worker.await.unwrap();
}

/// Cancel safety: dropping a pending `Wait` unregisters it; the group keeps working and a
/// later `done` reaching zero does not try to wake the dropped waiter.
#[test]
fn dropped_wait_is_unregistered() {
    let wg = WaitGroup::new();
    wg.add(1);
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..10 {
        let mut w = Box::pin(wg.wait());
        assert!(w.as_mut().poll(&mut cx).is_pending());
    }
    assert!(format!("{wg:?}").contains("waiters: 0"), "{wg:?}");
    let mut w = Box::pin(wg.wait());
    assert!(w.as_mut().poll(&mut cx).is_pending());
    assert!(format!("{wg:?}").contains("waiters: 1"), "{wg:?}");
    wg.done();
    assert_eq!(w.as_mut().poll(&mut cx), Poll::Ready(()));
}

/// `wait_blocking` on a tokio worker thread panics with a message naming the async form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_blocking_on_worker_panics() {
    let wg = WaitGroup::new();
    wg.add(1);
    let inner = wg.clone();
    let err = tokio::spawn(async move { inner.wait_blocking() })
        .await
        .unwrap_err();
    assert!(err.is_panic());
    let msg = panic_message(err.into_panic());
    assert!(msg.contains("WaitGroup::wait_blocking"), "{msg}");
    assert!(msg.contains("wait().await"), "{msg}");
    // Nothing was registered or changed by the refused call.
    assert_eq!(wg.count(), 1);
    wg.done();
}

/// `wait_blocking` on a zero counter returns even on a worker thread (it never blocks).
#[tokio::test]
async fn wait_blocking_zero_never_blocks() {
    WaitGroup::new().wait_blocking();
}

/// `wait_blocking` is allowed in `spawn_blocking` (a thread of the runtime that may block).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_blocking_in_spawn_blocking() {
    let wg = WaitGroup::new();
    wg.add(1);
    let blocked = {
        let wg = wg.clone();
        tokio::task::spawn_blocking(move || wg.wait_blocking())
    };
    wg.done();
    blocked.await.unwrap();
}

/// Plain threads: many `done`s from many threads release a blocking waiter.
#[test]
fn threads_add_done_wait_blocking() {
    let wg = WaitGroup::new();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            wg.add(1);
            let wg = wg.clone();
            std::thread::spawn(move || wg.done())
        })
        .collect();
    wg.wait_blocking();
    assert_eq!(wg.count(), 0);
    for t in threads {
        t.join().unwrap();
    }
}

/// Compile-time: the handle and its future are `Send + Sync`, `Wait` is `Unpin`.
#[test]
fn send_sync_unpin() {
    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_unpin<T: Unpin>() {}
    assert_send_sync::<WaitGroup>();
    assert_send_sync::<gocsp_sync::Wait<'static>>();
    assert_unpin::<gocsp_sync::Wait<'static>>();
}

/// `WaitGroup::go` (Go 1.25's `wg.Go`): counts the goroutine, `done` at its end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_counts_and_waits() {
    let wg = WaitGroup::new();
    let n = Arc::new(AtomicUsize::new(0));
    for _ in 0..100 {
        let n = n.clone();
        wg.go(async move {
            tokio::task::yield_now().await;
            n.fetch_add(1, Ordering::SeqCst);
        });
    }
    wg.wait().await;
    assert_eq!(n.load(Ordering::SeqCst), 100);
}

/// `WaitGroup::go`: a panicking goroutine still calls `done` (no hang).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_done_even_if_it_panics() {
    let wg = WaitGroup::new();
    wg.go(async { panic!("boom") });
    wg.go(async {});
    wg.wait().await;
    assert_eq!(wg.count(), 0);
}

/// `WaitGroup::go`: a cancelled goroutine (its runtime shut down) still calls `done`.
#[test]
fn go_done_even_if_cancelled() {
    let wg = WaitGroup::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async { wg.go(std::future::pending::<()>()) });
    assert_eq!(wg.count(), 1);
    drop(rt);
    assert_eq!(wg.count(), 0);
    wg.wait_blocking();
}

/// `WaitGroup::go` outside a runtime panics and leaves the counter as it was.
#[test]
fn go_outside_runtime_restores_counter() {
    let wg = WaitGroup::new();
    let r = catch_unwind(AssertUnwindSafe(|| wg.go(async {})));
    assert!(r.is_err());
    assert_eq!(wg.count(), 0);
}
