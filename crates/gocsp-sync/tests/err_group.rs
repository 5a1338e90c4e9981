//! ErrGroup: `golang.org/x/sync/errgroup/errgroup_test.go` ported (tests named after Go's),
//! plus panics, limits and cancellation.
//!
//! Parts of this file are adapted from Go's tests:
//! Copyright 2016 The Go Authors. All rights reserved. Use of this source code is governed by
//! a BSD-style license that can be found in Go's LICENSE file.
//!
//! Not ported: `TestCancelCause` (no `context.Cause` in gocsp). Adapted: `TestZeroGroup` —
//! Go's `Wait` returns the first error on every call; gocsp hands it to the first `wait` only
//! (an error need not be `Clone`), so later calls return `Ok(())`.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use gocsp_sync::{Context, ContextError, ErrGroup, GoError};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// An error type with a variant for failed members, as users are told to write.
#[derive(Debug, PartialEq)]
enum MyError {
    Doomed(u32),
    Member(String),
}

impl From<GoError> for MyError {
    fn from(e: GoError) -> Self {
        MyError::Member(e.to_string())
    }
}

fn poll_once<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
    let waker = futures::task::noop_waker();
    f.poll(&mut std::task::Context::from_waker(&waker))
}

/// Guards against a hang turning into a stuck CI job; never an assertion on speed.
async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .expect("hung")
}

/// Go: `ExampleGroup_parallel` — "Google Search 2.0" with a derived context.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_group_parallel() {
    async fn search(kind: &str, _ctx: Context, query: &str) -> Result<String, MyError> {
        Ok(format!("{kind} result for {query:?}"))
    }
    async fn google(ctx: &Context, query: &'static str) -> Result<Vec<String>, MyError> {
        let (g, ctx) = ErrGroup::<MyError>::with_context(ctx);
        let results = Arc::new(std::sync::Mutex::new(vec![String::new(); 3]));
        for (i, kind) in ["web", "image", "video"].into_iter().enumerate() {
            let (ctx, results) = (ctx.clone(), results.clone());
            g.go(async move {
                let r = search(kind, ctx, query).await?;
                results.lock().unwrap()[i] = r;
                Ok(())
            });
        }
        g.wait().await?;
        let out = results.lock().unwrap().clone();
        Ok(out)
    }
    let results = google(&Context::background(), "golang").await.unwrap();
    assert_eq!(
        results,
        [
            "web result for \"golang\"",
            "image result for \"golang\"",
            "video result for \"golang\""
        ]
    );
}

/// Go: `TestZeroGroup` (adapted, see the file header): a group without context returns the
/// first error, never a later one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_zero_group() {
    let cases: [&[Option<u32>]; 5] = [
        &[],
        &[None],
        &[Some(1)],
        &[Some(1), None],
        &[Some(1), None, Some(2)],
    ];
    for errs in cases {
        let g = ErrGroup::<MyError>::new();
        let mut first_err = None;
        let mut reported = false;
        for &err in errs {
            g.go(async move {
                match err {
                    Some(n) => Err(MyError::Doomed(n)),
                    None => Ok(()),
                }
            });
            if first_err.is_none() {
                first_err = err;
            }
            let got = g.wait().await;
            match (first_err, reported) {
                (Some(n), false) => {
                    assert_eq!(got, Err(MyError::Doomed(n)), "{errs:?}");
                    reported = true;
                }
                _ => assert_eq!(got, Ok(()), "{errs:?}: a later error is never reported"),
            }
        }
    }
}

/// Go: `TestWithContext` — `wait` returns the first error and the context is done after it,
/// error or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_with_context() {
    let cases: [(&[Option<u32>], Option<MyError>); 4] = [
        (&[], None),
        (&[None], None),
        (&[Some(7)], Some(MyError::Doomed(7))),
        (&[Some(7), None], Some(MyError::Doomed(7))),
    ];
    for (errs, want) in cases {
        let (g, ctx) = ErrGroup::<MyError>::with_context(&Context::background());
        for &err in errs {
            g.go(async move {
                match err {
                    Some(n) => Err(MyError::Doomed(n)),
                    None => Ok(()),
                }
            });
        }
        assert_eq!(g.wait().await.err(), want, "{errs:?}");
        assert!(
            ctx.done().is_closed(),
            "{errs:?}: ctx.done() was not closed"
        );
        assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    }
}

/// Go: `TestTryGo` — `try_go` succeeds up to the limit, fails beyond it, works again after
/// `wait`, follows a changed limit, and `set_limit(0)` blocks everything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_try_go() {
    let g = ErrGroup::<Error>::new();
    let n = 42;
    g.set_limit(42);
    // Go's unbuffered `ch <- struct{}{}`: each member blocks until the test lets one through.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let fn_ = || {
        let gate = gate.clone();
        async move {
            gate.acquire().await.unwrap().forget();
            Ok(())
        }
    };
    for i in 0..n {
        assert!(g.try_go(fn_()).is_ok(), "TryGo should succeed at call {i}");
    }
    assert!(g.try_go(fn_()).is_err(), "TryGo is expected to fail");
    let drain = |k: usize| gate.add_permits(k);
    drain(n);
    within(g.wait()).await.unwrap();

    assert!(
        g.try_go(fn_()).is_ok(),
        "TryGo should succeed after all goroutines"
    );
    drain(1);
    within(g.wait()).await.unwrap();

    g.set_limit(1);
    assert!(g.try_go(fn_()).is_ok());
    assert!(g.try_go(fn_()).is_err());
    drain(1);
    within(g.wait()).await.unwrap();

    g.set_limit(0);
    for _ in 0..1 << 10 {
        assert!(g.try_go(fn_()).is_err());
    }
    within(g.wait()).await.unwrap();
}

