//! Faults and bad input: goroutines that panic or are cancelled mid-operation, a
//! runtime shut down under load, and API misuse. Each test checks that nothing is lost or
//! dropped twice (a drop log records every value's id), that the error says what happened, and
//! that nothing hangs (every program runs under a generous hang guard, which only turns a hang
//! into a failure; no test waits on it for ordering).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use gocsp::{
    chan, go, select, Deadlock, GoError, Op, Receiver, Runtime, Sender, State, TryRecvError,
    TrySendError, WaitGroup,
};

/// Long enough never to be reached by a correct program on a loaded 2-core machine.
const HANG: Duration = Duration::from_secs(20);

/// Records the id of every [`Tok`] dropped, so tests can check "exactly once".
#[derive(Clone, Default)]
struct Drops(Arc<Mutex<Vec<u32>>>);

impl Drops {
    fn tok(&self, id: u32) -> Tok {
        Tok {
            id,
            drops: self.clone(),
        }
    }

    /// The ids dropped so far, sorted.
    fn log(&self) -> Vec<u32> {
        let mut v = self.0.lock().unwrap().clone();
        v.sort_unstable();
        v
    }
}

/// A value whose drop is recorded.
struct Tok {
    id: u32,
    drops: Drops,
}

impl Drop for Tok {
    fn drop(&mut self) {
        self.drops.0.lock().unwrap().push(self.id);
    }
}

impl std::fmt::Debug for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tok({})", self.id)
    }
}

fn runtime() -> Runtime {
    // The detector cannot fire inside libtest (its threads keep it quiet); turn it off anyway
    // so a process-wide exit can never be the outcome of a test here.
    Runtime::builder()
        .worker_threads(2)
        .deadlock(Deadlock::Off)
        .build()
        .unwrap()
}

/// Runs `fut` as the main goroutine of a fresh runtime; a hang fails the test.
fn run<F: Future>(fut: F) -> F::Output {
    runtime().block_on(async {
        tokio::time::timeout(HANG, fut)
            .await
            .expect("the program hung")
    })
}

/// After a fault on an unbuffered channel: nothing was left in it, and a new sender's value
/// `v` reaches the receiver.
async fn still_usable(tx: &Sender<Tok>, rx: &Receiver<Tok>, v: Tok) {
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    let id = v.id;
    let other = {
        let tx = tx.clone();
        go!(async move { tx.send(v).await.is_ok() })
    };
    assert_eq!(rx.recv().await.map(|t| t.id), Some(id));
    assert!(other.await.unwrap());
}

/// Waits (without sleeping) until goroutine `id` is parked in a gocsp operation (`op`, or any
/// if `None`).
async fn until_blocked(id: u64, op: Option<Op>) {
    loop {
        if let Some(g) = gocsp::dump().get(id) {
            if let State::Blocked { op: o, .. } = g.state {
                if op.is_none_or(|op| op == o) {
                    return;
                }
            }
        }
        gocsp::yield_now().await;
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<not a string>".into()
    }
}

/// Runs `f`, which must panic, and returns its message.
fn panics<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(p) => panic_message(&*p),
    }
}

fn expect_panicked(res: Result<impl std::fmt::Debug, GoError>, needle: &str) -> GoError {
    let err = res.expect_err("the goroutine should have panicked");
    assert!(err.is_panic(), "{err}");
    assert!(
        err.to_string().contains(needle),
        "GoError lacks {needle:?}: {err}"
    );
    err
}

// ---- a goroutine dies in the middle of a channel operation ----

/// Starts a goroutine "holder" that reserves a permit on `tx`, then panics with `message`
/// while holding it once the returned release channel gets a value. Returns when the permit
/// is held.
async fn permit_holder(
    tx: &Sender<Tok>,
    message: &'static str,
) -> (gocsp::GoHandle<()>, Sender<()>) {
    let (held_tx, held_rx) = chan::<()>(0);
    let (go_tx, go_rx) = chan::<()>(0);
    let tx = tx.clone();
    let holder = go!(name = "holder", async move {
        let permit = tx.reserve().await.unwrap();
        held_tx.send(()).await.unwrap();
        go_rx.recv().await;
        let _permit = permit;
        panic!("{message}");
    });
    held_rx.recv().await.unwrap();
    (holder, go_tx)
}

