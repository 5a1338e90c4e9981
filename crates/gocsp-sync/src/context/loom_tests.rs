//! The cancel tree's loom models. The tree's nodes are std `Arc`s, which loom does not see:
//! a model that drops what may be a node's last handle on one thread calls `count_point`
//! first, as the tree does before each `Weak::upgrade`, so that loom tries the drop both
//! before and after the other thread's upgrade.

use super::*;
use loom::sync::atomic::AtomicUsize;
use loom::thread;
use std::sync::atomic::Ordering::SeqCst;

use super::tree::NEWEST_FIRST;
use crate::loom::count_point;

/// A parent's cancel races a child's own cancel on another thread: both end cancelled,
/// the child reports one of the two errors, and the parent's map is empty.
#[test]
fn parent_cancel_races_child_cancel() {
    loom::model(|| {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_cancel();
        let t = thread::spawn(move || cancel_child.cancel());
        cancel_parent.cancel();
        t.join().unwrap();
        assert_eq!(parent.err(), Some(ContextError::Cancelled));
        assert_eq!(child.err(), Some(ContextError::Cancelled));
        assert_eq!(parent.registered_children(), 0);
    });
}

/// A child is created on one thread while its parent is cancelled on another: the child
/// either registers in time and is cancelled by the parent, or sees the parent's error
/// when registering. Never a live child of a cancelled parent.
#[test]
fn child_creation_races_parent_cancel() {
    loom::model(|| {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let p2 = parent.clone();
        let t = thread::spawn(move || {
            let (child, _c) = p2.with_cancel();
            child
        });
        cancel_parent.cancel();
        let child = t.join().unwrap();
        assert_eq!(child.err(), Some(ContextError::Cancelled));
        assert_eq!(parent.registered_children(), 0);
    });
}

/// A child's last handle is dropped on one thread while its parent is cancelled on
/// another: whether the parent's cancel reaches it or its `Drop` runs first, the parent's
/// map ends empty, a surviving sibling is cancelled, and the child's done channel, whose
/// receiver outlives it, is closed.
#[test]
fn drop_races_cancel_propagation() {
    for newest_first in [false, true] {
        NEWEST_FIRST.set(newest_first);
        drop_races_cancel_propagation_model();
    }
}

fn drop_races_cancel_propagation_model() {
    loom::model(|| {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (doomed, doomed_cancel) = parent.with_cancel();
        let (sibling, _s) = parent.with_cancel();
        let done = doomed.done();
        let t = thread::spawn(move || {
            drop(doomed);
            count_point();
            drop(doomed_cancel);
        });
        cancel_parent.cancel();
        t.join().unwrap();
        assert_eq!(sibling.err(), Some(ContextError::Cancelled));
        assert_eq!(parent.registered_children(), 0);
        assert!(done.is_closed());
    });
}

/// A parent's cancel with one cause races a child's own cancel with another, while a third
/// thread reads a grandchild: the child ends with exactly one of the two causes, the
/// grandchild with the same one (whoever finishes the child takes its map), and a reader that
/// sees the error also sees a cause.
#[test]
fn cause_races_cancel_with_another_cause() {
    loom::model(|| {
        let parent_cause: CancelCause = Arc::new(ContextError::DeadlineExceeded);
        let child_cause: CancelCause = Arc::new(ContextError::Cancelled);
        let (parent, cancel_parent) = Context::background().with_cancel_cause();
        let (child, cancel_child) = parent.with_cancel_cause();
        let (grandchild, _g) = child.with_value(1u8).with_cancel();
        let t = thread::spawn({
            let cause = child_cause.clone();
            move || cancel_child.cancel(cause)
        });
        let reader = thread::spawn({
            let grandchild = grandchild.clone();
            move || {
                if grandchild.err().is_some() {
                    assert!(grandchild.cause().is_some());
                }
            }
        });
        cancel_parent.cancel(parent_cause.clone());
        t.join().unwrap();
        reader.join().unwrap();
        let got = child.cause().unwrap();
        assert!(Arc::ptr_eq(&got, &parent_cause) || Arc::ptr_eq(&got, &child_cause));
        assert!(Arc::ptr_eq(&grandchild.cause().unwrap(), &got));
        assert!(Arc::ptr_eq(&parent.cause().unwrap(), &parent_cause));
        assert_eq!(parent.registered_children(), 0);
    });
}

/// An `after_func` body for the models: counts its runs.
fn counting(runs: &Arc<AtomicUsize>) -> impl std::future::Future<Output = ()> + Send + 'static {
    let runs = runs.clone();
    async move {
        runs.fetch_add(1, SeqCst);
    }
}

/// `stop` races the context's cancel: the function runs exactly when `stop` returns
/// `false`, at most once, and the map ends empty either way.
#[test]
fn after_func_stop_races_cancel() {
    loom::model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let (parent, _p) = Context::background().with_cancel();
        let (ctx, cancel) = parent.with_cancel();
        let stop = ctx.after_func(counting(&runs));
        let t = thread::spawn(move || cancel.cancel());
        let stopped = stop.stop();
        t.join().unwrap();
        assert_eq!(runs.load(SeqCst), usize::from(!stopped));
        assert_eq!(ctx.registered_children(), 0);
        assert!(!stop.stop());
    });
}

/// `after_func` is called on one thread while the context is cancelled on another: the
/// function runs exactly once, whether the cancel finds it in the map or it sees the error
/// when registering.
#[test]
fn after_func_registration_races_cancel() {
    loom::model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let (ctx, cancel) = Context::background().with_cancel();
        let t = thread::spawn({
            let (ctx, runs) = (ctx.clone(), runs.clone());
            move || ctx.after_func(counting(&runs))
        });
        cancel.cancel();
        let stop = t.join().unwrap();
        assert_eq!(runs.load(SeqCst), 1);
        assert!(!stop.stop());
        assert_eq!(ctx.registered_children(), 0);
    });
}

/// The last handle of the context an `after_func` is registered on is dropped on one thread
/// (its `Drop` hands the registration to the parent) while `stop` runs on another: `stop`
/// wins (nothing cancels), finds the registration wherever it is, and the parent's map ends
/// empty; the parent's later cancel starts nothing.
#[test]
fn after_func_stop_races_adoption() {
    loom::model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let (parent, cancel_parent) = Context::background().with_cancel();
        let child = parent.with_cancel().0;
        let stop = child.after_func(counting(&runs));
        let t = thread::spawn(move || {
            count_point();
            drop(child);
        });
        assert!(stop.stop());
        t.join().unwrap();
        assert_eq!(parent.registered_children(), 0);
        cancel_parent.cancel();
        assert_eq!(runs.load(SeqCst), 0);
    });
}

/// The last handle of the context an `after_func` is registered on is dropped on one thread
/// while its parent is cancelled on another: whether the parent's cancel reaches the child,
/// the child's `Drop` sees the parent cancelled, or the parent's cancel finds the adopted
/// registration, the function runs exactly once.
#[test]
fn after_func_adoption_races_parent_cancel() {
    loom::model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let (parent, cancel_parent) = Context::background().with_cancel();
        let child = parent.with_cancel().0;
        let stop = child.after_func(counting(&runs));
        let t = thread::spawn(move || {
            count_point();
            drop(child);
        });
        cancel_parent.cancel();
        t.join().unwrap();
        assert_eq!(runs.load(SeqCst), 1);
        assert!(!stop.stop());
        assert_eq!(parent.registered_children(), 0);
    });
}
