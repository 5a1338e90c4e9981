//! Guards, Go's nil channels (`None`), and bodies that reassign the variable holding their
//! channel (Go's `c = nil` idiom): the case borrows end before the body runs.
#![deny(warnings)]

use std::cell::Cell;

use gocsp::{chan, select, Receiver, Sender};

async fn run() {
    let (tx, rx) = chan::<u32>(8);
    tx.send(1).await.unwrap();

    // A false guard disables the case, and its channel expression is not evaluated.
    let evaluated = Cell::new(false);
    let touch = |rx: &Receiver<u32>| -> Receiver<u32> {
        evaluated.set(true);
        rx.clone()
    };
    let enabled = false;
    let got = select! {
        recv(touch(&rx)) -> v if enabled => v,
        default => None,
    };
    assert_eq!(got, None);
    assert!(!evaluated.get());
    let got = select! {
        recv(touch(&rx)) -> v if !enabled => v,
        default => None,
    };
    assert_eq!(got, Some(1));
    assert!(evaluated.get());

    // Guards on send and fut cases.
    let got = select! {
        send(tx, 2) -> _ if enabled => "send",
        fut(async { "fut" }) -> v if enabled => v,
        default => "default",
    };
    assert_eq!(got, "default");
    assert!(rx.is_empty());

    // A nil receiver and a nil sender never fire.
    let nil_rx: Option<&Receiver<u32>> = None;
    let nil_tx: Option<&Sender<u32>> = None;
    let got = select! {
        recv(nil_rx) -> _ => "recv",
        send(nil_tx, 3) -> _ => "send",
        default => "default",
    };
    assert_eq!(got, "default");

    // Reassigning the channel variable inside the body, for each slot of an array.
    let (a_tx, a_rx) = chan::<u32>(1);
    let (b_tx, b_rx) = chan::<u32>(1);
    let mut senders: [Option<Sender<u32>>; 2] = [Some(a_tx), Some(b_tx)];
    let mut sent = 0;
    while senders.iter().any(Option::is_some) {
        select! {
            send(senders[0].as_ref(), 10) -> res => { res.unwrap(); senders[0] = None; sent += 1; }
            send(senders[1].as_ref(), 20) -> res => { res.unwrap(); senders[1] = None; sent += 1; }
        }
    }
    assert_eq!(sent, 2);
    assert_eq!(a_rx.recv().await, Some(10));
    assert_eq!(b_rx.recv().await, Some(20));

    // Disabling a drained, closed receiver by assigning `None`, then leaving by `default`.
    let (tx, rx) = chan::<u32>(2);
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    drop(tx);
    let mut rx = Some(rx);
    let mut seen = Vec::new();
    loop {
        select! {
            recv(rx.as_ref()) -> v => match v {
                Some(v) => seen.push(v),
                None => rx = None,
            },
            default => break,
        }
    }
    assert_eq!(seen, [1, 2]);

    // Replacing a named channel by a fresh one in the body.
    let (tx, mut rx) = chan::<u32>(1);
    tx.send(1).await.unwrap();
    select! {
        recv(rx) -> v => { assert_eq!(v, Some(1)); rx = chan::<u32>(1).1; }
    }
    assert!(rx.is_empty());
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run());
}