/// chan(1): a goroutine holding the only slot through a `Permit` panics. The slot comes back:
/// a sender parked on the full channel proceeds, and the channel stays usable.
#[test]
fn panic_while_holding_a_permit_gives_the_slot_back() {
    let drops = Drops::default();
    let d = drops.clone();
    run(async move {
        let (tx, rx) = chan::<Tok>(1);
        let (holder, go_tx) = permit_holder(&tx, "holder panics with a permit").await;
        match tx.try_send(d.tok(1)) {
            Err(TrySendError::Full(v)) => assert_eq!(v.id, 1),
            other => panic!("the permit should fill the channel: {other:?}"),
        }
        let waiting = {
            let tx = tx.clone();
            let v = d.tok(2);
            go!(name = "waiting-sender", async move {
                tx.send(v).await.map_err(|e| e.0.id)
            })
        };
        until_blocked(waiting.id(), Some(Op::Send)).await;
        go_tx.send(()).await.unwrap();
        expect_panicked(holder.await, "holder panics with a permit");
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert_eq!(rx.recv().await.map(|t| t.id), Some(2));
        tx.send(d.tok(3)).await.unwrap();
        assert_eq!(rx.recv().await.map(|t| t.id), Some(3));
        assert_eq!(tx.len(), 0);
    });
    assert_eq!(drops.log(), [1, 2, 3]);
}

/// chan(0): a permit is a rendezvous with a waiting receiver. If its holder panics, that
/// receiver waits on and takes the next sender's value.
#[test]
fn panic_while_holding_an_unbuffered_permit_keeps_the_receiver_waiting() {
    let drops = Drops::default();
    let d = drops.clone();
    run(async move {
        let (tx, rx) = chan::<Tok>(0);
        let receiver = go!(
            name = "receiver",
            async move { rx.recv().await.map(|t| t.id) }
        );
        let (holder, go_tx) = permit_holder(&tx, "holder panics with a rendezvous permit").await;
        go_tx.send(()).await.unwrap();
        expect_panicked(holder.await, "holder panics with a rendezvous permit");
        tx.send(d.tok(7)).await.unwrap();
        assert_eq!(receiver.await.unwrap(), Some(7));
    });
    assert_eq!(drops.log(), [7]);
}

/// A goroutine parked in `send` on chan(0) panics (another branch of its `join!` does): the
/// parked value is dropped exactly once, with the goroutine, and is never delivered; the
/// channel goes on serving other senders.
#[test]
fn panic_while_parked_in_unbuffered_send_drops_the_value_once() {
    let drops = Drops::default();
    let d = drops.clone();
    let dd = drops.clone();
    run(async move {
        let (tx, rx) = chan::<Tok>(0);
        let (go_tx, go_rx) = chan::<()>(0);
        let parked = {
            let tx = tx.clone();
            let v = d.tok(1);
            go!(name = "parked-sender", async move {
                tokio::join!(tx.send(v), async {
                    go_rx.recv().await;
                    panic!("sender panics while parked in send");
                })
            })
        };
        until_blocked(parked.id(), None).await;
        assert_eq!(dd.log(), [] as [u32; 0], "the parked value is still alive");
        go_tx.send(()).await.unwrap();
        expect_panicked(parked.await, "sender panics while parked in send");
        assert_eq!(dd.log(), [1], "dropped with the goroutine");
        still_usable(&tx, &rx, d.tok(2)).await;
    });
    assert_eq!(drops.log(), [1, 2]);
}

