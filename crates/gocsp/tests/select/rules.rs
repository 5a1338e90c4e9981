//! The rules of `select!` (and `select_blocking!`), one test per rule:
//!
//! - Exactly one case fires per select; every other case takes and sends nothing.
//! - The choice among ready cases is uniformly random, also among cases that become ready
//!   together while the select waits; with `biased;` the cases are tried in written order,
//!   `fut` cases included.
//! - A send case's value expression is evaluated only when that case is chosen.
//! - `default` fires only when no case is ready at the call; a parked peer, a parked select
//!   included, makes a case ready. A loop of selects that keep taking `default` still lets the
//!   other tasks run.
//! - A `None` channel (Go's nil channel) is never ready, and a case whose guard is false is
//!   disabled without its channel or value being evaluated; a select of only such cases, like
//!   `select! {}`, waits forever.
//! - A closed channel is always ready: a receive gets `None`, a send gets its value back in
//!   `Err`; closing a channel wakes a select parked on it.
//! - A `fut(..)` case takes any future and binds its output; without `biased;` it shares
//!   fairly with channel cases.
//! - Any number of cases works (1, 2, 8, 64), one channel may appear in several cases, and a
//!   body may reassign the variable that held its channel.
//! - `select_blocking!` keeps the same rules on OS threads.
//! - Two selects meeting on an unbuffered channel hand a value over exactly once, and a select
//!   future dropped at any point loses no value.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use gocsp::{chan, select, select_blocking, Receiver, SendError, Sender};
use gocsp_test_support::{flag_pending, until, Countdown, Rng};

/// Exactly one case fires: with every case ready, each select takes one value from one
/// channel (or sends one), and every other channel is untouched.
#[tokio::test]
async fn exactly_one_case_fires() {
    let (tx1, rx1) = chan::<u32>(1000);
    let (tx2, rx2) = chan::<u32>(1000);
    let (tx3, rx3) = chan::<u32>(1000);
    for i in 0..1000 {
        tx1.try_send(i).unwrap();
        tx2.try_send(i).unwrap();
    }
    let mut fired = [0usize; 3];
    for i in 0..1000 {
        let before = (rx1.len(), rx2.len(), rx3.len());
        let case = select! {
            recv(rx1) -> v => { assert!(v.is_some()); 0 }
            recv(rx2) -> v => { assert!(v.is_some()); 1 }
            send(tx3, i) -> r => { r.unwrap(); 2 }
        };
        fired[case] += 1;
        let after = (rx1.len(), rx2.len(), rx3.len());
        let moved = (before.0 - after.0) + (before.1 - after.1) + (after.2 - before.2);
        assert_eq!(moved, 1, "select {i}: {before:?} -> {after:?}");
    }
    assert_eq!(fired.iter().sum::<usize>(), 1000);
    assert_eq!(rx1.len(), 1000 - fired[0]);
    assert_eq!(rx2.len(), 1000 - fired[1]);
    assert_eq!(rx3.len(), fired[2]);
}

/// Uniform random choice: two always-ready cases over 100,000 selects each fire 45–55%.
#[tokio::test]
async fn random_choice_is_uniform() {
    let (tx1, rx1) = chan::<u8>(1);
    let (tx2, rx2) = chan::<u8>(1);
    tx1.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    const N: usize = 100_000;
    let mut first = 0;
    for _ in 0..N {
        select! {
            recv(rx1) -> v => { first += 1; tx1.try_send(v.unwrap()).unwrap(); }
            recv(rx2) -> v => { tx2.try_send(v.unwrap()).unwrap(); }
        }
    }
    let pct = first * 100 / N;
    assert!((45..=55).contains(&pct), "first case fired {first} of {N}");
}

