//! The Rust side of the Go comparison (`cargo xtask bench`): every workload of
//! `benches/go/` on gocsp and on the Rust peers that can do it, printed as
//!
//! ```text
//! name<TAB>impl<TAB>ns_per_op
//! ```
//!
//! (`park_1m_mem` lines carry bytes per parked task instead). Each workload checks its
//! result; a failed check is printed to stderr and makes the exit status non-zero.
//!
//! ```text
//! cargo run --release -p gocsp-benches --bin compare -- [--workers N] [--quick]
//!     [--filter SUBSTR] [--impl SUBSTR|=NAME] [--reps R] [--list]
//! ```
//!
//! `--workers N` is the number of runtime worker threads (Go's `GOMAXPROCS`; default: all
//! cores, or `$GOMAXPROCS`). The workload's driver runs as a task on the runtime, as Go's
//! main goroutine runs on one of its Ps. `park_1m` runs in a fresh child process per
//! implementation so that memory freed by an earlier run cannot hide its RSS growth.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Instant;

use gocsp_benches::flavor::{
    AsyncChannel, Crossbeam, Crossfire, CrossfireThreads, Flavor, Flume, Kanal, SyncFlavor,
    TokioMpsc,
};
use gocsp_benches::gocsp_side::{self, Gocsp, GocspThreads};
use gocsp_benches::harness::{Ctx, Entry, Reg};
use gocsp_benches::workloads;
use gocsp_benches::{async_select, threads};

/// One workload: its name (shared with the Go side), the operation count of a full run,
/// whether `--quick` may shrink it, and whether it is too heavy to repeat.
struct Workload {
    name: &'static str,
    n: u64,
    fixed: bool,
    once: bool,
    isolate: bool,
}

const fn w(name: &'static str, n: u64) -> Workload {
    Workload {
        name,
        n,
        fixed: false,
        once: false,
        isolate: false,
    }
}

/// The workloads, in the order and with the counts of `benches/go/main.go`.
const WORKLOADS: &[Workload] = &[
    w("pingpong_chan0", 200_000),
    w("spsc_chan0", 200_000),
    w("spsc_chan1", 500_000),
    w("spsc_chan128", 2_000_000),
    w("mpsc4_chan128", 2_000_000),
    w("mpmc4_chan128", 2_000_000),
    w("fanin_select4", 1_000_000),
    w("select_uncontended", 2_000_000),
    w("select_nonblock", 2_000_000),
    w("select_prodcons", 1_000_000),
    w("select_sync_contended", 500_000),
    Workload {
        fixed: true,
        ..w("spawn_wg_100k", 100_000)
    },
    Workload {
        fixed: true,
        once: true,
        isolate: true,
        ..w("park_1m", 1_000_000)
    },
    Workload {
        fixed: true,
        once: true,
        ..w("sieve_3000", 1)
    },
    w("worker_pool_8x1m", 1_000_000),
    w("chan_popular", 100),
    w("chan_sem", 2_000_000),
    w("wg_adddone_1k", 2_000_000),
    w("ctx_cancel_10k", 100),
];

/// The channel workloads every async flavor can run, as far as its capabilities allow.
fn async_flavor<F: Flavor>(r: &mut Reg<'_>) {
    let imp = F::NAME;
    if F::RENDEZVOUS {
        r.add("pingpong_chan0", imp, |c, n| {
            c.block_for::<F, _, _>(workloads::ping_pong::<F>(n, 0))
        });
        r.add("spsc_chan0", imp, |c, n| {
            c.block_for::<F, _, _>(workloads::mpmc::<F>(n, 0, 1, 1))
        });
        r.add("sieve_3000", imp, |c, _| {
            c.block_for::<F, _, _>(workloads::sieve::<F>())
        });
    }
    r.add("spsc_chan1", imp, |c, n| {
        c.block_for::<F, _, _>(workloads::mpmc::<F>(n, 1, 1, 1))
    });
    r.add("spsc_chan128", imp, |c, n| {
        c.block_for::<F, _, _>(workloads::mpmc::<F>(n, 128, 1, 1))
    });
    r.add("mpsc4_chan128", imp, |c, n| {
        c.block_for::<F, _, _>(workloads::mpmc::<F>(n, 128, 4, 1))
    });
    if F::MPMC {
        r.add("mpmc4_chan128", imp, |c, n| {
            c.block_for::<F, _, _>(workloads::mpmc::<F>(n, 128, 4, 4))
        });
        r.add("worker_pool_8x1m", imp, |c, n| {
            c.block_for::<F, _, _>(workloads::worker_pool::<F>(n))
        });
        r.add("chan_sem", imp, |c, n| {
            let p = c.workers;
            c.block_for::<F, _, _>(workloads::chan_sem::<F>(n, p))
        });
    }
    r.add_outcome("park_1m", imp, |c, n| {
        let mem = c.block_for::<F, _, _>(workloads::park::<F>(n as usize))?;
        Ok(Some(("park_1m_mem", mem)))
    });
}

