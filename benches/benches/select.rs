//! Go's four select benchmarks from `src/runtime/chan_test.go` (`BenchmarkSelectUncontended`,
//! `SelectNonblock`, `SelectProdCons`, `SelectSyncContended`): gocsp's `select!` against
//! `tokio::select!` (over tokio mpsc, or flume where Go's channels are unbuffered or shared)
//! and crossbeam-channel's `select!` on OS threads, one criterion group per benchmark.
//! `RunParallel` becomes as many tasks (threads) as there are cores.
//!
//! ```text
//! cargo bench -p gocsp-benches --bench select -- --warm-up-time 1 --measurement-time 2
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
use gocsp_benches::workloads::Check;
use gocsp_benches::{async_select, gocsp_side, threads};

/// A workload's future, boxed so that one table holds them all.
type BoxCheck = std::pin::Pin<Box<dyn std::future::Future<Output = Check> + Send>>;

/// One implementation of a benchmark: how to run it with `n` operations on `p` tasks.
enum Imp {
    Gocsp(fn(u64, usize) -> BoxCheck),
    Tokio(fn(u64, usize) -> BoxCheck),
    Threads(fn(u64, usize) -> Check),
}

fn run(ctx: &Ctx, imp: &Imp, n: u64) -> Duration {
    let p = ctx.workers;
    let start = Instant::now();
    let res = match imp {
        Imp::Gocsp(f) => ctx.block_gocsp(f(n, p)),
        Imp::Tokio(f) => ctx.block(f(n, p)),
        Imp::Threads(f) => f(n, p),
    };
    res.expect("workload check failed");
    start.elapsed()
}

fn select(c: &mut Criterion) {
    let ctx = Ctx::new(std::thread::available_parallelism().map_or(1, |n| n.get()));
    let benches: [(&str, Vec<(&str, Imp)>); 4] = [
        (
            "SelectUncontended",
            vec![
                (
                    "gocsp",
                    Imp::Gocsp(|n, p| Box::pin(gocsp_side::select_uncontended(n, p))),
                ),
                (
                    "tokio",
                    Imp::Tokio(|n, p| Box::pin(async_select::select_uncontended(n, p))),
                ),
                (
                    "crossbeam (threads)",
                    Imp::Threads(threads::select_uncontended),
                ),
            ],
        ),
        (
            "SelectNonblock",
            vec![
                (
                    "gocsp",
                    Imp::Gocsp(|n, p| Box::pin(gocsp_side::select_nonblock(n, p))),
                ),
                (
                    "flume",
                    Imp::Tokio(|n, p| Box::pin(async_select::select_nonblock_flume(n, p))),
                ),
                (
                    "crossbeam (threads)",
                    Imp::Threads(threads::select_nonblock),
                ),
            ],
        ),
        (
            "SelectProdCons",
            vec![
                (
                    "gocsp",
                    Imp::Gocsp(|n, p| Box::pin(gocsp_side::select_prod_cons(n, p))),
                ),
                (
                    "tokio",
                    Imp::Tokio(|n, p| Box::pin(async_select::select_prod_cons(n, p))),
                ),
                (
                    "crossbeam (threads)",
                    Imp::Threads(threads::select_prod_cons),
                ),
            ],
        ),
        (
            "SelectSyncContended",
            vec![
                (
                    "gocsp",
                    Imp::Gocsp(|n, p| Box::pin(gocsp_side::select_sync_contended(n, p))),
                ),
                (
                    "flume",
                    Imp::Tokio(|n, p| Box::pin(async_select::select_sync_contended_flume(n, p))),
                ),
                (
                    "crossbeam (threads)",
                    Imp::Threads(threads::select_sync_contended),
                ),
            ],
        ),
    ];
    for (name, imps) in benches {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        for (label, imp) in &imps {
            group.bench_function(*label, |b| {
                b.iter_custom(|iters| run(&ctx, imp, iters.max(1)))
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = select
}
criterion_main!(benches);
