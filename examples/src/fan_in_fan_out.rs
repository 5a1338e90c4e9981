//! Fan-out, fan-in (the Go blog's "Pipelines"): several goroutines read one channel (fan-out),
//! and their outputs are merged into one channel (fan-in) closed by a `WaitGroup`.

use gocsp::{chan, go, Receiver, WaitGroup};

use crate::{outln, Out};

/// Go's `merge`: copies every input to one output, which is closed once all inputs are.
fn merge<T: Send + 'static>(inputs: Vec<Receiver<T>>) -> Receiver<T> {
    let (tx, rx) = chan(0);
    let wg = WaitGroup::new();
    for input in inputs {
        wg.add(1);
        let (tx, wg) = (tx.clone(), wg.clone());
        go!(name = "merge-copy", async move {
            while let Some(v) = input.recv().await {
                if tx.send(v).await.is_err() {
                    break;
                }
            }
            wg.done();
        });
    }
    go!(name = "merge-close", async move {
        wg.wait().await;
        tx.close();
    });
    rx
}

/// What the run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The sum of the squares received.
    pub sum: u64,
    /// How many values each worker squared, by worker.
    pub per_worker: Vec<usize>,
}

/// Squares `1..=n` on `workers` goroutines reading one channel and merges the results.
pub async fn run_with(out: &Out, n: u64, workers: usize) -> Report {
    let (tx, nums) = chan::<u64>(0);
    go!(name = "gen", async move {
        for i in 1..=n {
            let _ = tx.send(i).await;
        }
    });
    // Fan out: each worker tags its results with its number.
    let outputs: Vec<Receiver<(usize, u64)>> = (0..workers)
        .map(|w| {
            let (tx, rx) = chan(0);
            let nums = nums.clone();
            go!(name = format!("sq-{w}"), async move {
                while let Some(v) = nums.recv().await {
                    let _ = tx.send((w, v * v)).await;
                }
            });
            rx
        })
        .collect();
    // Fan in.
    let merged = merge(outputs);
    let mut sum = 0;
    let mut per_worker = vec![0; workers];
    while let Some((w, sq)) = merged.recv().await {
        sum += sq;
        per_worker[w] += 1;
    }
    for (w, count) in per_worker.iter().enumerate() {
        outln!(out, "worker sq-{w} squared {count} numbers");
    }
    outln!(
        out,
        "sum of the squares of 1..={n}: {sum} (n(n+1)(2n+1)/6 = {})",
        n * (n + 1) * (2 * n + 1) / 6
    );
    Report { sum, per_worker }
}

/// [`run_with`]: 1..=100 on 4 workers.
pub async fn run(out: &Out) -> Report {
    run_with(out, 100, 4).await
}
