//! The goroutine wrapper's overhead: `go!` spawn+join against `tokio::spawn`+join, both on one
//! gocsp runtime, so the ratio is what the goroutine wrapper (registry record, span, counting
//! waker, panic capture) costs. One element is one goroutine spawned and awaited.
//!
//! - `SpawnJoin`: spawn one, await it, repeat (the spawn path's latency).
//! - `SpawnJoin100`: spawn 100, then await all 100 (spawns spread over the workers).
//!
//! ```text
//! cargo bench -p gocsp-benches --bench runtime -- --warm-up-time 1 --measurement-time 2
//! ```
#![forbid(unsafe_code)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented public items"
)]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gocsp_benches::workloads::check_sum;

/// Spawns and joins `n` tasks with `spawn`, `batch` at a time; returns the time taken. Runs
/// on a worker (as a plain tokio task, the same driver for both sides), not on the thread
/// calling `block_on`, whose wake-ups cost an OS thread switch each.
fn spawn_join<H, S>(rt: &gocsp::Runtime, n: u64, batch: u64, spawn: S) -> Duration
where
    S: Fn(u64) -> H + Send + 'static,
    H: std::future::Future<Output = u64> + Send + 'static,
{
    rt.block_on(async move {
        tokio::spawn(driver(n, batch, spawn))
            .await
            .expect("driver failed")
    })
}

async fn driver<H, S>(n: u64, batch: u64, spawn: S) -> Duration
where
    S: Fn(u64) -> H,
    H: std::future::Future<Output = u64>,
{
    let start = Instant::now();
    let mut sum = 0;
    let mut handles = Vec::with_capacity(batch as usize);
    let mut done = 0;
    while done < n {
        let k = batch.min(n - done);
        handles.extend((done..done + k).map(&spawn));
        for h in handles.drain(..) {
            sum += h.await;
        }
        done += k;
    }
    let elapsed = start.elapsed();
    if let Err(e) = check_sum(sum, n) {
        panic!("a task's result was lost: {e}");
    }
    elapsed
}

fn runtime(c: &mut Criterion) {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rt = gocsp::Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("cannot build gocsp's runtime");

    for (name, batch) in [("SpawnJoin", 1), ("SpawnJoin100", 100)] {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        group.bench_function("gocsp go!", |b| {
            b.iter_custom(|n| {
                spawn_join(&rt, n, batch, |i| {
                    let h = gocsp::go!(async move { black_box(i) });
                    async move { h.await.expect("goroutine failed") }
                })
            })
        });
        group.bench_function("tokio::spawn", |b| {
            b.iter_custom(|n| {
                spawn_join(&rt, n, batch, |i| {
                    let h = tokio::spawn(async move { black_box(i) });
                    async move { h.await.expect("task failed") }
                })
            })
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = runtime
}
criterion_main!(benches);
