//! Running a test on gocsp: what `#[gocsp::test]` expands to.
//!
//! Each test gets a runtime of its own (2 workers unless `GOMAXPROCS` or the attribute says
//! otherwise, so that scheduling races show up) and a *group*: the test's body is its main
//! goroutine, and every goroutine started on the runtime's threads belongs to the group. The
//! group is what lets one test be judged while other tests run in the same process:
//!
//! - **Deadlocks fail the test.** A deadlock detector watches the group, with the rules of the
//!   program-wide detector (see the crate docs, "Deadlock detector") applied to the test's own
//!   goroutines and runtime: when every goroutine of the test is blocked in a gocsp operation
//!   that nothing can complete, the body panics with Go's message
//!   `all goroutines are asleep - deadlock!` and the dump of the test's goroutines, instead of
//!   hanging until CI kills it. As for a program, the detector holds back while anything it
//!   cannot see might still make progress: a plain tokio task or timer on the test's runtime, a
//!   blocking thread, or a thread of the process that no gocsp test owns (an OS thread the test
//!   started, or a plain `#[test]` running at the same time). Such a deadlock is then reported
//!   once that thread is gone, or never.
//! - **Leaked goroutines fail the test.** Goroutines of the group still alive when the body has
//!   returned are waited for briefly (a goroutine told to stop may need a moment to see it),
//!   then listed in the failure, in the dump's layout. [`Builder::allow_leaks`] (the
//!   attribute's `allow_leaks`) opts out; the runtime then drops them.

use std::cell::RefCell;
use std::future::Future;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::deadlock::{self, KnownThread, Scope};
use crate::goroutine::GoFuture;
use crate::registry::{self, Info, Kind, GROUP};
use crate::synctest::{self, Bubble};
use crate::Deadlock;

/// How long a test's leftover goroutines get to finish after its body returned.
const LEAK_GRACE: Duration = Duration::from_secs(1);

/// How long an idle blocking thread of a test's runtime stays (a blocking thread holds the
/// deadlock detector back while it exists).
const BLOCKING_KEEP_ALIVE: Duration = Duration::from_millis(100);

/// Runs one test: a runtime, a goroutine group, a deadlock detector and a leak check, as the
/// module docs describe. `#[gocsp::test(worker_threads = 4, allow_leaks)]` is
/// `Builder::new().worker_threads(4).allow_leaks(true).run(body)`.
///
/// # Examples
///
/// ```
/// use gocsp_runtime::testing::Builder;
/// let total = Builder::new().worker_threads(1).run(async {
///     let h = gocsp_runtime::go!(async { 40 + 2 });
///     h.await.unwrap()
/// });
/// assert_eq!(total, 42);
/// ```
///
/// A test that deadlocks fails with Go's message instead of hanging:
///
/// ```should_panic
/// gocsp_runtime::testing::Builder::new().run(async {
///     let (_tx, rx) = gocsp_channel::chan::<()>(0);
///     rx.recv().await; // nobody will ever send
/// });
/// ```
///
/// # Go equivalent
///
/// `go test` runs each `TestXxx` on the one Go runtime and reports a deadlock only when the
/// whole test binary is stuck; this detector judges one test at a time.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder runs nothing until `run` is called"]
pub struct Builder {
    workers: Option<usize>,
    allow_leaks: bool,
    synctest: bool,
}

