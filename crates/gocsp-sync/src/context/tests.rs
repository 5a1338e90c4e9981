//! Tests that look at the child map (private state): registration, removal and adoption of
//! children and `after_func`s. The rest is in `tests/context.rs`.
//!
//! Parts adapted from Go's `src/context/context_test.go`:
//! Copyright 2014 The Go Authors. All rights reserved. Use of this source code is governed
//! by a BSD-style license that can be found in Go's LICENSE file.

use super::tree::background_orphans;
use super::*;
use crate::loom::lock;

/// Go: `TestParentFinishesChild` — linkage, then the parent's cancel clears its map and
/// finishes every child, through a value node, and a child made afterwards starts done.
#[tokio::test(start_paused = true)]
async fn test_parent_finishes_child() {
    let (parent, cancel) = Context::background().with_cancel();
    let (cancel_child, _stop1) = parent.with_cancel();
    let value_child = parent.with_value("value");
    let (timer_child, _stop2) = value_child.with_timeout(Duration::from_secs(10_000 * 3600));
    for c in [&parent, &cancel_child, &value_child, &timer_child] {
        assert!(c.done().try_recv().is_err());
    }
    // The cancellable children register with `parent`, skipping the value node.
    assert_eq!(parent.registered_children(), 2);
    cancel.cancel();
    assert_eq!(
        parent.registered_children(),
        0,
        "cancel didn't clear children"
    );
    for c in [&parent, &cancel_child, &value_child, &timer_child] {
        assert!(c.done().is_closed());
        assert_eq!(c.err(), Some(ContextError::Cancelled));
    }
    let precanceled = parent.with_value("value");
    assert!(precanceled.done().is_closed());
    assert_eq!(precanceled.err(), Some(ContextError::Cancelled));
}

/// Go: `TestChildFinishesFirst` — a child's cancel removes it from its parent's map and
/// leaves the parent live; under the background root nothing is registered at all.
#[test]
fn test_child_finishes_first() {
    let (cancelable, _stop) = Context::background().with_cancel();
    for parent in [Context::background(), cancelable] {
        let (child, cancel) = parent.with_cancel();
        assert_eq!(
            parent.registered_children(),
            usize::from(parent.cancel_node().is_some())
        );
        cancel.cancel();
        assert_eq!(parent.registered_children(), 0);
        assert_eq!(child.err(), Some(ContextError::Cancelled));
        assert_eq!(parent.err(), None);
        assert!(!parent.done().is_closed());
    }
}

/// Go: `TestCancelRemoves` — plain and timer children unregister on cancel, and an
/// `after_func` on stop.
#[tokio::test(start_paused = true)]
async fn test_cancel_removes() {
    let (ctx, _c) = Context::background().with_cancel();
    assert_eq!(ctx.registered_children(), 0);
    let (_child, cancel) = ctx.with_cancel();
    assert_eq!(ctx.registered_children(), 1);
    cancel.cancel();
    assert_eq!(ctx.registered_children(), 0);

    let (_child, cancel) = ctx.with_timeout(Duration::from_secs(3600));
    assert_eq!(ctx.registered_children(), 1);
    cancel.cancel();
    assert_eq!(ctx.registered_children(), 0);

    let stop = ctx.after_func(async {});
    assert_eq!(ctx.registered_children(), 1, "with AfterFunc child");
    stop.stop();
    assert_eq!(
        ctx.registered_children(),
        0,
        "after stopping AfterFunc child"
    );
}

/// A timer child that fires unregisters itself.
#[tokio::test(start_paused = true)]
async fn timed_out_child_unregisters() {
    let (ctx, _c) = Context::background().with_cancel();
    let (child, _cancel) = ctx.with_timeout(Duration::from_millis(10));
    assert_eq!(ctx.registered_children(), 1);
    child.cancelled().await;
    assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
    assert_eq!(ctx.registered_children(), 0);
}

/// 1,000,000 short-lived children of one parent — half cancelled, half simply dropped —
/// leave its child map empty (and its memory given back).
#[test]
fn million_short_lived_children_leave_nothing() {
    let (parent, _cancel) = Context::background().with_cancel();
    for i in 0..1_000_000u32 {
        let (child, cancel) = parent.with_cancel();
        if i % 2 == 0 {
            cancel.cancel();
            assert_eq!(child.err(), Some(ContextError::Cancelled));
        }
    }
    assert_eq!(parent.registered_children(), 0);
    let node = parent.cancel_node().unwrap().as_cancel();
    let st = lock(&node.state);
    assert!(st.children.capacity() <= 64, "{}", st.children.capacity());
    assert!(st.orphans.is_empty());
}

