//! `select_blocking!` on OS threads, and `select! {}` / `select_blocking! {}` waiting forever
//! with the type `!`.
#![deny(warnings)]

use std::time::Duration;

use gocsp::{chan, select, select_blocking};

/// `select_blocking! {}` never returns, so it can end a function of any return type.
#[allow(dead_code)]
fn never_returns() -> String {
    select_blocking! {}
}

async fn forever() -> u32 {
    select! {}
}

fn main() {
    let (tx, rx) = chan::<u32>(0);
    let (done_tx, done_rx) = chan::<()>(0);
    let sender = std::thread::spawn(move || {
        for v in 0..3 {
            tx.send_blocking(v).unwrap();
        }
        done_tx.close();
        tx // kept open until joined, so only `done_rx` is closed while the loop runs
    });
    let mut got = Vec::new();
    loop {
        select_blocking! {
            recv(rx) -> v => got.push(v.unwrap()),
            recv(done_rx) => break,
        }
    }
    sender.join().unwrap();
    assert_eq!(got, [0, 1, 2]);

    // `select! {}` is pending forever: a timeout (in paused time) is the only way out.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let waited = rt.block_on(async { tokio::time::timeout(Duration::from_secs(3600), forever()).await });
    assert!(waited.is_err());
}
