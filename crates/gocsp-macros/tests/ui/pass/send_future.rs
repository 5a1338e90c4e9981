//! A `select!` future is `Send` when its channels' values are, so it can run in a spawned
//! task on a multi-threaded runtime (as a goroutine does).
#![deny(warnings)]

use gocsp::{chan, select};

fn assert_send<F: std::future::Future + Send>(f: F) -> F {
    f
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let (tx, rx) = chan::<String>(0);
    let (quit_tx, quit_rx) = chan::<()>(0);
    let receiver = rt.spawn(assert_send(async move {
        let mut got = Vec::new();
        loop {
            select! {
                recv(rx) -> v => got.push(v.unwrap()),
                recv(quit_rx) => return got,
            }
        }
    }));
    // The sender is handed back and kept open, so only `quit_rx` is closed when it stops.
    let _tx = rt.block_on(assert_send(async move {
        for word in ["a", "b"] {
            select! {
                send(tx, word.to_string()) -> res => res.unwrap(),
            }
        }
        quit_tx.close();
        tx
    }));
    assert_eq!(rt.block_on(receiver).unwrap(), ["a", "b"]);
}
