//! `#[gocsp::main]` on `async fn main()`, with `?` in a `Result`-returning body.
#![deny(warnings)]

use gocsp::{chan, select};

#[derive(Debug)]
struct Closed;

#[gocsp::main]
async fn main() -> Result<(), Closed> {
    let (tx, rx) = chan::<u32>(1);
    tx.send(1).await.map_err(|_| Closed)?;
    let v = select! {
        recv(rx) -> v => v.ok_or(Closed)?,
    };
    assert_eq!(v, 1);
    Ok(())
}