/// Uniform choice also among cases that become ready together while the select waits: two
/// cases on one unbuffered channel, the select parked before the peer arrives (Go's
/// `TestPseudoRandomSend` shape, for recv and for send cases).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_choice_among_cases_ready_together_after_parking() {
    const N: usize = 1000;
    let (tx, rx) = chan::<u32>(0);
    let mut first = 0;
    for i in 0..N as u32 {
        let parked = Arc::new(AtomicBool::new(false));
        let r = rx.clone();
        let h = tokio::spawn(flag_pending(
            async move {
                select! {
                    recv(r) -> v => (0, v),
                    recv(r) -> v => (1, v),
                }
            },
            parked.clone(),
        ));
        until(&parked).await;
        tx.send(i).await.unwrap();
        let (case, v) = h.await.unwrap();
        assert_eq!(v, Some(i));
        first += case;
    }
    let pct = first * 100 / N;
    assert!(
        (40..=60).contains(&pct),
        "recv: the second case fired {first} of {N}"
    );

    let mut ones = 0;
    for _ in 0..N {
        let parked = Arc::new(AtomicBool::new(false));
        let t = tx.clone();
        let h = tokio::spawn(flag_pending(
            async move {
                select! {
                    send(t, 1) -> r => r.unwrap(),
                    send(t, 0) -> r => r.unwrap(),
                }
            },
            parked.clone(),
        ));
        until(&parked).await;
        ones += rx.recv().await.unwrap() as usize;
        h.await.unwrap();
    }
    let pct = ones * 100 / N;
    assert!(
        (40..=60).contains(&pct),
        "send: the first case fired {ones} of {N}"
    );
}

/// `biased;` tries the cases in written order.
#[tokio::test]
async fn biased_takes_written_order() {
    let (tx1, rx1) = chan::<u8>(1);
    let (tx2, rx2) = chan::<u8>(1);
    tx2.try_send(2).unwrap();
    for _ in 0..1000 {
        tx1.try_send(1).unwrap();
        let v = select! {
            biased;
            recv(rx1) -> v => v,
            recv(rx2) -> v => v,
        };
        assert_eq!(v, Some(1));
    }
    // The first case not ready: the second fires.
    let v = select! {
        biased;
        recv(rx1) -> v => v,
        recv(rx2) -> v => v,
    };
    assert_eq!(v, Some(2));
}

/// A send case's value expression is evaluated only when that case is chosen.
#[tokio::test]
async fn send_value_evaluated_only_for_the_chosen_case() {
    let evals = AtomicUsize::new(0);
    let value = |v: u32| {
        evals.fetch_add(1, SeqCst);
        v
    };
    let (tx1, rx1) = chan::<u32>(100_000);
    let (tx2, rx2) = chan::<u32>(100_000);
    let (tx3, rx3) = chan::<u32>(1);
    let mut sends = 0;
    for i in 0..2000 {
        tx3.try_send(i).unwrap();
        select! {
            send(tx1, value(i)) -> r => { r.unwrap(); sends += 1; }
            send(tx2, value(i)) -> r => { r.unwrap(); sends += 1; }
            recv(rx3) -> v => assert_eq!(v, Some(i)),
        }
        let _ = rx3.try_recv();
    }
    assert_eq!(evals.load(SeqCst), sends);
    assert_eq!(rx1.len() + rx2.len(), sends);
    // Nothing ready: default fires and no value is built.
    let (full, _keep) = chan::<u32>(0);
    select! {
        send(full, value(7)) -> _ => panic!("no receiver waits"),
        default => {}
    }
    assert_eq!(evals.load(SeqCst), sends);
}

/// `default` fires only when no case is ready at the call, for every kind of readiness.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_fires_only_when_nothing_is_ready() {
    let (tx, rx) = chan::<u32>(1);
    let r = select! { recv(rx) -> v => v, default => None };
    assert_eq!(r, None, "empty buffer: default");
    tx.try_send(5).unwrap();
    let r = select! { recv(rx) -> v => v, default => None };
    assert_eq!(r, Some(5), "buffered value: the case");
    tx.try_send(6).unwrap();
    let r = select! { send(tx, 7) -> r => r.is_ok(), default => false };
    assert!(!r, "full buffer: default");
    let r =
        select! { send(tx, 7) -> r => r.is_err(), recv(rx) -> v => v == Some(6), default => false };
    assert!(r, "a ready case among unready ones: no default");

    // Unbuffered: a parked receiver makes a send case ready, a parked sender a recv case.
    let (tx0, rx0) = chan::<u32>(0);
    let r = select! { send(tx0, 1) -> _ => true, default => false };
    assert!(!r, "no receiver: default");
    let parked = Arc::new(AtomicBool::new(false));
    let rx0b = rx0.clone();
    let h = tokio::spawn(flag_pending(
        async move { rx0b.recv().await },
        parked.clone(),
    ));
    until(&parked).await;
    let r = select! { send(tx0, 9) -> r => r.is_ok(), default => false };
    assert!(r, "a parked receiver: the send case");
    assert_eq!(h.await.unwrap(), Some(9));

    let parked = Arc::new(AtomicBool::new(false));
    let tx0b = tx0.clone();
    let h = tokio::spawn(flag_pending(
        async move { tx0b.send(11).await },
        parked.clone(),
    ));
    until(&parked).await;
    let r = select! { recv(rx0) -> v => v, default => None };
    assert_eq!(r, Some(11), "a parked sender: the recv case");
    h.await.unwrap().unwrap();

    // Closed: always ready.
    tx.close();
    let r = select! { recv(rx) -> v => Some(v), default => None };
    assert_eq!(r, Some(None), "closed: the case, not default");
}

