//! `recv` accepts every channel shape the docs promise, binds `Option<T>` (or nothing), and
//! borrows a named receiver instead of moving it.
#![deny(warnings)]

use gocsp::{chan, select, Receiver};

fn make(v: u32) -> Receiver<u32> {
    let (tx, rx) = chan(1);
    tx.try_send(v).unwrap();
    rx
}

async fn run() {
    let (tx, rx) = chan::<u32>(4);
    for v in 0..4 {
        tx.send(v).await.unwrap();
    }

    // A named receiver: borrowed, still usable afterwards.
    let got = select! { recv(rx) -> v => v };
    assert_eq!(got, Some(0));
    // A reference, a mutable reference.
    let got = select! { recv(&rx) -> v => v };
    assert_eq!(got, Some(1));
    let mut rx_mut = rx.clone();
    let got = select! { recv(&mut rx_mut) -> v => v };
    assert_eq!(got, Some(2));
    // `Option<&Receiver>` and `Option<Receiver>`.
    let got = select! { recv(Some(&rx)) -> v => v };
    assert_eq!(got, Some(3));
    let owned: Option<Receiver<u32>> = Some(make(4));
    let got = select! { recv(owned) -> v => v };
    assert_eq!(got, Some(4));
    // A temporary made by a function call lives until the select has chosen.
    let got = select! { recv(make(5)) -> v => v };
    assert_eq!(got, Some(5));
    // A method call on a named channel.
    tx.send(6).await.unwrap();
    let got = select! { recv(rx.clone()) -> v => v };
    assert_eq!(got, Some(6));

    // No binding: the value is taken and dropped.
    tx.send(7).await.unwrap();
    select! { recv(rx) => {} }
    assert!(rx.is_empty());

    // A pattern binding.
    tx.send(8).await.unwrap();
    let doubled = select! { recv(rx) -> mut v => { v = v.map(|v| v * 2); v } };
    assert_eq!(doubled, Some(16));

    // Closed and drained: `None`.
    drop(tx);
    assert_eq!(select! { recv(rx) -> v => v }, None);
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run());
}
