//! Go by Example's "Rate Limiting": a ticker paces requests, then a buffered channel of
//! tokens allows bursts.

use std::time::Duration;

use gocsp::{chan, go};

use crate::{outln, Out};
use gocsp::time::{now, tick, Instant, Ticker};

/// When each request was served, relative to the start of its part.
#[derive(Debug, Clone)]
pub struct Report {
    /// Part 1: one request per tick.
    pub steady: Vec<Duration>,
    /// Part 2: a burst of 3, then one per tick.
    pub bursty: Vec<Duration>,
}

/// Serves five requests at one per `every` (`time.Tick`), then five with a burst allowance of 3
/// (a buffered channel of tokens refilled by a `Ticker`).
pub async fn run_with(out: &Out, every: Duration) -> Report {
    outln!(out, "-- steady: one request per {every:?}");
    let (requests_tx, requests) = chan::<u32>(5);
    for i in 1..=5 {
        requests_tx.send(i).await.expect("room");
    }
    requests_tx.close();
    let limiter = tick(every);
    let start = now();
    let mut steady = Vec::new();
    while let Some(req) = requests.recv().await {
        limiter.recv().await.expect("tick never ends");
        let at = now() - start;
        outln!(out, "request {req} at {:>4} ms", at.as_millis());
        steady.push(at);
    }

    outln!(out, "-- bursty: 3 at once, then one per {every:?}");
    let (tokens_tx, tokens) = chan::<Instant>(3);
    for _ in 0..3 {
        tokens_tx.send(now()).await.expect("room");
    }
    let refill = go!(name = "refill", async move {
        let ticker = Ticker::new(every);
        while let Some(t) = ticker.c.recv().await {
            if tokens_tx.send(t).await.is_err() {
                return;
            }
        }
    });
    let (bursty_tx, bursty_requests) = chan::<u32>(5);
    for i in 1..=5 {
        bursty_tx.send(i).await.expect("room");
    }
    bursty_tx.close();
    let start = now();
    let mut bursty = Vec::new();
    while let Some(req) = bursty_requests.recv().await {
        tokens.recv().await.expect("the refill goroutine is alive");
        let at = now() - start;
        outln!(out, "request {req} at {:>4} ms", at.as_millis());
        bursty.push(at);
    }
    // Dropping the token receiver makes the refill goroutine's next send fail: it returns.
    drop(tokens);
    refill.await.expect("refill");
    Report { steady, bursty }
}

/// [`run_with`] at one request per 200 ms.
pub async fn run(out: &Out) -> Report {
    run_with(out, Duration::from_millis(200)).await
}