/// A loop of one-case selects that keep taking `default` still yields to the other tasks on a
/// single-threaded runtime (the lock-free `default` answer is charged to tokio's cooperative
/// budget), so the task that would make the case ready gets to run: Go preempts such a loop.
#[tokio::test(flavor = "current_thread")]
async fn default_loop_yields_to_its_neighbours() {
    for with_try_recv in [false, true] {
        let (tx, rx) = chan::<u32>(1);
        let (tx0, _rx0) = chan::<u32>(0);
        tokio::spawn(async move { tx.send(7).await.unwrap() });
        let mut spins = 0u32;
        let got = loop {
            // A send case that can never fire, then the receive the other task makes ready.
            let full = select! { send(tx0, 1) -> _ => true, default => false };
            assert!(!full, "nobody receives on the unbuffered channel");
            let got = if with_try_recv {
                // Only the send case's select is charged then: `try_recv` is not.
                rx.try_recv().ok()
            } else {
                select! { recv(rx) -> v => v, default => None }
            };
            if let Some(v) = got {
                break v;
            }
            spins += 1;
            assert!(spins < 100_000, "the sending task never ran");
        };
        assert_eq!(got, 7);
    }
}

/// `None` channel arguments are Go's nil channels: never ready.
#[tokio::test]
async fn nil_channels_never_fire() {
    let nil_rx: Option<&Receiver<u32>> = None;
    let nil_tx: Option<&Sender<u32>> = None;
    let r = select! {
        recv(nil_rx) => 1,
        send(nil_tx, 1) -> _ => 2,
        default => 0,
    };
    assert_eq!(r, 0);
    let (tx, rx) = chan::<u32>(1);
    for i in 0..500 {
        tx.try_send(i).unwrap();
        let r = select! {
            recv(nil_rx) => None,
            send(nil_tx, i) -> _ => None,
            recv(rx) -> v => v,
            recv(None::<Receiver<u32>>) => None,
        };
        assert_eq!(r, Some(i));
    }
}

/// A guard that is false disables its case; its channel and value are not evaluated.
#[tokio::test]
async fn guards_disable_cases() {
    let evaluated = AtomicUsize::new(0);
    let (tx, rx) = chan::<u32>(4);
    tx.try_send(1).unwrap();
    for _ in 0..200 {
        let r = select! {
            recv({ evaluated.fetch_add(1, SeqCst); &rx }) -> v if false => v,
            send(tx, { evaluated.fetch_add(1, SeqCst); 2 }) -> _ if false => None,
            default => Some(0),
        };
        assert_eq!(r, Some(0));
    }
    assert_eq!(evaluated.load(SeqCst), 0);
    assert_eq!(rx.len(), 1);
    let enabled = true;
    let r = select! {
        recv(rx) -> v if enabled => v,
        default => None,
    };
    assert_eq!(r, Some(1));
}

/// Closed channels are always ready: recv gets `None`, send gets its value back in `Err`.
#[tokio::test]
async fn closed_channels_are_always_ready() {
    let (tx, rx) = chan::<String>(2);
    tx.try_send("before".to_string()).unwrap();
    assert!(tx.close());
    // Values sent before close come first, then None forever.
    let r = select! { recv(rx) -> v => v };
    assert_eq!(r.as_deref(), Some("before"));
    for _ in 0..10 {
        let r = select! { recv(rx) -> v => v };
        assert_eq!(r, None);
    }
    for i in 0..10 {
        let r = select! { send(tx, format!("v{i}")) -> r => r };
        assert_eq!(r, Err(SendError(format!("v{i}"))));
    }
    // Closed by dropping the last receiver, unbuffered.
    let (tx0, rx0) = chan::<Vec<u8>>(0);
    drop(rx0);
    let (_other_tx, other_rx) = chan::<u8>(0);
    let r = select! {
        send(tx0, vec![1, 2, 3]) -> r => r.map_err(SendError::into_inner),
        recv(other_rx) => Ok(()),
    };
    assert_eq!(r, Err(vec![1, 2, 3]));
}

