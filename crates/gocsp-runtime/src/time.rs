//! Go's timers on tokio's clock: [`after`], [`tick`], [`sleep`], [`Timer`], [`Ticker`].
//!
//! Timers deliver on gocsp channels ([`Receiver<Instant>`]), so they are ordinary `select!`
//! cases. They run on `tokio::time`, so they follow tokio's paused clock in tests
//! (`#[tokio::test(start_paused = true)]`): no real sleeping.
//!
//! Semantics are Go 1.23's:
//! - after [`Timer::stop`] or [`Timer::reset`] (and the `Ticker` ones) returns, no value
//!   computed for the old setting is received: a value sitting in the channel is drained, a
//!   firing in progress is discarded;
//! - a [`Ticker`] keeps at most one tick waiting; ticks a slow receiver misses are dropped;
//! - dropping a `Timer` or `Ticker` frees its timer at once.
//!
//! The value received is the instant the timer was scheduled to fire (as Go's is), in
//! [`Instant`] (`tokio::time::Instant`, convertible with `into_std()`).
//!
//! Inside a [`synctest`] bubble the timers run on the bubble's virtual clock
//! instead ([`now`] reads it): an armed timer is an entry in the bubble, fired when every
//! goroutine of the bubble is durably blocked and the clock jumps to it.
//!
//! Elsewhere each armed timer is a small tokio task; the deadlock detector counts it as
//! something that can still make progress, as Go's does with pending timers. [`after`]'s task lives until the
//! duration elapses even if its receiver is dropped earlier (Go before 1.23 did the same); in a
//! loop, prefer one [`Timer`] that you [`reset`](Timer::reset).

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use gocsp_channel::hook::{self, Op};
use gocsp_channel::{chan, Receiver, Sender, TrySendError};
use parking_lot::Mutex;
use pin_project_lite::pin_project;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::runtime::runtime_handle;
use crate::synctest::{self, Bubble, TimerKey};

pub use std::time::Duration;
pub use tokio::time::Instant;

/// A channel that receives the time once, after `d`.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::time::{after, Duration, Instant};
/// let start = Instant::now();
/// let fired = after(Duration::from_millis(10)).recv().await.unwrap();
/// assert!(fired >= start + Duration::from_millis(10));
/// # });
/// ```
///
/// # Panics
///
/// Outside a tokio runtime.
///
/// # Go equivalent
///
/// `time.After(d)`.
#[track_caller]
pub fn after(d: Duration) -> Receiver<Instant> {
    let (tx, rx) = chan(1);
    if let Some(bubble) = synctest::current() {
        bubble.add_timer(
            bubble.now() + d,
            Box::new(move |t| {
                let _ = tx.try_send(t);
            }),
        );
        return rx;
    }
    let rt = runtime_handle("time::after");
    let deadline = Instant::now() + d;
    rt.spawn(async move {
        tokio::time::sleep_until(deadline).await;
        let _ = tx.try_send(deadline);
    });
    rx
}

/// A channel that receives the time every `d`, forever (until every receiver is dropped: the
/// ticker stops at the next tick). Ticks a slow receiver misses are dropped.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::time::{tick, Duration};
/// let ticks = tick(Duration::from_millis(5));
/// let a = ticks.recv().await.unwrap();
/// let b = ticks.recv().await.unwrap();
/// assert!(b >= a + Duration::from_millis(5));
/// # });
/// ```
///
/// # Panics
///
/// If `d` is zero, or outside a tokio runtime.
///
/// # Go equivalent
///
/// `time.Tick(d)`.
#[track_caller]
pub fn tick(d: Duration) -> Receiver<Instant> {
    assert!(!d.is_zero(), "gocsp: non-positive interval for time::tick");
    let (tx, rx) = chan(1);
    if let Some(bubble) = synctest::current() {
        tick_in_bubble(&bubble, bubble.now() + d, d, tx);
        return rx;
    }
    let rt = runtime_handle("time::tick");
    rt.spawn(async move {
        let mut interval = tokio::time::interval_at(Instant::now() + d, d);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            let t = interval.tick().await;
            if let Err(TrySendError::Closed(_)) = tx.try_send(t) {
                return;
            }
        }
    });
    rx
}

