//! The transaction pipeline as separate processes: authentication → balance check → transfer,
//! each stage a process, connected by JetStream channels (`gocsp::nats::jetstream`). The
//! coordinating process keeps the ledger and the audit, kills the transfer stage with SIGKILL
//! mid-run, restarts it, and checks that the audit still balances.
//!
//! Run it: `cargo run --example distributed_transactions` (needs `nats-server` in PATH:
//! `apt-get install -y nats-server`; it starts one on a free loopback port, or uses `NATS_URL`)
//!
//! Prints the stage processes, the kill, how many of 5,000 transactions were approved and
//! rejected (by reason), the money before and after (unchanged), the redeliveries the kill
//! caused, and `audit PASSED`.
//!
//! The logic is in `examples/src/distributed_transactions.rs`, shared with
//! `examples/tests/distributed.rs`. The process re-executes itself as `<exe> stage <name> <url>
//! <accounts>` for each stage.
#![forbid(unsafe_code)]

use gocsp_examples::distributed_transactions::{run_with, stage_main, Settings};
use gocsp_examples::Out;

#[gocsp::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("stage") {
        return stage_main(&args[1..]).await;
    }
    let server;
    let url = match std::env::var("NATS_URL") {
        Ok(url) => url,
        Err(_) => {
            server = gocsp::nats::server::NatsServer::start().unwrap_or_else(|e| {
                eprintln!("{e}");
                std::process::exit(1)
            });
            server.url()
        }
    };
    let exe = std::env::current_exe().expect("the path of this program");
    let launch = |args: &[String]| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.arg("stage").args(args);
        cmd
    };
    let audit = run_with(&Out::stdout(), &url, &launch, &Settings::default()).await;
    if !audit.holds() {
        std::process::exit(1);
    }
}