/// Go: `TestGoLimit` — never more than `limit` members active at once, with queued `go`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_go_limit() {
    const LIMIT: usize = 10;
    let g = ErrGroup::<Error>::new();
    g.set_limit(LIMIT);
    let active = Arc::new(AtomicUsize::new(0));
    for _ in 0..=1 << 10 {
        let active = active.clone();
        g.go(async move {
            let n = active.fetch_add(1, SeqCst) + 1;
            if n > LIMIT {
                return Err(format!("saw {n} active goroutines; want <= {LIMIT}").into());
            }
            tokio::task::yield_now().await; // let others try to increment `active`
            active.fetch_sub(1, SeqCst);
            Ok(())
        });
    }
    within(g.wait()).await.unwrap();
}

/// The same bound through `go_within_limit`, which waits before spawning (Go's `Go`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_within_limit_waits_for_a_slot() {
    let g = ErrGroup::<Error>::new();
    g.set_limit(1);
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    g.go_within_limit(async move {
        release_rx.await.unwrap();
        Ok(())
    })
    .await;
    let started = Arc::new(AtomicUsize::new(0));
    let mut second = Box::pin(g.go_within_limit({
        let started = started.clone();
        async move {
            started.fetch_add(1, SeqCst);
            Ok(())
        }
    }));
    // The slot is taken: the second call cannot spawn yet.
    assert!(poll_once(second.as_mut()).is_pending());
    assert_eq!(
        format!("{g:?}"),
        "ErrGroup { active: 1, failed: false, .. }"
    );
    release_tx.send(()).unwrap();
    within(second).await;
    within(g.wait()).await.unwrap();
    assert_eq!(started.load(SeqCst), 1);
}

/// Dropping a `go_within_limit` future while it waits leaves the group unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_within_limit_cancelled_starts_nothing() {
    let g = ErrGroup::<Error>::new();
    g.set_limit(0);
    {
        let mut pending = Box::pin(g.go_within_limit(async { panic!("must never start") }));
        assert!(poll_once(pending.as_mut()).is_pending());
    }
    assert_eq!(
        format!("{g:?}"),
        "ErrGroup { active: 0, failed: false, .. }"
    );
    within(g.wait()).await.unwrap();
}

/// The first error cancels the group's context at once, while other members still run;
/// they see it and stop, and `wait` returns that first error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_error_cancels_context() {
    let (g, ctx) = ErrGroup::<MyError>::with_context(&Context::background());
    let stopped = Arc::new(AtomicUsize::new(0));
    for _ in 0..8 {
        let (ctx, stopped) = (ctx.clone(), stopped.clone());
        g.go(async move {
            ctx.cancelled().await;
            stopped.fetch_add(1, SeqCst);
            Err(MyError::Doomed(0)) // a later error: dropped
        });
    }
    g.go(async { Err(MyError::Doomed(1)) });
    assert_eq!(within(g.wait()).await, Err(MyError::Doomed(1)));
    assert_eq!(stopped.load(SeqCst), 8);
}

/// A panicking member is an error (`E: From<GoError>`), cancels the context, never a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_member_is_an_error() {
    let (g, ctx) = ErrGroup::<MyError>::with_context(&Context::background());
    {
        let ctx = ctx.clone();
        g.go(async move {
            ctx.cancelled().await; // runs until the panic cancels the group
            Ok(())
        });
    }
    g.go(async { panic!("boom") });
    let err = within(g.wait()).await.unwrap_err();
    match err {
        MyError::Member(msg) => assert!(msg.starts_with("panic: boom"), "{msg}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(ctx.err().is_some());

    // The same through a boxed error type, which converts from `GoError` by itself.
    let g = ErrGroup::<Error>::new();
    g.go(async { panic!("boxed boom") });
    let err = within(g.wait()).await.unwrap_err();
    let go_err = err.downcast_ref::<GoError>().expect("a GoError");
    assert!(go_err.is_panic());
    assert!(go_err.to_string().contains("boxed boom"));
}

/// A member whose goroutine is cancelled (its runtime shut down) counts as failed with
/// `GoError::Cancelled`, so `wait` on another runtime still returns.
#[test]
fn cancelled_member_is_an_error() {
    let g = ErrGroup::<Error>::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    rt.block_on(async {
        g.go(std::future::pending());
    });
    drop(rt); // drops the pending member
    let other = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let err = other.block_on(g.wait()).unwrap_err();
    assert!(
        err.downcast_ref::<GoError>().unwrap().is_cancelled(),
        "{err}"
    );
}

/// Members may start more members through a clone of the group; `wait` waits for them too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_can_start_members() {
    let g = ErrGroup::<Error>::new();
    let count = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        let (g2, count) = (g.clone(), count.clone());
        g.go(async move {
            for _ in 0..4 {
                let count = count.clone();
                g2.go(async move {
                    count.fetch_add(1, SeqCst);
                    Ok(())
                });
            }
            Ok(())
        });
    }
    within(g.wait()).await.unwrap();
    assert_eq!(count.load(SeqCst), 16);
}

/// `set_limit` while members are active panics with Go's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_limit_while_active_panics() {
    let g = ErrGroup::<Error>::new();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    g.go(async move {
        let _ = rx.await;
        Ok(())
    });
    let err =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.set_limit(2))).unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert_eq!(
        msg,
        "errgroup: modify limit while 1 goroutines in the group are still active"
    );
    tx.send(()).unwrap();
    within(g.wait()).await.unwrap();
    g.set_limit(None);
}

/// Compile-time: the group and its futures are `Send + Sync` / `Send`.
#[test]
fn send_sync() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let g = ErrGroup::<Error>::new();
    assert_send_sync(&g);
    assert_send(&g.wait());
    assert_send(&g.go_within_limit(async { Ok(()) }));
}
