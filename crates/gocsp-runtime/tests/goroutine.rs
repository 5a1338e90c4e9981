//! Goroutines: spawning, identity, handles, panics, cancellation, dumps.
// Each test holds `counting()`'s guard for its whole body, awaits included: it runs on its own
// runtime's `block_on` thread, and the lock only keeps the tests of this binary apart.
#![allow(clippy::await_holding_lock)]

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gocsp_channel::chan;
use gocsp_runtime::{go, go_blocking, GoError, Op, State};

/// Held by every test of this binary, which count goroutines and read the dump: run at the
/// same time, one test's goroutines would come and go in another's count.
/// It also waits (up to 10 s) for the goroutines of the test before to be gone: a test's
/// runtime shuts down, and drops what its goroutines left running, after its body released the
/// lock.
fn counting() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let deadline = Instant::now() + Duration::from_secs(10);
    while gocsp_runtime::num_goroutine() != 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    guard
}

/// Goroutine `id`'s dump entry, once it is listed (a `go!` goroutine is listed from its first
/// wait, see `Dump::unlisted`). Panics after 10 s.
async fn listed(id: u64) -> gocsp_runtime::Goroutine {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(g) = gocsp_runtime::dump().get(id) {
            return g.clone();
        }
        assert!(Instant::now() < deadline, "goroutine {id} never listed");
        tokio::task::yield_now().await;
    }
}

