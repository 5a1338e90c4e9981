//! A financial-transaction server in Go's style: authentication → balance check → transfer stages
//! connected by channels, balances owned by one ledger goroutine ("share memory by communicating").
//!
//! Run it: `cargo run --example transactions`
//!
//! Prints how many of 5,000 transactions were approved and rejected (by reason), the total money
//! before and after (unchanged), and `audit PASSED`.
//!
//! The logic is in `examples/src/transactions.rs`, shared with `examples/tests/examples.rs`.
#![forbid(unsafe_code)]

#[gocsp::main]
async fn main() {
    gocsp_examples::transactions::run(&gocsp_examples::Out::stdout()).await;
}
