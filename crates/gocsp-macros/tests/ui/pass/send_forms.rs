//! `send` cases: the value expression runs only for the chosen case, a closed channel hands
//! the value back in `Err`, and `-> _` drops the result.
#![deny(warnings)]

use std::cell::Cell;

use gocsp::{chan, select, SendError, Sender};

async fn run() {
    let built = Cell::new(0);
    let make = |v: u32| {
        built.set(built.get() + 1);
        v
    };

    let (full_tx, full_rx) = chan::<u32>(1);
    full_tx.send(0).await.unwrap();
    let (tx, rx) = chan::<u32>(1);

    // Only the ready case's value is built.
    let which = select! {
        send(full_tx, make(1)) -> res => { res.unwrap(); "full" }
        send(tx, make(2)) -> res => { res.unwrap(); "room" }
    };
    assert_eq!(which, "room");
    assert_eq!(built.get(), 1);
    assert_eq!(rx.recv().await, Some(2));

    // `default` fires: no value is built at all.
    select! {
        send(full_tx, make(3)) -> _ => unreachable!("the buffer is full"),
        default => {}
    }
    assert_eq!(built.get(), 1);
    assert_eq!(full_rx.recv().await, Some(0));

    // A reference, an `Option<&Sender>`, an `Option<Sender>`.
    select! { send(&tx, 4) -> res => res.unwrap() }
    assert_eq!(rx.recv().await, Some(4));
    select! { send(Some(&tx), 5) -> res => res.unwrap() }
    assert_eq!(rx.recv().await, Some(5));
    let owned: Option<Sender<u32>> = Some(tx.clone());
    select! { send(owned, 6) -> res => res.unwrap() }
    assert_eq!(rx.recv().await, Some(6));

    // A closed channel is ready, and gives the value back.
    drop(rx);
    let back = select! {
        send(tx, String::from("kept").len() as u32) -> res => res,
    };
    let SendError(value) = back.unwrap_err();
    assert_eq!(value, 4);
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run());
}
