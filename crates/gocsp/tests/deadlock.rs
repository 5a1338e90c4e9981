//! Whole gocsp programs, written with the facade, run as child processes: real deadlocks must
//! end with Go's `fatal error: all goroutines are asleep - deadlock!`, the goroutine dump and
//! exit status 2; programs that only look idle must run to completion and exit 0.
//!
//! # Why this file has its own `main` (`harness = false`)
//!
//! The detector stays quiet while the process has a thread it does not know (such a thread
//! could hold a channel), and libtest always runs a test on a thread of its own next to its
//! main thread, even with `--test-threads=1`. A child started from a normal `#[test]` is a
//! libtest process too, so the detector could never fire in it. This file therefore needs, in
//! `crates/gocsp/Cargo.toml`:
//!
//! ```toml
//! [[test]]
//! name = "deadlock"
//! harness = false
//! ```
//!
//! Run without `GOCSP_SCENARIO`, `main` re-executes this binary once per scenario (in
//! parallel) with `GOCSP_SCENARIO=<name>` and `GOMAXPROCS=2`, and checks each child's exit
//! status and stderr; arguments that do not start with `-` filter scenarios by name. In a
//! child, `main` runs that one scenario as a gocsp program.
//!
//! The "must not fire" programs wait up to 300 ms on a timer, a deadline or a sleeping OS
//! thread: that wait *is* the program under test (the detector takes two samples 100 ms
//! apart, so it has had its chance to misfire), not a way to order the test.

// Cargo sets `cfg(test)` for test targets with or without a harness. Built by libtest (no
// `harness = false` entry), only the guard at the bottom runs and the rest is dead code.
#![cfg_attr(test, allow(dead_code, unused_imports))]

use std::time::Duration;

use gocsp::time::{after, Timer};
use gocsp::{chan, go, select, Context, ContextError, ErrGroup, Receiver, Sender, WaitGroup};
use gocsp_test_support::scenarios::{self, Expect, Scenario};

/// The longest wait of a "must not fire" program.
const IDLE: Duration = Duration::from_millis(300);

/// The dump line of a goroutine blocked at a line of this file.
fn blocked(name: &str, state: &str) -> String {
    format!("[{state}]:\n{name}\n\t{}:", file!())
}

fn scenarios() -> Vec<Scenario> {
    vec![
        // ---- real deadlocks: must be reported ----
        (
            "wait_group_never_done",
            wait_group_never_done,
            Expect::Deadlock(vec![format!(
                "goroutine 1 {}",
                blocked("main", "sync.WaitGroup.Wait")
            )]),
        ),
        (
            "empty_select_in_main",
            empty_select_in_main,
            Expect::Deadlock(vec![format!("goroutine 1 {}", blocked("main", "select"))]),
        ),
        (
            "select_with_only_nil_cases",
            select_with_only_nil_cases,
            Expect::Deadlock(vec![format!("goroutine 1 {}", blocked("main", "select"))]),
        ),
        (
            "two_goroutines_select_on_each_other",
            two_goroutines_select_on_each_other,
            Expect::Deadlock(vec![
                blocked("ping", "select"),
                blocked("pong", "select"),
                format!("goroutine 1 {}", blocked("main", "chan receive")),
            ]),
        ),
        (
            "context_never_cancelled",
            context_never_cancelled,
            Expect::Deadlock(vec![blocked("waiter", "chan receive")]),
        ),
        (
            "err_group_member_stuck",
            err_group_member_stuck,
            Expect::Deadlock(vec![
                blocked("main", "sync.WaitGroup.Wait"),
                "[chan receive]:\n".to_string(),
            ]),
        ),
        // ---- look idle, but are not: must never be reported ----
        (
            "context_timeout_in_select",
            context_timeout_in_select,
            Expect::Ok,
        ),
        (
            "err_group_members_wait_on_after",
            err_group_members_wait_on_after,
            Expect::Ok,
        ),
        (
            "goroutine_recv_from_sleeping_os_thread",
            goroutine_recv_from_sleeping_os_thread,
            Expect::Ok,
        ),
        (
            "wait_group_done_by_sleeping_os_thread",
            wait_group_done_by_sleeping_os_thread,
            Expect::Ok,
        ),
        (
            "select_on_timer_and_dead_channels",
            select_on_timer_and_dead_channels,
            Expect::Ok,
        ),
    ]
}

// ---- real deadlocks ----

/// `wg.Add(1); wg.Wait()` with nobody to call `Done`.
fn wait_group_never_done() {
    gocsp::run(async {
        let wg = WaitGroup::new();
        wg.add(1);
        wg.go(async {}); // counted and finished: the counter is back at 1
        wg.wait().await;
    });
}

/// Go's `select {}` in `main`.
fn empty_select_in_main() {
    gocsp::run(async {
        select! {}
    });
}

/// A select whose every case is a nil channel or disabled by its guard.
fn select_with_only_nil_cases() {
    gocsp::run(async {
        let (tx, rx) = chan::<u32>(1);
        tx.try_send(1).unwrap(); // ready, but its case is disabled
        select! {
            recv(None::<&Receiver<u32>>) -> v => println!("{v:?}"),
            send(None::<&Sender<u32>>, 1) -> r => println!("{r:?}"),
            recv(rx) -> v if false => println!("{v:?}"),
        }
    });
}

