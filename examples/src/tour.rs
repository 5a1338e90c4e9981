//! The tour: every idea of gocsp in one run, each step printing what it shows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gocsp::sync::Mutex;
use gocsp::time::{after, sleep};
use gocsp::{chan, go, select, Context, ErrGroup, TrySendError, WaitGroup};

use crate::{outln, Out};

/// The tour's error type for the ErrGroup step.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// Walks through goroutines, channels, close, select, WaitGroup, Context, ErrGroup and the
/// goroutine dump. Every step prints what it demonstrates; the lines are also returned.
///
/// `profile`: if the caller installed gocsp's profile layer, the tour prints its table last.
pub async fn run(out: &Out, profile: Option<&gocsp::trace::ProfileGuard>) -> Vec<String> {
    step_go(out).await;
    step_unbuffered(out).await;
    step_buffered(out).await;
    step_close_range(out).await;
    step_select(out).await;
    step_wait_group(out).await;
    step_context(out).await;
    step_err_group(out).await;
    step_dump(out).await;
    if let Some(guard) = profile {
        outln!(
            out,
            "\n== 10. the profile table (GOCSP_TRACE=profile prints it at exit)"
        );
        for line in guard.report().to_string().lines() {
            outln!(out, "{line}");
        }
    }
    outln!(out, "\nend of the tour");
    out.lines()
}

async fn step_go(out: &Out) {
    outln!(
        out,
        "== 1. go!: start a goroutine (Go: `go f()`), await its handle for the result"
    );
    let h = go!(name = "adder", async { 20 + 22 });
    let (id, name) = (h.id(), h.name().map(str::to_owned));
    let v = h.await.expect("adder does not panic");
    outln!(
        out,
        "goroutine {id} ({}) returned {v}",
        name.unwrap_or_default()
    );
}

async fn step_unbuffered(out: &Out) {
    outln!(
        out,
        "\n== 2. unbuffered channel (make(chan T)): a send waits for a receiver"
    );
    let (tx, rx) = chan::<&'static str>(0);
    let start = Instant::now();
    let sender = go!(name = "sender", async move {
        tx.send("ping").await.expect("main receives");
        start.elapsed()
    });
    sleep(Duration::from_millis(50)).await; // main is busy; the sender waits meanwhile
    let got = rx.recv().await;
    let waited = sender.await.expect("sender");
    let ms = waited.as_millis();
    outln!(
        out,
        "received {got:?}; the send returned only after the receive, {ms} ms in (>= 50)"
    );
}

async fn step_buffered(out: &Out) {
    outln!(
        out,
        "\n== 3. buffered channel (make(chan T, 3)): sends complete while there is room"
    );
    let (tx, rx) = chan::<u32>(3);
    for i in 1..=3 {
        tx.send(i).await.expect("room in the buffer");
    }
    outln!(
        out,
        "sent 3 without a receiver: len {} of capacity {:?}",
        tx.len(),
        tx.capacity()
    );
    match tx.try_send(4) {
        Err(TrySendError::Full(v)) => outln!(
            out,
            "try_send({v}) on the full channel: Full, the value handed back"
        ),
        other => outln!(out, "try_send(4): unexpected {other:?}"),
    }
    let first = rx.recv().await;
    outln!(out, "received {first:?} first: channels are FIFO");
}

async fn step_close_range(out: &Out) {
    outln!(
        out,
        "\n== 4. close + range: values sent before close are all delivered, then None"
    );
    let (tx, rx) = chan::<u32>(0);
    go!(name = "producer", async move {
        for i in 1..=5 {
            let _ = tx.send(i).await;
        }
        tx.close(); // Go: close(ch)
    });
    let mut got = Vec::new();
    while let Some(v) = rx.recv().await {
        // Go: for v := range ch
        got.push(v);
    }
    outln!(out, "for v in ch: {got:?}, then the loop ended");
    let (tx, rx) = chan::<u32>(1);
    rx.close();
    let err = tx.send(9).await.expect_err("closed");
    outln!(
        out,
        "send on a closed channel: Err(\"{err}\"), value {} handed back (Go would panic)",
        err.0
    );
}

async fn step_select(out: &Out) {
    outln!(
        out,
        "\n== 5. select: timeout, default, and a fair choice among ready cases"
    );
    let (_tx, never) = chan::<u32>(0);
    select! {
        recv(never) -> v => outln!(out, "unexpected {v:?}"),
        default => outln!(out, "select with default: nothing ready, default ran at once"),
    }
    let start = Instant::now();
    select! {
        recv(never) -> v => outln!(out, "unexpected {v:?}"),
        recv(after(Duration::from_millis(30))) => {
            let ms = start.elapsed().as_millis();
            outln!(out, "select with time.After(30ms): timed out after {ms} ms");
        }
    }
    let (a_tx, a) = chan::<char>(1);
    let (b_tx, b) = chan::<char>(1);
    let (mut from_a, mut from_b) = (0, 0);
    for _ in 0..1000 {
        a_tx.send('a').await.expect("room");
        b_tx.send('b').await.expect("room");
        select! {
            recv(a) => from_a += 1,
            recv(b) => from_b += 1,
        }
        // Empty the other one for the next round.
        let _ = a.try_recv();
        let _ = b.try_recv();
    }
    outln!(
        out,
        "both ready 1000 times: a chosen {from_a} times, b {from_b} (uniformly random, as in Go)"
    );
}