/// Waits (without sleeping) until goroutine `id` is parked in a gocsp operation; its dump entry.
async fn until_blocked(id: u64) -> gocsp_runtime::Goroutine {
    loop {
        let g = listed(id).await;
        if matches!(g.state, State::Blocked { .. }) {
            return g;
        }
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_macro_forms_and_handles() {
    let _counting = counting();
    async fn double(x: u32) -> u32 {
        x * 2
    }
    let a = go!(double(1));
    let b = go!(async move { double(2).await });
    let n = 3;
    let c = go!(name = format!("worker-{n}"), double(3));
    let d = go!(name = "lit", double(4),);
    assert_eq!(a.name(), None);
    assert_eq!(c.name(), Some("worker-3"));
    assert_eq!(d.name(), Some("lit"));
    assert!(a.id() >= 1 && b.id() > a.id() && c.id() > b.id());
    assert_eq!(a.await.unwrap() + b.await.unwrap() + c.await.unwrap(), 12);
    assert_eq!(d.await.unwrap(), 8);
}

/// Threads take ids in batches: ids stay unique across threads that spawn at once (the
/// spawners yield, so they move between the workers), and every spawned goroutine is in the
/// registry exactly while it runs, whichever thread's shard it was registered in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_are_unique_across_spawning_threads() {
    let _counting = counting();
    let (release_tx, release_rx) = chan::<()>(0);
    let before = gocsp_runtime::num_goroutine();
    let mut spawners = Vec::new();
    for _ in 0..4 {
        let release_rx = release_rx.clone();
        spawners.push(go!(async move {
            let mut handles = Vec::new();
            for _ in 0..40 {
                let rx = release_rx.clone();
                handles.push(go!(async move { while rx.recv().await.is_some() {} }));
                tokio::task::yield_now().await;
            }
            handles
        }));
    }
    let mut handles = Vec::new();
    for s in spawners {
        handles.extend(s.await.unwrap());
    }
    let mut ids: Vec<u64> = handles.iter().map(|h| h.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 160);
    assert!(ids[0] >= 1);
    assert_eq!(gocsp_runtime::num_goroutine(), before + 160);
    for h in &handles {
        until_blocked(h.id()).await;
    }
    assert_eq!(gocsp_runtime::dump().unlisted(), 0);
    drop((release_tx, release_rx));
    for h in handles {
        h.await.unwrap();
    }
    let dump = gocsp_runtime::dump();
    assert!(ids.iter().all(|&id| dump.get(id).is_none()));
    assert_eq!(gocsp_runtime::num_goroutine(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_site_is_the_callers_line() {
    let _counting = counting();
    let line = line!() + 1;
    let h = go!(async {});
    assert_eq!(h.location().line(), line);
    assert!(h.location().file().ends_with("goroutine.rs"));
    let line = line!() + 1;
    let h2 = gocsp_runtime::go!(name = "x", async {});
    assert_eq!(h2.location().line(), line);
    h.await.unwrap();
    h2.await.unwrap();
}

/// The builder behind `go!` and `go_blocking!`: a name, the caller's line or an explicit site,
/// async or blocking; every goroutine it starts is in the dump while it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_names_sites_and_blocking() {
    let _counting = counting();
    use gocsp_runtime::{Goroutine, GoroutineBuilder};
    let (tx, rx) = chan::<u32>(0);
    let builder = Goroutine::builder().name("a");
    let line = line!() + 1;
    let a = builder.spawn(async move { rx.recv().await });
    assert_eq!((a.name(), a.location().line()), (Some("a"), line));
    assert_eq!(a.location().file(), file!());
    let g = until_blocked(a.id()).await;
    assert_eq!(g.name.as_deref(), Some("a"));
    tx.send(5).await.unwrap();
    assert_eq!(a.await.unwrap(), Some(5));

    let site = std::panic::Location::caller();
    let b = GoroutineBuilder::new().site(site).spawn(async { 1 });
    assert_eq!(b.location(), site);
    assert_eq!(b.name(), None);
    assert_eq!(b.await.unwrap(), 1);

    let line = line!() + 1;
    let c = Goroutine::builder().name("c").spawn_blocking(|| {
        let id = gocsp_runtime::current_id();
        let g = gocsp_runtime::dump().get(id.unwrap()).cloned().unwrap();
        (g.name, g.blocking)
    });
    assert_eq!((c.name(), c.location().line()), (Some("c"), line));
    assert_eq!(c.await.unwrap(), (Some("c".to_owned()), true));

    let e = go_blocking!(name = "boom", || panic!("x"))
        .await
        .unwrap_err();
    assert!(e.is_panic() && e.name() == Some("boom"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panics_surface_as_errors_with_identity() {
    let _counting = counting();
    let h = go!(name = "crasher", async { panic!("boom {}", 7) });
    let id = h.id();
    let err = h.await.unwrap_err();
    match &err {
        GoError::Panicked {
            id: got,
            name,
            message,
            location,
        } => {
            assert_eq!(*got, id);
            assert_eq!(name.as_deref(), Some("crasher"));
            assert_eq!(message, "boom 7");
            assert!(location.file().ends_with("goroutine.rs"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_panic() && !err.is_cancelled());
    assert_eq!(err.id(), id);
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "panic: boom 7 (goroutine {id} \"crasher\", created at "
        )),
        "{text}"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(err);
    assert!(boxed.to_string().contains("boom 7"));

    // A panic payload that is not a string.
    let err = go!(async { std::panic::panic_any(5u8) }).await.unwrap_err();
    assert!(matches!(err, GoError::Panicked { ref message, .. } if message == "Box<dyn Any>"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_gives_cancelled() {
    let _counting = counting();
    let h = go!(name = "forever", std::future::pending::<()>());
    let id = h.id();
    assert!(!h.is_finished());
    h.abort();
    let err = h.await.unwrap_err();
    assert!(err.is_cancelled());
    assert_eq!(err.id(), id);
    assert_eq!(err.name(), Some("forever"));
    assert!(err
        .to_string()
        .starts_with(&format!("goroutine {id} \"forever\" cancelled")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_detaches() {
    let _counting = counting();
    let (tx, rx) = chan::<u32>(0);
    drop(go!(async move {
        tx.send(9).await.unwrap();
    }));
    assert_eq!(rx.recv().await, Some(9));
}

#[test]
fn outside_a_runtime_the_panic_says_what_to_do() {
    let _counting = counting();
    let res = std::panic::catch_unwind(|| {
        go(async {});
    });
    let payload = res.unwrap_err();
    let msg = payload.downcast_ref::<String>().unwrap();
    assert!(msg.contains("outside a Tokio runtime"), "{msg}");
    assert!(
        msg.contains("#[gocsp::main]") && msg.contains("gocsp::run"),
        "{msg}"
    );
}

#[test]
fn works_in_a_plain_tokio_runtime() {
    let _counting = counting();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let v = rt.block_on(async { go!(async { 5 }).await.unwrap() });
    assert_eq!(v, 5);
    // And on a current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(async { go!(async { 6 }).await.unwrap() }), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_id_and_parent() {
    let _counting = counting();
    let outer = go!(async {
        let me = gocsp_runtime::current_id().unwrap();
        let inner = go!(name = "child", async {
            gocsp_runtime::current_id().unwrap()
        });
        let inner_id = inner.id();
        let dump = gocsp_runtime::dump();
        let parent = dump.get(inner_id).map(|g| g.parent);
        (me, inner.await.unwrap(), inner_id, parent)
    });
    let outer_id = outer.id();
    let (me, inner_seen, inner_id, parent) = outer.await.unwrap();
    assert_eq!(me, outer_id);
    assert_eq!(inner_seen, inner_id);
    // The child may already have finished when the dump was taken.
    if let Some(parent) = parent {
        assert_eq!(parent, Some(outer_id));
    }
    assert_eq!(gocsp_runtime::current_id(), None);
}

/// A goroutine waiting in `rx.next().await` (the `Stream` impl) shows as `stream receive` at the
/// user's line that created the receiver, never at a line inside gocsp.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_shows_stream_receive_at_the_receivers_creation() {
    let _counting = counting();
    use futures::StreamExt;
    let (tx, rx) = chan::<u32>(0);
    let made = line!() - 1;
    let cloned_line = line!() + 1;
    let mut clone = rx.clone();
    let mut rx = rx;
    let first = go!(name = "stream", async move { rx.next().await });
    let second = go!(name = "clone", async move { clone.next().await });
    for (h, line) in [(&first, made), (&second, cloned_line)] {
        let g = until_blocked(h.id()).await;
        match g.state {
            State::Blocked { op, site, .. } => {
                assert_eq!(op, Op::StreamRecv);
                assert_eq!((site.file(), site.line()), (file!(), line));
            }
            other => panic!("{other:?}"),
        }
        let text = gocsp_runtime::dump().to_string();
        let entry = format!("goroutine {} [stream receive]:", h.id());
        assert!(text.contains(&entry), "{text}");
        assert!(text.contains(&format!("{}:{line}:", file!())), "{text}");
    }
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    let mut got = [first.await.unwrap(), second.await.unwrap()];
    got.sort();
    assert_eq!(got, [Some(1), Some(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_shows_blocked_operation_and_site() {
    let _counting = counting();
    let (tx, rx) = chan::<u32>(0);
    let (ready_tx, ready_rx) = chan::<()>(1);
    let line = line!() + 3;
    let h = go!(name = "receiver", async move {
        ready_tx.send(()).await.unwrap();
        rx.recv().await
    });
    ready_rx.recv().await.unwrap();
    let g = until_blocked(h.id()).await;
    match g.state {
        State::Blocked { op, site, .. } => {
            assert_eq!(op, Op::Recv);
            assert_eq!(site.line(), line);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(g.name.as_deref(), Some("receiver"));
    assert!(!g.blocking && !g.main);
    let text = gocsp_runtime::dump().to_string();
    let entry = format!(
        "goroutine {} [chan receive]:\nreceiver\n\t{}:{line}:",
        h.id(),
        file!()
    );
    assert!(text.contains(&entry), "{text}");
    assert!(text.contains("created by go!"), "{text}");
    tx.send(1).await.unwrap();
    let id = h.id();
    assert_eq!(h.await.unwrap(), Some(1));
    assert!(gocsp_runtime::dump().get(id).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dump_shows_waiting_for_non_gocsp_futures() {
    let _counting = counting();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let h = go!(async move {
        let _ = rx.await;
    });
    let state = loop {
        let s = listed(h.id()).await.state;
        if s == State::Waiting {
            break s;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(state.go_name(), "waiting");
    tx.send(()).unwrap();
    h.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn num_goroutine_counts_live_goroutines() {
    let _counting = counting();
    let before = gocsp_runtime::num_goroutine();
    let (tx, rx) = chan::<()>(0);
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let rx = rx.clone();
            go!(async move { rx.recv().await })
        })
        .collect();
    // Counted from the spawn, before any of them has run.
    assert_eq!(gocsp_runtime::num_goroutine(), before + 10);
    for h in &handles {
        until_blocked(h.id()).await;
    }
    assert_eq!(gocsp_runtime::num_goroutine(), before + 10);
    tx.close();
    for h in handles {
        assert_eq!(h.await.unwrap(), None);
    }
    assert_eq!(gocsp_runtime::num_goroutine(), before);
    // A goroutine that finishes in its first poll, and one that panics in it.
    go!(async { 1 }).await.unwrap();
    go!(async { panic!("first poll") }).await.unwrap_err();
    assert_eq!(gocsp_runtime::num_goroutine(), before);
    let ids: Vec<u64> = gocsp_runtime::dump()
        .goroutines()
        .iter()
        .map(|g| g.id)
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted by id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn go_blocking_runs_on_the_blocking_pool_and_is_registered() {
    let _counting = counting();
    let (tx, rx) = chan::<u32>(0);
    let (go_tx, go_rx) = chan::<()>(0);
    let h = gocsp_runtime::go_blocking!(name = "crunch", move || {
        go_rx.recv_blocking();
        tx.send_blocking(41).unwrap();
        gocsp_runtime::current_id()
    });
    let g = gocsp_runtime::dump().get(h.id()).cloned().unwrap();
    assert!(g.blocking);
    assert_eq!(g.name.as_deref(), Some("crunch"));
    go_tx.send(()).await.unwrap();
    assert_eq!(rx.recv().await, Some(41));
    let id = h.id();
    assert_eq!(h.await.unwrap(), Some(id));

    let err = go_blocking(|| panic!("cpu")).await.unwrap_err();
    assert!(matches!(err, GoError::Panicked { ref message, .. } if message == "cpu"));
}

/// On a current-thread runtime the goroutine can only run when the spawner yields.
#[tokio::test]
async fn yield_now_lets_others_run() {
    let _counting = counting();
    let (tx, rx) = chan::<u32>(1);
    let h = go!(async move {
        tx.send(1).await.unwrap();
    });
    assert!(rx.try_recv().is_err(), "nothing ran yet");
    let mut got = None;
    for _ in 0..3 {
        if let Ok(v) = rx.try_recv() {
            got = Some(v);
            break;
        }
        gocsp_runtime::yield_now().await;
    }
    assert_eq!(got, Some(1));
    h.await.unwrap();
}

/// The blocked duration in goroutine `id`'s dump entry, once it is blocked in `recv`.
async fn blocked_for(id: u64) -> Duration {
    loop {
        match gocsp_runtime::dump().get(id).map(|g| g.state) {
            Some(State::Blocked {
                op: Op::Recv,
                duration,
                ..
            }) => return duration,
            Some(_) => tokio::task::yield_now().await,
            // Not listed before its first wait; the callers' goroutines are alive throughout.
            None => {
                listed(id).await;
            }
        }
    }
}

/// Wakes its task once, `after` its first `Pending`, from another thread: a spurious wake.
struct NudgedOnce<F> {
    inner: std::pin::Pin<Box<F>>,
    after: Option<Duration>,
}

impl<F: std::future::Future> std::future::Future for NudgedOnce<F> {
    type Output = F::Output;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let res = self.inner.as_mut().poll(cx);
        if res.is_pending() {
            if let Some(after) = self.after.take() {
                let w = cx.waker().clone();
                std::thread::spawn(move || {
                    std::thread::sleep(after);
                    w.wake();
                });
            }
        }
        res
    }
}

// The duration is wall-clock time from the start of the wait (gocsp reads a coarse monotonic
// clock, not tokio's, so a paused test clock does not move it; the dump's "N minutes" is
// tested in dump.rs). Lower bounds only: a slow machine makes waits longer, never shorter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_duration_counts_from_the_start_of_the_wait() {
    let _counting = counting();
    let (tx, rx) = chan::<u32>(0);
    let h = go!(NudgedOnce {
        inner: Box::pin(async move {
            let mut got = 0;
            while let Some(v) = rx.recv().await {
                got += v;
            }
            got
        }),
        after: Some(Duration::from_millis(150)),
    });
    blocked_for(h.id()).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The spurious wake at 150 ms re-polled the same `recv` with no value taken: the same wait.
    let first = blocked_for(h.id()).await;
    assert!(first >= Duration::from_millis(350), "{first:?}");
    let text = gocsp_runtime::dump().to_string();
    assert!(
        text.contains(&format!("goroutine {} [chan receive]:", h.id())),
        "{text}"
    );
    // A value taken, then blocked again at the same site: a new wait.
    tx.send(5).await.unwrap();
    let second = blocked_for(h.id()).await;
    assert!(second < first, "{second:?} >= {first:?}");
    drop(tx);
    assert_eq!(h.await.unwrap(), 5);
}

#[test]
fn main_goroutine_is_registered_and_its_panic_propagates() {
    let _counting = counting();
    let rt = gocsp_runtime::Runtime::builder()
        .worker_threads(1)
        .build()
        .unwrap();
    let line = line!() + 1;
    let main = rt.block_on(async {
        let me = gocsp_runtime::current_id().unwrap();
        let d = gocsp_runtime::dump();
        d.get(me).cloned().unwrap()
    });
    assert!(main.main);
    assert_eq!(main.name.as_deref(), Some("main"));
    assert_eq!(main.location.line(), line);
    assert_eq!(main.state, State::Running);

    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("main failed") })
    }));
    let payload = res.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"main failed"));
}

/// A `go!` goroutine is counted from its spawn and listed from its first wait.
#[tokio::test]
async fn a_goroutine_is_listed_from_its_first_wait() {
    let _counting = counting();
    let (tx, rx) = chan::<()>(0);
    let h = go!(async move {
        let me = gocsp_runtime::current_id().unwrap();
        let first_poll = gocsp_runtime::dump().get(me).is_some();
        rx.recv().await;
        let later = gocsp_runtime::dump().get(me).map(|g| g.state);
        (first_poll, later)
    });
    // A current-thread runtime: the goroutine has not run yet.
    let d = gocsp_runtime::dump();
    assert!(d.get(h.id()).is_none());
    assert_eq!(d.unlisted(), 1);
    assert!(
        d.to_string()
            .contains("(1 more goroutine not listed: started, not yet waiting)"),
        "{d}"
    );
    let g = until_blocked(h.id()).await;
    assert_eq!(g.parent, None);
    assert_eq!(gocsp_runtime::dump().unlisted(), 0);
    tx.send(()).await.unwrap();
    assert_eq!(h.await.unwrap(), (false, Some(State::Running)));
}

/// Goroutines start, wait, finish and panic on two workers while another thread takes dumps
/// and counts: every dump is sorted with unique ids and never lists a goroutine that already
/// finished, no count misses the goroutines parked throughout (a goroutine may start on one
/// thread's counter and end on another's), and the count comes back to where it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dumps_taken_while_goroutines_come_and_go() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let _counting = counting();
    let before = gocsp_runtime::num_goroutine();
    // Alive throughout: every count taken meanwhile includes them.
    let (park_tx, park_rx) = chan::<()>(0);
    let parked: Vec<_> = (0..5)
        .map(|_| {
            let rx = park_rx.clone();
            go!(async move { rx.recv().await })
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(Mutex::new(Vec::<u64>::new()));
    let dumper = {
        let (stop, finished) = (Arc::clone(&stop), Arc::clone(&finished));
        std::thread::spawn(move || {
            let mut dumps = 0;
            while !stop.load(Ordering::Relaxed) {
                let n = gocsp_runtime::num_goroutine();
                assert!(
                    n >= before + 5,
                    "{n} goroutines counted, 5 parked throughout"
                );
                // Finished before the dump started: must not be in it.
                let gone = finished.lock().unwrap().clone();
                let d = gocsp_runtime::dump();
                let ids: Vec<u64> = d.goroutines().iter().map(|g| g.id).collect();
                assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
                assert!(gone.iter().all(|id| d.get(*id).is_none()), "{d}");
                assert!(d.len() + d.unlisted() <= gocsp_runtime::num_goroutine() + 200);
                dumps += 1;
            }
            dumps
        })
    };
    for round in 0..100u64 {
        let (tx, rx) = chan::<u64>(0);
        let mut handles = Vec::new();
        for i in 0..60u64 {
            let rx = rx.clone();
            handles.push(match i % 4 {
                // Finishes in its first poll: never registered.
                0 => go!(async move { i }),
                // Registers, then finishes when the channel closes.
                1 => go!(async move { rx.recv().await.unwrap_or(i) }),
                // Registers at a yield, finishes on the next poll.
                2 => go!(async move {
                    tokio::task::yield_now().await;
                    i
                }),
                // Panics, in its first poll or after waiting.
                _ => go!(async move {
                    if round % 2 == 0 {
                        tokio::task::yield_now().await;
                    }
                    panic!("goroutine {i} of round {round}")
                }),
            });
        }
        drop((tx, rx));
        let mut sum = 0;
        for h in handles {
            let id = h.id();
            match h.await {
                Ok(v) => sum += v,
                Err(e) => assert!(e.is_panic(), "{e}"),
            }
            finished.lock().unwrap().push(id);
        }
        assert_eq!(sum, (0..60).filter(|i| i % 4 != 3).sum::<u64>());
    }
    stop.store(true, Ordering::Relaxed);
    assert!(dumper.join().unwrap() > 0);
    drop((park_tx, park_rx));
    for h in parked {
        assert_eq!(h.await.unwrap(), None);
    }
    assert_eq!(gocsp_runtime::num_goroutine(), before);
}
