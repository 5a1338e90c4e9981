//! Testing concurrent code with a virtual clock: Go 1.25's `testing/synctest`.
//!
//! [`test()`] (and `#[gocsp::test(synctest)]`) runs its body in a *bubble*: a test runtime
//! ([`crate::testing`]) whose goroutines share a virtual clock. Every goroutine started inside
//! belongs to the bubble. gocsp's timers ([`after`](crate::time::after),
//! [`tick`](crate::time::tick), [`sleep`](crate::time::sleep), [`Timer`](crate::time::Timer),
//! [`Ticker`](crate::time::Ticker), [`now`](crate::time::now), and `Context` deadlines) run on
//! it. The clock starts at the instant the bubble is created (an `Instant` has no calendar
//! date, so where Go's bubbles start at midnight on 2000-01-01, a bubble's readings are
//! deterministic as durations from its start: `now() - start` is the same on every run) and
//! advances **only when every goroutine in the bubble is durably blocked**, and then jumps
//! straight to the next timer: a test of a one-hour timeout takes microseconds, and a test
//! never skips a deadline while something in it can still run.
//!
//! # Durably blocked
//!
//! A goroutine of the bubble is durably blocked when its last poll parked it in one of these,
//! with the waker that operation keeps as the only thing that can wake it:
//!
//! - a gocsp channel operation on a channel created in the bubble: send, receive (also through
//!   `Stream`), reserve, or a `select!` / `Select` whose channels all belong to the bubble (a
//!   wait on a channel of no bubble shows in the dump as `chan receive (not durable)`);
//! - [`WaitGroup::wait`](https://docs.rs/gocsp-sync), [`Cond::wait`](https://docs.rs/gocsp-sync);
//! - a gocsp timer of the bubble: `sleep`, or a receive on a timer's channel;
//! - awaiting another goroutine's [`GoHandle`](crate::GoHandle);
//! - [`wait`].
//!
//! A `select!` with a `fut(..)` case is not durable, whatever the future is: the future keeps
//! its own clone of the goroutine's waker, so something outside the select could wake it.
//! Write `recv(after(d))` or `recv(timer.c)` instead of `fut(sleep(d))`, as Go does
//! (`case <-time.After(d)`).
//!
//! Anything else is not durable, and time stands still while a goroutine waits on it: I/O (a
//! TCP socket, a file), a lock (`tokio::sync::Mutex`), a tokio timer, a future gocsp cannot see
//! into (a `tokio::select!` that also waits on a socket), a `go_blocking!` goroutine, a plain
//! tokio task on the bubble's runtime. This is Go's rule: something outside the bubble may
//! wake such a goroutine, so the bubble cannot know that nothing will happen.
//!
//! # Deadlock and leftovers
//!
//! When every goroutine is durably blocked, no timer is pending and no [`wait`] is waiting, the
//! bubble is deadlocked: the test fails with `deadlock: all goroutines in bubble are blocked`
//! and the dump of the bubble's goroutines. After the body returns, the bubble keeps running
//! (and its clock keeps advancing) until every goroutine in it has finished, as Go's
//! `synctest.Test` waits; goroutines that end up durably blocked with nothing pending fail the
//! test with the same message and their list. Bubbles are independent: tests running in
//! parallel in one binary each have their own clock.
//!
//! # A bubble's channels
//!
//! A channel created in a bubble belongs to it: using it from outside the bubble (another
//! bubble, a thread or task of no bubble) panics with a message that says so, as in Go. The
//! check sits off the fast paths, where it costs nothing: it fires for every `try_send`,
//! `try_recv` and `try_reserve`, for a send, receive or reserve that waits or meets a waiting
//! goroutine (the only ones that can wake a goroutine of the bubble), and for a `select` that
//! is about to wait or take `default`. A send into free buffer space or a receive from a
//! buffer no sender waits on, from outside, is not reported. Dropping and closing are allowed
//! anywhere.
//!
//! A channel created *outside* the bubble may be used inside, but waiting on it is not durable
//! (something outside may send on it): the clock stands still while a goroutine waits on it.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gocsp_channel::hook::{self, Op};
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::registry::{self, Info, Kind};

