//! In steady state a send + receive allocates nothing: `chan(0)` and `chan(n)`, async ping-pong
//! between two tasks on a current-thread runtime and `try_send`/`try_recv`, checked with a
//! counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use gocsp_channel::{chan, Receiver, Sender};

/// Counts the allocations of the current thread (tests run on several threads at once, and a
/// current-thread runtime runs its tasks on the thread that calls `block_on`).
struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: the slot may be gone while the thread is being torn down.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; the counter touches no allocator state.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: forwarded with the caller's guarantees (`layout` has non-zero size).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        // SAFETY: `ptr` was allocated by `System` through this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const WARM_UP: u64 = 1_000;
const ROUNDS: u64 = 10_000;

/// Two tasks bounce a value over `ping`/`pong`; returns the allocations made during the
/// measured rounds (after the warm-up), counted on the runtime's only thread.
fn ping_pong(capacity: usize) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async move {
        let (ping_tx, ping_rx) = chan::<u64>(capacity);
        let (pong_tx, pong_rx) = chan::<u64>(capacity);
        let echo = tokio::spawn(echo(ping_rx, pong_tx));
        let mut before = 0;
        for i in 0..WARM_UP + ROUNDS {
            if i == WARM_UP {
                before = allocs();
            }
            ping_tx.send(i).await.unwrap();
            assert_eq!(pong_rx.recv().await, Some(i));
        }
        let delta = allocs() - before;
        drop(ping_tx);
        echo.await.unwrap();
        delta
    })
}

async fn echo(rx: Receiver<u64>, tx: Sender<u64>) {
    while let Some(v) = rx.recv().await {
        tx.send(v).await.unwrap();
    }
}

#[test]
fn unbuffered_ping_pong_allocates_nothing() {
    assert_eq!(ping_pong(0), 0);
}

#[test]
fn buffered_ping_pong_allocates_nothing() {
    assert_eq!(ping_pong(1), 0);
    assert_eq!(ping_pong(16), 0);
}

#[test]
fn try_send_try_recv_allocates_nothing() {
    for cap in [1, 16] {
        let (tx, rx) = chan::<u64>(cap);
        for i in 0..WARM_UP {
            tx.try_send(i).unwrap();
            assert_eq!(rx.try_recv(), Ok(i));
        }
        let before = allocs();
        for i in 0..ROUNDS {
            tx.try_send(i).unwrap();
            assert_eq!(rx.try_recv(), Ok(i));
        }
        assert_eq!(allocs() - before, 0, "chan({cap})");
    }
}

/// `chan(0)` with `try_send` needs a parked receiver: park one each round with a poll, then
/// hand it a value.
#[test]
fn unbuffered_try_send_to_parked_receiver_allocates_nothing() {
    use futures::FutureExt;
    let (tx, rx) = chan::<u64>(0);
    let mut before = 0;
    for i in 0..WARM_UP + ROUNDS {
        if i == WARM_UP {
            before = allocs();
        }
        let mut recv = rx.recv();
        assert!((&mut recv).now_or_never().is_none());
        tx.try_send(i).unwrap();
        assert_eq!(recv.now_or_never(), Some(Some(i)));
    }
    assert_eq!(allocs() - before, 0);
}

/// The counter works: a `Box` is seen (so the zeros above are not vacuous).
#[test]
fn counter_sees_allocations() {
    let before = allocs();
    let b = std::hint::black_box(Box::new(5u64));
    assert!(allocs() > before);
    drop(b);
}

/// A select that parks every round (two cases, one woken by the echo task) allocates nothing
/// once warm: its signal comes back to the per-thread pool.
#[test]
fn parked_select_allocates_nothing() {
    use gocsp_channel::__private::{select, RecvCase};
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let delta = rt.block_on(async move {
        let (ping_tx, ping_rx) = chan::<u64>(0);
        let (pong_tx, pong_rx) = chan::<u64>(0);
        let (_idle_tx, idle_rx) = chan::<u64>(0);
        let echo = tokio::spawn(echo(ping_rx, pong_tx));
        let mut before = 0;
        for i in 0..WARM_UP + ROUNDS {
            if i == WARM_UP {
                before = allocs();
            }
            ping_tx.send(i).await.unwrap();
            let mut c0 = RecvCase::new(Some(&idle_rx));
            let mut c1 = RecvCase::new(Some(&pong_rx));
            let fired = select(&mut [&mut c0, &mut c1], false, false).await;
            assert_eq!(fired, 1);
            assert_eq!(c1.take(), Some(i));
        }
        let delta = allocs() - before;
        drop(ping_tx);
        echo.await.unwrap();
        delta
    });
    assert_eq!(delta, 0);
}

/// A non-blocking select (with `default`) allocates nothing at all.
#[test]
fn nonblocking_select_allocates_nothing() {
    use gocsp_channel::__private::{select_blocking, RecvCase, SendCase, SELECT_DEFAULT};
    let (_tx, rx) = chan::<u64>(0);
    let (tx2, _rx2) = chan::<u64>(0);
    for _ in 0..WARM_UP {
        let mut c0 = RecvCase::new(Some(&rx));
        let mut c1 = SendCase::new(Some(&tx2));
        assert_eq!(
            select_blocking(&mut [&mut c0, &mut c1], false, true),
            SELECT_DEFAULT
        );
    }
    let before = allocs();
    for _ in 0..ROUNDS {
        let mut c0 = RecvCase::new(Some(&rx));
        let mut c1 = SendCase::new(Some(&tx2));
        assert_eq!(
            select_blocking(&mut [&mut c0, &mut c1], false, true),
            SELECT_DEFAULT
        );
    }
    assert_eq!(allocs() - before, 0);
}
