//! `gocsp::synctest`: Go 1.25's `testing/synctest` examples restated, and the bubble's rules:
//!
//! - the clock starts at a fixed instant and moves only when every goroutine of the bubble is
//!   durably blocked, straight to the next timer (hours of timers take microseconds);
//! - `wait` returns once every other goroutine is durably blocked, without moving the clock;
//! - a goroutine waiting on real I/O keeps the clock still;
//! - every goroutine durably blocked with nothing pending fails the test with Go's message, as
//!   do goroutines still blocked after the body returned;
//! - bubbles running at the same time keep their own clocks;
//! - a bubble's channels used from outside it panic with a clear message.
//!
//! Parts adapted from Go's `testing/synctest` documentation and the Go blog post "Testing
//! concurrent code with testing/synctest": Copyright 2025 The Go Authors. All rights reserved.
//! Use of this source code is governed by a BSD-style license that can be found in Go's
//! LICENSE file.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Instant as RealInstant;

use gocsp::time::{self, after, now, sleep, tick, Duration, Ticker, Timer};
use gocsp::{chan, go, select, synctest, Context, ContextError};

/// The panic message of `f`, which must panic.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().unwrap_or(&"").to_string(),
    }
}

/// Go's `TestTime` example: sleeps take exactly their virtual time, and a goroutine sleeping
/// less runs first.
#[gocsp::test(synctest)]
async fn test_time() {
    let start = now();
    let (tx, rx) = chan(1);
    go!(async move {
        sleep(Duration::from_secs(1)).await;
        tx.send(now() - start).await.unwrap();
    });
    sleep(Duration::from_secs(2)).await;
    assert_eq!(
        rx.try_recv(),
        Ok(Duration::from_secs(1)),
        "the goroutine ran first"
    );
    assert_eq!(now() - start, Duration::from_secs(2));
}

/// The Go blog's `TestAfterFunc`: `wait` shows that the function has not run before the
/// cancel, and has run after it.
#[gocsp::test(synctest)]
async fn test_after_func() {
    let (ctx, cancel) = Context::background().with_cancel();
    let called = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&called);
    let _stop = ctx.after_func(async move { flag.store(true, SeqCst) });
    synctest::wait().await;
    assert!(!called.load(SeqCst), "before cancel: after_func called");
    cancel.cancel();
    synctest::wait().await;
    assert!(called.load(SeqCst), "after cancel: after_func not called");
}

/// The Go blog's `TestContextWithTimeout`: the deadline passes exactly at its virtual instant.
#[gocsp::test(synctest)]
async fn test_context_with_timeout() {
    const TIMEOUT: Duration = Duration::from_secs(5);
    let (ctx, _cancel) = Context::background().with_timeout(TIMEOUT);
    sleep(TIMEOUT - Duration::from_nanos(1)).await;
    synctest::wait().await;
    assert_eq!(ctx.err(), None, "before the timeout");
    sleep(Duration::from_nanos(1)).await;
    synctest::wait().await;
    assert_eq!(
        ctx.err(),
        Some(ContextError::DeadlineExceeded),
        "after the timeout"
    );
    assert_eq!(
        ctx.deadline(),
        Some(now()),
        "the deadline is on the bubble's clock"
    );
}

/// A goroutine waiting for `ctx.done()` is durably blocked: the deadline fires, a cancel
/// handle dropped early does not.
#[gocsp::test(synctest)]
async fn a_context_deadline_wakes_a_goroutine_waiting_on_done() {
    let start = now();
    let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(90));
    let waiter = go!(async move {
        ctx.done().recv().await;
        (now() - start, ctx.err())
    });
    let (waited, err) = waiter.await.unwrap();
    assert_eq!(waited, Duration::from_secs(90));
    assert_eq!(err, Some(ContextError::DeadlineExceeded));
    drop(cancel);
}

/// A day of timers in microseconds of real time.
#[gocsp::test(synctest)]
async fn long_timers_take_no_real_time() {
    let real = RealInstant::now();
    let start = now();
    let fired = after(Duration::from_secs(24 * 3600)).recv().await.unwrap();
    assert_eq!(fired - start, Duration::from_secs(24 * 3600));
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "{:?}",
        real.elapsed()
    );
}

