//! Stress: tasks racing `select!`s with mixed send and recv cases over shared channels of
//! capacities 0, 1 and 16, with select futures dropped at random points, and numbered
//! values whose every fate is accounted for: each value built is received exactly once or
//! handed back to its sender exactly once, and dropped exactly once.

use std::pin::pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use futures::future::Either;
use gocsp::{chan, select, Receiver, Sender};
use gocsp_test_support::{Countdown, Rng};

/// Tasks racing over the channels.
const TASKS: usize = 6;
/// Selects per task.
const ROUNDS: usize = 40_000;
/// Upper bound on values built: every select builds at most one.
const MAX_VALUES: usize = TASKS * ROUNDS;

/// Per value id: how often it was received, handed back, and dropped.
struct Ledger {
    next_id: AtomicUsize,
    received: Vec<AtomicU8>,
    returned: Vec<AtomicU8>,
    dropped: Vec<AtomicU8>,
}

impl Ledger {
    fn new() -> Arc<Self> {
        let counters = || (0..MAX_VALUES).map(|_| AtomicU8::new(0)).collect();
        Arc::new(Ledger {
            next_id: AtomicUsize::new(0),
            received: counters(),
            returned: counters(),
            dropped: counters(),
        })
    }

    /// Builds the next numbered value: called only from a send case's value expression,
    /// i.e. only when that case fired.
    fn make(self: &Arc<Self>) -> Value {
        let id = self.next_id.fetch_add(1, SeqCst);
        Value {
            id,
            ledger: self.clone(),
        }
    }
}

