use super::*;
use loom::thread;

use super::tree::NEWEST_FIRST;

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
/// map ends empty, and a surviving sibling is cancelled.
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
        let t = thread::spawn(move || {
            drop(doomed);
            drop(doomed_cancel);
        });
        cancel_parent.cancel();
        t.join().unwrap();
        assert_eq!(sibling.err(), Some(ContextError::Cancelled));
        assert_eq!(parent.registered_children(), 0);
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