/// Arms the bubble timer of a `tick` at `at`, and on each firing the next one, until the
/// channel is closed. The timer holds the bubble weakly: a bubble's timers never keep it alive.
fn tick_in_bubble(bubble: &Arc<Bubble>, at: Instant, d: Duration, tx: Sender<Instant>) {
    let weak = Arc::downgrade(bubble);
    bubble.add_timer(
        at,
        Box::new(move |t| {
            if let Err(TrySendError::Closed(_)) = tx.try_send(t) {
                return;
            }
            if let Some(bubble) = weak.upgrade() {
                tick_in_bubble(&bubble, t + d, d, tx);
            }
        }),
    );
}

/// Runs `f` once the clock reaches `deadline`: inside a [`synctest`] bubble as a bubble timer,
/// elsewhere in a tokio task. The handle takes it back. Not a public API: `Context` deadlines
/// use it, so that they follow a bubble's clock.
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::time::{now, Duration};
/// let (tx, rx) = gocsp_channel::chan(1);
/// let _timer = gocsp_runtime::time::run_at(now() + Duration::from_millis(1), "example", move || {
///     let _ = tx.try_send(());
/// });
/// assert_eq!(rx.recv().await, Some(()));
/// # });
/// ```
///
/// # Panics
///
/// Outside a bubble, outside a tokio runtime (naming `what`).
#[doc(hidden)]
#[track_caller]
pub fn run_at(deadline: Instant, what: &str, f: impl FnOnce() + Send + 'static) -> TimerHandle {
    match synctest::current() {
        Some(bubble) => {
            let key = bubble.add_timer(deadline, Box::new(move |_| f()));
            TimerHandle(HandleInner::Bubble(Arc::downgrade(&bubble), key))
        }
        None => {
            let task = runtime_handle(what).spawn(async move {
                tokio::time::sleep_until(deadline).await;
                f();
            });
            TimerHandle(HandleInner::Task(task.abort_handle()))
        }
    }
}

/// Takes back what [`run_at`] armed (or, made from a task's `AbortHandle`, aborts that task).
/// Not a public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct TimerHandle(HandleInner);

#[derive(Debug)]
enum HandleInner {
    Task(tokio::task::AbortHandle),
    Bubble(std::sync::Weak<Bubble>, TimerKey),
}

impl TimerHandle {
    /// Stops the timer (or task) if it has not run yet.
    pub fn abort(&self) {
        match &self.0 {
            HandleInner::Task(task) => task.abort(),
            HandleInner::Bubble(bubble, key) => {
                if let Some(bubble) = bubble.upgrade() {
                    bubble.remove_timer(*key);
                }
            }
        }
    }
}

impl From<tokio::task::AbortHandle> for TimerHandle {
    fn from(task: tokio::task::AbortHandle) -> TimerHandle {
        TimerHandle(HandleInner::Task(task))
    }
}

/// The current time: the bubble's virtual clock inside a [`synctest`] bubble,
/// tokio's clock elsewhere. Use it instead of `Instant::now()` for anything compared with the
/// instants gocsp's timers deliver.
///
/// ```
/// use gocsp_runtime::time::{now, Duration};
/// gocsp_runtime::synctest::test(async {
///     let t0 = now();
///     gocsp_runtime::time::sleep(Duration::from_secs(5)).await;
///     assert_eq!(now() - t0, Duration::from_secs(5));
/// });
/// ```
///
/// # Go equivalent
///
/// `time.Now()`.
pub fn now() -> Instant {
    match synctest::current() {
        Some(bubble) => bubble.now(),
        None => Instant::now(),
    }
}

pin_project! {
    /// How a [`Sleep`] waits: on tokio's clock, or on its bubble's.
    #[project = SleepInnerProj]
    #[derive(Debug)]
    enum SleepInner {
        Tokio { #[pin] sleep: tokio::time::Sleep },
        Bubble { timer: BubbleSleep },
    }
}

/// A sleep on a bubble's clock: armed on its first poll, taken out of the bubble if dropped
/// before it fired.
#[derive(Debug)]
struct BubbleSleep {
    bubble: Arc<Bubble>,
    deadline: Instant,
    key: Option<TimerKey>,
    fired: Arc<Mutex<(bool, Option<std::task::Waker>)>>,
}

impl BubbleSleep {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut fired = self.fired.lock();
        if fired.0 {
            return Poll::Ready(());
        }
        match &fired.1 {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => fired.1 = Some(cx.waker().clone()),
        }
        drop(fired);
        if self.key.is_none() {
            let shared = Arc::clone(&self.fired);
            self.key = Some(self.bubble.add_timer(
                self.deadline,
                Box::new(move |_| {
                    let waker = {
                        let mut fired = shared.lock();
                        fired.0 = true;
                        fired.1.take()
                    };
                    if let Some(w) = waker {
                        w.wake();
                    }
                }),
            ));
        }
        Poll::Pending
    }
}

