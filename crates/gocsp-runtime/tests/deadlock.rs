//! The deadlock detector, panic policy and SIGQUIT, tested on whole programs.
//!
//! This test has `harness = false`: run without `GOCSP_SCENARIO`, it re-executes itself once
//! per scenario (in parallel) with `GOCSP_SCENARIO=<name>` and checks each child's exit status
//! and stderr. In a child, `main` runs that one scenario as a gocsp program and exits. Separate
//! processes are needed because the detector (rightly) never fires while a process has threads
//! it does not know, such as libtest's, and because it exits the process.
//!
//! The "must not fire" programs sleep for 400 ms in a thread, a task, a timer or a peer process
//! before unblocking everyone: that wait *is* the program under test (the detector takes two
//! samples 100 ms apart, so it would have fired by then), not a way to order the test.

use std::future::Future;
use std::process::Command;
use std::time::Duration;

use gocsp_channel::__private::{select, Case, RecvCase};
use gocsp_channel::chan;
use gocsp_runtime::{go, go_blocking, time, Deadlock, Panic, Runtime};
use gocsp_test_support::scenarios::{self, Expect, Scenario};

const UNBLOCK_AFTER: Duration = Duration::from_millis(400);
fn scenarios() -> Vec<Scenario> {
    vec![
        // Real deadlocks.
        (
            "send_without_receiver",
            send_without_receiver,
            Expect::deadlock(&[
                "goroutine 1 [chan send]:\nmain\n\tcrates/gocsp-runtime/tests/deadlock.rs:",
            ]),
        ),
        (
            "two_goroutines_wait_for_each_other",
            two_goroutines_wait_for_each_other,
            Expect::deadlock(&["[chan receive]:\nping\n", "[chan receive]:\npong\n"]),
        ),
        (
            "select_with_only_nil_cases",
            select_with_only_nil_cases,
            Expect::deadlock(&["[select]:\nmain\n"]),
        ),
        (
            "main_joins_a_stuck_goroutine",
            main_joins_a_stuck_goroutine,
            Expect::deadlock(&["[goroutine join]:\nmain\n", "[chan receive]:\nstuck\n"]),
        ),
        (
            "deadlock_after_timer_and_thread_finished",
            deadlock_after_timer_and_thread_finished,
            Expect::deadlock(&["[chan receive]:\nmain\n"]),
        ),
        (
            "deadlock_after_blocking_work",
            deadlock_after_blocking_work,
            Expect::deadlock(&["[chan receive]:\nmain\n"]),
        ),
        (
            "deadlock_policy_panic",
            deadlock_policy_panic,
            Expect::status(0, &["caught: all goroutines are asleep - deadlock!"]),
        ),
        (
            "foreign_runtime_deadlock",
            foreign_runtime_deadlock,
            Expect::deadlock(&["[chan receive]:\nmain\n"]),
        ),
        (
            "deadlock_policy_log",
            deadlock_policy_log,
            Expect::status(
                3,
                &[
                    "logged: all goroutines are asleep - deadlock!",
                    "[chan send]:\nmain\n",
                ],
            ),
        ),
        // Programs that look idle but are not.
        ("timer_in_flight", timer_in_flight, Expect::Ok),
        ("gocsp_sleep", gocsp_sleep, Expect::Ok),
        (
            "stopped_and_reset_timer",
            stopped_and_reset_timer,
            Expect::Ok,
        ),
        ("ticker", ticker, Expect::Ok),
        ("os_thread_sender", os_thread_sender, Expect::Ok),
        ("raw_tokio_task", raw_tokio_task, Expect::Ok),
        ("spawn_blocking_job", spawn_blocking_job, Expect::Ok),
        ("go_blocking_job", go_blocking_job, Expect::Ok),
        (
            "goroutine_busy_in_its_first_poll",
            goroutine_busy_in_its_first_poll,
            Expect::Ok,
        ),
        (
            "tokio_select_with_plain_sleep",
            tokio_select_with_plain_sleep,
            Expect::Ok,
        ),
        ("tcp_accept_loop", tcp_accept_loop, Expect::Ok),
        ("foreign_runtime_timer", foreign_runtime_timer, Expect::Ok),
        ("gomaxprocs", gomaxprocs, Expect::Ok),
        // GOCSP_TRACE.
        (
            "gocsp_trace_profile",
            gocsp_trace_profile,
            Expect::status(
                0,
                &[
                    "gocsp profile",
                    "waiter ",
                    "top blocking sites:",
                    "chan receive at ",
                ],
            ),
        ),
        (
            "gocsp_trace_fmt",
            gocsp_trace_fmt,
            Expect::status(
                0,
                &[
                    "goroutine{id=",
                    "name=\"traced\"",
                    "close time.busy=",
                    "hello from a goroutine",
                ],
            ),
        ),
        // Panic policy and SIGQUIT.
        (
            "panic_abort",
            panic_abort,
            Expect::status(
                2,
                &[
                    "panic: boom\n\ngoroutine ",
                    " [running]:\ncrasher\n",
                    "created by go!",
                ],
            ),
        ),
        (
            "panic_log_returns_err",
            panic_log_returns_err,
            Expect::status(
                0,
                &[
                    "goroutine 2 panicked: boom",
                    "handle: panic: boom (goroutine 2 \"crasher\"",
                ],
            ),
        ),
        (
            "sigquit_dumps_and_exits",
            sigquit_dumps_and_exits,
            Expect::status(2, &["SIGQUIT: quit\n\n", "[chan receive]:\nsleeper\n"]),
        ),
    ]
}

