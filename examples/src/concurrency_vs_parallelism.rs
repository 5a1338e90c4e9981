//! Concurrency is not parallelism: two tasks interleaving on one worker, then CPU-bound work
//! on one worker versus all of them (Go's `GOMAXPROCS`).

use std::time::{Duration, Instant};

use gocsp::{go, Runtime};

use crate::{outln, Out};
use gocsp::time::sleep;

/// What the run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The interleaved lines of Task A and Task B.
    pub interleaved: Vec<String>,
    /// The sum computed by the CPU-bound work (the same on every worker count).
    pub checksum: u64,
    /// Worker count of the parallel run.
    pub workers: usize,
    /// Wall time on one worker.
    pub one_worker: Duration,
    /// Wall time on `workers` workers.
    pub all_workers: Duration,
}

async fn task(name: &'static str, out: Out) -> Vec<String> {
    let mut lines = Vec::new();
    for i in 1..=3 {
        let line = format!("Task {name}: {i}");
        outln!(out, "{line}");
        lines.push(line);
        // Go's example sleeps here too: while one task waits, the other runs.
        sleep(Duration::from_millis(10)).await;
    }
    lines
}

/// Counts the primes in `lo..hi` by trial division: deliberately CPU-bound.
fn count_primes(lo: u64, hi: u64) -> u64 {
    (lo..hi)
        .filter(|&n| n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
        .count() as u64
}

/// Splits `0..limit` into `chunks` goroutines on a runtime with `workers` workers; returns
/// the prime count and the wall time.
fn cpu_bound(workers: usize, chunks: u64, limit: u64) -> (u64, Duration) {
    Runtime::builder().worker_threads(workers).run(async move {
        let start = Instant::now();
        let step = limit / chunks;
        let handles: Vec<_> = (0..chunks)
            .map(|c| {
                let hi = if c + 1 == chunks {
                    limit
                } else {
                    (c + 1) * step
                };
                go!(
                    name = "count_primes",
                    async move { count_primes(c * step, hi) }
                )
            })
            .collect();
        let mut total = 0;
        for h in handles {
            total += h.await.expect("count_primes does not panic");
        }
        (total, start.elapsed())
    })
}

/// Part 1 on a one-worker runtime, then the CPU-bound part on 1 and on `workers` workers,
/// counting the primes below `limit`.
pub fn run_with(out: &Out, workers: usize, limit: u64) -> Report {
    outln!(
        out,
        "-- concurrency: two tasks take turns on ONE worker thread"
    );
    let interleaved = Runtime::builder().worker_threads(1).run({
        let out = out.clone();
        async move {
            let a = go!(name = "task-a", task("A", out.clone()));
            let b = go!(name = "task-b", task("B", out.clone()));
            let mut lines = a.await.expect("task A");
            lines.extend(b.await.expect("task B"));
            lines
        }
    });

    outln!(
        out,
        "-- parallelism: counting the primes below {limit} in 16 goroutines"
    );
    let (checksum, one_worker) = cpu_bound(1, 16, limit);
    outln!(out, "1 worker : {checksum} primes in {one_worker:?}");
    let (again, all_workers) = cpu_bound(workers, 16, limit);
    assert_eq!(
        again, checksum,
        "the work is the same whatever the worker count"
    );
    outln!(out, "{workers} workers: {again} primes in {all_workers:?}");
    outln!(
        out,
        "speed-up: {:.2}x on {workers} workers (at most {workers}x; less on a busy machine)",
        one_worker.as_secs_f64() / all_workers.as_secs_f64().max(1e-9)
    );
    Report {
        interleaved,
        checksum,
        workers,
        one_worker,
        all_workers,
    }
}

/// [`run_with`] on all cores (or `GOMAXPROCS`), primes below 2,000,000 (300,000 in a debug
/// build, which is about ten times slower).
pub fn run(out: &Out) -> Report {
    let workers = std::env::var("GOMAXPROCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let limit = if cfg!(debug_assertions) {
        300_000
    } else {
        2_000_000
    };
    run_with(out, workers, limit)
}
