//! Synchronisation primitives, swapped for loom's model-checked ones under `--cfg loom`.
#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    Arc, Mutex,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    Arc,
};

/// The select signal's waker slot: futures' `AtomicWaker` (register, then check again; a wake
/// takes the waker). loom cannot see inside it, so `--cfg loom` builds use a mutex with the same
/// three operations, which loom does model.
#[cfg(not(loom))]
pub(crate) use futures_util::task::AtomicWaker;

#[cfg(loom)]
#[derive(Default)]
pub(crate) struct AtomicWaker(Mutex<Option<std::task::Waker>>);

#[cfg(loom)]
impl AtomicWaker {
    pub(crate) fn new() -> Self {
        AtomicWaker(Mutex::new(None))
    }

    pub(crate) fn register(&self, waker: &std::task::Waker) {
        let mut slot = self.0.lock().unwrap();
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    pub(crate) fn wake(&self) {
        let w = self.0.lock().unwrap().take();
        if let Some(w) = w {
            w.wake();
        }
    }
}