impl Drop for BubbleSleep {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.bubble.remove_timer(key);
        }
    }
}

pin_project! {
    /// Future of [`sleep`].
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let nap: gocsp_runtime::time::Sleep = gocsp_runtime::time::sleep(std::time::Duration::from_millis(1));
    /// nap.await;
    /// # });
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Sleep {
        #[pin]
        inner: SleepInner,
        site: &'static Location<'static>,
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        let polled = match this.inner.project() {
            SleepInnerProj::Tokio { sleep } => sleep.poll(cx),
            SleepInnerProj::Bubble { timer } => timer.poll(cx),
        };
        match polled {
            Poll::Ready(()) => Poll::Ready(()),
            Poll::Pending => {
                hook::blocked(Op::Sleep, this.site);
                Poll::Pending
            }
        }
    }
}

/// Waits for `d`. Like `tokio::time::sleep`, but a goroutine sleeping here shows as `[sleep]`
/// at this line in a goroutine dump.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::time::{sleep, Duration, Instant};
/// let start = Instant::now();
/// sleep(Duration::from_millis(5)).await;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # });
/// ```
///
/// # Cancel safety
///
/// Cancel safe: dropping it just cancels the wait.
///
/// # Panics
///
/// When polled outside a tokio runtime with timers enabled.
///
/// # Go equivalent
///
/// `time.Sleep(d)`.
#[track_caller]
pub fn sleep(d: Duration) -> Sleep {
    let inner = match synctest::current() {
        Some(bubble) => SleepInner::Bubble {
            timer: BubbleSleep {
                deadline: bubble.now() + d,
                bubble,
                key: None,
                fired: Arc::default(),
            },
        },
        None => SleepInner::Tokio {
            sleep: tokio::time::sleep(d),
        },
    };
    Sleep {
        inner,
        site: Location::caller(),
    }
}

/// State shared by a `Timer`/`Ticker` and its task. Every delivery happens under `state`'s lock
/// after checking the generation, and `stop`/`reset` bump the generation and drain the channel
/// under the same lock: once they return, no delivery for an older setting can happen.
struct Shared {
    state: Mutex<Armed>,
    tx: Sender<Instant>,
    rx: Receiver<Instant>,
}

struct Armed {
    generation: u64,
    armed: bool,
}

impl Shared {
    fn new() -> Arc<Shared> {
        let (tx, rx) = chan(1);
        Arc::new(Shared {
            state: Mutex::new(Armed {
                generation: 0,
                armed: false,
            }),
            tx,
            rx,
        })
    }

    /// Disarms, invalidates any firing in progress, drains the channel. Returns whether the
    /// timer was armed or had an undelivered value (Go's `Stop`/`Reset` result). With
    /// `rearm`, arms again under the same lock and returns the new generation too.
    fn disarm(&self, rearm: bool) -> (bool, u64) {
        let mut st = self.state.lock();
        let was_armed = st.armed;
        st.generation += 1;
        st.armed = rearm;
        let drained = self.rx.try_recv().is_ok();
        (was_armed || drained, st.generation)
    }
}

/// A single-shot timer whose channel `c` receives the time once it fires.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::time::{Duration, Timer};
/// let mut t = Timer::new(Duration::from_secs(3600));
/// assert!(t.stop()); // stopped before it fired
/// t.reset(Duration::from_millis(1));
/// t.c.recv().await.unwrap();
/// # });
/// ```
///
/// # Go equivalent
///
/// `time.NewTimer(d)`, `t.C`, `t.Stop()`, `t.Reset(d)` (Go 1.23 semantics).
#[derive(Debug)]
pub struct Timer {
    /// Receives the scheduled firing time (Go's `t.C`).
    pub c: Receiver<Instant>,
    shared: Arc<Shared>,
    backend: Backend,
}

