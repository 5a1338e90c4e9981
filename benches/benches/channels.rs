//! Channel throughput, gocsp against its Rust peers in the same criterion group (flume's
//! `benches/basic.rs` trick: every library behind the local `Flavor` trait).
//!
//! Groups: `cap{0,1,16,1024}/{1to1,4to1,4to4}` (time per message) and `pingpong/cap0` (time
//! per round trip). A library that cannot make the channel (tokio, async-channel and crossfire
//! have no capacity 0; tokio's receiver cannot be shared) is absent from that group. The
//! runtimes are built once, outside the measurement; each sample runs the checked workload of
//! `gocsp_benches::workloads` with as many messages as criterion asks for.
//!
//! ```text
//! cargo bench -p gocsp-benches --bench channels -- --warm-up-time 1 --measurement-time 2
//! ```
#![forbid(unsafe_code)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented public items"
)]

mod common;

use std::time::Instant;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use gocsp_benches::flavor::{AsyncChannel, Crossfire, Flavor, Flume, Kanal, TokioMpsc};
use gocsp_benches::gocsp_side::Gocsp;
use gocsp_benches::harness::Ctx;
use gocsp_benches::workloads;

fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Add `F`'s run of `p` producers → `q` consumers over capacity `cap` to `group`.
fn flow<F: Flavor>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    ctx: &Ctx,
    cap: usize,
    p: u64,
    q: usize,
) {
    if (cap == 0 && !F::RENDEZVOUS) || (q > 1 && !F::MPMC) {
        return;
    }
    group.bench_function(F::NAME, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            ctx.block_for::<F, _, _>(workloads::mpmc::<F>(iters.max(1), cap, p, q))
                .expect("workload check failed");
            start.elapsed()
        })
    });
}

fn ping_pong<F: Flavor>(group: &mut BenchmarkGroup<'_, WallTime>, ctx: &Ctx) {
    if !F::RENDEZVOUS {
        return;
    }
    group.bench_function(F::NAME, |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            ctx.block_for::<F, _, _>(workloads::ping_pong::<F>(iters.max(1), 0))
                .expect("workload check failed");
            start.elapsed()
        })
    });
}

fn channels(c: &mut Criterion) {
    let ctx = Ctx::new(workers());
    for cap in [0usize, 1, 16, 1024] {
        for (p, q, label) in [(1u64, 1usize, "1to1"), (4, 1, "4to1"), (4, 4, "4to4")] {
            let mut group = c.benchmark_group(format!("cap{cap}/{label}"));
            group.throughput(Throughput::Elements(1));
            flow::<Gocsp>(&mut group, &ctx, cap, p, q);
            flow::<TokioMpsc>(&mut group, &ctx, cap, p, q);
            flow::<AsyncChannel>(&mut group, &ctx, cap, p, q);
            flow::<Flume>(&mut group, &ctx, cap, p, q);
            flow::<Kanal>(&mut group, &ctx, cap, p, q);
            flow::<Crossfire>(&mut group, &ctx, cap, p, q);
            group.finish();
        }
    }
    let mut group = c.benchmark_group("pingpong/cap0");
    group.throughput(Throughput::Elements(1));
    ping_pong::<Gocsp>(&mut group, &ctx);
    ping_pong::<Flume>(&mut group, &ctx);
    ping_pong::<Kanal>(&mut group, &ctx);
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = channels
}
criterion_main!(benches);