/// `fut(..)` cases with tokio timers, under paused time.
#[tokio::test(start_paused = true)]
async fn fut_cases_with_timers() {
    let (_tx, rx) = chan::<u32>(0);
    let start = tokio::time::Instant::now();
    let r = select! {
        recv(rx) -> _ => 0,
        fut(tokio::time::sleep(Duration::from_millis(20))) => 20,
        fut(tokio::time::sleep(Duration::from_millis(10))) => 10,
    };
    assert_eq!(r, 10);
    assert_eq!(start.elapsed(), Duration::from_millis(10));
    // A channel that becomes ready before the timer wins, and the timer is dropped.
    let (tx, rx) = chan::<u32>(0);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        tx.send(42).await.unwrap();
    });
    let r = select! {
        recv(rx) -> v => v.unwrap(),
        fut(tokio::time::sleep(Duration::from_secs(1))) => 0,
    };
    assert_eq!(r, 42);
    assert_eq!(start.elapsed(), Duration::from_millis(15));
    // The output of the future is bound.
    let out = select! { fut(async { 7u8 }) -> v => v };
    assert_eq!(out, 7);
}

/// A select with only nil cases blocks forever (Go's `select {}`), as does `select! {}`.
#[tokio::test(start_paused = true)]
async fn only_nil_cases_block_forever() {
    let r = tokio::time::timeout(Duration::from_secs(3600), async {
        select! {
            recv(None::<&Receiver<u32>>) => (),
            send(None::<&Sender<u32>>, 1) -> _ => (),
        }
    })
    .await;
    assert!(r.is_err(), "a select of nil channels returned");
    let (tx, rx) = chan::<u32>(1);
    tx.try_send(1).unwrap();
    let r = tokio::time::timeout(Duration::from_secs(3600), async {
        select! {
            recv(rx) -> _ if false => (),
        }
    })
    .await;
    assert!(r.is_err(), "a select of disabled cases returned");
    let r = tokio::time::timeout(Duration::from_secs(3600), async {
        select! {}
    })
    .await;
    assert!(r.is_err(), "select! {{}} returned");
}

#[tokio::test]
async fn one_case() {
    let (tx, rx) = chan::<u32>(1);
    let r = select! { send(tx, 3) -> r => r };
    assert_eq!(r, Ok(()));
    let r = select! { recv(rx) -> v => v };
    assert_eq!(r, Some(3));
}

/// Smoke test: `select!` expands against the engine (a receive among two cases, then a send
/// with `default` on a channel with room).
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

#[tokio::test]
async fn two_cases() {
    let (tx1, rx1) = chan::<u32>(1);
    let (_tx2, rx2) = chan::<u32>(1);
    tx1.try_send(1).unwrap();
    let r = select! { recv(rx2) -> v => (2, v), recv(rx1) -> v => (1, v) };
    assert_eq!(r, (1, Some(1)));
}

#[tokio::test]
async fn eight_cases() {
    let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..8).map(|_| chan(1)).collect();
    let rx: Vec<&Receiver<usize>> = chans.iter().map(|c| &c.1).collect();
    for (k, (tx, _)) in chans.iter().enumerate() {
        tx.try_send(k).unwrap();
        let r = select! {
            recv(rx[0]) -> v => (0, v), recv(rx[1]) -> v => (1, v),
            recv(rx[2]) -> v => (2, v), recv(rx[3]) -> v => (3, v),
            recv(rx[4]) -> v => (4, v), recv(rx[5]) -> v => (5, v),
            recv(rx[6]) -> v => (6, v), recv(rx[7]) -> v => (7, v),
        };
        assert_eq!(r, (k, Some(k)));
    }
}

/// Expands to a `select!` with one `recv(rx[i]) -> v => (i, v)` case per index given.
macro_rules! select_indices {
    ($rx:ident; $($i:literal)*) => {
        select! { $( recv($rx[$i]) -> v => ($i, v), )* }
    };
}

