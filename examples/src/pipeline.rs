//! The Go blog's "Pipelines and cancellation": generator → square → sink, each stage a
//! goroutine, stages connected by channels, and a `Context` that stops them all.

use gocsp::Context;
use gocsp::{chan, go, select, GoHandle, Receiver};

use crate::{outln, Out};

/// Emits `nums` on an unbuffered channel, then closes it (Go's `gen`).
fn gen(nums: Vec<u64>) -> Receiver<u64> {
    let (tx, rx) = chan(0);
    go!(name = "gen", async move {
        for n in nums {
            if tx.send(n).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// Squares what it receives (Go's `sq`).
fn sq(input: Receiver<u64>) -> Receiver<u64> {
    let (tx, rx) = chan(0);
    go!(name = "sq", async move {
        while let Some(n) = input.recv().await {
            if tx.send(n * n).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// An endless generator 1, 2, 3, ... that stops when `ctx` is cancelled; returns how many
/// values it sent.
fn gen_forever(ctx: Context) -> (Receiver<u64>, GoHandle<u64>) {
    let (tx, rx) = chan(0);
    let h = go!(name = "gen-forever", async move {
        let mut n = 0;
        loop {
            select! {
                send(tx, n + 1) -> res => match res {
                    Ok(()) => n += 1,
                    Err(_) => return n,
                },
                recv(ctx.done()) => return n,
            }
        }
    });
    (rx, h)
}

/// A squaring stage that also stops when `ctx` is cancelled; returns how many it squared.
fn sq_until(ctx: Context, input: Receiver<u64>) -> (Receiver<u64>, GoHandle<u64>) {
    let (tx, rx) = chan(0);
    let h = go!(name = "sq-until", async move {
        let mut count = 0;
        loop {
            let n = select! {
                recv(input) -> n => match n {
                    Some(n) => n,
                    None => return count,
                },
                recv(ctx.done()) => return count,
            };
            select! {
                send(tx, n * n) -> res => if res.is_err() { return count },
                recv(ctx.done()) => return count,
            }
            count += 1;
        }
    });
    (rx, h)
}

/// What the run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The finite pipeline's output: the squares of 1..=5.
    pub squares: Vec<u64>,
    /// The first values the sink took from the endless pipeline.
    pub taken: Vec<u64>,
    /// Why the stages stopped (Go's wording).
    pub reason: String,
}

/// A finite pipeline, then an endless one that the sink stops after `take` values by
/// cancelling the context; every stage goroutine is awaited, so none is left running.
pub async fn run_with(out: &Out, take: usize) -> Report {
    outln!(out, "-- gen(1..=5) -> sq -> print");
    let mut squares = Vec::new();
    let c = sq(gen(vec![1, 2, 3, 4, 5]));
    while let Some(v) = c.recv().await {
        outln!(out, "{v}");
        squares.push(v);
    }

    outln!(
        out,
        "-- gen(1, 2, 3, ...) -> sq -> sq -> sink that stops after {take} values"
    );
    let (ctx, cancel) = Context::background().with_cancel();
    let (nums, gen_h) = gen_forever(ctx.clone());
    let (sq1, sq1_h) = sq_until(ctx.clone(), nums);
    let (sq2, sq2_h) = sq_until(ctx.clone(), sq1);
    let mut taken = Vec::new();
    while taken.len() < take {
        let v = sq2.recv().await.expect("the generator is endless");
        outln!(out, "{v}");
        taken.push(v);
    }
    // Go: `defer cancel()` — tell every stage to stop, then wait for them.
    cancel.cancel();
    let sent = gen_h.await.expect("gen");
    let (n1, n2) = (sq1_h.await.expect("sq1"), sq2_h.await.expect("sq2"));
    let reason = ctx.err().map(|e| e.to_string()).unwrap_or_default();
    outln!(
        out,
        "stopped ({reason}): gen sent {sent}, the sq stages squared {n1} and {n2}; \
         all 3 goroutines returned"
    );
    Report {
        squares,
        taken,
        reason,
    }
}

/// [`run_with`], taking 8 values.
pub async fn run(out: &Out) -> Report {
    run_with(out, 8).await
}
