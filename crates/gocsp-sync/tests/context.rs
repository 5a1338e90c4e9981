//! Context: Go's `src/context/context_test.go` ported (tests named after Go's), plus gocsp's
//! own rules:
//!
//! - Cancellation flows only downwards: cancelling a child never cancels its parent or
//!   siblings, and a parent's error reaches its children as is (a deadline as
//!   `DeadlineExceeded`). A child's deadline is never later than its parent's.
//! - Dropping a `CancelHandle` does not cancel; its drop guard does.
//! - One cancel reaches a whole tree (1,000 chains of depth 100) and releases every waiter
//!   on `done()`, which also works as a `select!` case; once `cancelled()` returns, `err()`
//!   is set, however deep the context.
//! - A `done()` receiver kept under the background root after its context was dropped never
//!   closes.
//! - `without_cancel` keeps the parent's values and drops its cancellation and deadline, for
//!   itself and every context derived from it.
//! - `cause()` is `None` until `err()` is set; then the cause of the first cancellation that
//!   reached the context (its own, or an ancestor's), or the error itself when that
//!   cancellation gave none. A deadline's cause counts only when the deadline is what ended
//!   the context. A cause passed on is the same `Arc`, never a wrapper.
//! - An `after_func` runs once its context is done — in its own goroutine named
//!   `context.AfterFunc`, on the runtime it was registered on, never waited for by the
//!   cancel — unless stopped first; each one independently. Neither dropping its handle nor
//!   dropping its context's handles stops it; on a context that can never be done it never
//!   runs.
//! - A context's `CancellationToken` follows the context's cancellation (cancelling the token
//!   does not cancel the context), and a token brings cancellation into a context tree.
//! - `with_timeout` outside a tokio runtime panics saying so; a deadline already past needs
//!   no runtime.
//! - The public types are `Send + Sync`.
//!
//! Tests of the private child map (`TestParentFinishesChild`, `TestChildFinishesFirst`,
//! `TestCancelRemoves`, the 1,000,000-children leak test) live in `src/context/tests.rs`.
//!
//! Parts of this file are adapted from Go's tests:
//! Copyright 2014 The Go Authors. All rights reserved. Use of this source code is governed by
//! a BSD-style license that can be found in Go's LICENSE file.
//!
//! Not ported: `TestTODO` (no `TODO()`: use `background()`), `TestAllocs` (Go allocation
//! counts), `TestWithValueChecksKey` (keys are types; there is no nil or incomparable key),
//! `TestInvalidDerivedFail` (there is no nil parent), `TestCustomContextGoroutines`,
//! `TestCustomContextPropagation` and `TestCustomContextCause` (no user-defined `Context`
//! implementations). `TestCause`'s `TODO` case is its `Background` case.

use std::collections::VecDeque;
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use gocsp_sync::{CancelCause, Context, ContextError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn is_done(ctx: &Context) -> bool {
    ctx.done().is_closed()
}

/// Go: `TestBackground`.
#[test]
fn test_background() {
    let c = Context::background();
    assert!(c.done().try_recv().is_err(), "background's done must block");
    assert!(!is_done(&c));
    assert_eq!(format!("{c:?}"), "context.Background");
    assert_eq!(c.err(), None);
}

/// Go: `TestWithCancel` — a context, a value-wrapped view of it and its child are all
/// live, then all `Cancelled` after one cancel.
#[tokio::test]
async fn test_with_cancel() {
    let (c1, cancel) = Context::background().with_cancel();
    assert_eq!(format!("{c1:?}"), "context.Background.WithCancel");
    let o = c1.with_value(1u8); // stands in for Go's `otherContext{c1}` wrapper
    let (c2, _) = o.with_cancel();
    let contexts = [c1, o, c2];
    for c in &contexts {
        assert_eq!(c.err(), None);
        assert!(c.done().try_recv().is_err());
    }
    cancel.cancel();
    for c in &contexts {
        assert_eq!(c.done().recv().await, None);
        assert_eq!(c.err(), Some(ContextError::Cancelled));
    }
}

async fn test_deadline(c: &Context, name: &str, fail_after: Duration) {
    tokio::select! {
        _ = tokio::time::sleep(fail_after) => panic!("{name}: context should have timed out"),
        _ = c.cancelled() => {}
    }
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded), "{name}");
}

/// Go: `TestDeadline` — including a later child deadline capped by the parent, a deadline
/// in the past, and now.
#[tokio::test(start_paused = true)]
async fn test_deadline_go() {
    let ms50 = Duration::from_millis(50);
    let (c, _) = Context::background().with_deadline(Instant::now() + ms50);
    assert!(format!("{c:?}").starts_with("context.Background.WithDeadline("));
    test_deadline(&c, "WithDeadline", Duration::from_secs(1)).await;

    let (c, _) = Context::background().with_deadline(Instant::now() + ms50);
    let o = c.with_value(1u8);
    test_deadline(&o, "WithDeadline+otherContext", Duration::from_secs(1)).await;

    let (c, _) = Context::background().with_deadline(Instant::now() + ms50);
    let o = c.with_value(1u8);
    let (c, _) = o.with_deadline(Instant::now() + Duration::from_secs(4));
    test_deadline(
        &c,
        "WithDeadline+otherContext+WithDeadline",
        Duration::from_secs(2),
    )
    .await;

    let (c, _) = Context::background().with_deadline(Instant::now() - Duration::from_millis(1));
    test_deadline(&c, "WithDeadline+inthepast", Duration::from_secs(1)).await;

    let (c, _) = Context::background().with_deadline(Instant::now());
    test_deadline(&c, "WithDeadline+now", Duration::from_secs(1)).await;
}