#[tokio::test]
async fn sixty_four_cases() {
    let chans: Vec<(Sender<usize>, Receiver<usize>)> = (0..64).map(|_| chan(0)).collect();
    let rx: Vec<&Receiver<usize>> = chans.iter().map(|c| &c.1).collect();
    let senders: Vec<Sender<usize>> = chans.iter().map(|c| c.0.clone()).collect();
    // Each channel in turn, unbuffered, from another task: the select must wait and then
    // pick exactly the one that became ready.
    let feeder = tokio::spawn(async move {
        for (k, tx) in senders.iter().enumerate().rev() {
            tx.send(k).await.unwrap();
        }
    });
    for k in (0..64).rev() {
        let r = select_indices!(rx;
            0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
            32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59
            60 61 62 63);
        assert_eq!(r, (k, Some(k)));
    }
    feeder.await.unwrap();
}

/// The same channel twice in one select: one value is taken once, by one of the cases, and
/// both cases get chosen over many selects.
#[tokio::test]
async fn duplicate_channel_in_one_select() {
    let (tx, rx) = chan::<u32>(1);
    let mut fired = [0; 2];
    for i in 0..1000 {
        tx.try_send(i).unwrap();
        let (case, v) = select! {
            recv(rx) -> v => (0, v),
            recv(rx) -> v => (1, v),
            default => (2, None),
        };
        assert_eq!(v, Some(i));
        fired[case] += 1;
        assert_eq!(rx.len(), 0);
    }
    assert!(fired[0] > 100 && fired[1] > 100, "{fired:?}");
    // Two send cases on one channel with one slot: exactly one fires.
    let r = select! {
        send(tx, 1) -> r => r.map(|_| 1),
        send(tx, 2) -> r => r.map(|_| 2),
    };
    assert_eq!(rx.try_recv().ok(), Some(r.unwrap()));
    assert!(rx.try_recv().is_err());
}

/// A body may reassign the variable that held its channel (Go's `c = nil`).
#[tokio::test]
async fn body_may_reassign_the_channel_variable() {
    let (tx, rx) = chan::<u32>(3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    drop(tx);
    let mut c = Some(rx);
    let mut seen = Vec::new();
    loop {
        select! {
            recv(c.as_ref()) -> v => match v {
                Some(v) => seen.push(v),
                None => c = None,
            },
            default => break,
        }
    }
    assert_eq!(seen, [0, 1, 2]);
    assert!(c.is_none());

    // The same for send cases: `send(c[3].as_ref(), v) -> _ => c[3] = None`.
    let chans: Vec<(Sender<u32>, Receiver<u32>)> = (0..4).map(|_| chan(1)).collect();
    let mut c: Vec<Option<Sender<u32>>> = chans.iter().map(|p| Some(p.0.clone())).collect();
    let mut sent = 0;
    loop {
        select! {
            send(c[0].as_ref(), 0) -> _ => { c[0] = None; sent += 1; }
            send(c[1].as_ref(), 1) -> _ => { c[1] = None; sent += 1; }
            send(c[2].as_ref(), 2) -> _ => { c[2] = None; sent += 1; }
            send(c[3].as_ref(), 3) -> _ => { c[3] = None; sent += 1; }
            default => break,
        }
    }
    assert_eq!(sent, 4);
    for (i, p) in chans.iter().enumerate() {
        assert_eq!(p.1.try_recv().ok(), Some(i as u32));
    }
}

/// `select_blocking!` from OS threads: a ping-pong over unbuffered channels, both sides
/// selecting, plus a closed channel and a `default`.
#[test]
fn select_blocking_from_os_threads() {
    let (ping_tx, ping_rx) = chan::<u32>(0);
    let (pong_tx, pong_rx) = chan::<u32>(0);
    let (_idle_tx, idle_rx) = chan::<u32>(0);
    let t = std::thread::spawn(move || {
        let mut n = 0;
        loop {
            select_blocking! {
                recv(ping_rx) -> v => match v {
                    Some(v) => {
                        select_blocking! { send(pong_tx, v + 1) -> r => r.unwrap() }
                        n += 1;
                    }
                    None => break,
                },
                recv(idle_rx) => unreachable!("idle is never sent on"),
            }
        }
        n
    });
    for i in 0..1000 {
        select_blocking! { send(ping_tx, i) -> r => r.unwrap() }
        let v = select_blocking! { recv(pong_rx) -> v => v };
        assert_eq!(v, Some(i + 1));
    }
    ping_tx.close();
    assert_eq!(t.join().unwrap(), 1000);
    let (_quiet_tx, quiet_rx) = chan::<u32>(0);
    let r = select_blocking! { recv(quiet_rx) -> v => v, default => Some(0) };
    assert_eq!(r, Some(0), "nothing ready: default");
    let r = select_blocking! { recv(pong_rx) -> v => v, default => Some(0) };
    assert_eq!(r, None, "closed: ready with None");
}

/// Two selects meet on a `chan(0)`, one with the send case and one with the recv case, each
/// with a second case another task makes ready at the same time: the value is handed over
/// exactly once, and a select fired its `c0` case exactly when the other did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_selects_meet_on_an_unbuffered_channel() {
    let mut handoffs = 0;
    for i in 0..2000u32 {
        let (c0_tx, c0_rx) = chan::<u32>(0);
        let (a_tx, a_rx) = chan::<u32>(1);
        let (b_tx, b_rx) = chan::<u32>(1);
        // Kept so that a buffered value outlives the tasks' receivers.
        // c0 stays open after either task ends (a closed c0 would be ready).
        let (a_keep, b_keep) = (a_rx.clone(), b_rx.clone());
        let c0_keep = (c0_tx.clone(), c0_rx.clone());
        let sender = tokio::spawn(async move {
            select! {
                send(c0_tx, i) -> r => { r.unwrap(); true }
                recv(a_rx) -> v => { assert_eq!(v, Some(1)); false }
            }
        });
        let receiver = tokio::spawn(async move {
            select! {
                recv(c0_rx) -> v => Some(v.unwrap()),
                recv(b_rx) -> v => { assert_eq!(v, Some(2)); None }
            }
        });
        // Half the time the other cases become ready while the selects run.
        let others = i % 2 == 0;
        if others {
            a_tx.try_send(1).unwrap();
            b_tx.try_send(2).unwrap();
        }
        let sent = sender.await.unwrap();
        let got = receiver.await.unwrap();
        if sent {
            assert_eq!(
                got,
                Some(i),
                "the sender fired c0 but the receiver did not get it"
            );
            handoffs += 1;
        } else {
            assert_eq!(
                got, None,
                "the receiver got a value the sender did not send"
            );
        }
        if !others {
            assert!(sent, "without other ready cases the two selects must meet");
        }
        // A case that did not fire took nothing: its value is still buffered.
        assert_eq!(a_keep.len(), usize::from(others && sent));
        assert_eq!(b_keep.len(), usize::from(others && sent));
        assert!(c0_keep.1.is_empty());
    }
    assert!(handoffs >= 1000);
}