async fn step_wait_group(out: &Out) {
    outln!(out, "\n== 6. WaitGroup: wait for ten goroutines");
    let wg = WaitGroup::new();
    let total = Arc::new(Mutex::new(0u32));
    for i in 1..=10 {
        wg.add(1);
        let (wg, total) = (wg.clone(), total.clone());
        go!(name = "adder", async move {
            sleep(Duration::from_millis(u64::from(i % 4))).await;
            *total.lock().await += i;
            wg.done();
        });
    }
    wg.wait().await;
    outln!(
        out,
        "after wg.wait(): total = {} (1 + 2 + ... + 10 = 55)",
        *total.lock().await
    );
}

async fn step_context(out: &Out) {
    outln!(
        out,
        "\n== 7. Context: cancel one context, every goroutine watching it stops"
    );
    let (ctx, cancel) = Context::background().with_cancel();
    let ticks = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (1..=3)
        .map(|w| {
            let (ctx, ticks) = (ctx.clone(), ticks.clone());
            go!(name = format!("ctx-worker-{w}"), async move {
                loop {
                    select! {
                        recv(ctx.done()) => {
                            return format!("worker {w} stopped: {}", ctx.err().expect("done"));
                        }
                        recv(after(Duration::from_millis(5))) => {
                            ticks.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    sleep(Duration::from_millis(30)).await;
    cancel.cancel();
    for w in workers {
        outln!(out, "{}", w.await.expect("worker"));
    }
    outln!(
        out,
        "(they worked {} ticks before the cancel)",
        ticks.load(Ordering::SeqCst)
    );
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(20));
    ctx.cancelled().await;
    outln!(
        out,
        "with_timeout(20ms): done with {:?}",
        ctx.err().map(|e| e.to_string()).unwrap_or_default()
    );
}

async fn step_err_group(out: &Out) {
    outln!(
        out,
        "\n== 8. ErrGroup: the first error wins and cancels the others"
    );
    let (g, ctx) = ErrGroup::<Error>::with_context(&Context::background());
    let finished = Arc::new(AtomicUsize::new(0));
    for (i, url) in ["/a", "/b", "/broken", "/d", "/e"].into_iter().enumerate() {
        let (ctx, finished) = (ctx.clone(), finished.clone());
        g.go(async move {
            if url == "/broken" {
                sleep(Duration::from_millis(10)).await;
                return Err(format!("GET {url}: 500 Internal Server Error").into());
            }
            select! {
                recv(after(Duration::from_millis(200 + 10 * i as u64))) => {
                    finished.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
                recv(ctx.done()) => Ok(()), // cancelled by the failure
            }
        });
    }
    let res = g.wait().await;
    outln!(out, "g.wait(): {:?}", res.map_err(|e| e.to_string()));
    outln!(
        out,
        "fetches that finished anyway: {} of 4 (the rest saw ctx.done())",
        finished.load(Ordering::SeqCst)
    );
}

async fn step_dump(out: &Out) {
    outln!(
        out,
        "\n== 9. the goroutine dump (Go's SIGQUIT traceback): who waits on what, where"
    );
    let (tx, rx) = chan::<()>(0);
    let (_keep, idle) = chan::<()>(0);
    let mut handles = Vec::new();
    for i in 1..=2 {
        let rx = rx.clone();
        handles.push(go!(name = format!("blocked-receiver-{i}"), async move {
            let _ = rx.recv().await;
        }));
    }
    let idle2 = idle.clone();
    handles.push(go!(name = "blocked-in-select", async move {
        select! {
            recv(idle2) => {},
            recv(after(Duration::from_secs(60))) => {},
        }
    }));
    // Let them reach their blocking operations.
    while gocsp::dump()
        .goroutines()
        .iter()
        .filter(|g| {
            g.name.as_deref().is_some_and(|n| n.starts_with("blocked"))
                && matches!(g.state, gocsp::State::Blocked { .. })
        })
        .count()
        < 3
    {
        sleep(Duration::from_millis(1)).await;
    }
    // The whole dump has every goroutine of the program; show the three of this step.
    let dump = gocsp::dump().to_string();
    for block in dump.split("\n\n").filter(|b| b.contains("\nblocked")) {
        for line in block.lines() {
            outln!(out, "{line}");
        }
    }
    tx.close();
    idle.close();
    for h in handles {
        h.await.expect("released");
    }
    outln!(
        out,
        "closing the channels released them: num_goroutine() = {} (main)",
        gocsp::num_goroutine()
    );
}