/// Where a [`Timer`] or [`Ticker`] keeps its armed timer: a task on tokio's clock, or an entry
/// in its bubble's timers.
#[derive(Debug)]
enum Backend {
    Tokio {
        rt: Handle,
        task: Option<JoinHandle<()>>,
    },
    Bubble {
        bubble: Arc<Bubble>,
        /// The armed entry; a ticker's firing replaces it with the next one.
        key: Arc<Mutex<Option<TimerKey>>>,
    },
}

impl Backend {
    #[track_caller]
    fn new(what: &str) -> Backend {
        match synctest::current() {
            Some(bubble) => Backend::Bubble {
                bubble,
                key: Arc::default(),
            },
            None => Backend::Tokio {
                rt: runtime_handle(what),
                task: None,
            },
        }
    }

    /// Frees the armed timer, if any.
    fn disarm(&mut self) {
        match self {
            Backend::Tokio { task, .. } => {
                if let Some(task) = task.take() {
                    task.abort();
                }
            }
            Backend::Bubble { bubble, key } => {
                let armed = key.lock().take();
                if let Some(armed) = armed {
                    bubble.remove_timer(armed);
                }
            }
        }
    }

    /// Runs `fire` once at `deadline` (after a previous timer was disarmed).
    fn arm_once(&mut self, deadline: Instant, fire: impl FnOnce(Instant) + Send + 'static) {
        match self {
            Backend::Tokio { rt, task } => {
                *task = Some(rt.spawn(async move {
                    tokio::time::sleep_until(deadline).await;
                    fire(deadline);
                }));
            }
            Backend::Bubble { bubble, key } => {
                *key.lock() = Some(bubble.add_timer(deadline, Box::new(fire)));
            }
        }
    }

    /// Runs `tick` at `start` and every `d` after, skipping ticks it misses, until `tick`
    /// returns `false` or the timer is disarmed.
    fn arm_every(
        &mut self,
        start: Instant,
        d: Duration,
        tick: impl Fn(Instant) -> bool + Send + Sync + 'static,
    ) {
        match self {
            Backend::Tokio { rt, task } => {
                *task = Some(rt.spawn(async move {
                    let mut interval = tokio::time::interval_at(start, d);
                    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    while tick(interval.tick().await) {}
                }));
            }
            Backend::Bubble { bubble, key } => {
                every_in_bubble(bubble, Arc::clone(key), start, d, Arc::new(tick));
            }
        }
    }
}