/// The OS-thread workloads of a blocking flavor, as far as its capabilities allow.
fn thread_flavor<S: SyncFlavor>(r: &mut Reg<'_>, imp: &'static str) {
    if S::RENDEZVOUS {
        r.add("pingpong_chan0", imp, |_, n| threads::ping_pong::<S>(n, 0));
        r.add("spsc_chan0", imp, |_, n| threads::mpmc::<S>(n, 0, 1, 1));
    }
    r.add("spsc_chan1", imp, |_, n| threads::mpmc::<S>(n, 1, 1, 1));
    r.add("spsc_chan128", imp, |_, n| threads::mpmc::<S>(n, 128, 1, 1));
    r.add("mpsc4_chan128", imp, |_, n| {
        threads::mpmc::<S>(n, 128, 4, 1)
    });
    r.add("mpmc4_chan128", imp, |_, n| {
        threads::mpmc::<S>(n, 128, 4, 4)
    });
    r.add("worker_pool_8x1m", imp, |_, n| threads::worker_pool::<S>(n));
    r.add("chan_sem", imp, |c, n| threads::chan_sem::<S>(n, c.workers));
}

fn entries() -> Vec<Entry> {
    let mut v = Vec::new();
    let r = &mut Reg(&mut v);
    async_flavor::<Gocsp>(r);
    async_flavor::<gocsp_side::GocspTokio>(r);
    const G: &str = "gocsp";
    r.add("fanin_select4", G, |c, n| {
        c.block_gocsp(gocsp_side::fan_in_select(n))
    });
    r.add("select_uncontended", G, |c, n| {
        let p = c.workers;
        c.block_gocsp(gocsp_side::select_uncontended(n, p))
    });
    r.add("select_nonblock", G, |c, n| {
        let p = c.workers;
        c.block_gocsp(gocsp_side::select_nonblock(n, p))
    });
    r.add("select_prodcons", G, |c, n| {
        let p = c.workers;
        c.block_gocsp(gocsp_side::select_prod_cons(n, p))
    });
    r.add("select_sync_contended", G, |c, n| {
        let p = c.workers;
        c.block_gocsp(gocsp_side::select_sync_contended(n, p))
    });
    r.add("spawn_wg_100k", G, |c, n| {
        c.block_gocsp(gocsp_side::spawn_wait_group(n))
    });
    r.add("chan_popular", G, |c, n| {
        c.block_gocsp(gocsp_side::chan_popular(n))
    });
    r.add("wg_adddone_1k", G, |c, n| {
        c.block_gocsp(gocsp_side::wg_add_done(n))
    });
    r.add("ctx_cancel_10k", G, |c, n| {
        c.block_gocsp(gocsp_side::ctx_cancel_fanout(n))
    });
    thread_flavor::<GocspThreads>(r, GocspThreads::NAME);
    async_flavor::<TokioMpsc>(r);
    async_flavor::<AsyncChannel>(r);
    async_flavor::<Flume>(r);
    async_flavor::<Kanal>(r);
    async_flavor::<Crossfire>(r);
    r.add("fanin_select4", "tokio", |c, n| {
        c.block(async_select::fan_in_select(n))
    });
    r.add("select_uncontended", "tokio", |c, n| {
        let p = c.workers;
        c.block(async_select::select_uncontended(n, p))
    });
    r.add("select_prodcons", "tokio", |c, n| {
        let p = c.workers;
        c.block(async_select::select_prod_cons(n, p))
    });
    r.add("spawn_wg_100k", "tokio", |c, n| {
        c.block(async_select::spawn_wait(n))
    });
    r.add("ctx_cancel_10k", "tokio", |c, n| {
        c.block(async_select::ctx_cancel_fanout_tokio(n))
    });
    r.add("select_nonblock", "flume", |c, n| {
        let p = c.workers;
        c.block(async_select::select_nonblock_flume(n, p))
    });
    r.add("select_sync_contended", "flume", |c, n| {
        let p = c.workers;
        c.block(async_select::select_sync_contended_flume(n, p))
    });
    r.add("chan_popular", "flume", |c, n| {
        c.block(async_select::chan_popular_flume(n))
    });
    const CB: &str = "crossbeam (threads)";
    thread_flavor::<Crossbeam>(r, CB);
    thread_flavor::<CrossfireThreads>(r, CrossfireThreads::NAME);
    r.add("fanin_select4", CB, |_, n| threads::fan_in_select(n));
    r.add("select_uncontended", CB, |c, n| {
        threads::select_uncontended(n, c.workers)
    });
    r.add("select_nonblock", CB, |c, n| {
        threads::select_nonblock(n, c.workers)
    });
    r.add("select_prodcons", CB, |c, n| {
        threads::select_prod_cons(n, c.workers)
    });
    r.add("select_sync_contended", CB, |c, n| {
        threads::select_sync_contended(n, c.workers)
    });
    v
}