/// The same with the goroutine aborted through its handle while parked: `GoError::Cancelled`,
/// the value dropped once, the channel usable.
#[test]
fn abort_while_parked_in_send_drops_the_value_once() {
    let drops = Drops::default();
    let d = drops.clone();
    let dd = drops.clone();
    run(async move {
        let (tx, rx) = chan::<Tok>(0);
        let parked = {
            let tx = tx.clone();
            let v = d.tok(1);
            go!(name = "to-abort", async move { tx.send(v).await.is_ok() })
        };
        until_blocked(parked.id(), Some(Op::Send)).await;
        parked.abort();
        let err = parked.await.unwrap_err();
        assert!(err.is_cancelled(), "{err}");
        assert_eq!(err.name(), Some("to-abort"));
        assert_eq!(dd.log(), [1]);
        still_usable(&tx, &rx, d.tok(2)).await;
    });
    assert_eq!(drops.log(), [1, 2]);
}

/// A goroutine waiting in a `select!` (a receive, a lazy send and a `fut` case) panics from
/// its `fut` case. Its registrations go away with it: a later sender's value goes to a live
/// receiver (not to the dead select), no receiver gets a value from it, and its send value was
/// never even computed.
#[test]
fn panic_inside_select_loses_nothing() {
    let drops = Drops::default();
    let d = drops.clone();
    let evaluated = Arc::new(AtomicUsize::new(0));
    let ev = Arc::clone(&evaluated);
    run(async move {
        let (a_tx, a_rx) = chan::<Tok>(0); // the select receives from a
        let (b_tx, b_rx) = chan::<Tok>(0); // the select sends on b
        let (go_tx, go_rx) = chan::<()>(0);
        let selector = {
            let (a_rx, b_tx, d) = (a_rx.clone(), b_tx.clone(), d.clone());
            go!(name = "selector", async move {
                select! {
                    recv(a_rx) -> v => drop(v),
                    send(b_tx, { ev.fetch_add(1, Ordering::SeqCst); d.tok(99) }) -> r => drop(r),
                    fut(async {
                        go_rx.recv().await;
                        panic!("selector panics inside select!");
                    }) => {}
                }
            })
        };
        until_blocked(selector.id(), Some(Op::Select)).await;
        go_tx.send(()).await.unwrap();
        expect_panicked(selector.await, "selector panics inside select!");

        let sender = {
            let v = d.tok(1);
            go!(name = "a-sender", async move { a_tx.send(v).await.is_ok() })
        };
        until_blocked(sender.id(), Some(Op::Send)).await;
        assert_eq!(a_rx.recv().await.map(|t| t.id), Some(1));
        assert!(sender.await.unwrap());

        still_usable(&b_tx, &b_rx, d.tok(2)).await;
    });
    assert_eq!(evaluated.load(Ordering::SeqCst), 0);
    assert_eq!(drops.log(), [1, 2]);
}

// ---- the runtime shuts down under load ----

