//! `#[gocsp::test]` and `gocsp::testing::Builder`, as a user's test suite meets them:
//!
//! - the body runs as the main goroutine of a runtime of its own, `()` or `Result` bodies;
//! - a test whose goroutines deadlock fails promptly with Go's message and the dump of its own
//!   goroutines (not those of tests running beside it);
//! - the detector holds back while something it cannot see may still make progress: a plain
//!   tokio task, an OS thread the test started;
//! - goroutines still alive after the body returned fail the test, listed, unless it opts out;
//!   a goroutine that finishes within the grace period is not a leak.
//!
//! Every test in this binary runs on gocsp's test runtime: a plain `#[test]` thread is one the
//! detectors cannot see through, so it would hold them back (and slow this binary down).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use gocsp::testing::Builder;
use gocsp::{chan, go};

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().unwrap_or(&"").to_string(),
    }
}

#[gocsp::test]
async fn the_body_is_the_main_goroutine() {
    let id = gocsp::current_id().expect("the body runs as a goroutine");
    let h = go!(async { gocsp::current_id() });
    let child = h.await.unwrap().unwrap();
    assert!(child > id);
    let d = gocsp::dump();
    assert_eq!(d.get(id).and_then(|g| g.name.as_deref()), Some("main"));
}

#[gocsp::test(worker_threads = 1)]
async fn a_body_may_return_a_result() -> Result<(), String> {
    let (tx, rx) = chan::<u32>(1);
    tx.send(7).await.map_err(|e| e.to_string())?;
    assert_eq!(rx.recv().await, Some(7));
    Ok(())
}

#[gocsp::test]
#[should_panic(expected = "all goroutines are asleep - deadlock!")]
async fn a_deadlock_fails_the_test() {
    let (ping_tx, ping_rx) = chan::<()>(0);
    let (_pong_tx, pong_rx) = chan::<()>(0);
    go!(name = "ponger", async move {
        ping_rx.recv().await;
    });
    // Nobody sends on `pong`, and the ponger waits for a ping that never comes.
    pong_rx.recv().await;
    drop(ping_tx);
}

/// The failure names this test's goroutines, where they wait, and none of another test's.
#[gocsp::test]
async fn the_deadlock_report_lists_only_the_tests_goroutines() {
    // A goroutine of this (outer) test, alive while the inner test deadlocks.
    let (outer_tx, outer_rx) = chan::<()>(0);
    let outer = go!(name = "outer-waiter", async move { outer_rx.recv().await });
    let started = Instant::now();
    let inner = gocsp::go_blocking(|| {
        panic_message(|| {
            Builder::new().run(async {
                let (_tx, rx) = chan::<u32>(0);
                go!(name = "inner-stuck", async move { rx.recv().await });
                let (_never, main_rx) = chan::<()>(0);
                main_rx.recv().await;
            })
        })
    });
    let message = inner.await.unwrap();
    assert!(
        message.starts_with("all goroutines are asleep - deadlock!"),
        "{message}"
    );
    assert!(message.contains("inner-stuck"), "{message}");
    assert!(message.contains("[chan receive]"), "{message}");
    assert!(!message.contains("outer-waiter"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10), "prompt");
    outer_tx.send(()).await.unwrap();
    outer.await.unwrap();
}

/// A plain tokio task may still send: no report while it exists.
#[gocsp::test]
async fn a_tokio_task_holds_the_detector_back() {
    let (tx, rx) = chan::<u32>(0);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        tx.send(1).await.unwrap();
    });
    assert_eq!(rx.recv().await, Some(1));
}

/// An OS thread the test started may still send: no report while it exists.
#[gocsp::test]
async fn an_os_thread_holds_the_detector_back() {
    let (tx, rx) = chan::<u32>(0);
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        tx.send_blocking(2).unwrap();
    });
    assert_eq!(rx.recv().await, Some(2));
    thread.join().unwrap();
}

#[test]
fn a_leaked_goroutine_fails_the_test_with_its_name() {
    let message = panic_message(|| {
        Builder::new().run(async {
            go!(name = "leaker", std::future::pending::<()>());
        })
    });
    assert!(message.contains("leaked"), "{message}");
    assert!(message.contains("leaker"), "{message}");
    assert!(message.contains("allow_leaks"), "{message}");
}

#[gocsp::test(allow_leaks)]
async fn allow_leaks_lets_goroutines_outlive_the_body() {
    go!(name = "allowed-leak", std::future::pending::<()>());
}

/// A goroutine that finishes soon after the body returned is not a leak.
#[gocsp::test]
async fn a_goroutine_finishing_within_the_grace_period_is_no_leak() {
    go!(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
    });
}