/// `wait` before and after: nothing has happened until the goroutine could run, then it has.
#[gocsp::test(synctest)]
async fn wait_sees_what_goroutines_did() {
    let done = Arc::new(AtomicBool::new(false));
    let (tx, rx) = chan::<()>(0);
    let flag = Arc::clone(&done);
    go!(async move {
        rx.recv().await;
        flag.store(true, SeqCst);
    });
    synctest::wait().await;
    assert!(!done.load(SeqCst), "before the send: the goroutine waits");
    tx.send(()).await.unwrap();
    synctest::wait().await;
    assert!(done.load(SeqCst), "after the send and a wait: it has run");
}

/// `select!` between a channel and a timeout: the timeout fires exactly when due, and a
/// value sent just before it wins.
#[gocsp::test(synctest)]
async fn select_with_a_timeout_fires_exactly_when_due() {
    let (tx, rx) = chan::<u32>(0);
    let start = now();
    let got = select! {
        recv(rx) -> v => v,
        recv(after(Duration::from_millis(500))) -> _t => None,
    };
    assert_eq!(got, None);
    assert_eq!(now() - start, Duration::from_millis(500));

    go!(async move {
        sleep(Duration::from_millis(499)).await;
        tx.send(9).await.unwrap();
    });
    let got = select! {
        recv(rx) -> v => v,
        recv(after(Duration::from_millis(500))) -> _t => None,
    };
    assert_eq!(got, Some(9));
}

/// `Timer` and `Ticker` keep Go 1.23's stop/reset rules on the virtual clock.
#[gocsp::test(synctest)]
async fn timers_and_tickers_on_the_virtual_clock() {
    let start = now();
    let mut t = Timer::new(Duration::from_secs(10));
    assert!(t.stop(), "stopped before firing");
    sleep(Duration::from_secs(20)).await;
    assert!(t.c.try_recv().is_err(), "a stopped timer never fires");
    t.reset(Duration::from_secs(5));
    assert_eq!(t.c.recv().await, Some(start + Duration::from_secs(25)));

    let mut ticker = Ticker::new(Duration::from_secs(3));
    let mut ticks = vec![];
    for _ in 0..3 {
        ticks.push(ticker.c.recv().await.unwrap() - start);
    }
    assert_eq!(ticks, [25 + 3, 25 + 6, 25 + 9].map(Duration::from_secs));
    ticker.stop();
    sleep(Duration::from_secs(100)).await;
    assert!(ticker.c.try_recv().is_err(), "a stopped ticker never ticks");

    let every = tick(Duration::from_secs(1));
    let t0 = now();
    assert_eq!(every.recv().await, Some(t0 + Duration::from_secs(1)));
    assert_eq!(every.recv().await, Some(t0 + Duration::from_secs(2)));
}

/// A goroutine waiting on a real socket is not durably blocked: the clock stands still until
/// its read completes, however long that takes in real time.
#[gocsp::test(synctest)]
async fn a_goroutine_on_a_tcp_socket_keeps_the_clock_still() {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        use std::io::Write;
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"x").unwrap();
    });
    let start = now();
    let (tx, rx) = chan(1);
    go!(name = "reader", async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut byte = [0u8; 1];
        sock.read_exact(&mut byte).await.unwrap();
        tx.send(now() - start).await.unwrap();
    });
    let real = RealInstant::now();
    sleep(Duration::from_secs(10)).await;
    assert!(
        real.elapsed() >= std::time::Duration::from_millis(250),
        "the clock waited for the socket"
    );
    assert_eq!(
        rx.recv().await,
        Some(Duration::ZERO),
        "no virtual time passed while reading"
    );
    assert_eq!(now() - start, Duration::from_secs(10));
    client.join().unwrap();
}