/// Dropping a select future at random points (tiny timeouts, or losing a `futures::select`)
/// loses nothing: every value sent is received exactly once, in order per channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_select_loses_nothing() {
    const N: u32 = 3000;
    for cap in [0usize, 1, 16] {
        let (tx1, rx1) = chan::<u32>(cap);
        let (tx2, rx2) = chan::<u32>(cap);
        let p1 = tokio::spawn(async move {
            for i in 0..N {
                tx1.send(i).await.unwrap();
            }
        });
        let p2 = tokio::spawn(async move {
            for i in 0..N {
                tx2.send(i).await.unwrap();
            }
        });
        let mut next = [0u32; 2];
        let mut done = [false; 2];
        let mut rng = Rng::new(cap as u64 + 1);
        let mut drops = 0usize;
        while !(done[0] && done[1]) {
            let sel = async {
                select! {
                    recv(rx1) -> v => (0, v),
                    recv(rx2) -> v => (1, v),
                }
            };
            let out = match rng.below(3) {
                0 => sel.await.into(),
                1 => tokio::time::timeout(Duration::from_micros(rng.below(50)), sel)
                    .await
                    .ok(),
                _ => {
                    // Lose a race against a future that is ready after a few polls.
                    let other = pin!(Countdown(rng.below(4)));
                    match futures::future::select(pin!(sel), other).await {
                        futures::future::Either::Left((out, _)) => Some(out),
                        futures::future::Either::Right(_) => None,
                    }
                }
            };
            match out {
                Some((k, Some(v))) => {
                    assert_eq!(v, next[k], "cap {cap}: channel {k} out of order or lost");
                    next[k] += 1;
                }
                Some((k, None)) => done[k] = true,
                None => drops += 1,
            }
        }
        assert_eq!(next, [N, N], "cap {cap}");
        p1.await.unwrap();
        p2.await.unwrap();
        assert!(drops > 0, "cap {cap}: no select was dropped");
    }
}