/// The worker count of a test's runtime when none is given: `GOMAXPROCS` if it is a positive
/// integer, else 2.
fn default_workers() -> usize {
    std::env::var("GOMAXPROCS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(2)
}

thread_local! {
    /// Keeps a test runtime's thread in the known sets, and in its bubble, from its start to
    /// its stop.
    static KNOWN: RefCell<Option<(KnownThread, synctest::Entered)>> = const { RefCell::new(None) };
}

impl Builder {
    /// A test with the default workers (`GOMAXPROCS`, else 2) that fails on leaked goroutines.
    ///
    /// ```
    /// gocsp_runtime::testing::Builder::new().run(async {});
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The number of worker threads of the test's runtime.
    ///
    /// ```
    /// gocsp_runtime::testing::Builder::new().worker_threads(4).run(async {});
    /// ```
    ///
    /// # Panics
    ///
    /// `run` panics if `n` is 0.
    pub fn worker_threads(mut self, n: usize) -> Builder {
        self.workers = Some(n);
        self
    }

    /// Lets goroutines outlive the test's body (they are dropped with the runtime) instead of
    /// failing the test.
    ///
    /// ```
    /// gocsp_runtime::testing::Builder::new().allow_leaks(true).run(async {
    ///     gocsp_runtime::go!(std::future::pending::<()>());
    /// });
    /// ```
    pub fn allow_leaks(mut self, yes: bool) -> Builder {
        self.allow_leaks = yes;
        self
    }

    /// Runs the test in a synctest bubble: its goroutines share a virtual clock that advances
    /// only when all of them are durably blocked (see [`crate::synctest`]). The bubble's own
    /// deadlock rule replaces the detector; after the body returns, the bubble runs on until
    /// its goroutines have finished.
    ///
    /// ```
    /// use gocsp_runtime::time::{sleep, Duration};
    /// gocsp_runtime::testing::Builder::new().synctest(true).run(async {
    ///     sleep(Duration::from_secs(60)).await; // no real minute passes
    /// });
    /// ```
    pub fn synctest(mut self, yes: bool) -> Builder {
        self.synctest = yes;
        self
    }

    /// Runs `body` as the test's main goroutine and returns its output.
    ///
    /// # Panics
    ///
    /// With the body's panic if it panics; with `all goroutines are asleep - deadlock!` and the
    /// test's goroutines if they deadlock; with the list of leaked goroutines if some are still
    /// alive after the body returned (unless [`allow_leaks`](Self::allow_leaks)); if the
    /// runtime cannot start.
    #[track_caller]
    pub fn run<F: Future>(self, body: F) -> F::Output {
        let location = Location::caller();
        static NEXT_GROUP: AtomicU32 = AtomicU32::new(1);
        let group = NEXT_GROUP.fetch_add(1, Ordering::Relaxed);
        let own: Arc<Mutex<Vec<u32>>> = Arc::default();
        let workers = self.workers.unwrap_or_else(default_workers);
        assert!(
            workers > 0,
            "gocsp::test: worker_threads must be at least 1"
        );
        let on_start = Arc::clone(&own);
        let bubble = self.synctest.then(|| Bubble::new(group));
        let thread_bubble = bubble.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name(format!("gocsp-test-{group}"))
            .thread_keep_alive(BLOCKING_KEEP_ALIVE)
            .enable_all()
            .on_thread_start(move || {
                GROUP.set(group);
                let known = deadlock::known_thread(Some(&on_start));
                let entered = synctest::enter(thread_bubble.clone());
                KNOWN.with(|k| *k.borrow_mut() = Some((known, entered)));
            })
            .on_thread_stop(|| {
                KNOWN.with(|k| k.borrow_mut().take());
            })
            .build()
            .unwrap_or_else(|e| panic!("gocsp::test: cannot start the runtime: {e}"));

        let out = {
            let _enter = rt.enter();
            let _group = GroupGuard(GROUP.replace(group));
            let _known = deadlock::known_thread(None);
            let _bubble = synctest::enter(bubble.clone());
            let info = Info::new(Kind::Main, Some(Arc::from("main")), location);
            let main = GoFuture::new(body, info);
            let (_detector, _pacer) = match &bubble {
                Some(b) => {
                    b.start(rt.handle().clone(), Arc::downgrade(main.info()));
                    (None, Some(Pacer::start(Arc::clone(b))))
                }
                None => {
                    let detector = deadlock::start(
                        rt.handle().clone(),
                        Deadlock::Panic,
                        Arc::downgrade(main.info()),
                        Scope::Group { group, own },
                    );
                    (detector, None)
                }
            };
            let out = rt.block_on(main);
            // A bubble runs on after its body returned, until its goroutines have finished.
            let leaked = match (&out, self.allow_leaks) {
                (Err(_), _) | (_, true) => None,
                (Ok(_), false) => leftovers(group, bubble.as_deref()),
            };
            (out, leaked)
        };
        let (out, leaked) = out;
        rt.shutdown_background();
        let out = match out {
            Ok(v) => v,
            Err(caught) => std::panic::resume_unwind(caught.payload),
        };
        match leaked {
            Some(Leftovers::Deadlock(report)) => panic!("{report}"),
            Some(Leftovers::Leaked(dump)) => panic!(
                "gocsp::test: goroutines still alive after the test returned (leaked; \
                 `#[gocsp::test(allow_leaks)]` allows it):\n\n{dump}"
            ),
            None => out,
        }
    }
}

/// Restores the thread's previous group when dropped.
struct GroupGuard(u32);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        GROUP.set(self.0);
    }
}

/// What is left of a test's goroutines after its body returned.
enum Leftovers {
    /// Still alive after the grace period.
    Leaked(crate::Dump),
    /// A bubble's goroutines all durably blocked with nothing pending: its report.
    Deadlock(String),
}

/// Waits up to [`LEAK_GRACE`] for the goroutines of `group` to finish (a bubble goes on moving
/// its clock meanwhile); what is left, if anything.
fn leftovers(group: u32, bubble: Option<&Bubble>) -> Option<Leftovers> {
    let deadline = Instant::now() + LEAK_GRACE;
    loop {
        let mut alive = false;
        registry::for_each(|info| {
            alive = info.group == group;
            !alive
        });
        if !alive {
            return None;
        }
        if let Some(report) = bubble.and_then(Bubble::failure) {
            return Some(Leftovers::Deadlock(report));
        }
        if Instant::now() >= deadline {
            let dump = crate::dump::dump_group(group);
            return (!dump.is_empty()).then_some(Leftovers::Leaked(dump));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A thread that looks at a bubble every [`PACE`]: it moves the bubble on after events that
/// do not check it themselves (a goroutine's task ending, a plain task finishing).
struct Pacer {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How often the [`Pacer`] looks.
const PACE: Duration = Duration::from_millis(2);

impl Pacer {
    fn start(bubble: Arc<Bubble>) -> Pacer {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("gocsp-synctest".into())
            .spawn(move || {
                let _known = deadlock::known_thread(None);
                // Timers it fires send on the bubble's channels: it acts inside the bubble.
                let _inside = synctest::enter(Some(Arc::clone(&bubble)));
                while !stop2.load(Ordering::Acquire) {
                    bubble.check();
                    std::thread::sleep(PACE);
                }
            })
            .expect("gocsp::test: cannot start the synctest pacer thread");
        Pacer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