struct Opts {
    workers: usize,
    quick: bool,
    filter: Option<String>,
    imp: Option<String>,
    only: Option<(String, String)>,
    reps: usize,
    list: bool,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        workers: std::env::var("GOMAXPROCS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        quick: false,
        filter: None,
        imp: None,
        only: None,
        reps: 3,
        list: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--workers" => o.workers = val()?.parse().map_err(|_| "--workers takes a number")?,
            "--reps" => o.reps = val()?.parse().map_err(|_| "--reps takes a number")?,
            "--filter" => o.filter = Some(val()?),
            "--impl" => o.imp = Some(val()?),
            // Internal: run exactly this workload of exactly this implementation (child mode).
            "--only" => {
                let name = val()?;
                let imp = val()?;
                o.only = Some((name, imp));
            }
            "--quick" => o.quick = true,
            "--list" => o.list = true,
            // `cargo bench` passes --bench to every target; accept and ignore it.
            "--bench" => {}
            _ => return Err(format!("unknown argument `{a}`")),
        }
    }
    if o.workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let opts = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("compare: {e}");
            return ExitCode::from(2);
        }
    };
    let all = entries();
    if opts.list {
        for w in WORKLOADS {
            let imps: Vec<&str> = all
                .iter()
                .filter(|e| e.name == w.name)
                .map(|e| e.imp)
                .collect();
            println!("{}\t{}", w.name, imps.join(", "));
        }
        return ExitCode::SUCCESS;
    }
    let ctx = Ctx::new(opts.workers);
    if opts.only.is_none() {
        eprintln!("compare: {} runtime workers", opts.workers);
    }
    let mut failed = false;
    for w in WORKLOADS {
        for e in all.iter().filter(|e| e.name == w.name) {
            let selected = match &opts.only {
                Some((name, imp)) => name == e.name && imp == e.imp,
                None => {
                    opts.filter.as_deref().is_none_or(|f| e.name.contains(f))
                        && opts
                            .imp
                            .as_deref()
                            .is_none_or(|i| match i.strip_prefix('=') {
                                Some(exact) => e.imp == exact,
                                None => e.imp.contains(i),
                            })
                }
            };
            if !selected {
                continue;
            }
            let ok = if w.isolate && opts.only.is_none() {
                run_isolated(&opts, e)
            } else {
                run_here(&opts, &ctx, w, e)
            };
            failed |= !ok;
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Time `reps` runs of `e` (one for heavy workloads) and print the fastest.
fn run_here(opts: &Opts, ctx: &Ctx, w: &Workload, e: &Entry) -> bool {
    let n = if opts.quick && !w.fixed {
        (w.n / 10).max(1)
    } else {
        w.n
    };
    let reps = if w.once { 1 } else { opts.reps.max(1) };
    let mut best = f64::INFINITY;
    let mut extra = None;
    for _ in 0..reps {
        let start = Instant::now();
        match (e.run)(ctx, n) {
            Ok(x) => {
                let per_op = start.elapsed().as_nanos() as f64 / n as f64;
                best = best.min(per_op);
                extra = extra.or(x);
            }
            Err(msg) => {
                eprintln!("compare: {} [{}] FAILED: {msg}", e.name, e.imp);
                return false;
            }
        }
    }
    println!("{}\t{}\t{best:.1}", e.name, e.imp);
    if let Some((name, v)) = extra {
        println!("{name}\t{}\t{v:.1}", e.imp);
    }
    true
}

/// Run `e` in a child process of this binary and pass its lines through.
fn run_isolated(opts: &Opts, e: &Entry) -> bool {
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(err) => {
            eprintln!("compare: cannot find own executable: {err}");
            return false;
        }
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "--only",
        e.name,
        e.imp,
        "--workers",
        &opts.workers.to_string(),
    ]);
    if opts.quick {
        cmd.arg("--quick");
    }
    match cmd.stderr(std::process::Stdio::inherit()).output() {
        Ok(out) => {
            print!("{}", String::from_utf8_lossy(&out.stdout));
            out.status.success()
        }
        Err(err) => {
            eprintln!("compare: cannot run child for {}: {err}", e.name);
            false
        }
    }
}