/// A select parked with a lazy send case on `chan(0)` makes a non-blocking select's recv case
/// ready (no `default`), and a parked select with a recv case makes a send case ready. Only
/// `try_recv` cannot take from a selecting sender (the documented deviation: the value does
/// not exist yet).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_does_not_fire_when_a_parked_select_is_the_peer() {
    for i in 0..200u32 {
        let (tx, rx) = chan::<u32>(0);
        let (_idle_tx, idle) = chan::<u32>(0);
        let parked = Arc::new(AtomicBool::new(false));
        let (t, idle2) = (tx.clone(), idle.clone());
        let h = tokio::spawn(flag_pending(
            async move {
                select! {
                    send(t, i) -> r => r.is_ok(),
                    recv(idle2) => false,
                }
            },
            parked.clone(),
        ));
        until(&parked).await;
        assert!(
            rx.try_recv().is_err(),
            "documented: try_recv cannot take a lazy value"
        );
        let got = select! {
            recv(rx) -> v => v,
            default => None,
        };
        assert_eq!(
            got,
            Some(i),
            "default fired although a selecting sender waited"
        );
        assert!(h.await.unwrap());

        let parked = Arc::new(AtomicBool::new(false));
        let (r, idle2) = (rx.clone(), idle.clone());
        let h = tokio::spawn(flag_pending(
            async move {
                select! {
                    recv(r) -> v => v,
                    recv(idle2) => None,
                }
            },
            parked.clone(),
        ));
        until(&parked).await;
        let sent = select! {
            send(tx, i) -> r => r.is_ok(),
            default => false,
        };
        assert!(sent, "default fired although a selecting receiver waited");
        assert_eq!(h.await.unwrap(), Some(i));
    }
}

/// Closing a channel wakes a select parked on it: a recv case gets `None`, a send case gets
/// its (lazily built) value back in `Err`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_wakes_a_parked_select() {
    for cap in [0usize, 1] {
        let (tx, rx) = chan::<String>(cap);
        if cap == 1 {
            tx.try_send("fill".into()).unwrap();
        }
        let (_idle_tx, idle) = chan::<String>(0);
        let parked = Arc::new(AtomicBool::new(false));
        let (t, i) = (tx.clone(), idle.clone());
        let h = tokio::spawn(flag_pending(
            async move {
                select! {
                    send(t, "mine".to_string()) -> r => r.map_err(SendError::into_inner),
                    recv(i) => Ok(()),
                }
            },
            parked.clone(),
        ));
        until(&parked).await;
        assert!(rx.close());
        assert_eq!(h.await.unwrap(), Err("mine".to_string()), "cap {cap}");

        let (tx, rx) = chan::<String>(cap);
        let parked = Arc::new(AtomicBool::new(false));
        let i = idle.clone();
        let h = tokio::spawn(flag_pending(
            async move {
                select! {
                    recv(rx) -> v => v,
                    recv(i) => Some("idle".into()),
                }
            },
            parked.clone(),
        ));
        until(&parked).await;
        assert!(tx.close());
        assert_eq!(h.await.unwrap(), None, "cap {cap}");
    }
}

/// With `fut` cases, `biased;` still means written order: a ready channel written first beats
/// a ready future written second.
#[tokio::test]
async fn biased_written_order_includes_fut_cases() {
    let (tx, rx) = gocsp::chan::<u8>(1);
    for _ in 0..100 {
        tx.try_send(1).unwrap();
        let fired = gocsp::select! {
            biased;
            recv(rx) -> v => { assert_eq!(v, Some(1)); "recv" }
            fut(std::future::ready(())) => "fut",
        };
        assert_eq!(fired, "recv");
    }
}

/// Without `biased;`, a ready future and a ready channel each fire a fair share.
#[tokio::test]
async fn fut_and_channel_cases_share_fairly() {
    let (tx, rx) = gocsp::chan::<u8>(1);
    let (mut by_recv, mut by_fut) = (0u32, 0u32);
    for _ in 0..10_000 {
        let _ = tx.try_send(1);
        gocsp::select! {
            recv(rx) -> _ => by_recv += 1,
            fut(std::future::ready(())) => by_fut += 1,
        }
    }
    assert!(
        by_recv > 3_000 && by_fut > 3_000,
        "recv {by_recv}, fut {by_fut}"
    );
}