/// Runs `fut` as the program's main under the given policies (deadlock detector on).
fn program<F: Future<Output = ()>>(fut: F) {
    Runtime::builder().worker_threads(2).run(fut);
}

// ---- real deadlocks ----

fn send_without_receiver() {
    program(async {
        let (tx, _rx) = chan::<i32>(0);
        let _ = tx.send(1).await;
    });
}

fn two_goroutines_wait_for_each_other() {
    program(async {
        let (a_tx, a_rx) = chan::<()>(0);
        let (b_tx, b_rx) = chan::<()>(0);
        let (done_tx, done_rx) = chan::<()>(0);
        let d1 = done_tx.clone();
        gocsp_runtime::go!(name = "ping", async move {
            let _ = a_rx.recv().await;
            let _ = b_tx.send(()).await;
            let _ = d1.send(()).await;
        });
        gocsp_runtime::go!(name = "pong", async move {
            let _ = b_rx.recv().await;
            let _ = a_tx.send(()).await;
            let _ = done_tx.send(()).await;
        });
        let _ = done_rx.recv().await;
    });
}

fn select_with_only_nil_cases() {
    program(async {
        let mut a = RecvCase::<i32>::new(None);
        let mut b = RecvCase::<String>::new(None);
        let mut cases: [&mut (dyn Case + Send); 2] = [&mut a, &mut b];
        select(&mut cases, false, false).await;
    });
}

fn main_joins_a_stuck_goroutine() {
    program(async {
        let (_tx, rx) = chan::<i32>(0);
        let h = gocsp_runtime::go!(name = "stuck", async move { rx.recv().await });
        let _ = h.await;
    });
}

fn deadlock_after_timer_and_thread_finished() {
    program(async {
        let (tx, rx) = chan::<u32>(0);
        let t = std::thread::spawn(move || tx.send_blocking(1));
        assert_eq!(rx.recv().await, Some(1));
        time::after(Duration::from_millis(50)).recv().await.unwrap();
        t.join().unwrap().unwrap();
        let (_tx2, rx2) = chan::<u32>(0);
        rx2.recv().await;
    });
}

/// The blocking-pool thread that ran the job lingers for `thread_keep_alive`, then exits:
/// only then can the detector tell that nothing is left.
fn deadlock_after_blocking_work() {
    Runtime::builder()
        .worker_threads(2)
        .thread_keep_alive(Duration::from_millis(100))
        .run(async {
            let (tx, rx) = chan::<u32>(0);
            go_blocking(move || tx.send_blocking(1).unwrap());
            assert_eq!(rx.recv().await, Some(1));
            let (_tx2, rx2) = chan::<u32>(0);
            rx2.recv().await;
        });
}