/// Go: `TestTimeout`.
#[tokio::test(start_paused = true)]
async fn test_timeout() {
    let ms50 = Duration::from_millis(50);
    let (c, _) = Context::background().with_timeout(ms50);
    assert!(format!("{c:?}").starts_with("context.Background.WithDeadline("));
    test_deadline(&c, "WithTimeout", Duration::from_secs(1)).await;

    let (c, _) = Context::background().with_timeout(ms50);
    let o = c.with_value(1u8);
    test_deadline(&o, "WithTimeout+otherContext", Duration::from_secs(1)).await;

    let (c, _) = Context::background().with_timeout(ms50);
    let o = c.with_value(1u8);
    let (c, _) = o.with_timeout(Duration::from_secs(3));
    test_deadline(
        &c,
        "WithTimeout+otherContext+WithTimeout",
        Duration::from_secs(2),
    )
    .await;
}

/// Go: `TestCanceledTimeout` — cancelling a timer context reports `Canceled`, and the
/// stopped timer never turns it into `DeadlineExceeded`.
#[tokio::test(start_paused = true)]
async fn test_canceled_timeout() {
    let (c, _) = Context::background().with_timeout(Duration::from_secs(1));
    let o = c.with_value(1u8);
    let (c, cancel) = o.with_timeout(Duration::from_secs(2));
    cancel.cancel();
    assert!(is_done(&c));
    assert_eq!(c.err(), Some(ContextError::Cancelled));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.err(), Some(ContextError::Cancelled));
}

#[derive(Debug, PartialEq)]
struct Key1(&'static str);
#[derive(Debug, PartialEq)]
struct Key2(&'static str);
#[derive(Debug, PartialEq)]
struct Key3(&'static str);

fn check(c: &Context, nm: &str, v1: Option<&str>, v2: Option<&str>, v3: Option<&str>) {
    assert_eq!(c.value::<Key1>().map(|k| k.0), v1, "{nm} Key1");
    assert_eq!(c.value::<Key2>().map(|k| k.0), v2, "{nm} Key2");
    assert_eq!(c.value::<Key3>().map(|k| k.0), v3, "{nm} Key3");
}

/// Go: `TestValues` — values by key type, shadowing, lookup through cancel nodes. (Go's
/// `WithValue(c3, k1, nil)` "removes" a value; a type-keyed lookup shadows with `Option`.)
#[test]
fn test_values() {
    let c0 = Context::background();
    check(&c0, "c0", None, None, None);
    let c1 = Context::background().with_value(Key1("c1k1"));
    check(&c1, "c1", Some("c1k1"), None, None);
    assert_eq!(
        format!("{c1:?}"),
        "context.Background.WithValue(type context::Key1)"
    );
    let c2 = c1.with_value(Key2("c2k2"));
    check(&c2, "c2", Some("c1k1"), Some("c2k2"), None);
    let c3 = c2.with_value(Key3("c3k3"));
    check(&c3, "c3", Some("c1k1"), Some("c2k2"), Some("c3k3"));
    let c4 = c3.with_value(Key1("c4k1"));
    check(&c4, "c4", Some("c4k1"), Some("c2k2"), Some("c3k3"));
    let (o1, _) = c4.with_cancel();
    check(&o1, "o1", Some("c4k1"), Some("c2k2"), Some("c3k3"));
    let (o2, _) = o1.with_cancel();
    let o3 = o2.with_value(Key3("o3k3"));
    check(&o3, "o3", Some("c4k1"), Some("c2k2"), Some("o3k3"));
    let shadow = o3.with_value(None::<Key1>);
    assert_eq!(shadow.value::<Option<Key1>>(), Some(&None));
}

/// Go: `TestSimultaneousCancels` — a tree of ~100 contexts, all cancels started at once
/// from many tasks: every context ends done, every cancel returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_simultaneous_cancels() {
    let (root, cancel) = Context::background().with_cancel();
    let mut all = vec![(root.clone(), cancel)];
    let mut q = VecDeque::from([root]);
    while let Some(parent) = q.pop_front() {
        if all.len() >= 100 {
            break;
        }
        for _ in 0..4 {
            let (ctx, cancel) = parent.with_cancel();
            all.push((ctx.clone(), cancel));
            q.push_back(ctx);
        }
    }
    let wg = gocsp_sync::WaitGroup::new();
    let mut contexts = Vec::new();
    for (ctx, cancel) in all {
        contexts.push(ctx);
        wg.add(1);
        let wg = wg.clone();
        tokio::spawn(async move {
            cancel.cancel();
            wg.done();
        });
    }
    for ctx in &contexts {
        ctx.cancelled().await;
        assert!(ctx.err().is_some());
    }
    wg.wait().await;
}

/// Go: `TestInterlockedCancels` — a child cancelled from a task that observed the parent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_interlocked_cancels() {
    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, cancel_child) = parent.with_cancel();
    let p = parent.clone();
    tokio::spawn(async move {
        p.cancelled().await;
        cancel_child.cancel();
    });
    cancel_parent.cancel();
    child.cancelled().await;
}

