//! `go printMessage()`: starting goroutines, and waiting for them.

use gocsp::{chan, current_id, go};

use crate::{outln, Out};

async fn print_message(out: Out) {
    outln!(out, "Hello from goroutine");
}

/// Starts one goroutine and waits for it through its handle, then five goroutines that each
/// send a greeting (with their goroutine id) back to `main` over an unbuffered channel.
/// Returns the greetings, sorted.
pub async fn run(out: &Out) -> Vec<String> {
    // Go: `go printMessage()`. The handle is how Rust lets main wait for exactly this one.
    let h = go!(name = "printMessage", print_message(out.clone()));
    outln!(out, "Hello from main function");
    h.await.expect("printMessage does not panic");

    let (tx, rx) = chan::<String>(0);
    for i in 1..=5 {
        let tx = tx.clone();
        go!(name = format!("greeter-{i}"), async move {
            let id = current_id().expect("inside a goroutine");
            let _ = tx
                .send(format!("hello from greeter-{i} (goroutine id {id})"))
                .await;
        });
    }
    // The loop's clones are the only senders left: the channel closes when the last greeter
    // is done, which ends the `while let` (Go: `for msg := range ch` after a `close`).
    drop(tx);
    let mut greetings = Vec::new();
    while let Some(g) = rx.recv().await {
        greetings.push(g);
    }
    greetings.sort();
    for g in &greetings {
        outln!(out, "{g}");
    }
    greetings
}