/// Arms a bubble timer at `at` that runs `tick` and, while it returns `true`, arms the next
/// one `d` later, keeping the armed entry in `key`. Holds the bubble weakly.
fn every_in_bubble(
    bubble: &Arc<Bubble>,
    key: Arc<Mutex<Option<TimerKey>>>,
    at: Instant,
    d: Duration,
    tick: Arc<dyn Fn(Instant) -> bool + Send + Sync>,
) {
    let weak = Arc::downgrade(bubble);
    let slot = Arc::clone(&key);
    let armed = bubble.add_timer(
        at,
        Box::new(move |t| {
            *slot.lock() = None;
            if tick(t) {
                if let Some(bubble) = weak.upgrade() {
                    every_in_bubble(&bubble, slot, t + d, d, tick);
                }
            }
        }),
    );
    *key.lock() = Some(armed);
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Timer {
    /// A timer that fires once after `d`.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let t = gocsp_runtime::time::Timer::new(std::time::Duration::from_millis(1));
    /// assert!(t.c.recv().await.is_some());
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    #[track_caller]
    pub fn new(d: Duration) -> Timer {
        let backend = Backend::new("time::Timer::new");
        let shared = Shared::new();
        let mut t = Timer {
            c: shared.rx.clone(),
            shared,
            backend,
        };
        t.reset(d);
        t
    }

    /// Stops the timer. Returns `true` if this call stopped it (it had not fired, or its value
    /// had not been received yet — that value is discarded), `false` if it had already
    /// fired and been received, or was stopped. After `stop` returns, `c` receives nothing
    /// until the next [`reset`](Timer::reset).
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// use gocsp_runtime::time::{Duration, Timer};
    /// let mut t = Timer::new(Duration::from_millis(1));
    /// t.c.recv().await.unwrap();
    /// assert!(!t.stop()); // fired and received
    /// # });
    /// ```
    pub fn stop(&mut self) -> bool {
        let (pending, _) = self.shared.disarm(false);
        self.backend.disarm();
        pending
    }

    /// Re-arms the timer to fire after `d`, discarding any pending firing or undelivered value.
    /// Returns `true` if the timer had been armed or had an undelivered value.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// use gocsp_runtime::time::{Duration, Timer};
    /// let mut t = Timer::new(Duration::from_secs(3600));
    /// assert!(t.reset(Duration::from_millis(1)));
    /// t.c.recv().await.unwrap();
    /// # });
    /// ```
    pub fn reset(&mut self, d: Duration) -> bool {
        let deadline = now() + d;
        let (pending, generation) = self.shared.disarm(true);
        self.backend.disarm();
        let shared = Arc::clone(&self.shared);
        self.backend.arm_once(deadline, move |deadline| {
            let mut st = shared.state.lock();
            if st.generation == generation && st.armed {
                st.armed = false;
                let _ = shared.tx.try_send(deadline);
            }
        });
        pending
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.backend.disarm();
    }
}

/// A ticker whose channel `c` receives the time every period. At most one tick waits in the
/// channel; ticks a slow receiver misses are dropped.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::time::{Duration, Ticker};
/// let mut t = Ticker::new(Duration::from_millis(2));
/// let a = t.c.recv().await.unwrap();
/// let b = t.c.recv().await.unwrap();
/// assert!(b > a);
/// t.stop();
/// # });
/// ```
///
/// # Go equivalent
///
/// `time.NewTicker(d)`, `t.C`, `t.Stop()`, `t.Reset(d)` (Go 1.23 semantics).
#[derive(Debug)]
pub struct Ticker {
    /// Receives the scheduled tick times (Go's `t.C`).
    pub c: Receiver<Instant>,
    shared: Arc<Shared>,
    backend: Backend,
}

impl Ticker {
    /// A ticker with period `d`; the first tick comes after `d`.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let t = gocsp_runtime::time::Ticker::new(std::time::Duration::from_millis(1));
    /// assert!(t.c.recv().await.is_some());
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// If `d` is zero (as Go's `NewTicker` does), or outside a tokio runtime.
    #[track_caller]
    pub fn new(d: Duration) -> Ticker {
        assert!(!d.is_zero(), "gocsp: non-positive interval for Ticker::new");
        let backend = Backend::new("time::Ticker::new");
        let shared = Shared::new();
        let mut t = Ticker {
            c: shared.rx.clone(),
            shared,
            backend,
        };
        t.reset(d);
        t
    }

    /// Stops the ticker; after it returns, `c` receives nothing until a
    /// [`reset`](Ticker::reset) (a waiting tick is discarded).
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// use gocsp_runtime::time::{Duration, Ticker};
    /// let mut t = Ticker::new(Duration::from_millis(1));
    /// t.c.recv().await.unwrap();
    /// t.stop();
    /// assert!(t.c.try_recv().is_err());
    /// # });
    /// ```
    pub fn stop(&mut self) {
        self.shared.disarm(false);
        self.backend.disarm();
    }

    /// Restarts the ticker with period `d`: the next tick comes `d` from now; a waiting tick
    /// is discarded.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// use gocsp_runtime::time::{Duration, Ticker};
    /// let mut t = Ticker::new(Duration::from_secs(3600));
    /// t.reset(Duration::from_millis(1));
    /// t.c.recv().await.unwrap();
    /// # });
    /// ```
    ///
    /// # Panics
    ///
    /// If `d` is zero.
    pub fn reset(&mut self, d: Duration) {
        assert!(
            !d.is_zero(),
            "gocsp: non-positive interval for Ticker::reset"
        );
        let (_, generation) = self.shared.disarm(true);
        self.backend.disarm();
        let shared = Arc::clone(&self.shared);
        self.backend.arm_every(now() + d, d, move |t| {
            let st = shared.state.lock();
            if st.generation != generation {
                return false;
            }
            // Full: the receiver has not taken the previous tick; drop this one.
            let _ = shared.tx.try_send(t);
            true
        });
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.backend.disarm();
    }
}
