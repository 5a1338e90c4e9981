//! Smoke test: `select!` expands against the engine.
use gocsp::{chan, select};

#[tokio::test]
async fn smoke() {
    let (tx, rx) = chan::<i32>(1);
    let (tx2, rx2) = chan::<i32>(1);
    tx.send(1).await.unwrap();
    let got = select! {
        recv(rx) -> v => v,
        recv(rx2) -> v => v.map(|x| x + 100),
    };
    assert_eq!(got, Some(1));
    let r = select! {
        send(tx2, 5) -> res => res.is_ok(),
        default => false,
    };
    assert!(r);
    assert_eq!(rx2.recv().await, Some(5));
}
