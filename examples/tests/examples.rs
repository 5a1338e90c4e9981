//! Runs the logic of every quick example (the same code `cargo run --example <name>` runs) and
//! checks what it prints, so that no example rots. `web_server` has its own test file.

use std::time::Duration;

use gocsp_examples::transactions::{self, secret, Reason, Transaction};
use gocsp_examples::{
    concurrency_vs_parallelism, fan_in_fan_out, hello_goroutine, pipeline, prime_sieve, rate_limit,
    sleep_is_not_sync, timeouts, worker_pool, Out,
};

/// The first `n` primes by trial division: an oracle independent of the sieve.
fn primes_by_trial_division(n: usize) -> Vec<u64> {
    (2u64..)
        .filter(|&k| (2..k).take_while(|d| d * d <= k).all(|d| k % d != 0))
        .take(n)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_goroutine_prints_every_greeting() {
    let out = Out::capture();
    let greetings = hello_goroutine::run(&out).await;
    assert!(out.contains("Hello from main function"));
    assert!(out.contains("Hello from goroutine"));
    assert_eq!(greetings.len(), 5);
    let mut ids: Vec<&str> = greetings
        .iter()
        .map(|g| g.rsplit(' ').next().unwrap())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "five different goroutine ids: {greetings:?}");
    for (i, g) in greetings.iter().enumerate() {
        assert!(
            g.starts_with(&format!("hello from greeter-{}", i + 1)),
            "{g}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sleep_is_not_sync_wait_group_never_loses_output() {
    let out = Out::capture();
    let (slept, waited, went) = sleep_is_not_sync::run(&out).await;
    assert!(slept <= 10);
    assert_eq!((waited, went), (10, 10));
    for round in 0..50 {
        let seen = sleep_is_not_sync::with_wait_group(&Out::capture(), 10).await;
        assert_eq!(
            seen, 10,
            "round {round}: wg.wait() returned before every goroutine printed"
        );
        let seen = sleep_is_not_sync::with_wait_group_go(&Out::capture(), 10).await;
        assert_eq!(seen, 10, "round {round}: wg.go + wg.wait() lost output");
    }
}

#[test]
fn concurrency_vs_parallelism_interleaves_and_computes_the_same_on_any_worker_count() {
    let out = Out::capture();
    let report = concurrency_vs_parallelism::run_with(&out, 2, 20_000);
    let a: Vec<&String> = report
        .interleaved
        .iter()
        .filter(|l| l.starts_with("Task A"))
        .collect();
    let b: Vec<&String> = report
        .interleaved
        .iter()
        .filter(|l| l.starts_with("Task B"))
        .collect();
    assert_eq!(a, ["Task A: 1", "Task A: 2", "Task A: 3"]);
    assert_eq!(b, ["Task B: 1", "Task B: 2", "Task B: 3"]);
    assert_eq!(report.checksum, 2262, "there are 2262 primes below 20000");
    assert_eq!(report.workers, 2);
    assert!(out.lines().iter().any(|l| l.starts_with("speed-up: ")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_pool_doubles_every_job() {
    let out = Out::capture();
    let results = worker_pool::run_with(&out, Duration::from_millis(5)).await;
    assert_eq!(results, [2, 4, 6, 8, 10]);
    for j in 1..=5 {
        let started = format!("started  job {j}");
        assert_eq!(
            out.lines().iter().filter(|l| l.ends_with(&started)).count(),
            1
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipeline_squares_and_stops_on_cancel() {
    let out = Out::capture();
    let report = pipeline::run_with(&out, 5).await;
    assert_eq!(report.squares, [1, 4, 9, 16, 25]);
    assert_eq!(report.taken, [1, 16, 81, 256, 625]);
    assert_eq!(report.reason, "context canceled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_in_fan_out_loses_nothing() {
    let out = Out::capture();
    let report = fan_in_fan_out::run_with(&out, 100, 4).await;
    assert_eq!(report.sum, 338_350);
    assert_eq!(report.per_worker.len(), 4);
    assert_eq!(report.per_worker.iter().sum::<usize>(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prime_sieve_finds_the_first_100_primes() {
    let out = Out::capture();
    let found = prime_sieve::run(&out).await;
    assert_eq!(found, primes_by_trial_division(100));
    assert_eq!(found.last(), Some(&541));
    assert_eq!(out.lines().len(), 10);
    // Dropping the last channel unwinds the chain: every filter and the generator return.
    // (Names are unique to this example; other tests run alongside in this process.)
    let sieve_alive = || {
        gocsp::dump()
            .goroutines()
            .iter()
            .filter(|g| {
                g.name
                    .as_deref()
                    .is_some_and(|n| n == "generate" || n.starts_with("filter-"))
            })
            .count()
    };
    let start = std::time::Instant::now();
    while sieve_alive() > 0 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(sieve_alive(), 0, "{}", gocsp::dump());
    // Dropping the last channel unwinds the chain: every filter and the generator return.
    // (Names are unique to this example; other tests run alongside in this process.)
    let sieve_alive = || {
        gocsp::dump()
            .goroutines()
            .iter()
            .filter(|g| {
                g.name
                    .as_deref()
                    .is_some_and(|n| n == "generate" || n.starts_with("filter-"))
            })
            .count()
    };
    let start = std::time::Instant::now();
    while sieve_alive() > 0 && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(sieve_alive(), 0, "{}", gocsp::dump());
}

/// In a synctest bubble: the seconds-long timeouts take no real time, and none is skipped.
#[gocsp::test(synctest)]
async fn timeouts_print_what_go_by_example_prints() {
    let out = Out::capture();
    let lines = timeouts::run(&out).await;
    assert_eq!(
        lines,
        [
            "timeout 1",
            "result 2",
            "no message received",
            "no message sent",
            "received hi",
            "work stopped: context deadline exceeded",
        ]
    );
}

/// In a synctest bubble: every request lands exactly on its tick.
#[gocsp::test(synctest)]
async fn rate_limit_spaces_requests_by_the_tick() {
    let every = Duration::from_millis(200);
    let report = rate_limit::run(&Out::capture()).await;
    assert_eq!(report.steady.len(), 5);
    for (i, at) in report.steady.iter().enumerate() {
        let due = every * (i as u32 + 1);
        assert!(
            *at >= due && *at < due + every / 2,
            "steady request {i} at {at:?}"
        );
    }
    assert_eq!(report.bursty.len(), 5);
    for at in &report.bursty[..3] {
        assert!(*at < every / 2, "the first three are a burst: {at:?}");
    }
    for (i, at) in report.bursty[3..].iter().enumerate() {
        let due = every * (i as u32 + 1);
        assert!(
            *at >= due && *at < due + every / 2,
            "bursty request {} at {at:?}",
            i + 3
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_audit_holds() {
    let out = Out::capture();
    let audit = transactions::run(&out).await;
    assert!(audit.holds(), "{audit:?}");
    assert_eq!(audit.submitted, 5_000);
    assert!(audit.approved > 0);
    // The generated load exercises every reason but the race (which depends on timing).
    for reason in [
        Reason::BadToken,
        Reason::UnknownAccount,
        Reason::InvalidAmount,
        Reason::SameAccount,
        Reason::InsufficientFunds,
    ] {
        assert!(
            audit.rejected.get(&reason).copied().unwrap_or(0) > 0,
            "{reason:?}: {audit:?}"
        );
    }
    assert!(out.contains("audit PASSED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_racing_for_one_balance_never_overdraw() {
    // Account 1 holds 100; twenty concurrent transfers of 30 each: exactly three can pass.
    let txs: Vec<Transaction> = (1..=20)
        .map(|id| Transaction {
            id,
            from: 1,
            to: 2,
            amount: 30,
            token: secret(1),
        })
        .collect();
    let audit = transactions::run_with(&Out::capture(), txs, 2, 100, 20).await;
    assert!(audit.holds(), "{audit:?}");
    assert_eq!(audit.approved, 3);
    let rejected: usize = audit.rejected.values().sum();
    assert_eq!(rejected, 17);
    assert!(audit.rejected.keys().all(|r| matches!(
        r,
        Reason::InsufficientFunds | Reason::InsufficientFundsAtTransfer
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_parallelism_respects_the_limit_and_stops_at_the_first_error() {
    use gocsp_examples::bounded_parallelism::{self, checksum};
    let (ok, failed) =
        bounded_parallelism::run_with(&Out::capture(), Duration::from_millis(5)).await;
    assert_eq!(ok.error, None);
    assert_eq!(ok.sums.len(), 20);
    assert!(ok.peak >= 1 && ok.peak <= 3, "peak {}", ok.peak);
    assert!(ok
        .sums
        .iter()
        .all(|&(i, s)| s
            == checksum(format!("file {i}: {}", "gopher ".repeat(i % 7 + 1)).as_bytes())));
    assert_eq!(failed.error.as_deref(), Some("file 7: checksum mismatch"));
    assert!(failed.peak <= 3);
    assert!(failed.sums.iter().all(|&(i, _)| i != 7));
    // Files start in order, three at a time: file 7 fails in the third wave at the latest, so
    // the files queued behind it are cancelled before they are read.
    assert!(
        failed.sums.len() < 19,
        "{} files checksummed",
        failed.sums.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tour_shows_every_step() {
    let lines = gocsp_examples::tour::run(&Out::capture(), None).await;
    let text = lines.join("\n");
    for step in 1..=9 {
        assert!(
            text.contains(&format!("== {step}. ")),
            "step {step} missing:\n{text}"
        );
    }
    for expected in [
        "returned 42",
        "received Some(\"ping\")",
        "try_send(4) on the full channel: Full",
        "for v in ch: [1, 2, 3, 4, 5], then the loop ended",
        "send on a closed channel: Err(\"send on closed channel\")",
        "select with default: nothing ready, default ran at once",
        "select with time.After(30ms): timed out",
        "after wg.wait(): total = 55",
        "worker 1 stopped: context canceled",
        "with_timeout(20ms): done with \"context deadline exceeded\"",
        "g.wait(): Err(\"GET /broken: 500 Internal Server Error\")",
        "blocked-receiver-1",
        "blocked-in-select",
        "end of the tour",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn the_tour_prints_the_profile_table_when_the_layer_is_installed() {
    use tracing_subscriber::prelude::*;
    // A thread-local subscriber and a current-thread runtime: every goroutine of the tour is
    // polled on this thread, so the layer sees them all without a global subscriber.
    let (layer, guard) = gocsp::trace::profile();
    let out = Out::capture();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(gocsp_examples::tour::run(&out, Some(&guard)));
    });
    let profile = guard.finish();
    let workers = profile.group("ctx-worker-1").expect("a ctx-worker-1 row");
    assert_eq!(workers.spawned, 1);
    assert_eq!(profile.group("adder").expect("an adder row").spawned, 11);
    let text = out.lines().join("\n");
    assert!(text.contains("== 10. the profile table"), "{text}");
    assert!(text.contains("gocsp profile (per goroutine name"), "{text}");
    assert!(text.contains("top blocking sites:"), "{text}");
}

/// The tour's timer sections (`select` with `time.After`, `with_timeout`, the ticker) in a
/// synctest bubble: the same output, on the virtual clock.
#[gocsp::test(synctest)]
async fn the_tour_runs_in_a_synctest_bubble() {
    let real = std::time::Instant::now();
    let lines = gocsp_examples::tour::run(&Out::capture(), None).await;
    let text = lines.join("\n");
    for expected in [
        "select with time.After(30ms): timed out",
        "with_timeout(20ms): done with \"context deadline exceeded\"",
        "end of the tour",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "{:?}",
        real.elapsed()
    );
}