async fn test_layers(seed: u64, test_timeout: bool) {
    {
        let mut rng = fastrand_like(seed);
        let timeout = Duration::from_millis(200);
        let mut vals = Vec::new();
        let mut cancels = Vec::new();
        let mut num_timers = 0;
        let mut ctx = Context::background();
        let mut i = 0;
        while i < 30 || num_timers == 0 || cancels.is_empty() || vals.is_empty() {
            match rng() % 3 {
                0 => {
                    // A distinct key per layer: a value type carrying its layer number.
                    ctx = ctx.with_value(Layer(i));
                    vals.push(i);
                }
                1 => {
                    let (c, cancel) = ctx.with_cancel();
                    ctx = c;
                    cancels.push(cancel);
                }
                _ => {
                    let (c, cancel) = ctx.with_timeout(timeout);
                    ctx = c;
                    cancels.push(cancel);
                    num_timers += 1;
                }
            }
            i += 1;
        }
        assert!(
            ctx.done().try_recv().is_err(),
            "seed={seed}: ctx should not be canceled yet"
        );
        assert!(format!("{ctx:?}").starts_with("context.Background."));
        // The nearest `Layer` is the last one pushed.
        assert_eq!(ctx.value::<Layer>(), Some(&Layer(*vals.last().unwrap())));
        if test_timeout {
            tokio::select! {
                _ = ctx.cancelled() => {}
                _ = tokio::time::sleep(timeout + Duration::from_secs(1)) =>
                    panic!("seed={seed}: ctx should have timed out"),
            }
            assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        } else {
            let k = rng() as usize % cancels.len();
            cancels[k].cancel();
            assert!(is_done(&ctx), "seed={seed}: ctx should be canceled");
            assert_eq!(ctx.err(), Some(ContextError::Cancelled));
        }
        assert_eq!(ctx.value::<Layer>(), Some(&Layer(*vals.last().unwrap())));
    }
}

#[derive(Debug, PartialEq)]
struct Layer(usize);

/// A tiny deterministic generator (xorshift) so a failing seed can be replayed.
fn fastrand_like(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Go: `TestLayersCancel` — random layers of value/cancel/timeout; cancelling any layer
/// finishes the innermost context, values survive.
#[tokio::test(start_paused = true)]
async fn test_layers_cancel() {
    for seed in 1..20 {
        test_layers(seed, false).await;
    }
}

/// Go: `TestLayersTimeout` — the innermost context times out through its layers.
#[tokio::test(start_paused = true)]
async fn test_layers_timeout() {
    for seed in 1..20 {
        test_layers(seed, true).await;
    }
}

/// Go: `TestWithCancelCanceledParent` — a child of a parent cancelled with a cause starts
/// cancelled, with the parent's cause.
#[tokio::test(start_paused = true)]
async fn test_with_cancel_canceled_parent() {
    let (parent, pcancel) = Context::background().with_cancel_cause();
    let cause = because("Because!");
    pcancel.cancel(cause.clone());
    let (c, _) = parent.with_cancel();
    assert!(is_done(&c), "child not done immediately upon construction");
    c.cancelled().await;
    assert_eq!(c.err(), Some(ContextError::Cancelled));
    assert!(is_cause(&c, &cause), "child has wrong cause");
    let (t, _) = parent.with_timeout_cause(Duration::from_secs(1), "unused");
    assert_eq!(t.err(), Some(ContextError::Cancelled));
    assert!(is_cause(&t, &cause));
}

/// Go: `TestWithCancelSimultaneouslyCanceledParent` — the parent is cancelled (with a cause)
/// on another thread while a child is created: the child ends cancelled with that cause,
/// whichever came first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_with_cancel_simultaneously_canceled_parent() {
    for _ in 0..100 {
        let (parent, pcancel) = Context::background().with_cancel_cause();
        let cause = because("Because!");
        let t = tokio::spawn({
            let cause = cause.clone();
            async move { pcancel.cancel(cause) }
        });
        let (c, _) = parent.with_cancel();
        c.cancelled().await;
        assert_eq!(c.err(), Some(ContextError::Cancelled));
        assert!(is_cause(&c, &cause), "child has wrong cause");
        t.await.unwrap();
    }
}

/// A cause made from a message, as Go's `errors.New` / `fmt.Errorf`.
fn because(msg: &str) -> CancelCause {
    Arc::from(Box::<dyn Error + Send + Sync>::from(msg))
}

/// `Cause(ctx) == want` in Go: the very error the canceller gave (the same `Arc`).
fn is_cause(ctx: &Context, want: &CancelCause) -> bool {
    ctx.cause().is_some_and(|got| Arc::ptr_eq(&got, want))
}

/// What `Context::cause` should return: Go's `nil`, one of Go's two errors, or a given cause.
#[derive(Clone)]
enum Want {
    Nil,
    Err(ContextError),
    Cause(CancelCause),
}

impl Want {
    fn check(&self, got: Option<CancelCause>) -> Result<(), String> {
        let ok = match (self, &got) {
            (Want::Nil, None) => true,
            (Want::Err(e), Some(g)) => g.downcast_ref::<ContextError>() == Some(e),
            (Want::Cause(w), Some(g)) => Arc::ptr_eq(w, g),
            _ => false,
        };
        let shown = |c: &Option<CancelCause>| c.as_ref().map(|c| c.to_string());
        let want = match self {
            Want::Nil => None,
            Want::Err(e) => Some(e.to_string()),
            Want::Cause(c) => Some(c.to_string()),
        };
        ok.then_some(())
            .ok_or_else(|| format!("got {:?}, want {want:?}", shown(&got)))
    }
}