fn deadlock_policy_panic() {
    let rt = Runtime::builder()
        .worker_threads(2)
        .deadlock(Deadlock::Panic)
        .build()
        .unwrap();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let (_tx, rx) = chan::<i32>(0);
            rx.recv().await
        })
    }));
    let msg = res.unwrap_err();
    let msg = msg
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_else(|| "not a String".into());
    eprintln!("caught: {msg}");
}

/// A service's own tokio runtime, with the detector enabled explicitly.
fn foreign_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn foreign_runtime_deadlock() {
    foreign_runtime().block_on(gocsp_runtime::detect_deadlocks(Deadlock::Exit, async {
        let (_tx, rx) = chan::<u32>(0);
        go(async move { rx.recv().await });
        let (_tx2, rx2) = chan::<u32>(0);
        rx2.recv().await;
    }));
}

/// Exits with status 3 when the detector logs, printing what it logged.
struct ExitOnDeadlockLog;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ExitOnDeadlockLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Msg(String);
        impl tracing::field::Visit for Msg {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                if f.name() == "message" {
                    self.0 = format!("{v:?}");
                }
            }
        }
        if event.metadata().target() == "gocsp::deadlock" {
            let mut m = Msg(String::new());
            event.record(&mut m);
            eprintln!("logged: {}", m.0);
            std::process::exit(3);
        }
    }
}

fn deadlock_policy_log() {
    use tracing_subscriber::prelude::*;
    tracing_subscriber::registry()
        .with(ExitOnDeadlockLog)
        .init();
    Runtime::builder()
        .worker_threads(2)
        .deadlock(Deadlock::Log)
        .run(async {
            let (tx, _rx) = chan::<i32>(0);
            let _ = tx.send(1).await;
        });
}

// ---- GOCSP_TRACE ----

fn gocsp_trace_profile() {
    // Safe: the process has a single thread at this point.
    std::env::set_var("GOCSP_TRACE", "profile");
    program(async {
        let (tx, rx) = chan::<u32>(0);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                gocsp_runtime::go!(name = "waiter", async move { rx.recv().await })
            })
            .collect();
        time::sleep(Duration::from_millis(50)).await;
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
        for h in handles {
            h.await.unwrap();
        }
    });
}

fn gocsp_trace_fmt() {
    std::env::set_var("GOCSP_TRACE", "fmt");
    program(async {
        gocsp_runtime::go!(name = "traced", async {
            tracing::info!("hello from a goroutine")
        })
        .await
        .unwrap();
    });
}

// ---- look idle, but are not ----

fn foreign_runtime_timer() {
    foreign_runtime().block_on(gocsp_runtime::detect_deadlocks(Deadlock::Exit, async {
        let (tx, rx) = chan::<u32>(0);
        go(async move {
            tokio::time::sleep(UNBLOCK_AFTER).await;
            tx.send(1).await.unwrap();
        });
        assert_eq!(rx.recv().await, Some(1));
    }));
}

/// The harness runs every scenario with `GOMAXPROCS=3`.
fn gomaxprocs() {
    assert_eq!(Runtime::new().unwrap().worker_threads(), 3);
    assert_eq!(
        Runtime::builder()
            .worker_threads(1)
            .build()
            .unwrap()
            .worker_threads(),
        1,
        "an explicit count wins over GOMAXPROCS"
    );
}

fn timer_in_flight() {
    program(async {
        time::after(UNBLOCK_AFTER).recv().await.unwrap();
    });
}

fn gocsp_sleep() {
    program(async {
        let (tx, rx) = chan::<()>(0);
        go(async move {
            time::sleep(UNBLOCK_AFTER).await;
            tx.send(()).await.unwrap();
        });
        rx.recv().await.unwrap();
    });
}

fn stopped_and_reset_timer() {
    program(async {
        let mut t = time::Timer::new(Duration::from_secs(3600));
        assert!(t.stop());
        t.reset(UNBLOCK_AFTER);
        t.c.recv().await.unwrap();
    });
}

fn ticker() {
    program(async {
        let t = time::Ticker::new(UNBLOCK_AFTER / 2);
        for _ in 0..2 {
            t.c.recv().await.unwrap();
        }
    });
}