/// `ping` holds `a`'s sender and selects on `b`; `pong` holds `b`'s sender and selects on `a`.
/// A `quit` channel held by main gives each select a second case; main waits for them.
fn two_goroutines_select_on_each_other() {
    gocsp::run(async {
        let (a_tx, a_rx) = chan::<u32>(0);
        let (b_tx, b_rx) = chan::<u32>(0);
        let (_quit_tx, quit_rx) = chan::<()>(0);
        let (done_tx, done_rx) = chan::<()>(0);
        for (name, tx, rx) in [("ping", a_tx, b_rx), ("pong", b_tx, a_rx)] {
            let (quit, done) = (quit_rx.clone(), done_tx.clone());
            go!(name = name, async move {
                select! {
                    recv(rx) -> v => println!("{name} got {v:?}"),
                    recv(quit) => return,
                }
                tx.send(1).await.unwrap();
                done.send(()).await.unwrap();
            });
        }
        done_rx.recv().await;
    });
}

/// A goroutine waits on `<-ctx.Done()` of a context nobody cancels; main joins it.
fn context_never_cancelled() {
    gocsp::run(async {
        let (ctx, _cancel) = Context::background().with_cancel();
        let h = go!(name = "waiter", async move { ctx.done().recv().await });
        let _ = h.await;
    });
}

/// An errgroup member blocked on a channel nobody sends on; main is in `g.wait()`.
fn err_group_member_stuck() {
    gocsp::run(async {
        let (_tx, rx) = chan::<u32>(0);
        let g = ErrGroup::<Box<dyn std::error::Error + Send + Sync>>::new();
        g.go(async move {
            rx.recv().await;
            Ok(())
        });
        let _ = g.wait().await;
    });
}

// ---- look idle, but are not ----

/// `select { case <-ctx.Done(): case v := <-never: }` with a 300 ms timeout, in main and in a
/// goroutine.
fn context_timeout_in_select() {
    gocsp::run(async {
        let (ctx, _cancel) = Context::background().with_timeout(IDLE);
        let (_never_tx, never) = chan::<u32>(0);
        let h = {
            let (ctx, never) = (ctx.clone(), never.clone());
            go!(name = "worker", async move {
                select! {
                    recv(ctx.done()) => ctx.err(),
                    recv(never) -> v => panic!("never sends, got {v:?}"),
                }
            })
        };
        select! {
            recv(ctx.done()) => {}
            recv(never) -> v => panic!("never sends, got {v:?}"),
        }
        assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(h.await.unwrap(), Some(ContextError::DeadlineExceeded));
    });
}

/// Every errgroup member waits on `time.After`; main waits for the group.
fn err_group_members_wait_on_after() {
    gocsp::run(async {
        let (g, ctx) = ErrGroup::<Box<dyn std::error::Error + Send + Sync>>::with_context(
            &Context::background(),
        );
        for i in 1..=3u32 {
            g.go(async move {
                after(IDLE / 3 * i).recv().await.unwrap();
                Ok(())
            });
        }
        g.wait().await.unwrap();
        assert_eq!(
            ctx.err(),
            Some(ContextError::Cancelled),
            "cancelled once wait returns"
        );
    });
}

/// A goroutine blocked in `recv`; the only sender is an OS thread that sleeps, then sends.
fn goroutine_recv_from_sleeping_os_thread() {
    gocsp::run(async {
        let (tx, rx) = chan::<u32>(0);
        let h = go!(name = "receiver", async move { rx.recv().await });
        let t = std::thread::spawn(move || {
            std::thread::sleep(IDLE);
            tx.send_blocking(7).unwrap();
        });
        assert_eq!(h.await.unwrap(), Some(7));
        t.join().unwrap();
    });
}

/// Main waits on a WaitGroup that an OS thread completes after a sleep.
fn wait_group_done_by_sleeping_os_thread() {
    gocsp::run(async {
        let wg = WaitGroup::new();
        wg.add(1);
        let t = {
            let wg = wg.clone();
            std::thread::spawn(move || {
                std::thread::sleep(IDLE);
                wg.done();
            })
        };
        wg.wait().await;
        t.join().unwrap();
    });
}

/// Two goroutines in selects over channels nobody else holds, plus a `Timer`'s channel: the
/// timer ends both (one through a channel from the other).
fn select_on_timer_and_dead_channels() {
    gocsp::run(async {
        let (_a_tx, a_rx) = chan::<u32>(0);
        let (relay_tx, relay_rx) = chan::<&'static str>(0);
        let first = go!(name = "first", async move {
            let t = Timer::new(IDLE);
            select! {
                recv(a_rx) -> v => panic!("unexpected {v:?}"),
                recv(t.c) => relay_tx.send("timer").await.unwrap(),
            }
        });
        let (_b_tx, b_rx) = chan::<u32>(0);
        let second = go!(name = "second", async move {
            select! {
                recv(b_rx) -> v => panic!("unexpected {v:?}"),
                recv(relay_rx) -> v => v,
            }
        });
        first.await.unwrap();
        assert_eq!(second.await.unwrap(), Some("timer"));
    });
}

fn main() {
    scenarios::main(scenarios(), "2");
}

/// Exists only when libtest builds this file (`#[test]` items are compiled only then), where
/// the detector cannot be tested (see the module docs): fail loudly rather than pass without
/// testing anything.
#[test]
fn needs_harness_false() {
    panic!(
        "crates/gocsp/tests/deadlock.rs must be built with `harness = false`: add \
         `[[test]] name = \"deadlock\" harness = false` to crates/gocsp/Cargo.toml \
         (the deadlock detector never fires inside a libtest process)"
    );
}
