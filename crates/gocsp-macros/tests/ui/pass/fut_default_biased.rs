//! `fut` cases, `default`, and `biased;`.
#![deny(warnings)]

use std::future::{pending, ready};
use std::pin::pin;

use gocsp::{chan, select};

async fn run() {
    // A future's output is bound; without a binding it is dropped.
    let out = select! { fut(ready(3)) -> v => v };
    assert_eq!(out, 3);
    select! { fut(ready(Err::<(), &str>("dropped"))) => {} }
    // `IntoFuture` values are accepted as well.
    let out = select! { fut(async { 4 }) -> v => v, fut(pending::<u32>()) -> v => v };
    assert_eq!(out, 4);

    // A future kept across selects, polled through `&mut`: a select that another case
    // won leaves it unfinished for the next one.
    let (later_tx, later_rx) = chan::<u32>(1);
    let mut later = pin!(async move { later_rx.recv().await.unwrap() });
    let (tx, rx) = chan::<u32>(1);
    tx.send(1).await.unwrap();
    let first = select! {
        recv(rx) -> v => v.unwrap(),
        fut(&mut later) -> v => v,
    };
    assert_eq!(first, 1);
    later_tx.send(5).await.unwrap();
    let second = select! {
        recv(rx) -> v => v.unwrap(),
        fut(&mut later) -> v => v,
    };
    assert_eq!(second, 5);

    // `default` alone, and `default` when nothing is ready.
    let d = select! { default => 7 };
    assert_eq!(d, 7);
    let d = select! {
        recv(rx) -> _ => 0,
        fut(pending::<()>()) => 0,
        default => 8,
    };
    assert_eq!(d, 8);
    // `default` written first is still only a fallback.
    tx.send(9).await.unwrap();
    let d = select! {
        default => 0,
        recv(rx) -> v => v.unwrap(),
    };
    assert_eq!(d, 9);

    // `biased;` takes the first ready case in written order, every time.
    let (tx2, rx2) = chan::<u32>(100);
    for _ in 0..50 {
        tx.send(1).await.unwrap();
        tx2.send(2).await.unwrap();
        let got = select! {
            biased;
            recv(rx2) -> v => v.unwrap(),
            recv(rx) -> v => v.unwrap(),
        };
        assert_eq!(got, 2);
        assert_eq!(rx.recv().await, Some(1));
    }
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run());
}
