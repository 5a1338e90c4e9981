//! How to test code built on gocsp: a file to copy into a crate's `tests/`.
//!
//! `#[gocsp::test]` runs each `async fn` on a runtime of its own with two workers (so
//! scheduling races show up), fails a test whose goroutines deadlock instead of letting it hang,
//! and fails a test that leaves goroutines running.

use std::time::Duration;

use gocsp::time::after;
use gocsp::{chan, go, select, Context, ContextError, Receiver, WaitGroup};

/// The code under test: a stage that doubles what it receives until its input closes.
fn doubler(input: Receiver<u64>) -> Receiver<u64> {
    let (tx, rx) = chan(0);
    go!(name = "doubler", async move {
        while let Some(v) = input.recv().await {
            if tx.send(v * 2).await.is_err() {
                return;
            }
        }
    });
    rx
}

#[gocsp::test]
async fn a_stage_transforms_and_closes() {
    let (tx, rx) = chan(0);
    let out = doubler(rx);
    go!(async move {
        for i in 1..=3 {
            tx.send(i).await.unwrap();
        }
    });
    let mut got = vec![];
    while let Some(v) = out.recv().await {
        got.push(v);
    }
    assert_eq!(got, [2, 4, 6]);
}

/// `?` works: the body returns `Result<(), E: Debug>`.
#[gocsp::test]
async fn fallible_bodies_use_question_marks() -> Result<(), gocsp::SendError<u64>> {
    let (tx, rx) = chan(1);
    tx.send(21).await?;
    assert_eq!(doubler(rx).recv().await, Some(42));
    Ok(())
}

/// Waiting with a deadline: `select!` against `time::after`, or a `Context`.
#[gocsp::test]
async fn a_slow_answer_times_out() {
    let (_tx, rx) = chan::<u64>(0);
    let timed_out = select! {
        recv(rx) -> _v => false,
        recv(after(Duration::from_millis(20))) -> _t => true,
    };
    assert!(timed_out);

    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(20));
    ctx.cancelled().await;
    assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
}

/// Fan-out with a `WaitGroup`, on one worker.
#[gocsp::test(worker_threads = 1)]
async fn fan_out_and_wait() {
    let wg = WaitGroup::new();
    let (tx, rx) = chan::<u64>(8);
    for i in 0..8 {
        let tx = tx.clone();
        wg.go(async move { tx.send(i).await.unwrap() });
    }
    wg.wait().await;
    drop(tx);
    let mut sum = 0;
    while let Some(v) = rx.recv().await {
        sum += v;
    }
    assert_eq!(sum, 28);
}

/// A deadlock fails the test with Go's message (here on purpose: the stage waits for input
/// that never comes while the test waits for its output).
#[gocsp::test]
#[should_panic(expected = "all goroutines are asleep - deadlock!")]
async fn a_forgotten_send_is_reported_not_hung() {
    let (_tx, rx) = chan::<u64>(0);
    doubler(rx).recv().await;
}
