//! gocsp-sync's two benchmarks: `WaitGroup` add/done on 1,000 goroutines (Go's
//! `BenchmarkWaitGroupAddDone`; the Go figure is in `cargo xtask bench`, row `wg_adddone_1k`),
//! and one `Context` cancellation fanned out to 10,000 waiting goroutines, against tokio-util's
//! `CancellationToken` (row `ctx_cancel_10k`). One element is one add+done pair, or one
//! cancelled round of 10,000 waiters.
//!
//! ```text
//! cargo bench -p gocsp-benches --bench sync -- --warm-up-time 1 --measurement-time 2
//! ```
#![forbid(unsafe_code)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented public items"
)]

mod common;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gocsp_benches::harness::Ctx;
use gocsp_benches::{async_select, gocsp_side};

/// Times one run of `check` (a workload already sized by criterion's iteration count).
fn timed(check: impl FnOnce() -> Result<(), String>) -> Duration {
    let start = Instant::now();
    check().expect("workload check failed");
    start.elapsed()
}

fn sync(c: &mut Criterion) {
    let ctx = Ctx::new(std::thread::available_parallelism().map_or(1, |n| n.get()));

    let mut group = c.benchmark_group("WaitGroupAddDone1k");
    group.throughput(Throughput::Elements(1));
    group.bench_function("gocsp", |b| {
        b.iter_custom(|n| timed(|| ctx.block_gocsp(gocsp_side::wg_add_done(n.max(1)))))
    });
    group.finish();

    let mut group = c.benchmark_group("ContextCancelFanout10k");
    group.throughput(Throughput::Elements(1));
    group.sample_size(10);
    group.bench_function("gocsp", |b| {
        b.iter_custom(|n| timed(|| ctx.block_gocsp(gocsp_side::ctx_cancel_fanout(n.max(1)))))
    });
    group.bench_function("tokio CancellationToken", |b| {
        b.iter_custom(|n| timed(|| ctx.block(async_select::ctx_cancel_fanout_tokio(n.max(1)))))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = sync
}
criterion_main!(benches);
