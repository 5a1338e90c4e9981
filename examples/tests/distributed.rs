//! `distributed_transactions` with real processes: the coordinator runs in this test, each
//! stage in a child process (this test binary again, running `stage_process`), against a real
//! `nats-server`. The transfer stage is killed with SIGKILL mid-run and restarted; the audit
//! must still balance, with every transaction accounted for exactly once.

use std::time::Duration;

use gocsp_examples::distributed_transactions::{run_with, stage_main, Settings};
use gocsp_examples::Out;

/// A stage process when `GOCSP_TXN_STAGE` holds its arguments; otherwise nothing.
#[test]
fn stage_process() {
    let Ok(args) = std::env::var("GOCSP_TXN_STAGE") else {
        return;
    };
    let args: Vec<String> = args.split_whitespace().map(String::from).collect();
    gocsp::run(stage_main(&args));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_killed_mid_run_leaves_the_audit_balanced() {
    let server = gocsp::nats::server::NatsServer::start()
        .unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
    let exe = std::env::current_exe().expect("test binary path");
    let launch = |args: &[String]| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args([
            "stage_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("GOCSP_TXN_STAGE", args.join(" "));
        cmd
    };
    let settings = Settings {
        transactions: 1_000,
        kill_after: 300,
        limit: Duration::from_secs(90),
        ..Settings::default()
    };
    let out = Out::capture();
    let audit = run_with(&out, &server.url(), &launch, &settings).await;
    assert!(audit.holds(), "{audit:?}\n{}", out.lines().join("\n"));
    assert_eq!(audit.killed.as_deref(), Some("transfer"));
    assert_eq!(audit.accounted, 1_000);
    assert_eq!(
        audit.duplicate_results, 0,
        "message ids de-duplicate re-processed outputs"
    );
    assert!(out.contains("audit PASSED"));
}