/// Go's message for a bubble whose goroutines all wait forever.
pub(crate) const DEADLOCK: &str = "deadlock: all goroutines in bubble are blocked";

/// What a timer does when the bubble's clock reaches it. Runs outside the bubble's lock.
pub(crate) type Action = Box<dyn FnOnce(Instant) + Send>;

/// A timer of a bubble, to take it back out before it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerKey {
    at: Duration,
    seq: u64,
}

/// One bubble: its group, its clock and timers, and what it knows about its goroutines.
pub(crate) struct Bubble {
    group: u32,
    /// The instant the virtual clock starts at.
    base: Instant,
    /// The bubble's runtime, set once it is built.
    runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    main: Mutex<Weak<Info>>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Bubble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bubble")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    /// The virtual clock, as time since `base`.
    now: Duration,
    timers: BTreeMap<TimerKey, Action>,
    next_seq: u64,
    /// Timer actions are running (outside the lock): the goroutines they wake are not yet
    /// marked runnable, so nothing may be concluded meanwhile.
    firing: bool,
    /// The goroutine in [`wait`], if one is.
    waiter: Option<Waker>,
    /// Set when a [`wait`] may return.
    wait_done: bool,
    /// The deadlock report, once the bubble deadlocked.
    failed: Option<String>,
}

thread_local! {
    /// The bubble whose runtime this thread serves (or whose body it runs), if any.
    static BUBBLE: std::cell::RefCell<Option<Arc<Bubble>>> = const { std::cell::RefCell::new(None) };
}

/// The calling thread's bubble, if it runs one's goroutines.
pub(crate) fn current() -> Option<Arc<Bubble>> {
    BUBBLE.try_with(|b| b.borrow().clone()).ok().flatten()
}

/// The group of the calling thread's bubble, 0 if none: what a channel created here records.
pub(crate) fn current_group() -> u32 {
    BUBBLE
        .try_with(|b| b.borrow().as_ref().map_or(0, |b| b.group))
        .unwrap_or(0)
}

/// Makes `bubble` the calling thread's bubble until the guard drops.
pub(crate) fn enter(bubble: Option<Arc<Bubble>>) -> Entered {
    Entered(BUBBLE.with(|b| std::mem::replace(&mut *b.borrow_mut(), bubble)))
}

/// Restores the thread's previous bubble when dropped.
pub(crate) struct Entered(Option<Arc<Bubble>>);

impl Drop for Entered {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = BUBBLE.try_with(|b| *b.borrow_mut() = prev);
    }
}

/// A goroutine of group `group` just blocked or finished on this thread: if every goroutine of
/// its bubble is now durably blocked, move the bubble on.
pub(crate) fn on_event(group: u32) {
    if let Some(b) = current() {
        if b.group == group {
            b.check();
        }
    }
}

/// The deadlock report of `group`'s bubble, if it deadlocked: what its main goroutine panics
/// with instead of the program-wide message.
pub(crate) fn deadlock_report(group: u32) -> Option<String> {
    let b = current()?;
    (b.group == group).then(|| b.state.lock().failed.clone())?
}

/// `op` as a goroutine on this thread waits in it on channels of bubble `bubble`: inside a
/// bubble, a wait on channels of another bubble or of none is not durable, and is reported
/// under a name that says so (`chan receive (not durable)`).
pub(crate) fn durable_or_not(op: Op, bubble: u32) -> Op {
    let here = current_group();
    if here == 0 || bubble == here {
        return op;
    }
    Op::Other(match op {
        Op::Send => "chan send (not durable)",
        Op::Recv | Op::StreamRecv => "chan receive (not durable)",
        Op::Reserve => "chan send (reserve) (not durable)",
        Op::Select => "select (not durable)",
        other => other.go_name(),
    })
}

