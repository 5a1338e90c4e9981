//! `#[gocsp::main(worker_threads = N, crate = path)]`: the runtime is built with that many
//! workers, through the facade found at `path` (here a module re-exporting it).
#![deny(warnings)]

mod facade {
    pub use gocsp::*;
}

#[gocsp::main(worker_threads = 2, crate = facade)]
async fn main() {
    let (tx, rx) = gocsp::chan::<&str>(0);
    let sender = tokio::spawn(async move { tx.send("hi").await.unwrap() });
    assert_eq!(rx.recv().await, Some("hi"));
    sender.await.unwrap();
}