/// A numbered value that records its drop.
struct Value {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Value {
    fn drop(&mut self) {
        self.ledger.dropped[self.id].fetch_add(1, SeqCst);
    }
}

/// What one select did.
enum Outcome {
    Received(Option<Value>),
    Sent(Result<(), gocsp::SendError<Value>>),
}

async fn worker(
    seed: u64,
    txs: [Sender<Value>; 3],
    rxs: [Receiver<Value>; 3],
    ledger: Arc<Ledger>,
    closer: bool,
) -> usize {
    let mut rng = Rng::new(seed);
    let mut dropped_selects = 0;
    for round in 0..ROUNDS {
        if closer && round == ROUNDS * 3 / 4 {
            // Three quarters in, the capacity-1 channel closes: sends on it then hand values back,
            // receives drain it and then see `None`.
            txs[1].close();
        }
        // A random subset of one to three cases: each channel as recv, send, or both. Few
        // cases make the select wait often, which is where drops matter.
        let mut mask = 0;
        for _ in 0..=rng.below(3) {
            mask |= 1 << rng.below(6);
        }
        let en = |bit: u64| mask & (1 << bit) != 0;
        let sel = async {
            select! {
                recv(rxs[0]) -> v if en(0) => Outcome::Received(v),
                recv(rxs[1]) -> v if en(1) => Outcome::Received(v),
                recv(rxs[2]) -> v if en(2) => Outcome::Received(v),
                send(txs[0], ledger.make()) -> r if en(3) => Outcome::Sent(r),
                send(txs[1], ledger.make()) -> r if en(4) => Outcome::Sent(r),
                send(txs[2], ledger.make()) -> r if en(5) => Outcome::Sent(r),
            }
        };
        // No select waits unbounded: once the other tasks are done, nobody may ever make
        // this one's cases ready.
        let out = match rng.below(4) {
            0 => tokio::time::timeout(Duration::from_millis(2), sel)
                .await
                .ok(),
            1 => tokio::time::timeout(Duration::from_micros(rng.below(200)), sel)
                .await
                .ok(),
            _ => match futures::future::select(pin!(sel), pin!(Countdown(rng.below(6)))).await {
                Either::Left((out, _)) => Some(out),
                Either::Right(_) => None,
            },
        };
        match out {
            Some(Outcome::Received(Some(v))) => {
                ledger.received[v.id].fetch_add(1, SeqCst);
            }
            Some(Outcome::Received(None)) => {}
            Some(Outcome::Sent(Ok(()))) => {}
            Some(Outcome::Sent(Err(e))) => {
                let v = e.into_inner();
                ledger.returned[v.id].fetch_add(1, SeqCst);
            }
            None => dropped_selects += 1,
        }
    }
    dropped_selects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_selects_with_drops_account_for_every_value() {
    let ledger = Ledger::new();
    let (t0, r0) = chan::<Value>(0);
    let (t1, r1) = chan::<Value>(1);
    let (t16, r16) = chan::<Value>(16);
    let mut handles = Vec::new();
    for k in 0..TASKS {
        let txs = [t0.clone(), t1.clone(), t16.clone()];
        let rxs = [r0.clone(), r1.clone(), r16.clone()];
        handles.push(tokio::spawn(worker(
            k as u64 + 1,
            txs,
            rxs,
            ledger.clone(),
            k == 0,
        )));
    }
    let mut dropped_selects = 0;
    for h in handles {
        dropped_selects += h.await.unwrap();
    }
    assert!(dropped_selects > 0, "no select future was dropped");

    // Drain what is left: buffered values, and on chan(0) a value handed to a receiver
    // whose select was then dropped (it waits for the next receiver).
    for tx in [&t0, &t1, &t16] {
        tx.close();
    }
    for rx in [&r0, &r1, &r16] {
        while let Some(v) = rx.recv().await {
            ledger.received[v.id].fetch_add(1, SeqCst);
        }
    }

    let built = ledger.next_id.load(SeqCst);
    assert!(built > 0);
    let mut received = 0;
    let mut returned = 0;
    for id in 0..built {
        let r = ledger.received[id].load(SeqCst);
        let b = ledger.returned[id].load(SeqCst);
        let d = ledger.dropped[id].load(SeqCst);
        assert_eq!(
            r + b,
            1,
            "value {id}: received {r} times, handed back {b} times"
        );
        assert_eq!(d, 1, "value {id}: dropped {d} times");
        received += usize::from(r);
        returned += usize::from(b);
    }
    eprintln!("{built} values: {received} received, {returned} handed back; {dropped_selects} selects dropped");
    assert!(returned > 0, "no send hit the closed channel");
    assert_eq!(received + returned, built);
}

/// Values per producer in the mixed OS-thread / async test.
const MIXED_VALUES: usize = 5000;

/// Receives on both channels with `select_blocking!` until both are closed and drained.
fn blocking_consumer(rxs: [Receiver<Value>; 2], ledger: Arc<Ledger>) -> usize {
    let [a, b] = rxs;
    let (mut a, mut b) = (Some(a), Some(b));
    let mut n = 0;
    while a.is_some() || b.is_some() {
        let v = gocsp::select_blocking! {
            recv(a.as_ref()) -> v => { if v.is_none() { a = None; } v }
            recv(b.as_ref()) -> v => { if v.is_none() { b = None; } v }
        };
        if let Some(v) = v {
            ledger.received[v.id].fetch_add(1, SeqCst);
            n += 1;
        }
    }
    n
}

/// Sends `MIXED_VALUES` values with `select!`s that are dropped at random points: a value is
/// built only when its case fires, so a dropped select sends nothing.
async fn async_producer(seed: u64, txs: [Sender<Value>; 2], ledger: Arc<Ledger>) -> usize {
    let mut rng = Rng::new(seed);
    let mut sent = 0;
    let mut drops = 0;
    while sent < MIXED_VALUES {
        let sel = async {
            select! {
                send(txs[0], ledger.make()) -> r => r.is_ok(),
                send(txs[1], ledger.make()) -> r => r.is_ok(),
            }
        };
        let out = match futures::future::select(pin!(sel), pin!(Countdown(rng.below(4)))).await {
            Either::Left((ok, _)) => Some(ok),
            Either::Right(_) => None,
        };
        match out {
            Some(ok) => {
                assert!(ok, "send on an open channel failed");
                sent += 1;
            }
            None => drops += 1,
        }
    }
    drops
}

/// Async `select!`s with random drops meet `select_blocking!`s on OS threads, over one
/// unbuffered and one buffered channel: every value built arrives exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_senders_with_drops_meet_blocking_receivers() {
    let ledger = Ledger::new();
    let (t0, r0) = chan::<Value>(0);
    let (t16, r16) = chan::<Value>(16);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let (rxs, ledger) = ([r0.clone(), r16.clone()], ledger.clone());
            std::thread::spawn(move || blocking_consumer(rxs, ledger))
        })
        .collect();
    let producers: Vec<_> = (0..3)
        .map(|k| {
            tokio::spawn(async_producer(
                k + 7,
                [t0.clone(), t16.clone()],
                ledger.clone(),
            ))
        })
        .collect();
    let mut drops = 0;
    for p in producers {
        drops += p.await.unwrap();
    }
    t0.close();
    t16.close();
    let mut received = 0;
    for c in consumers {
        received += c.join().unwrap();
    }
    assert!(drops > 0, "no select future was dropped");
    let built = ledger.next_id.load(SeqCst);
    assert_eq!(built, 3 * MIXED_VALUES, "a dropped select built a value");
    assert_eq!(received, built);
    for id in 0..built {
        assert_eq!(ledger.received[id].load(SeqCst), 1, "value {id}");
        assert_eq!(ledger.dropped[id].load(SeqCst), 1, "value {id}");
    }
}
