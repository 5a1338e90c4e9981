//! Running a future to completion on the calling OS thread, for the `*_blocking` methods.

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Blocks the current thread until `fut` completes.
///
/// Outside any tokio runtime the thread parks until woken. Inside a runtime context it goes
/// through [`tokio::runtime::Handle::block_on`], which is allowed on `spawn_blocking` threads
/// and panics on a thread that is driving async tasks; that panic is replaced by one that names
/// `what` and the async alternative `instead`.
#[track_caller]
pub(crate) fn block_on<F: Future>(fut: F, what: &str, instead: &str) -> F::Output {
    match tokio::runtime::Handle::try_current() {
        Err(_) => futures::executor::block_on(fut),
        Ok(handle) => {
            let mut fut = Some(fut);
            let attempt = catch_unwind(AssertUnwindSafe(|| {
                // `take` happens inside the probe: if tokio refuses to block here, the future
                // is dropped unpolled, which every future of this crate allows.
                handle.block_on(async { fut.take().expect("polled once").await })
            }));
            match attempt {
                Ok(out) => out,
                // The future ran and panicked itself: not ours to rephrase.
                Err(payload) if fut.is_none() => resume_unwind(payload),
                // tokio refused before polling the future: this thread drives async tasks.
                Err(_) => panic!(
                    "{what} was called from a thread that is running async tasks (a tokio \
                     runtime worker or `block_on`); blocking it could deadlock the runtime. \
                     Use `{instead}` in async code, or call {what} from `spawn_blocking` or a \
                     plain thread."
                ),
            }
        }
    }
}
