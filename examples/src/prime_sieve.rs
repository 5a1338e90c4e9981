//! Go's concurrent prime sieve (`doc/play/sieve.go`): a chain of filter goroutines connected by
//! unbuffered channels, one per prime found.

use gocsp::{chan, go, Receiver, Sender};

use crate::{outln, Out};

/// Sends 2, 3, 4, ... to `ch` until nobody listens any more.
async fn generate(ch: Sender<u64>) {
    let mut i = 2;
    while ch.send(i).await.is_ok() {
        i += 1;
    }
}

/// Copies the values from `input` that are not divisible by `prime` to `output`.
async fn filter(input: Receiver<u64>, output: Sender<u64>, prime: u64) {
    while let Some(i) = input.recv().await {
        if i % prime != 0 && output.send(i).await.is_err() {
            // Downstream is gone: return, which drops `input` and so stops the stage above
            // (Go's program simply exits; here the chain unwinds and no goroutine leaks).
            return;
        }
    }
}

/// The first `n` primes, found by a chain of `n` filter goroutines.
pub async fn primes(n: usize) -> Vec<u64> {
    let (tx, mut ch) = chan::<u64>(0);
    go!(name = "generate", generate(tx));
    let mut found = Vec::with_capacity(n);
    for _ in 0..n {
        let prime = ch.recv().await.expect("the sieve never ends");
        found.push(prime);
        let (tx1, ch1) = chan::<u64>(0);
        go!(name = format!("filter-{prime}"), filter(ch, tx1, prime));
        ch = ch1;
    }
    found
}

/// Prints the first 100 primes, ten to a line.
pub async fn run(out: &Out) -> Vec<u64> {
    let found = primes(100).await;
    for row in found.chunks(10) {
        let row: Vec<String> = row.iter().map(|p| format!("{p:>3}")).collect();
        outln!(out, "{}", row.join(" "));
    }
    found
}