/// Whether waiting in `op` is durably blocked (see the module docs).
fn durable(op: Op) -> bool {
    match op {
        Op::Send
        | Op::Recv
        | Op::StreamRecv
        | Op::Select
        | Op::Reserve
        | Op::WaitGroup
        | Op::Cond
        | Op::Sleep => true,
        Op::Other(what) => what == "goroutine join" || what == WAIT_OP,
        _ => false,
    }
}

const WAIT_OP: &str = "synctest.Wait";

impl Bubble {
    pub(crate) fn new(group: u32) -> Arc<Bubble> {
        Arc::new(Bubble {
            group,
            base: Instant::now(),
            runtime: std::sync::OnceLock::new(),
            main: Mutex::new(Weak::new()),
            state: Mutex::new(State::default()),
        })
    }

    /// Records the bubble's runtime and main goroutine once they exist.
    pub(crate) fn start(&self, runtime: tokio::runtime::Handle, main: Weak<Info>) {
        let _ = self.runtime.set(runtime);
        *self.main.lock() = main;
    }

    /// The virtual clock's reading.
    pub(crate) fn now(&self) -> Instant {
        self.base + self.state.lock().now
    }

    /// Runs `action` when the clock reaches `at` (at once on the next advance if `at` has
    /// passed).
    pub(crate) fn add_timer(&self, at: Instant, action: Action) -> TimerKey {
        let mut st = self.state.lock();
        let at = at.saturating_duration_since(self.base).max(st.now);
        st.next_seq += 1;
        let key = TimerKey {
            at,
            seq: st.next_seq,
        };
        st.timers.insert(key, action);
        key
    }

    /// Takes a timer out before it fires; `false` if it already fired or was removed.
    pub(crate) fn remove_timer(&self, key: TimerKey) -> bool {
        let action = self.state.lock().timers.remove(&key);
        // Dropped outside the lock: it may hold channel handles.
        action.is_some()
    }

    /// The deadlock report, if the bubble deadlocked.
    pub(crate) fn failure(&self) -> Option<String> {
        self.state.lock().failed.clone()
    }

    /// Moves the bubble on if every goroutine in it is durably blocked: completes a pending
    /// [`wait`], else advances the clock to the next timer and fires every timer due then, else
    /// records a deadlock and wakes the main goroutine to report it.
    pub(crate) fn check(&self) {
        loop {
            let mut st = self.state.lock();
            if st.firing || st.failed.is_some() {
                return;
            }
            // Two identical snapshots, every goroutine durably blocked in both with no poll in
            // between: there was an instant at which all of them were.
            let Some(first) = self.snapshot() else { return };
            // No goroutine left in the bubble (its body has returned and the rest finished):
            // nothing can observe the clock, and firing a ticker that re-arms itself would loop
            // here forever.
            if first.is_empty() {
                return;
            }
            if self.snapshot().as_ref() != Some(&first) {
                return;
            }
            if let Some(w) = st.waiter.take() {
                st.wait_done = true;
                drop(st);
                w.wake();
                return;
            }
            let Some((&next, _)) = st.timers.first_key_value() else {
                let report = format!("{DEADLOCK}\n\n{}", crate::dump::dump_group(self.group));
                st.failed = Some(report);
                drop(st);
                // The main goroutine (if it still runs) panics with the report on its next poll.
                if let Some(main) = self.main.lock().upgrade() {
                    main.deadlock_panic.store(true, Ordering::Relaxed);
                    Waker::from(main).wake();
                }
                return;
            };
            st.now = next.at;
            let mut due = Vec::new();
            while let Some(entry) = st.timers.first_entry() {
                if entry.key().at != next.at {
                    break;
                }
                due.push(entry.remove());
            }
            st.firing = true;
            drop(st);
            let at = self.base + next.at;
            for action in due {
                action(at);
            }
            self.state.lock().firing = false;
            // The actions may have woken goroutines (then their next block checks again) or
            // nobody (a value into a buffer nobody reads): look again.
        }
    }