/// Go: `TestCause` — `err()` and `cause()` of every way a context ends (or does not): the
/// first cancellation sets both, a parent's cause reaches its children, a deadline's cause
/// is used only when the deadline is what ended the context, and `without_cancel` has
/// neither.
#[tokio::test(start_paused = true)]
async fn test_cause() {
    let forever = Duration::from_secs(1_000_000);
    let parent_cause = because("parentCause");
    let child_cause = because("childCause");
    let too_slow = because("tooSlow");
    let finished_early = because("finishedEarly");
    type Case = Box<dyn Fn() -> Context>;
    let (pc, cc, ts, fe) = (
        parent_cause.clone(),
        child_cause.clone(),
        too_slow.clone(),
        finished_early.clone(),
    );
    let cases: Vec<(&str, Case, Option<ContextError>, Want)> = vec![
        ("Background", Box::new(Context::background), None, Want::Nil),
        (
            "WithCancel",
            Box::new(|| {
                let (ctx, cancel) = Context::background().with_cancel();
                cancel.cancel();
                ctx
            }),
            Some(ContextError::Cancelled),
            Want::Err(ContextError::Cancelled),
        ),
        (
            "WithCancelCause",
            Box::new({
                let pc = pc.clone();
                move || {
                    let (ctx, cancel) = Context::background().with_cancel_cause();
                    cancel.cancel(pc.clone());
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Cause(parent_cause.clone()),
        ),
        (
            "WithCancelCause nil",
            Box::new(|| {
                let (ctx, cancel) = Context::background().with_cancel_cause();
                cancel.cancel(ContextError::Cancelled);
                ctx
            }),
            Some(ContextError::Cancelled),
            Want::Err(ContextError::Cancelled),
        ),
        (
            "WithCancelCause: parent cause before child",
            Box::new({
                let (pc, cc) = (pc.clone(), cc.clone());
                move || {
                    let (ctx, cancel_parent) = Context::background().with_cancel_cause();
                    let (ctx, cancel_child) = ctx.with_cancel_cause();
                    cancel_parent.cancel(pc.clone());
                    cancel_child.cancel(cc.clone());
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Cause(parent_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause after child",
            Box::new({
                let (pc, cc) = (pc.clone(), cc.clone());
                move || {
                    let (ctx, cancel_parent) = Context::background().with_cancel_cause();
                    let (ctx, cancel_child) = ctx.with_cancel_cause();
                    cancel_child.cancel(cc.clone());
                    cancel_parent.cancel(pc.clone());
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Cause(child_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause before nil",
            Box::new({
                let pc = pc.clone();
                move || {
                    let (ctx, cancel_parent) = Context::background().with_cancel_cause();
                    let (ctx, cancel_child) = ctx.with_cancel();
                    cancel_parent.cancel(pc.clone());
                    cancel_child.cancel();
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Cause(parent_cause.clone()),
        ),
        (
            "WithCancelCause: parent cause after nil",
            Box::new({
                let pc = pc.clone();
                move || {
                    let (ctx, cancel_parent) = Context::background().with_cancel_cause();
                    let (ctx, cancel_child) = ctx.with_cancel();
                    cancel_child.cancel();
                    cancel_parent.cancel(pc.clone());
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Err(ContextError::Cancelled),
        ),
        (
            "WithCancelCause: child cause after nil",
            Box::new({
                let cc = cc.clone();
                move || {
                    let (ctx, cancel_parent) = Context::background().with_cancel();
                    let (ctx, cancel_child) = ctx.with_cancel_cause();
                    cancel_parent.cancel();
                    cancel_child.cancel(cc.clone());
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Err(ContextError::Cancelled),
        ),
        (
            "WithCancelCause: child cause before nil",
            Box::new({
                let cc = cc.clone();
                move || {
                    let (ctx, cancel_parent) = Context::background().with_cancel();
                    let (ctx, cancel_child) = ctx.with_cancel_cause();
                    cancel_child.cancel(cc.clone());
                    cancel_parent.cancel();
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Cause(child_cause.clone()),
        ),
        (
            "WithTimeout",
            Box::new(|| {
                let (ctx, cancel) = Context::background().with_timeout(Duration::ZERO);
                cancel.cancel();
                ctx
            }),
            Some(ContextError::DeadlineExceeded),
            Want::Err(ContextError::DeadlineExceeded),
        ),
        (
            "WithTimeout canceled",
            Box::new(move || {
                let (ctx, cancel) = Context::background().with_timeout(forever);
                cancel.cancel();
                ctx
            }),
            Some(ContextError::Cancelled),
            Want::Err(ContextError::Cancelled),
        ),
        (
            "WithTimeoutCause",
            Box::new({
                let ts = ts.clone();
                move || {
                    let (ctx, cancel) =
                        Context::background().with_timeout_cause(Duration::ZERO, ts.clone());
                    cancel.cancel();
                    ctx
                }
            }),
            Some(ContextError::DeadlineExceeded),
            Want::Cause(too_slow.clone()),
        ),
        (
            "WithTimeoutCause canceled",
            Box::new({
                let ts = ts.clone();
                move || {
                    let (ctx, cancel) =
                        Context::background().with_timeout_cause(forever, ts.clone());
                    cancel.cancel();
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Err(ContextError::Cancelled),
        ),
        (
            "WithTimeoutCause stacked",
            Box::new({
                let (ts, fe) = (ts.clone(), fe.clone());
                move || {
                    let (ctx, cancel) = Context::background().with_cancel_cause();
                    let (ctx, _) = ctx.with_timeout_cause(Duration::ZERO, ts.clone());
                    cancel.cancel(fe.clone());
                    ctx
                }
            }),
            Some(ContextError::DeadlineExceeded),
            Want::Cause(too_slow.clone()),
        ),
        (
            "WithTimeoutCause stacked canceled",
            Box::new({
                let (ts, fe) = (ts.clone(), fe.clone());
                move || {
                    let (ctx, cancel) = Context::background().with_cancel_cause();
                    let (ctx, _) = ctx.with_timeout_cause(forever, ts.clone());
                    cancel.cancel(fe.clone());
                    ctx
                }
            }),
            Some(ContextError::Cancelled),
            Want::Cause(finished_early.clone()),
        ),
        (
            "WithoutCancel",
            Box::new(|| Context::background().without_cancel()),
            None,
            Want::Nil,
        ),
        (
            "WithoutCancel canceled",
            Box::new({
                let fe = fe.clone();
                move || {
                    let (ctx, cancel) = Context::background().with_cancel_cause();
                    let ctx = ctx.without_cancel();
                    cancel.cancel(fe.clone());
                    ctx
                }
            }),
            None,
            Want::Nil,
        ),
        (
            "WithoutCancel timeout",
            Box::new({
                let ts = ts.clone();
                move || {
                    let (ctx, cancel) =
                        Context::background().with_timeout_cause(Duration::ZERO, ts.clone());
                    let ctx = ctx.without_cancel();
                    cancel.cancel();
                    ctx
                }
            }),
            None,
            Want::Nil,
        ),
    ];
    for (name, make, err, cause) in &cases {
        let ctx = make();
        assert_eq!(ctx.err(), *err, "{name}: ctx.err()");
        if let Err(e) = cause.check(ctx.cause()) {
            panic!("{name}: ctx.cause(): {e}");
        }
    }
}

/// Go: `TestCauseRace` — `cause()` polled (not waited for through `done()`) while another
/// thread cancels: it is `None`, then the cause, never anything else.
#[test]
fn test_cause_race() {
    let cause = because("TestCauseRace");
    let (ctx, cancel) = Context::background().with_cancel_cause();
    let t = std::thread::spawn({
        let cause = cause.clone();
        move || cancel.cancel(cause)
    });
    loop {
        if let Some(got) = ctx.cause() {
            assert!(Arc::ptr_eq(&got, &cause), "cause() returned {got}");
            assert_eq!(ctx.err(), Some(ContextError::Cancelled));
            break;
        }
        std::thread::yield_now();
    }
    t.join().unwrap();
}

/// A deadline's cause: set when the timer fires, through value nodes to descendants, and
/// also when the deadline has already passed. A child whose deadline is capped by its
/// parent's gets the parent's cause.
#[tokio::test(start_paused = true)]
async fn with_deadline_cause_sets_the_cause_when_the_deadline_passes() {
    let slow = because("backend too slow");
    let (ctx, _c) = Context::background().with_timeout_cause(Duration::from_secs(1), slow.clone());
    let (grandchild, _g) = ctx.with_value(1u8).with_cancel();
    assert!(ctx.cause().is_none());
    grandchild.cancelled().await;
    assert_eq!(grandchild.err(), Some(ContextError::DeadlineExceeded));
    assert!(is_cause(&ctx, &slow));
    assert!(is_cause(&grandchild, &slow));

    let (past, _) = Context::background().with_deadline_cause(
        std::time::Instant::now() - Duration::from_secs(1),
        slow.clone(),
    );
    assert_eq!(past.err(), Some(ContextError::DeadlineExceeded));
    assert!(is_cause(&past, &slow));

    let parent_slow = because("parent too slow");
    let (parent, _p) =
        Context::background().with_timeout_cause(Duration::from_secs(1), parent_slow.clone());
    let (child, _c) = parent.with_timeout_cause(Duration::from_secs(60), "never used");
    child.cancelled().await;
    assert!(is_cause(&child, &parent_slow));
}

/// A cause given as an error value, a message, or a `CancelCause`: the message and the type
/// survive, and a `CancelCause` is kept as the same `Arc`, not wrapped.
#[test]
fn cancel_cause_accepts_errors_messages_and_causes() {
    let (ctx, cancel) = Context::background().with_cancel_cause();
    cancel.cancel(std::io::Error::other("disk full"));
    let got = ctx.cause().unwrap();
    assert_eq!(got.to_string(), "disk full");
    assert!(got.downcast_ref::<std::io::Error>().is_some());

    let (ctx, cancel) = Context::background().with_cancel_cause();
    cancel.cancel(String::from("by message"));
    assert_eq!(ctx.cause().unwrap().to_string(), "by message");

    let shared = because("shared");
    let (a, cancel_a) = Context::background().with_cancel_cause();
    let (b, cancel_b) = Context::background().with_cancel_cause();
    cancel_a.cancel(shared.clone());
    cancel_b.cancel(a.cause().unwrap());
    assert!(is_cause(&a, &shared));
    assert!(is_cause(&b, &shared));

    // `CancelCause` is an `Error`: `?` takes it into a boxed error.
    fn check(ctx: &Context) -> Result<(), Box<dyn Error + Send + Sync>> {
        match ctx.cause() {
            Some(cause) => Err(cause)?,
            None => Ok(()),
        }
    }
    assert_eq!(check(&b).unwrap_err().to_string(), "shared");
}

/// A `CancelCauseHandle`'s plain handle cancels without a cause, and its drop guard is Go's
/// `defer cancel(nil)`.
#[test]
fn cancel_cause_handle_without_a_cause() {
    let (ctx, cancel) = Context::background().with_cancel_cause();
    drop(cancel.cancel_handle().drop_guard());
    assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    assert!(Want::Err(ContextError::Cancelled)
        .check(ctx.cause())
        .is_ok());
    cancel.cancel("too late");
    assert!(Want::Err(ContextError::Cancelled)
        .check(ctx.cause())
        .is_ok());
    assert!(format!("{cancel:?}").contains("cancelled: true"));
}

/// Go: `TestDeadlineExceededSupportsTimeout`, and Go's error wording.
#[test]
fn test_deadline_exceeded_supports_timeout() {
    assert!(ContextError::DeadlineExceeded.is_timeout());
    assert_eq!(ContextError::Cancelled.to_string(), "context canceled");
    assert_eq!(
        ContextError::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(ContextError::Cancelled);
    assert_eq!(boxed.to_string(), "context canceled");
}

/// Go: `TestWithoutCancel` — no deadline, a done channel that never closes, no error, and
/// values read through; also when the parent is cancelled or has a deadline, and for
/// contexts derived from it.
#[tokio::test(start_paused = true)]
async fn test_without_cancel() {
    let ctx = Context::background()
        .with_value(Key1("value"))
        .without_cancel();
    assert_eq!(ctx.deadline(), None);
    assert!(ctx.done().try_recv().is_err());
    assert!(!is_done(&ctx));
    assert_eq!(ctx.err(), None);
    assert_eq!(ctx.value::<Key1>(), Some(&Key1("value")));
    assert_eq!(
        format!("{ctx:?}"),
        "context.Background.WithValue(type context::Key1).WithoutCancel"
    );

    let (parent, cancel) = Context::background()
        .with_value(Key1("parent"))
        .with_timeout(Duration::from_secs(1));
    let detached = parent.without_cancel();
    let (child, _c) = detached.with_cancel();
    assert_eq!(detached.deadline(), None);
    assert_eq!(child.deadline(), None);
    cancel.cancel();
    assert_eq!(parent.err(), Some(ContextError::Cancelled));
    for c in [&detached, &child] {
        assert_eq!(c.err(), None);
        assert!(!is_done(c));
        assert_eq!(c.value::<Key1>(), Some(&Key1("parent")));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(detached.err(), None);
    assert!(!child.cancellation_token().is_cancelled());
}

/// Cancelling a child never cancels its parent or siblings; a parent's error reaches
/// children as is (a deadline reaches a child as `DeadlineExceeded`).
#[tokio::test(start_paused = true)]
async fn never_upwards_and_error_inherited() {
    let (parent, _pc) = Context::background().with_timeout(Duration::from_secs(1));
    let (a, cancel_a) = parent.with_cancel();
    let (b, _cb) = parent.with_cancel();
    cancel_a.cancel();
    assert_eq!(a.err(), Some(ContextError::Cancelled));
    assert_eq!(parent.err(), None);
    assert_eq!(b.err(), None);
    b.cancelled().await;
    assert_eq!(parent.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(b.err(), Some(ContextError::DeadlineExceeded));
}

/// A child's deadline is never later than its parent's.
#[tokio::test(start_paused = true)]
async fn child_deadline_capped_by_parent() {
    let now = Instant::now();
    let (p, _) = Context::background().with_deadline(now + Duration::from_secs(1));
    let (later, _) = p.with_deadline(now + Duration::from_secs(5));
    let (earlier, _) = p.with_timeout(Duration::from_millis(10));
    let (plain, _) = p.with_value(0u8).with_cancel();
    assert_eq!(later.deadline(), Some(now + Duration::from_secs(1)));
    assert_eq!(earlier.deadline(), Some(now + Duration::from_millis(10)));
    assert_eq!(plain.deadline(), p.deadline());
    earlier.cancelled().await;
    assert_eq!(Instant::now(), now + Duration::from_millis(10));
    assert_eq!(p.err(), None);
    later.cancelled().await;
    assert_eq!(Instant::now(), now + Duration::from_secs(1));
    assert_eq!(later.err(), Some(ContextError::DeadlineExceeded));
}

/// Dropping a `CancelHandle` does not cancel; its drop guard does.
#[test]
fn dropping_cancel_handle_does_not_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    drop(cancel);
    assert_eq!(ctx.err(), None);
    let (ctx, cancel) = Context::background().with_cancel();
    drop(cancel.drop_guard());
    assert_eq!(ctx.err(), Some(ContextError::Cancelled));
}

/// A tree of depth 100 and width 1,000 (1,000 chains of 100 under one root) cancels fully:
/// every node's err is set and every done channel closed, from one cancel.
#[test]
fn tree_depth_100_width_1000_cancels_fully() {
    let (root, cancel) = Context::background().with_cancel();
    let mut leaves = Vec::with_capacity(1000);
    let mut dones = Vec::with_capacity(1000 * 10);
    let mut keep = Vec::with_capacity(1000 * 100);
    for _ in 0..1000 {
        let mut ctx = root.clone();
        for depth in 0..100 {
            let (c, h) = ctx.with_cancel();
            if depth % 10 == 0 {
                dones.push(c.done());
            }
            keep.push(h);
            ctx = c;
        }
        leaves.push(ctx);
    }
    cancel.cancel();
    assert!(leaves
        .iter()
        .all(|c| c.err() == Some(ContextError::Cancelled)));
    assert!(dones.iter().all(|d| d.is_closed()));
    assert!(keep
        .iter()
        .all(|h| format!("{h:?}").contains("cancelled: true")));
}

/// `done()` works as a select case: a task selecting on work and on `done` exits on cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_in_select() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
    let worker = tokio::spawn({
        let ctx = ctx.clone();
        async move {
            let mut seen = 0;
            loop {
                tokio::select! {
                    v = rx.recv() => seen += v.unwrap(),
                    None = async { ctx.done().recv().await } => return (seen, ctx.err()),
                }
            }
        }
    });
    tx.send(2).await.unwrap();
    tx.send(3).await.unwrap();
    // The buffer has capacity 1: once a third send completes, 2 was surely consumed.
    tx.send(0).await.unwrap();
    cancel.cancel();
    let (seen, err) = worker.await.unwrap();
    assert!(seen >= 2);
    assert_eq!(err, Some(ContextError::Cancelled));
}

/// Many waiters on one context's done channel are all released by one cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_done_waiters() {
    let (ctx, cancel) = Context::background().with_cancel();
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let done = ctx.done();
            tokio::spawn(async move { done.recv().await })
        })
        .collect();
    cancel.cancel();
    for t in tasks {
        assert_eq!(t.await.unwrap(), None);
    }
}

/// A done receiver kept after its context (and cancel handle) were dropped under the
/// background root never closes: nothing can cancel it any more (Go: blocks forever).
#[tokio::test(start_paused = true)]
async fn orphaned_done_under_background_never_closes() {
    let done = {
        let (ctx, _cancel) = Context::background().with_cancel();
        ctx.done()
    };
    assert!(!done.is_closed());
    let r = tokio::time::timeout(Duration::from_secs(3600), done.recv()).await;
    assert!(r.is_err(), "an uncancellable context's done must not close");
}

/// Interop: a context's token follows its cancellation (and an ancestor's), cancelling the
/// token does not cancel the context, and a token brings cancellation into a context tree.
#[tokio::test]
async fn cancellation_token_interop() {
    let (parent, cancel_parent) = Context::background().with_cancel();
    let (child, _c) = parent.with_value(1u8).with_cancel();
    let t_child = child.cancellation_token();
    let t_child2 = CancellationToken::from(&child);
    t_child2.cancel();
    assert_eq!(
        child.err(),
        None,
        "cancelling a token never cancels the context"
    );
    assert!(!t_child.is_cancelled());
    drop(child);
    cancel_parent.cancel();
    assert!(
        t_child.is_cancelled(),
        "the parent's cancel reaches the token"
    );
    assert!(!Context::background().cancellation_token().is_cancelled());

    let token = CancellationToken::new();
    let (ctx, _c) = Context::background().with_cancellation_token(token.clone());
    let (grandchild, _g) = ctx.with_cancel();
    assert_eq!(ctx.err(), None);
    token.cancel();
    grandchild.cancelled().await;
    assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    let pre = CancellationToken::new();
    pre.cancel();
    let (c2, _) = Context::background().with_cancellation_token(pre);
    assert_eq!(c2.err(), Some(ContextError::Cancelled));
}

/// `with_timeout` outside a runtime panics with a message saying what to do.
#[test]
fn with_timeout_outside_runtime_panics() {
    let err = std::panic::catch_unwind(|| {
        Context::background().with_timeout(Duration::from_secs(1));
    })
    .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("outside a Tokio runtime"), "{msg}");
    // No timer is needed for a deadline in the past: works anywhere.
    let (c, _) = Context::background().with_deadline(std::time::Instant::now());
    assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
}

/// Go's `shortDuration`: long enough for a function that wrongly started to have run.
const SHORT: Duration = Duration::from_millis(10);
/// Go's `veryLongDuration`: an upper bound on a wait that must end.
const VERY_LONG: Duration = Duration::from_secs(10);

/// An `after_func` body that closes `donec`'s channel, and the receiver to watch it.
fn closer() -> (
    impl std::future::Future<Output = ()> + Send + 'static,
    tokio::sync::oneshot::Receiver<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    (
        async move {
            let _ = tx.send(());
        },
        rx,
    )
}

/// Go: `TestAfterFuncCalledAfterCancel` — not called before the cancel, called after it,
/// and `stop()` then says it had started.
#[tokio::test]
async fn test_after_func_called_after_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (f, mut donec) = closer();
    let stop = ctx.after_func(f);
    tokio::time::sleep(SHORT).await;
    assert!(
        donec.try_recv().is_err(),
        "AfterFunc called before context is done"
    );
    cancel.cancel();
    tokio::time::timeout(VERY_LONG, donec)
        .await
        .expect("AfterFunc not called after context is canceled")
        .unwrap();
    assert!(!stop.stop(), "stop() = true, want false");
}

/// Go: `TestAfterFuncCalledAfterTimeout`.
#[tokio::test(start_paused = true)]
async fn test_after_func_called_after_timeout() {
    let (ctx, _cancel) = Context::background().with_timeout(SHORT);
    let (f, donec) = closer();
    ctx.after_func(f);
    tokio::time::timeout(VERY_LONG, donec)
        .await
        .expect("AfterFunc not called after context is canceled")
        .unwrap();
}

/// Go: `TestAfterFuncCalledImmediately` — on a context already done, it starts at once.
#[tokio::test]
async fn test_after_func_called_immediately() {
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let (f, donec) = closer();
    let stop = ctx.after_func(f);
    tokio::time::timeout(VERY_LONG, donec)
        .await
        .expect("AfterFunc not called for already-canceled context")
        .unwrap();
    assert!(!stop.stop());
}

/// Go: `TestAfterFuncNotCalledAfterStop` — the first `stop()` is `true`, the function never
/// runs, a second `stop()` is `false`.
#[tokio::test]
async fn test_after_func_not_called_after_stop() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (f, mut donec) = closer();
    let stop = ctx.after_func(f);
    assert!(stop.stop(), "stop() = false, want true");
    cancel.cancel();
    tokio::time::sleep(SHORT).await;
    // Stopped: the future (and its sender) was dropped unrun.
    assert_eq!(
        donec.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Closed)
    );
    assert!(!stop.stop(), "stop() = true, want false");
}

/// Go: `TestAfterFuncCalledAsynchronously` — cancelling does not wait for the function: it
/// blocks on an unbuffered send that only the canceller's next step receives.
#[tokio::test]
async fn test_after_func_called_asynchronously() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, donec) = gocsp_channel::chan::<()>(0);
    let stop = ctx.after_func(async move {
        // The send blocks until donec is read from.
        tx.send(()).await.unwrap();
    });
    cancel.cancel();
    // After cancel returns, read from donec and unblock the AfterFunc.
    tokio::time::timeout(VERY_LONG, donec.recv())
        .await
        .expect("AfterFunc not called after context is canceled")
        .unwrap();
    stop.stop();
}

/// Several functions on one context run independently: stopping one leaves the others, and
/// each runs once, in its own goroutine named `context.AfterFunc` and reported at the line
/// that called `after_func`, with the context already done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_funcs_run_independently_as_named_goroutines() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut stops = Vec::new();
    let mut site = None;
    for i in 0..10 {
        let (tx, ctx2) = (tx.clone(), ctx.clone());
        let (stop, here) = after_func_here(&ctx, async move {
            let id = gocsp_runtime::current_id().expect("runs as a goroutine");
            // Listed in the dump once it has waited (`Dump::unlisted`).
            gocsp_runtime::yield_now().await;
            let g = gocsp_runtime::dump()
                .get(id)
                .map(|g| (g.name.clone(), g.location));
            tx.send((i, id, g, ctx2.err())).unwrap();
        });
        stops.push(stop);
        site = Some(here);
    }
    drop(tx);
    assert!(stops[3].stop());
    assert!(stops[7].stop());
    cancel.cancel();
    let mut got: Vec<_> = drain(rx).await;
    got.sort_by_key(|r| r.0);
    assert_eq!(
        got.iter().map(|r| r.0).collect::<Vec<_>>(),
        [0, 1, 2, 4, 5, 6, 8, 9]
    );
    let mut ids: Vec<_> = got.iter().map(|r| r.1).collect();
    ids.dedup();
    assert_eq!(ids.len(), 8, "one goroutine each");
    for (_, _, g, err) in got {
        let (name, location) = g.expect("in the dump");
        assert_eq!(name.as_deref(), Some("context.AfterFunc"));
        assert_eq!(Some(location), site);
        assert_eq!(err, Some(ContextError::Cancelled));
    }
    for s in &stops {
        assert!(!s.stop());
    }
}

/// `ctx.after_func(f)`, and the line that called this (which `after_func`, itself
/// `#[track_caller]`, reports too).
#[track_caller]
fn after_func_here(
    ctx: &Context,
    f: impl std::future::Future<Output = ()> + Send + 'static,
) -> (
    gocsp_sync::AfterFuncHandle,
    &'static std::panic::Location<'static>,
) {
    (ctx.after_func(f), std::panic::Location::caller())
}

async fn drain<T>(mut rx: tokio::sync::mpsc::UnboundedReceiver<T>) -> Vec<T> {
    let mut out = Vec::new();
    while let Some(v) = rx.recv().await {
        out.push(v);
    }
    out
}

/// Dropping the handle does not stop the function, and a function registered on a context
/// whose handles are all dropped still runs when an ancestor is cancelled (as in Go, where the
/// parent still reaches the child).
#[tokio::test]
async fn after_func_outlives_its_handle_and_its_context() {
    let (parent, cancel) = Context::background().with_cancel();
    let (f1, done1) = closer();
    drop(parent.after_func(f1));
    let (f2, done2) = closer();
    let stop2 = {
        let (child, _child_cancel) = parent.with_value(1u8).with_cancel();
        child.after_func(f2)
    };
    cancel.cancel();
    tokio::time::timeout(VERY_LONG, done1)
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(VERY_LONG, done2)
        .await
        .unwrap()
        .unwrap();
    assert!(!stop2.stop());
}

/// A context that can never be done: the function never runs, `stop()` is `true` once, and
/// no runtime is needed.
#[test]
fn after_func_on_a_context_never_done() {
    let (parent, cancel) = Context::background().with_cancel();
    for ctx in [
        Context::background(),
        parent.without_cancel(),
        parent.without_cancel().with_value(1u8),
    ] {
        let stop = ctx.after_func(async { unreachable!("never done") });
        assert!(stop.stop());
        assert!(!stop.stop());
    }
    let kept = Context::background().after_func(async { unreachable!("never done") });
    cancel.cancel();
    assert!(kept.stop());
}

/// Cancelled from an OS thread outside any runtime: the function starts on the runtime
/// that was current when it was registered.
#[test]
fn after_func_starts_on_its_runtime_when_cancelled_from_a_plain_thread() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let (f, done) = closer();
    let stop = rt.block_on(async { ctx.after_func(f) });
    std::thread::spawn(move || cancel.cancel()).join().unwrap();
    rt.block_on(async { tokio::time::timeout(VERY_LONG, done).await })
        .unwrap()
        .unwrap();
    assert!(!stop.stop());
}

/// The runtime an `after_func` was registered on has shut down: the cancel (from anywhere)
/// neither panics nor runs the function, which is dropped unrun.
#[test]
fn after_func_after_its_runtime_shut_down() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let (f, mut done) = closer();
    let stop = rt.block_on(async { ctx.after_func(f) });
    drop(rt);
    cancel.cancel();
    assert!(!stop.stop(), "the cancellation took it");
    assert_eq!(
        done.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Closed)
    );
}

/// `after_func` outside a runtime, on a context that can be done, panics saying so.
#[test]
fn after_func_outside_runtime_panics() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.after_func(async {})))
        .unwrap_err();
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("outside a Tokio runtime"), "{msg}");
}

/// Compile-time: the public types are `Send + Sync` (contexts cross tasks).
#[test]
fn send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Context>();
    assert_send_sync::<gocsp_sync::CancelHandle>();
    assert_send_sync::<gocsp_sync::CancelGuard>();
    assert_send_sync::<gocsp_sync::CancelCauseHandle>();
    assert_send_sync::<CancelCause>();
    assert_send_sync::<gocsp_sync::AfterFuncHandle>();
    assert_send_sync::<ContextError>();
    fn assert_send<T: Send>(_: &T) {}
    let ctx = Context::background();
    assert_send(&ctx.cancelled());
}

/// A waiter on a deep descendant that an ancestor's cancel wakes finds `err()` set when
/// `cancelled()` returns (Go: once `Done` is closed, `Err` is non-nil), however the wake-up
/// reaches it. A deep chain widens the window between the ancestor's cancel and the tree walk
/// reaching the leaf: a `cancelled()` built on the leaf's child `CancellationToken` (tried, and
/// slower) fails here without a second wait on the done channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_implies_err_when_an_ancestor_cancels() {
    for _ in 0..1_000 {
        let (root, cancel) = Context::background().with_cancel();
        let mut leaf = root.clone();
        let mut handles = Vec::new();
        for _ in 0..20 {
            leaf = leaf.with_cancel().0;
        }
        for _ in 0..4 {
            let leaf = leaf.clone();
            // Created here: the waiter is on this context's done channel before the cancel.
            let wait = leaf.cancelled();
            handles.push(tokio::spawn(async move {
                wait.await;
                leaf.err()
            }));
        }
        tokio::task::yield_now().await;
        cancel.cancel();
        for h in handles {
            assert_eq!(h.await.unwrap(), Some(ContextError::Cancelled));
        }
    }
}
