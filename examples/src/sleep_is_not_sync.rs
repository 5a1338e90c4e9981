//! `time.Sleep` is not synchronization; a `WaitGroup` is.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gocsp::{go, WaitGroup};

use crate::{outln, Out};

/// How long goroutine `i` of the demo works before printing: 0 to 19 ms, spread out.
fn work_time(i: usize) -> Duration {
    Duration::from_millis((i as u64 * 7) % 20)
}

async fn print_message(i: usize, printed: Arc<AtomicUsize>) {
    tokio::time::sleep(work_time(i)).await;
    printed.fetch_add(1, Ordering::SeqCst);
}

/// The wrong way: start `n` goroutines, sleep for `guess`, and count how many had printed.
/// The answer depends on timing; nothing guarantees it is `n`.
pub async fn with_sleep(out: &Out, n: usize, guess: Duration) -> usize {
    let printed = Arc::new(AtomicUsize::new(0));
    for i in 0..n {
        go!(print_message(i, printed.clone()));
    }
    tokio::time::sleep(guess).await;
    let seen = printed.load(Ordering::SeqCst);
    outln!(
        out,
        "after time.Sleep({guess:?}): {seen} of {n} goroutines had printed"
    );
    seen
}

/// The right way: a `WaitGroup` counts the goroutines, and `wait` returns once every one of
/// them has called `done`. Always returns `n`.
pub async fn with_wait_group(out: &Out, n: usize) -> usize {
    let printed = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for i in 0..n {
        wg.add(1);
        let (wg, printed) = (wg.clone(), printed.clone());
        go!(async move {
            print_message(i, printed).await;
            wg.done();
        });
    }
    wg.wait().await;
    let seen = printed.load(Ordering::SeqCst);
    outln!(out, "after wg.wait(): {seen} of {n} goroutines had printed");
    seen
}

/// The same with Go 1.25's `wg.Go(f)`: `add`, spawn and `done` in one call (`done` runs even
/// if the goroutine panics). Always returns `n`.
pub async fn with_wait_group_go(out: &Out, n: usize) -> usize {
    let printed = Arc::new(AtomicUsize::new(0));
    let wg = WaitGroup::new();
    for i in 0..n {
        wg.go(print_message(i, printed.clone()));
    }
    wg.wait().await;
    let seen = printed.load(Ordering::SeqCst);
    outln!(
        out,
        "after wg.go(..) and wg.wait(): {seen} of {n} goroutines had printed"
    );
    seen
}

/// The three versions, ten goroutines each: `(after sleep, after wait, after wg.go + wait)`.
pub async fn run(out: &Out) -> (usize, usize, usize) {
    outln!(out, "ten goroutines, each working 0-19 ms before printing");
    let slept = with_sleep(out, 10, Duration::from_millis(10)).await;
    let waited = with_wait_group(out, 10).await;
    let went = with_wait_group_go(out, 10).await;
    (slept, waited, went)
}