    /// The goroutines of the bubble, `(id, epoch)` sorted, if every one is durably blocked and
    /// the bubble's runtime runs no task but them.
    fn snapshot(&self) -> Option<Vec<(u64, u64)>> {
        let mut goroutines = Vec::new();
        let mut tasks = 0;
        let all = registry::for_each(|info| {
            if info.group != self.group {
                return true;
            }
            tasks += usize::from(info.kind == Kind::Task);
            if registry::parked_alone(info).is_none_or(|at| !durable(at.op)) {
                return false;
            }
            goroutines.push((info.id, info.epoch.load(Ordering::Relaxed)));
            true
        });
        let alive = self.runtime.get()?.metrics().num_alive_tasks();
        if !all || alive != tasks {
            return None;
        }
        goroutines.sort_unstable();
        Some(goroutines)
    }
}

/// Runs `body` in a bubble: a [`testing::Builder`](crate::testing::Builder) test whose
/// goroutines share a virtual clock (see the module docs). `#[gocsp::test(synctest)]` is this.
///
/// # Examples
///
/// ```
/// use gocsp_runtime::time::{self, Duration};
/// gocsp_runtime::synctest::test(async {
///     let start = time::now();
///     time::sleep(Duration::from_secs(3600)).await; // an hour, in microseconds of real time
///     assert_eq!(time::now() - start, Duration::from_secs(3600));
/// });
/// ```
///
/// # Panics
///
/// As [`testing::Builder::run`](crate::testing::Builder::run), and with
/// `deadlock: all goroutines in bubble are blocked` when the bubble deadlocks.
///
/// # Go equivalent
///
/// `synctest.Test(t, func(t *testing.T) { .. })`.
#[track_caller]
pub fn test<F: Future>(body: F) -> F::Output {
    crate::testing::Builder::new().synctest(true).run(body)
}

/// Waits until every other goroutine of the current bubble is durably blocked, then returns
/// (without advancing the clock). A test uses it to check that nothing has happened yet, or
/// that something has, without sleeping.
///
/// # Examples
///
/// ```
/// use gocsp_runtime::synctest;
/// synctest::test(async {
///     let (tx, rx) = gocsp_channel::chan::<u32>(1);
///     gocsp_runtime::go!(async move { tx.send(7).await.unwrap() });
///     synctest::wait().await; // the goroutine has sent and finished
///     assert_eq!(rx.try_recv(), Ok(7));
/// });
/// ```
///
/// # Panics
///
/// Outside a bubble, or while another goroutine of the bubble is in `wait`.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the future withdraws the wait.
///
/// # Go equivalent
///
/// `synctest.Wait()`.
#[track_caller]
pub fn wait() -> Wait {
    let bubble = current().expect("gocsp: synctest::wait called outside a synctest bubble");
    Wait {
        bubble,
        registered: false,
        site: std::panic::Location::caller(),
    }
}

/// Future of [`wait`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Wait {
    bubble: Arc<Bubble>,
    registered: bool,
    site: &'static std::panic::Location<'static>,
}

impl Future for Wait {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut st = this.bubble.state.lock();
        if this.registered && st.wait_done {
            st.wait_done = false;
            this.registered = false;
            return Poll::Ready(());
        }
        if st.waiter.is_some() && !this.registered {
            drop(st);
            panic!("gocsp: synctest::wait called while another goroutine is waiting");
        }
        st.waiter = Some(cx.waker().clone());
        this.registered = true;
        drop(st);
        hook::blocked(Op::Other(WAIT_OP), this.site);
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        if self.registered {
            let mut st = self.bubble.state.lock();
            st.waiter = None;
            st.wait_done = false;
        }
    }
}