/// Sends the result of `f`, run on a new OS thread, to the returned receiver.
fn thread<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> mpsc::Receiver<R> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// Dropping a runtime whose goroutines are parked on channels, with values in buffers and in
/// parked sends: every value is dropped exactly once. An OS thread blocked in `recv_blocking`
/// or `send_blocking` on a channel whose other side lived only in goroutines is released with
/// `None` / `Err` (the goroutines' handles drop with them, which closes the channel).
///
/// What is NOT promised, as in Go: a channel is not owned by goroutines, so one whose other
/// side is still held outside the runtime stays open (next test).
#[test]
fn runtime_shutdown_drops_every_value_once_and_releases_blocked_threads() {
    let drops = Drops::default();
    let d = drops.clone();
    let evaluated = Arc::new(AtomicUsize::new(0));
    let rt = runtime();

    let (buf_tx, buf_rx) = chan::<Tok>(4);
    let (_never_tx, never_rx) = chan::<()>(0);
    // c: an OS thread receives; the only Sender lives in a goroutine.
    let (c_tx, c_rx) = chan::<Tok>(0);
    let t_recv = thread(move || c_rx.iter().map(|t| t.id).collect::<Vec<_>>());
    // d: an OS thread sends; the only Receiver lives in a goroutine.
    let (d_tx, d_rx) = chan::<Tok>(0);
    let (t20, t21) = (d.tok(20), d.tok(21));
    let t_send = thread(move || {
        d_tx.send_blocking(t20).unwrap();
        d_tx.send_blocking(t21).map_err(|e| e.into_inner().id)
    });

    let ev = Arc::clone(&evaluated);
    let dd = d.clone();
    rt.block_on(async move {
        for i in 0..4 {
            buf_tx.send(dd.tok(i)).await.unwrap();
        }
        let mut ids = Vec::new();
        // Parked in send on the full buffer, holding value 4.
        let (tx, v) = (buf_tx.clone(), dd.tok(4));
        ids.push(
            go!(
                name = "parked-sender",
                async move { tx.send(v).await.is_ok() }
            )
            .id(),
        );
        // Parked in a select with a lazy send on the full buffer.
        let (tx, never, d2) = (buf_tx.clone(), never_rx.clone(), dd.clone());
        ids.push(
            go!(name = "parked-select", async move {
                select! {
                    recv(never) -> _ => {},
                    send(tx, { ev.fetch_add(1, Ordering::SeqCst); d2.tok(50) }) -> _ => {},
                }
            })
            .id(),
        );
        // Holds buf's Receiver (the buffer stays full), c's only Sender and d's only Receiver;
        // hands 10 to the receiving thread, takes 20 from the sending one, then parks.
        let (ready_tx, ready_rx) = chan::<()>(0);
        let holder = go!(name = "holder", async move {
            let _keep = buf_rx;
            c_tx.send(dd.tok(10)).await.unwrap();
            let _twenty = d_rx.recv().await;
            ready_tx.send(()).await.unwrap();
            let _ = never_rx.recv().await;
            drop((c_tx, d_rx));
        });
        ready_rx.recv().await.unwrap();
        until_blocked(holder.id(), Some(Op::Recv)).await;
        for id in ids {
            until_blocked(id, None).await;
        }
    });
    // block_on returned; the goroutines are still parked on the live runtime.
    assert!(
        drops.log().iter().all(|&id| id == 10),
        "nothing but the value handed to the thread is dropped before shutdown: {:?}",
        drops.log()
    );
    drop(rt);

    assert_eq!(t_recv.recv_timeout(HANG).expect("recv_blocking hung"), [10]);
    assert_eq!(
        t_send.recv_timeout(HANG).expect("send_blocking hung"),
        Err(21)
    );
    assert_eq!(evaluated.load(Ordering::SeqCst), 0);
    assert_eq!(drops.log(), [0, 1, 2, 3, 4, 10, 20, 21]);
}

/// More OS threads waiting on goroutines when the runtime is dropped: one in `select_blocking!`
/// over two channels whose senders live only in goroutines (released by the close: a
/// `recv` case fires with `None`), one in `wg.wait_blocking()` on a group whose member is a
/// parked `wg.go` goroutine (its cancellation counts as done, as for a panic).
#[test]
fn runtime_shutdown_releases_select_blocking_and_wait_blocking() {
    let rt = runtime();
    let (a_tx, a_rx) = chan::<u32>(0);
    let (b_tx, b_rx) = chan::<u32>(0);
    let t_select = thread(move || {
        gocsp::select_blocking! {
            recv(a_rx) -> v => ("a", v),
            recv(b_rx) -> v => ("b", v),
        }
    });
    let wg = WaitGroup::new();
    let (_never_tx, never_rx) = chan::<()>(0);
    let wg2 = wg.clone();
    rt.block_on(async move {
        let h = go!(name = "senders", async move {
            let _keep = (a_tx, b_tx);
            never_rx.recv().await
        });
        wg2.go(async move {
            let (_tx, rx) = chan::<()>(0);
            rx.recv().await
        });
        until_blocked(h.id(), Some(Op::Recv)).await;
    });
    assert_eq!(wg.count(), 1);
    let t_wait = thread(move || wg.wait_blocking());
    drop(rt);
    let (_, v) = t_select.recv_timeout(HANG).expect("select_blocking! hung");
    assert_eq!(v, None);
    t_wait.recv_timeout(HANG).expect("wait_blocking hung");
}

