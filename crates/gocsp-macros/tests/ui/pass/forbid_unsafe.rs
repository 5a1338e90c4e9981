//! Every case form expands to safe code: a crate with `#![forbid(unsafe_code)]` (and all
//! warnings denied) can use `select!` and `select_blocking!`.
#![forbid(unsafe_code)]
#![deny(warnings)]

use gocsp::{chan, select, select_blocking};

async fn all_forms() -> u32 {
    let (tx, rx) = chan::<u32>(1);
    let (tx2, rx2) = chan::<u32>(1);
    let ready = true;
    tx2.send(2).await.unwrap();
    select! {
        biased;
        recv(rx) -> v => v.unwrap_or(0),
        recv(rx2) -> v if ready => v.unwrap_or(0),
        send(tx, 1) -> res => { res.unwrap(); 1 }
        send(tx2.clone(), 3) -> _ if !ready => 3,
        fut(std::future::pending::<u32>()) -> out => out,
        fut(std::future::pending::<()>()) => 5,
        default => 6,
    }
}

fn blocking() -> Option<u32> {
    let (tx, rx) = chan::<u32>(1);
    tx.send_blocking(9).unwrap();
    select_blocking! {
        recv(rx) -> v => v,
        send(tx, 10) -> _ => None,
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    assert_eq!(rt.block_on(all_forms()), 2);
    assert_eq!(blocking(), Some(9));
}
