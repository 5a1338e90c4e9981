//! A select's choice is one it could have made at a single instant (it is linearizable), also
//! under `biased;`: while an earlier case is ready the whole time, a `biased` select never fires
//! a later one, even a case on a closed channel, which is always ready.
//!
//! The set-up follows crossbeam-channel's `linearizable` select tests: two `chan(1)`s, and a
//! filler thread that fills `r2` before it drains `r1`, so at every instant one of them holds a
//! value. A `biased` select of `recv(r2)`, `recv(r1)`, `recv(closed)` racing the filler must take
//! `r2` or `r1`. A select that looks at one channel at a time can see `r2` still empty, then `r1`
//! already drained, and fire `closed`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;

use gocsp::{chan, select, select_blocking, Receiver, Select, Selected};

/// Selects per test.
const ROUNDS: usize = 300_000;

/// Which case a select fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fired {
    R2,
    R1,
    Closed,
}

/// Runs `select` `ROUNDS` times while the filler thread moves one value back and forth between
/// `r2` and `r1` (fill `r2`, drain `r1`, fill `r1`, drain `r2`, ...). The filler fills each
/// channel before it drains the other, so it never leaves both empty; the select's own take
/// can, so after each select the value goes back into the channel it came from before the next
/// select starts. At every instant a select runs, `r2` or `r1` holds a value: it must never fire
/// `closed`.
fn race(mut select: impl FnMut(&Receiver<()>, &Receiver<()>, &Receiver<()>) -> Fired) {
    let (tx1, r1) = chan::<()>(1);
    let (tx2, r2) = chan::<()>(1);
    let (closed_tx, closed) = chan::<()>(0);
    drop(closed_tx);
    tx1.try_send(()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let moves = Arc::new(AtomicUsize::new(0));
    let filler = {
        let (stop, moves) = (stop.clone(), moves.clone());
        let (tx1, r1, tx2, r2) = (tx1.clone(), r1.clone(), tx2.clone(), r2.clone());
        thread::spawn(move || {
            while !stop.load(SeqCst) {
                let _ = tx2.try_send(());
                let _ = r1.try_recv();
                let _ = tx1.try_send(());
                let _ = r2.try_recv();
                moves.fetch_add(1, SeqCst);
            }
        })
    };
    while moves.load(SeqCst) == 0 {
        thread::yield_now();
    }
    let mut fired = [0usize; 3];
    for round in 0..ROUNDS {
        let f = select(&r2, &r1, &closed);
        assert_ne!(
            f,
            Fired::Closed,
            "select {round}: fired `closed` while r2 or r1 was ready"
        );
        fired[f as usize] += 1;
        // Put the value back (if the filler has not already refilled that channel).
        let _ = match f {
            Fired::R2 => tx2.try_send(()),
            _ => tx1.try_send(()),
        };
    }
    stop.store(true, SeqCst);
    filler.join().unwrap();
    assert_eq!(fired[0] + fired[1], ROUNDS, "{fired:?}");
}

#[test]
fn biased_select_blocking_never_fires_a_later_case_while_an_earlier_is_ready() {
    race(|r2, r1, closed| {
        select_blocking! {
            biased;
            recv(r2) -> _v => Fired::R2,
            recv(r1) -> _v => Fired::R1,
            recv(closed) -> _v => Fired::Closed,
        }
    });
}

#[test]
fn biased_dynamic_select_never_fires_a_later_case_while_an_earlier_is_ready() {
    race(|r2, r1, closed| {
        let mut sel = Select::<()>::new();
        sel.biased();
        let (i2, i1) = (sel.recv(r2), sel.recv(r1));
        sel.recv(closed);
        match sel.wait_blocking() {
            Selected::Recv { index, .. } if index == i2 => Fired::R2,
            Selected::Recv { index, .. } if index == i1 => Fired::R1,
            _ => Fired::Closed,
        }
    });
}

/// A boxed select future over the three receivers.
type SelectFut<'a> = Pin<Box<dyn Future<Output = Fired> + 'a>>;

/// [`race`] with an async select, each one run to completion on a current-thread runtime.
fn race_async(
    select: impl for<'a> Fn(&'a Receiver<()>, &'a Receiver<()>, &'a Receiver<()>) -> SelectFut<'a>,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    race(|r2, r1, closed| rt.block_on(select(r2, r1, closed)));
}

#[test]
fn biased_async_select_never_fires_a_later_case_while_an_earlier_is_ready() {
    race_async(|r2, r1, closed| {
        Box::pin(async move {
            select! {
                biased;
                recv(r2) -> _v => Fired::R2,
                recv(r1) -> _v => Fired::R1,
                recv(closed) -> _v => Fired::Closed,
            }
        })
    });
}

/// With a `fut` case the select walks its cases in written order, polling the future and
/// looking at each channel under its own lock; a channel case after one it found not ready must
/// still be chosen as at one instant.
#[test]
fn biased_select_with_a_future_never_fires_a_later_case_while_an_earlier_is_ready() {
    race_async(|r2, r1, closed| {
        Box::pin(async move {
            select! {
                biased;
                recv(r2) -> _v => Fired::R2,
                fut(std::future::pending::<()>()) -> _x => unreachable!(),
                recv(r1) -> _v => Fired::R1,
                recv(closed) -> _v => Fired::Closed,
            }
        })
    });
}