/// A shutdown closes a channel only when the goroutines held the last handle of one side. Here
/// the test thread keeps a Sender: the channel stays open across the shutdown and the thread
/// blocked in `recv_blocking` keeps waiting for that holder, then gets its value, not `None`
/// (Go has no shutdown at all: its channels belong to no goroutine).
#[test]
fn runtime_shutdown_leaves_channels_held_outside_open() {
    let drops = Drops::default();
    let rt = runtime();
    let (tx, rx) = chan::<Tok>(0);
    let t = thread(move || rx.recv_blocking().map(|t| t.id));
    let (_never_tx, never_rx) = chan::<()>(0);
    let tx2 = tx.clone();
    rt.block_on(async move {
        let h = go!(name = "sender-holder", async move {
            let _keep = tx2;
            never_rx.recv().await
        });
        until_blocked(h.id(), Some(Op::Recv)).await;
    });
    drop(rt);
    assert!(
        !tx.is_closed(),
        "a Sender outside the runtime keeps it open"
    );
    tx.send_blocking(drops.tok(30)).unwrap();
    assert_eq!(t.recv_timeout(HANG).expect("recv_blocking hung"), Some(30));
    assert_eq!(drops.log(), [30]);
}

// ---- misuse ----

/// Go panics on a second `close`; gocsp reports it: `false`, from either side, no panic.
#[test]
fn double_close_is_reported_not_a_panic() {
    let (tx, rx) = chan::<u8>(1);
    tx.try_send(1).unwrap();
    assert!(tx.close());
    assert!(!tx.close());
    assert!(!rx.close());
    assert!(!tx.clone().close());
    assert_eq!(
        rx.recv_blocking(),
        Some(1),
        "values sent before close arrive"
    );
    assert_eq!(rx.recv_blocking(), None);
    let (tx, rx) = gocsp::unbounded::<u8>();
    assert!(rx.close());
    assert!(!tx.close());
}

/// `done()` below zero panics with Go's message and leaves the counter usable.
#[test]
fn wait_group_done_below_zero_panics_with_gos_message() {
    let wg = WaitGroup::new();
    assert_eq!(panics(|| wg.done()), "sync: negative WaitGroup counter");
    assert_eq!(wg.count(), 0);
    wg.add(2);
    assert_eq!(panics(|| wg.add(-3)), "sync: negative WaitGroup counter");
    assert_eq!(wg.count(), 2, "the counter is unchanged by the failed add");
    wg.done();
    wg.done();
    wg.wait_blocking();
}

/// Blocking calls from async code on a runtime thread panic with a message naming the async
/// method to use instead, both in the main goroutine and in a goroutine.
#[test]
fn blocking_calls_on_a_runtime_thread_name_the_async_method() {
    run(async {
        let (tx, rx) = chan::<u8>(1);
        let msg = panics(|| rx.recv_blocking());
        assert!(msg.contains("`recv_blocking`"), "{msg}");
        assert!(msg.contains("`.recv().await`"), "{msg}");
        let msg = panics(|| tx.send_blocking(1));
        assert!(msg.contains("`send_blocking`"), "{msg}");
        assert!(msg.contains("`.send(v).await`"), "{msg}");
        let msg = panics(|| rx.iter().next());
        assert!(msg.contains("`.recv().await`"), "{msg}");
        let wg = WaitGroup::new();
        wg.add(1);
        let msg = panics(|| wg.wait_blocking());
        assert!(msg.contains("wait().await"), "{msg}");
        wg.done();

        let (rx2, tx2) = (rx.clone(), tx.clone());
        expect_panicked(
            go!(async move { rx2.recv_blocking() }).await,
            "`.recv().await`",
        );
        expect_panicked(
            go!(async move { tx2.send_blocking(2) }).await,
            "`.send(v).await`",
        );
        // Nothing happened to the channel.
        assert!(tx.try_send(3).is_ok());
        assert_eq!(rx.recv().await, Some(3));
    });
}

