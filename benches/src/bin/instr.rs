//! One workload on one implementation, on a current-thread tokio runtime, for instruction
//! counting: the steady way to compare two versions of a hot path on a noisy machine.
//!
//! ```text
//! cargo build --release -p gocsp-benches --bin instr
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out \
//!     target/release/instr <workload> <impl> [n]
//! ```
//!
//! Divide the `Ir` total by `n` (default 50,000), after subtracting a run with `n = 0` (set-up
//! and runtime start-up), for instructions per operation. Workloads: `pingpong` (`n` round trips
//! on `chan(0)`), `sem` (`n` send+recv pairs on `chan(1)` in one task, Go's `ChanSem` without the
//! contention), `nonblock` (`n` rounds of `BenchmarkSelectNonblock`'s four one-case selects
//! with `default`), `select` (`n` rounds of `BenchmarkSelectUncontended`: a two-case select
//! and a send), `fanin` (`n` values through a `select!` over four channels), `spawn` (`n`
//! spawn+join); `nonblock`, `select` and `fanin` are `gocsp` only. Implementations: `gocsp`
//! (channels on `go!` goroutines), `gocsp-chan` (gocsp's channels on plain `tokio::spawn`
//! tasks), `tokio` (mpsc, capacity 1 where the workload wants 0), `kanal`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use gocsp_benches::flavor::{Flavor, Kanal, TokioMpsc};
use gocsp_benches::gocsp_side::{Gocsp, GocspTokio};
use gocsp_benches::workloads::{self, Check};

async fn sem<F: Flavor>(n: u64) -> Check {
    use gocsp_benches::flavor::{Rx, Tx};
    let (tx, mut rx) = F::bounded(1);
    let mut sum = 0;
    for i in 0..n {
        tx.send(i).await;
        sum += rx.recv().await.ok_or("closed")?;
    }
    workloads::check_sum(sum, n)
}

async fn spawn<F: Flavor>(n: u64) -> Check {
    let mut sum = 0;
    for i in 0..n {
        sum += F::spawn(async move { i }).await;
    }
    workloads::check_sum(sum, n)
}

async fn run<F: Flavor>(workload: &str, n: u64) -> Option<Check> {
    let cap = if F::RENDEZVOUS { 0 } else { 1 };
    Some(match workload {
        "pingpong" => workloads::ping_pong::<F>(n, cap).await,
        "sem" => sem::<F>(n).await,
        "spawn" => spawn::<F>(n).await,
        _ => return None,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(workload), Some(imp)) = (args.first(), args.get(1)) else {
        eprintln!("usage: instr <pingpong|sem|nonblock|select|fanin|spawn> <gocsp|gocsp-chan|tokio|kanal> [n]");
        return ExitCode::FAILURE;
    };
    let n: u64 = match args.get(2).map(|s| s.parse()) {
        None => 50_000,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("instr: bad count: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build the runtime");
    let (workload, imp) = (workload.clone(), imp.clone());
    let out = rt.block_on(async move {
        match (workload.as_str(), imp.as_str()) {
            ("nonblock", "gocsp") => Some(gocsp_benches::gocsp_side::select_nonblock(n, 1).await),
            ("select", "gocsp") => Some(gocsp_benches::gocsp_side::select_uncontended(n, 1).await),
            ("fanin", "gocsp") => Some(gocsp_benches::gocsp_side::fan_in_select(n).await),
            (w, "gocsp") => run::<Gocsp>(w, n).await,
            (w, "gocsp-chan") => run::<GocspTokio>(w, n).await,
            (w, "tokio") => run::<TokioMpsc>(w, n).await,
            (w, "kanal") => run::<Kanal>(w, n).await,
            _ => None,
        }
    });
    match out {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("instr: check failed: {e}");
            ExitCode::FAILURE
        }
        None => {
            eprintln!("instr: unknown workload or implementation");
            ExitCode::FAILURE
        }
    }
}
