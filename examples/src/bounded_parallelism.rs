//! Bounded parallelism with `errgroup`: checksum many files with at most `limit` goroutines at
//! a time (`g.SetLimit`), and let the first error cancel the rest (`errgroup.WithContext`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gocsp::time::sleep;
use gocsp::{chan, select};
use gocsp::{Context, ErrGroup};

use crate::{outln, Out};

/// The group's error type: anything that can say what went wrong (and a member's panic).
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The simulated contents of file `i`.
fn contents(i: usize) -> Vec<u8> {
    format!("file {i}: {}", "gopher ".repeat(i % 7 + 1)).into_bytes()
}

/// FNV-1a, a small checksum.
pub fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// What a run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// `(file, checksum)` for every file checksummed, sorted by file.
    pub sums: Vec<(usize, u64)>,
    /// The most members running at once.
    pub peak: usize,
    /// The group's error, if any.
    pub error: Option<String>,
}

/// Checksums files `0..files`, `limit` at a time, each taking `work`; file `corrupt` (if any)
/// fails, which cancels the files not yet done.
pub async fn checksum_all(
    files: usize,
    limit: usize,
    work: Duration,
    corrupt: Option<usize>,
) -> Report {
    let (g, ctx) = ErrGroup::<Error>::with_context(&Context::background());
    g.set_limit(limit);
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (tx, sums) = chan::<(usize, u64)>(files);
    for i in 0..files {
        let (ctx, tx, active, peak) = (ctx.clone(), tx.clone(), active.clone(), peak.clone());
        g.go(async move {
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            // Reading the file: stop early if the group has been cancelled.
            let res = select! {
                fut(sleep(work)) => {
                    if Some(i) == corrupt {
                        Err(format!("file {i}: checksum mismatch").into())
                    } else {
                        let _ = tx.send((i, checksum(&contents(i)))).await;
                        Ok(())
                    }
                }
                recv(ctx.done()) => Ok(()), // someone else failed: give up quietly
            };
            active.fetch_sub(1, Ordering::SeqCst);
            res
        });
    }
    drop(tx);
    let error = g.wait().await.err().map(|e| e.to_string());
    let mut got = Vec::new();
    while let Some(s) = sums.recv().await {
        got.push(s);
    }
    got.sort();
    Report {
        sums: got,
        peak: peak.load(Ordering::SeqCst),
        error,
    }
}

/// Twenty files three at a time, then the same with file 7 corrupt.
pub async fn run_with(out: &Out, work: Duration) -> (Report, Report) {
    outln!(
        out,
        "-- 20 files, at most 3 goroutines at a time (g.set_limit(3))"
    );
    let ok = checksum_all(20, 3, work, None).await;
    for (i, sum) in &ok.sums {
        outln!(out, "file {i:>2}  {sum:016x}");
    }
    outln!(
        out,
        "peak concurrency: {} (limit 3); error: {:?}",
        ok.peak,
        ok.error
    );

    outln!(
        out,
        "-- the same, but file 7 is corrupt: the first error cancels the rest"
    );
    let failed = checksum_all(20, 3, work, Some(7)).await;
    outln!(
        out,
        "checksummed {} of 20 files before the cancellation; peak {}; error: {}",
        failed.sums.len(),
        failed.peak,
        failed.error.as_deref().unwrap_or("none")
    );
    (ok, failed)
}

/// [`run_with`], each file taking 20 ms.
pub async fn run(out: &Out) -> (Report, Report) {
    run_with(out, Duration::from_millis(20)).await
}