/// `go!`, `WaitGroup::go` and `time::after` outside any runtime panic with a message saying how
/// to start one; `WaitGroup::go` restores its counter first.
#[test]
fn outside_a_runtime_the_panic_says_what_to_do() {
    let msg = panics(|| go!(async {}));
    assert!(msg.contains("outside a Tokio runtime"), "{msg}");
    assert!(msg.contains("gocsp::run"), "{msg}");
    assert!(msg.contains("#[gocsp::main]"), "{msg}");
    let msg = panics(|| go!(name = "named", async {}));
    assert!(msg.contains("outside a Tokio runtime"), "{msg}");
    let msg = panics(|| gocsp::time::after(Duration::from_millis(1)));
    assert!(msg.contains("gocsp::run"), "{msg}");
    let wg = WaitGroup::new();
    let msg = panics(|| wg.go(async {}));
    assert!(msg.contains("outside a Tokio runtime"), "{msg}");
    assert_eq!(wg.count(), 0, "WaitGroup::go restores the counter");
    wg.wait_blocking();
}

/// A panicking goroutine's handle carries its message, id and name; a non-string payload is
/// named as such.
#[test]
fn go_error_carries_the_panic_message() {
    run(async {
        let h = go!(name = "crasher", async {
            let n = 7;
            panic!("boom {n}");
        });
        let id = h.id();
        let err = expect_panicked(h.await, "panic: boom 7");
        assert_eq!(err.id(), id);
        assert_eq!(err.name(), Some("crasher"));
        assert!(err.to_string().contains("crasher"), "{err}");
        match &err {
            GoError::Panicked {
                message, location, ..
            } => {
                assert_eq!(message, "boom 7");
                assert_eq!(location.file(), file!());
            }
            other => panic!("{other}"),
        }
        let err = go!(async { std::panic::panic_any(42u8) })
            .await
            .unwrap_err();
        match err {
            GoError::Panicked { message, .. } => assert_eq!(message, "Box<dyn Any>"),
            other => panic!("{other}"),
        }
        // The runtime goes on.
        assert_eq!(go!(async { 1 + 1 }).await.unwrap(), 2);
    });
}

/// Go's `Wait` panics with "sync: WaitGroup is reused before previous Wait has returned" when
/// the counter is raised again before the released waiters have returned. gocsp does not
/// panic: a release belongs to a round, so every waiter of the finished round returns even if
/// `add` raised the counter before it ran, and a `wait` started after that `add` waits for the
/// new round (documented on `WaitGroup`).
#[test]
fn wait_group_reused_while_waiters_wake() {
    run(async {
        let wg = WaitGroup::new();
        wg.add(1);
        let old: Vec<_> = (0..4)
            .map(|_| {
                let wg = wg.clone();
                go!(async move { wg.wait().await })
            })
            .collect();
        for h in &old {
            until_blocked(h.id(), Some(Op::WaitGroup)).await;
        }
        // Zero, then raised again at once: the released waiters have not all returned yet.
        wg.done();
        wg.add(1);
        let new = {
            let wg = wg.clone();
            go!(async move { wg.wait().await })
        };
        for h in old {
            h.await.expect("a waiter of the released round returns");
        }
        until_blocked(new.id(), Some(Op::WaitGroup)).await;
        assert!(!new.is_finished(), "the new round is still open");
        assert_eq!(wg.count(), 1);
        wg.done();
        new.await.unwrap();
    });
}