fn os_thread_sender() {
    program(async {
        let (tx, rx) = chan::<u32>(0);
        std::thread::spawn(move || {
            std::thread::sleep(UNBLOCK_AFTER);
            tx.send_blocking(7).unwrap();
        });
        assert_eq!(rx.recv().await, Some(7));
    });
}

fn raw_tokio_task() {
    program(async {
        let (tx, rx) = chan::<u32>(0);
        tokio::spawn(async move {
            tokio::time::sleep(UNBLOCK_AFTER).await;
            tx.send(7).await.unwrap();
        });
        assert_eq!(rx.recv().await, Some(7));
    });
}

fn spawn_blocking_job() {
    program(async {
        let (tx, rx) = chan::<u32>(0);
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(UNBLOCK_AFTER);
            tx.send_blocking(7).unwrap();
        });
        assert_eq!(rx.recv().await, Some(7));
    });
}

fn go_blocking_job() {
    program(async {
        let (tx, rx) = chan::<u32>(0);
        go_blocking(move || {
            std::thread::sleep(UNBLOCK_AFTER);
            tx.send_blocking(7).unwrap();
        });
        assert_eq!(rx.recv().await, Some(7));
    });
}

/// A `go!` goroutine enters the registry at its first wait: while it computes in its first
/// poll, every registered goroutine (main) is blocked, and only "a tokio task the registry does
/// not count" holds the detector back.
fn goroutine_busy_in_its_first_poll() {
    program(async {
        let (tx, rx) = chan::<u32>(0);
        go!(async move {
            std::thread::sleep(UNBLOCK_AFTER);
            tx.send(7).await.unwrap();
        });
        assert_eq!(rx.recv().await, Some(7));
    });
}

fn tokio_select_with_plain_sleep() {
    program(async {
        let (_never_tx, never_rx) = chan::<u32>(0);
        let (done_tx, done_rx) = chan::<()>(0);
        go(async move {
            tokio::select! {
                _ = never_rx.recv() => unreachable!(),
                _ = tokio::time::sleep(UNBLOCK_AFTER) => {}
            }
            done_tx.send(()).await.unwrap();
        });
        done_rx.recv().await.unwrap();
    });
}

fn tcp_accept_loop() {
    program(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (done_tx, done_rx) = chan::<()>(0);
        let (_never_tx, never_rx) = chan::<()>(0);
        gocsp_runtime::go!(name = "acceptor", async move {
            // Blocked in a gocsp receive AND waiting for I/O: the socket's waker keeps it alive.
            tokio::select! {
                r = listener.accept() => { r.unwrap(); }
                _ = never_rx.recv() => unreachable!(),
            }
            done_tx.send(()).await.unwrap();
        });
        // A peer process (not a thread of ours) connects later.
        let script = format!(
            "sleep {}; exec 3<>/dev/tcp/127.0.0.1/{port}",
            UNBLOCK_AFTER.as_secs_f64()
        );
        let mut peer = Command::new("bash").arg("-c").arg(script).spawn().unwrap();
        done_rx.recv().await.unwrap();
        peer.wait().unwrap();
    });
}

// ---- panics and signals ----

fn panic_abort() {
    Runtime::builder()
        .worker_threads(2)
        .panic(Panic::Abort)
        .run(async {
            let h = gocsp_runtime::go!(name = "crasher", async { panic!("boom") });
            let _ = h.await;
            unreachable!("the process exits first");
        });
}

fn panic_log_returns_err() {
    use tracing_subscriber::prelude::*;
    tracing_subscriber::registry()
        .with(gocsp_runtime::trace::fmt_layer())
        .init();
    program(async {
        let err = gocsp_runtime::go!(name = "crasher", async { panic!("boom") })
            .await
            .unwrap_err();
        eprintln!("handle: {err}");
    });
}

fn sigquit_dumps_and_exits() {
    program(async {
        let (_tx, rx) = chan::<()>(0);
        gocsp_runtime::go!(name = "sleeper", async move { rx.recv().await });
        gocsp_runtime::yield_now().await;
        let status = Command::new("kill")
            .arg("-QUIT")
            .arg(std::process::id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        // A tokio timer: not asleep, so only the signal can end the program.
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
}

fn main() {
    scenarios::main(scenarios(), "3");
}
