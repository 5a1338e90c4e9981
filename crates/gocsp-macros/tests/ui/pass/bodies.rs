//! Bodies are ordinary code of the enclosing function: they may `.await`, use `?`,
//! `return`, `break` and `continue`, and nest another `select!`. The select is an expression.
#![deny(warnings)]

use gocsp::{chan, select, Receiver};

async fn first_even(rx: &Receiver<u32>) -> Result<u32, String> {
    loop {
        let v: u32 = select! {
            recv(rx) -> v => v.ok_or_else(|| "closed".to_string())?,
        };
        if v % 2 == 1 {
            continue;
        }
        return Ok(v);
    }
}

async fn run() {
    let (tx, rx) = chan::<u32>(8);
    for v in [1, 3, 4] {
        tx.send(v).await.unwrap();
    }
    assert_eq!(first_even(&rx).await, Ok(4));
    drop(tx);
    assert_eq!(first_even(&rx).await, Err("closed".to_string()));

    // A body that awaits, and a select nested in a body.
    let (tx, rx) = chan::<u32>(1);
    let (tx2, rx2) = chan::<u32>(1);
    tx.send(1).await.unwrap();
    let sum = select! {
        recv(rx) -> v => {
            tx2.send(v.unwrap() + 1).await.unwrap();
            select! {
                recv(rx2) -> w => v.unwrap() + w.unwrap(),
            }
        }
    };
    assert_eq!(sum, 3);

    // Labelled break out of a loop from a body.
    let mut n = 0;
    'outer: loop {
        n += 1;
        select! {
            default => if n == 3 { break 'outer } else { continue 'outer }
        }
    }
    assert_eq!(n, 3);
}

fn main() {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(run());
}
