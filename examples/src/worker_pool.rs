//! Go by Example's "Worker Pools": three workers share a jobs channel.

use std::time::{Duration, Instant};

use gocsp::{chan, go, Receiver, Sender};

use crate::{outln, Out};

async fn worker(id: usize, jobs: Receiver<u64>, results: Sender<u64>, out: Out, work: Duration) {
    // Go: `for j := range jobs`.
    while let Some(j) = jobs.recv().await {
        outln!(out, "worker {id} started  job {j}");
        tokio::time::sleep(work).await;
        outln!(out, "worker {id} finished job {j}");
        if results.send(j * 2).await.is_err() {
            return;
        }
    }
}

/// Five jobs, three workers, each job taking `work`. Returns the results, sorted
/// (`[2, 4, 6, 8, 10]`).
pub async fn run_with(out: &Out, work: Duration) -> Vec<u64> {
    const JOBS: u64 = 5;
    let (jobs_tx, jobs) = chan::<u64>(JOBS as usize);
    let (results_tx, results) = chan::<u64>(JOBS as usize);
    for w in 1..=3 {
        go!(
            name = format!("worker-{w}"),
            worker(w, jobs.clone(), results_tx.clone(), out.clone(), work)
        );
    }
    drop(results_tx);
    let start = Instant::now();
    for j in 1..=JOBS {
        jobs_tx.send(j).await.expect("workers are alive");
    }
    // Go: `close(jobs)`: the workers' `range` loops end once the queue is drained.
    jobs_tx.close();
    let mut got = Vec::new();
    while let Some(r) = results.recv().await {
        got.push(r);
    }
    got.sort();
    outln!(out, "results: {got:?}");
    outln!(
        out,
        "5 jobs of {work:?} on 3 workers took {:?} (about 2 rounds, not 5)",
        start.elapsed()
    );
    got
}

/// [`run_with`] with jobs of 100 ms.
pub async fn run(out: &Out) -> Vec<u64> {
    run_with(out, Duration::from_millis(100)).await
}
