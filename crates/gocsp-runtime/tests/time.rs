//! Timers under tokio's paused clock: exact instants, Go 1.23 stop/reset, dropped ticks.

use std::time::Duration;

use gocsp_runtime::time::{after, sleep, tick, Instant, Ticker, Timer};
use gocsp_runtime::{go, Op, State};

const MS: Duration = Duration::from_millis(1);

/// `true` if `rx` receives nothing within `d` (paused time: the clock jumps).
async fn silent(rx: &gocsp_channel::Receiver<Instant>, d: Duration) -> bool {
    tokio::time::timeout(d, rx.recv()).await.is_err()
}

async fn alive_tasks_settle() -> usize {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test(start_paused = true)]
async fn after_fires_once_at_the_deadline() {
    let start = Instant::now();
    let rx = after(100 * MS);
    let t = rx.recv().await.unwrap();
    assert_eq!(t, start + 100 * MS);
    assert_eq!(Instant::now(), start + 100 * MS);
    // Once only: the timer task is gone, so the channel is closed after the value.
    assert_eq!(rx.recv().await, None);
}

#[tokio::test(start_paused = true)]
async fn tick_ticks_every_period() {
    let start = Instant::now();
    let rx = tick(10 * MS);
    for i in 1..=3u32 {
        assert_eq!(rx.recv().await.unwrap(), start + i * 10 * MS);
    }
}

#[tokio::test(start_paused = true)]
async fn ticker_keeps_at_most_one_missed_tick() {
    let start = Instant::now();
    let t = Ticker::new(10 * MS);
    tokio::time::sleep(55 * MS).await;
    // Ticks at 10..50 ms: the first waits in the channel, the others were dropped.
    assert_eq!(t.c.try_recv().unwrap(), start + 10 * MS);
    assert!(t.c.try_recv().is_err());
    assert_eq!(t.c.recv().await.unwrap(), start + 60 * MS);
}

#[tokio::test(start_paused = true)]
async fn timer_stop_before_firing() {
    let mut t = Timer::new(10 * MS);
    assert!(t.stop());
    assert!(!t.stop(), "second stop reports nothing pending");
    assert!(silent(&t.c, Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn timer_stop_after_firing_discards_the_value() {
    let mut t = Timer::new(10 * MS);
    tokio::time::sleep(20 * MS).await;
    assert_eq!(t.c.len(), 1, "fired, not received");
    assert!(t.stop(), "Go 1.23: an unreceived value counts as pending");
    assert!(t.c.try_recv().is_err());
    assert!(silent(&t.c, Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn timer_stop_after_receiving() {
    let mut t = Timer::new(10 * MS);
    t.c.recv().await.unwrap();
    assert!(!t.stop());
}

#[tokio::test(start_paused = true)]
async fn timer_reset_discards_the_stale_value_and_rearms() {
    let start = Instant::now();
    let mut t = Timer::new(10 * MS);
    tokio::time::sleep(20 * MS).await;
    assert!(t.reset(30 * MS), "an unreceived value was pending");
    assert!(t.c.try_recv().is_err(), "no stale value after reset");
    assert_eq!(t.c.recv().await.unwrap(), start + 50 * MS);
    // Reset while armed: only the new deadline fires.
    assert!(!t.reset(10 * MS));
    assert!(t.reset(40 * MS));
    let now = Instant::now();
    assert_eq!(t.c.recv().await.unwrap(), now + 40 * MS);
    assert!(silent(&t.c, Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn dropping_timers_frees_them() {
    let base = alive_tasks_settle().await;
    let timer = Timer::new(Duration::from_secs(3600));
    let ticker = Ticker::new(Duration::from_secs(1));
    assert_eq!(alive_tasks_settle().await, base + 2);
    drop(timer);
    drop(ticker);
    assert_eq!(alive_tasks_settle().await, base);
    // A stopped timer frees its task too.
    let mut t = Timer::new(Duration::from_secs(3600));
    t.stop();
    assert_eq!(alive_tasks_settle().await, base);
}

#[tokio::test(start_paused = true)]
async fn tick_stops_when_its_receiver_is_dropped() {
    let base = alive_tasks_settle().await;
    let rx = tick(10 * MS);
    assert_eq!(alive_tasks_settle().await, base + 1);
    drop(rx);
    tokio::time::sleep(25 * MS).await;
    assert_eq!(alive_tasks_settle().await, base);
}

#[tokio::test(start_paused = true)]
async fn ticker_stop_and_reset() {
    let mut t = Ticker::new(10 * MS);
    tokio::time::sleep(15 * MS).await;
    t.stop();
    assert!(t.c.try_recv().is_err(), "stop discards the waiting tick");
    assert!(silent(&t.c, Duration::from_secs(1)).await);
    let now = Instant::now();
    t.reset(25 * MS);
    assert_eq!(t.c.recv().await.unwrap(), now + 25 * MS);
    assert_eq!(t.c.recv().await.unwrap(), now + 50 * MS);
}

#[tokio::test(start_paused = true)]
async fn timers_work_inside_tokio_select() {
    let (_tx, never) = gocsp_channel::chan::<u32>(0);
    let timeout = Timer::new(30 * MS);
    let start = Instant::now();
    tokio::select! {
        _ = never.recv() => unreachable!(),
        t = timeout.c.recv() => assert_eq!(t.unwrap(), start + 30 * MS),
    }
}

#[tokio::test(start_paused = true)]
async fn sleep_waits_and_shows_as_sleep_in_the_dump() {
    let start = Instant::now();
    sleep(20 * MS).await;
    assert_eq!(Instant::now(), start + 20 * MS);

    let line = line!() + 1;
    let h = go(async { sleep(Duration::from_secs(60)).await });
    tokio::time::sleep(MS).await;
    match gocsp_runtime::dump().get(h.id()).unwrap().state {
        State::Blocked { op, site, .. } => {
            assert_eq!(op, Op::Sleep);
            assert_eq!(site.line(), line);
        }
        other => panic!("{other:?}"),
    }
    h.await.unwrap();
}

#[test]
fn zero_tick_panics_like_go() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _g = rt.enter();
    let err = std::panic::catch_unwind(|| Ticker::new(Duration::ZERO)).unwrap_err();
    let msg = err.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(msg.contains("non-positive interval"), "{msg}");
}

#[test]
fn outside_a_runtime_timers_say_what_to_do() {
    let err = std::panic::catch_unwind(|| after(MS)).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("time::after called outside a Tokio runtime"),
        "{msg}"
    );
}