#[test]
fn every_goroutine_durably_blocked_is_a_deadlock() {
    let started = RealInstant::now();
    let message = panic_message(|| {
        synctest::test(async {
            let (_tx, rx) = chan::<u32>(0);
            go!(name = "stuck", async move { rx.recv().await });
            let (_never, main_rx) = chan::<()>(0);
            main_rx.recv().await;
        })
    });
    assert!(
        message.starts_with("deadlock: all goroutines in bubble are blocked"),
        "{message}"
    );
    assert!(message.contains("stuck"), "{message}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn goroutines_blocked_after_the_body_returned_fail_the_test() {
    let message = panic_message(|| {
        synctest::test(async {
            let (tx, rx) = chan::<u32>(0);
            go!(name = "left-behind", async move { rx.recv().await });
            // The sender lives on in a goroutine that waits forever too.
            go!(async move {
                let (_never, r) = chan::<()>(0);
                r.recv().await;
                drop(tx);
            });
        })
    });
    assert!(
        message.starts_with("deadlock: all goroutines in bubble are blocked"),
        "{message}"
    );
    assert!(message.contains("left-behind"), "{message}");
}

/// After the body returns, the bubble runs on until its goroutines finish, clock included.
#[gocsp::test(synctest)]
async fn the_bubble_runs_on_until_its_goroutines_finish() {
    go!(async {
        sleep(Duration::from_secs(3600)).await;
    });
}

/// Two bubbles at once: each moves its own clock only.
#[test]
fn bubbles_have_their_own_clocks() {
    let run = |secs: u64| {
        std::thread::spawn(move || {
            synctest::test(async move {
                let start = now();
                for _ in 0..100 {
                    sleep(Duration::from_secs(secs)).await;
                }
                now() - start
            })
        })
    };
    let (a, b) = (run(1), run(7));
    assert_eq!(a.join().unwrap(), Duration::from_secs(100));
    assert_eq!(b.join().unwrap(), Duration::from_secs(700));
}

/// A channel created in a bubble belongs to it: a thread outside that uses it panics with a
/// message that says so (Go panics too); inside, it works, and dropping it anywhere is fine.
#[gocsp::test(synctest)]
async fn a_bubbles_channel_used_from_outside_panics() {
    let (tx, rx) = chan::<u32>(1);
    let outside = std::thread::spawn(move || {
        let message = panic_message(|| {
            let _ = tx.try_send(1);
        });
        drop(tx);
        message
    });
    let message = outside.join().unwrap();
    assert!(
        message.contains("created in synctest bubble") && message.contains("outside any bubble"),
        "{message}"
    );
    assert_eq!(
        rx.recv().await,
        None,
        "the sender is gone (dropped outside: allowed)"
    );

    // Waiting on a bubble's channel from outside, in a select, panics too.
    let (_keep, brx) = chan::<u32>(0);
    let outside = std::thread::spawn(move || {
        panic_message(|| {
            gocsp::select_blocking! {
                recv(brx) -> _v => {},
            }
        })
    });
    let message = outside.join().unwrap();
    assert!(message.contains("created in synctest bubble"), "{message}");

    // A channel of no bubble (created outside) works inside.
    let (otx, orx) = chan_outside();
    otx.send(5).await.unwrap();
    assert_eq!(orx.recv().await, Some(5));
}

/// Waiting on a channel created outside the bubble is not durable: something outside may send
/// on it, so the clock stands still until it does (and the dump says so).
#[gocsp::test(synctest)]
async fn waiting_on_a_channel_of_no_bubble_keeps_the_clock_still() {
    let (tx, rx) = chan_outside();
    let start = now();
    let real = RealInstant::now();
    let outside = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        tx.send_blocking(1).unwrap();
    });
    let waiter = go!(name = "waits-outside", async move {
        rx.recv().await;
        now() - start
    });
    sleep(Duration::from_secs(10)).await;
    assert!(real.elapsed() >= std::time::Duration::from_millis(150));
    assert_eq!(
        waiter.await.unwrap(),
        Duration::ZERO,
        "no virtual time passed"
    );
    outside.join().unwrap();

    let (_tx, rx) = chan_outside();
    let h = go!(name = "shown", async move { rx.recv().await });
    let text = loop {
        let text = gocsp::dump().to_string();
        if text.contains("[chan receive (not durable)]") {
            break text;
        }
        gocsp::yield_now().await;
    };
    assert!(text.contains("shown"), "{text}");
    h.abort();
}

/// A channel created outside any bubble.
fn chan_outside() -> (gocsp::Sender<u32>, gocsp::Receiver<u32>) {
    std::thread::spawn(|| chan::<u32>(1)).join().unwrap()
}

#[test]
fn wait_outside_a_bubble_says_so() {
    let message = panic_message(|| {
        gocsp::testing::Builder::new().run(async {
            drop(synctest::wait());
        })
    });
    assert!(message.contains("outside a synctest bubble"), "{message}");
}

/// Outside bubbles `time::now` is tokio's clock.
#[gocsp::test]
async fn outside_a_bubble_time_is_real() {
    let before = tokio::time::Instant::now();
    let t = time::now();
    assert!(t >= before && t - before < Duration::from_secs(5));
}