/// A dropped, uncancelled child whose done receiver is still held: the receiver stays
/// open (the child is not cancelled), and closes when the parent is cancelled — as in Go.
#[test]
fn done_receiver_outliving_its_context_follows_the_parent() {
    let (parent, cancel) = Context::background().with_cancel();
    let done = {
        let (child, _child_cancel) = parent.with_cancel();
        child.done()
    };
    assert_eq!(
        parent.registered_children(),
        0,
        "dropped child unregistered"
    );
    assert!(!done.is_closed(), "dropping a context does not cancel it");
    cancel.cancel();
    assert!(
        done.is_closed(),
        "the parent's cancel reaches the orphaned receiver"
    );
}

/// Orphaned senders whose receivers are gone are swept, so the parent does not grow.
#[test]
fn orphans_are_swept() {
    let (parent, _cancel) = Context::background().with_cancel();
    let mut kept = Vec::new();
    for i in 0..10_000 {
        let (child, _c) = parent.with_cancel();
        let done = child.done();
        if i % 1000 == 0 {
            kept.push(done);
        }
    }
    let node = parent.cancel_node().unwrap().as_cancel();
    let orphans = lock(&node.state).orphans.len();
    assert!(
        orphans < 100,
        "{orphans} orphans kept for 10 live receivers"
    );
}

/// A cancellable child below `without_cancel` registers nowhere: its parent's cancel cannot
/// reach it, and it leaves nothing in the parent's map.
#[test]
fn child_of_without_cancel_is_not_registered() {
    let (parent, cancel) = Context::background().with_cancel();
    let detached = parent.with_value(1u8).without_cancel();
    let (child, _c) = detached.with_cancel();
    assert_eq!(parent.registered_children(), 0);
    assert!(child
        .cancel_node()
        .unwrap()
        .as_cancel()
        .registered_in
        .is_none());
    cancel.cancel();
    assert_eq!(child.err(), None);
}

/// `after_func`s that are stopped or started leave nothing in the map: 100,000 of them on one
/// long-lived context, stopped, leave it empty (and its memory given back); one that starts is
/// taken by the cancellation.
#[tokio::test]
async fn stopped_after_funcs_leave_nothing() {
    let (ctx, cancel) = Context::background().with_cancel();
    for _ in 0..100_000 {
        let stop = ctx.after_func(async {});
        assert!(stop.stop());
    }
    assert_eq!(ctx.registered_children(), 0);
    let node = ctx.cancel_node().unwrap().as_cancel();
    assert!(lock(&node.state).children.capacity() <= 64);

    let (tx, rx) = tokio::sync::oneshot::channel();
    let stop = ctx.after_func(async move { tx.send(()).unwrap() });
    assert_eq!(ctx.registered_children(), 1);
    cancel.cancel();
    assert_eq!(ctx.registered_children(), 0);
    rx.await.unwrap();
    assert!(!stop.stop());
}

/// A context dropped uncancelled hands its `after_func` to the nearest cancellable ancestor
/// (which would have cancelled it), where `stop` still finds it and removes it; under the
/// background root, where nothing can cancel it, nothing is kept.
#[tokio::test]
async fn after_func_of_a_dropped_context_is_adopted() {
    let (parent, cancel) = Context::background().with_cancel();
    // Their cancel handles dropped at once: the contexts are their only handles.
    let child = parent.with_value(1u8).with_cancel().0;
    let grandchild = child.with_cancel().0;
    let stop = grandchild.after_func(async { unreachable!("stopped") });
    assert_eq!(parent.registered_children(), 1, "the child");
    drop(grandchild);
    assert_eq!(child.registered_children(), 1, "adopted by the child");
    drop(child);
    assert_eq!(parent.registered_children(), 1, "then by the parent");
    assert!(stop.stop());
    assert_eq!(parent.registered_children(), 0, "stop finds it where it is");
    cancel.cancel();

    let stop = Context::background()
        .with_cancel()
        .0
        .after_func(async { unreachable!("never done") });
    assert!(lock(background_orphans()).is_empty());
    assert!(stop.stop());
}

/// A stopped `after_func` of a dropped context is not adopted: the parent's map stays empty.
#[tokio::test]
async fn stopped_after_func_is_not_adopted() {
    let (parent, _cancel) = Context::background().with_cancel();
    let child = parent.with_cancel().0;
    let stop = child.after_func(async {});
    assert!(stop.stop());
    drop(child);
    assert_eq!(parent.registered_children(), 0);

    // Not stopped: adopted, and started by the parent's cancellation.
    let (parent, cancel) = Context::background().with_cancel();
    let child = parent.with_cancel().0;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let stop = child.after_func(async move { tx.send(()).unwrap() });
    drop(child);
    assert_eq!(parent.registered_children(), 1);
    cancel.cancel();
    rx.await.unwrap();
    assert!(!stop.stop());
}
