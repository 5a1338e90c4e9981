//! The deadlock detector: a thread that reports when every goroutine is blocked on a gocsp
//! operation that nothing else can complete.
//!
//! # When it fires
//!
//! It samples the process every 100 ms. A sample is a *candidate* only if ALL of these hold:
//!
//! 1. the main goroutine (of this `block_on`) is alive, and every registered goroutine is
//!    `Blocked` in a gocsp operation other than `sleep` — not running, not runnable (woken), not
//!    waiting on something that is not gocsp (timer, I/O, tokio primitive), and not a
//!    `go_blocking!` goroutine;
//! 2. for each of them, the last poll ran with the goroutine's counting waker (a goroutine's
//!    first poll uses tokio's waker directly, to keep spawning cheap; the detector wakes such a
//!    goroutine once, spuriously, to get a counted poll), and at most one
//!    clone of that waker is alive (the one the gocsp operation keeps). A second clone means
//!    something else (a tokio timer or socket in the same `tokio::select!`, a tokio channel...)
//!    may wake it;
//! 3. tokio's `num_alive_tasks()` equals the number of registered `go!` goroutines plus
//!    gocsp's own internal tasks: no plain `tokio::spawn` task, no pending gocsp timer
//!    (`after`, `tick`, `Timer`, `Ticker` run as tasks) and no `go!` goroutine that has not
//!    waited yet (it enters the registry at its first wait) exists;
//! 4. `/proc/self/task` lists no thread besides the `block_on` thread, the detector and at
//!    most `worker_threads` others: no blocking-pool thread (busy or idle: tokio does not say
//!    which), no OS thread the program started (it could hold a channel).
//!
//! Two candidate samples 100 ms apart with the same goroutines, each polled the same number of
//! times, are a deadlock.
//!
//! # What it does not see (false negatives, by design)
//!
//! A program that deadlocks while it still has a thread, a task, a timer, or a `spawn_blocking`
//! thread lingering in tokio's pool (idle pool threads exit after 10 s) is reported once those
//! are gone, or never. Goroutines blocked in a `select` over several channels are reported only
//! if the engine keeps a single clone of the waker. The detector needs Linux's `/proc`;
//! elsewhere it never fires. It only fires when a single gocsp runtime is in use.
//!
//! # Known hole
//!
//! A combinator that hands its children its own waker (`FuturesUnordered`, `FuturesOrdered`,
//! `buffer_unordered`) hides what those children wait on: a goroutine polling a
//! `FuturesUnordered` of a gocsp `recv` and a long `tokio::time::sleep` looks blocked in `recv`.
//! Condition 3 still holds the report back while any gocsp timer or task exists, but a plain
//! tokio timer or socket inside such a combinator is invisible. Use gocsp's `time` functions
//! next to channel operations (as Go code does), or [`Deadlock::Off`].

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::Waker;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gocsp_channel::hook::Op;
use tokio::runtime::{Handle, RuntimeFlavor};

use crate::registry::{self, Info, Kind};
use crate::Deadlock;

/// Tasks gocsp itself runs on a runtime (the `SIGQUIT` listener), which the detector does not
/// count as a source of progress.
pub(crate) static INTERNAL_TASKS: AtomicUsize = AtomicUsize::new(0);

/// Decrements [`INTERNAL_TASKS`] when the internal task it lives in is dropped.
#[derive(Debug)]
pub(crate) struct InternalTask(());

impl InternalTask {
    pub(crate) fn new() -> InternalTask {
        INTERNAL_TASKS.fetch_add(1, Ordering::Relaxed);
        InternalTask(())
    }
}

impl Drop for InternalTask {
    fn drop(&mut self) {
        INTERNAL_TASKS.fetch_sub(1, Ordering::Relaxed);
    }
}

const INTERVAL: Duration = Duration::from_millis(100);

/// The message Go prints, followed by the dump.
pub(crate) const MESSAGE: &str = "all goroutines are asleep - deadlock!";

/// The id of the calling thread in `/proc/self/task`, if this is Linux.
pub(crate) fn thread_tid() -> Option<u32> {
    let link = std::fs::read_link("/proc/thread-self").ok()?;
    link.file_name()?.to_str()?.parse().ok()
}

/// Threads of this process that are not in `allowed`, or `None` if `/proc` cannot be read.
fn other_threads(allowed: &[u32]) -> Option<usize> {
    let mut n = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let tid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        if !allowed.contains(&tid) {
            n += 1;
        }
    }
    Some(n)
}

#[derive(Debug, PartialEq, Eq)]
struct Sample {
    alive_tasks: usize,
    /// (id, epoch) of every goroutine, sorted.
    goroutines: Vec<(u64, u64)>,
}

/// What one detector watches: the whole process (a program's `block_on`), or one test's
/// goroutines (`testing`), which share the process with other tests.
#[derive(Debug)]
pub(crate) enum Scope {
    /// Every goroutine; only the `block_on` thread, the detector and the runtime's workers may
    /// exist besides.
    Process,
    /// The goroutines of test group `group`, on a runtime of its own. A thread of the process
    /// that no test runtime owns (a plain `#[test]`, an OS thread a test started) holds
    /// detection back, as any unknown thread does for a program.
    Group {
        group: u32,
        /// The threads of this test's runtime (workers and blocking threads) alive now.
        own: Arc<parking_lot::Mutex<Vec<u32>>>,
    },
}

/// Threads that belong to some test's runtime, to the thread running a test's body, or to a
/// detector: the threads a test's detector knows cannot hold its channels.
pub(crate) static TEST_THREADS: parking_lot::Mutex<Vec<u32>> = parking_lot::Mutex::new(Vec::new());

/// Adds the calling thread to [`TEST_THREADS`] (and to `own`) until the guard drops.
pub(crate) fn known_thread(own: Option<&Arc<parking_lot::Mutex<Vec<u32>>>>) -> KnownThread {
    let tid = thread_tid();
    if let Some(tid) = tid {
        TEST_THREADS.lock().push(tid);
        if let Some(own) = own {
            own.lock().push(tid);
        }
    }
    KnownThread {
        tid,
        own: own.cloned(),
    }
}

/// Removes a thread from the known sets when dropped (see [`known_thread`]).
#[derive(Debug)]
pub(crate) struct KnownThread {
    tid: Option<u32>,
    own: Option<Arc<parking_lot::Mutex<Vec<u32>>>>,
}

impl Drop for KnownThread {
    fn drop(&mut self) {
        let Some(tid) = self.tid else { return };
        let remove = |v: &mut Vec<u32>| {
            if let Some(i) = v.iter().position(|&t| t == tid) {
                v.swap_remove(i);
            }
        };
        remove(&mut TEST_THREADS.lock());
        if let Some(own) = &self.own {
            remove(&mut own.lock());
        }
    }
}

/// `Some(())` if the threads of the process allow a report for `scope`: for a program, no
/// thread beyond `allowed` and the runtime's workers; for a test, no blocking thread in its
/// runtime and no thread of the process that is not a known test thread (or the main thread,
/// where the test harness waits).
fn threads_allow(handle: &Handle, scope: &Scope, allowed: &[u32]) -> Option<()> {
    let workers = match handle.runtime_flavor() {
        RuntimeFlavor::MultiThread => handle.metrics().num_workers(),
        _ => 0,
    };
    match scope {
        Scope::Process => (other_threads(allowed)? <= workers).then_some(()),
        Scope::Group { own, .. } => {
            if own.lock().len() > workers {
                return None;
            }
            let pid = std::process::id();
            let known = TEST_THREADS.lock();
            for entry in std::fs::read_dir("/proc/self/task").ok()? {
                let tid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
                if tid != pid && !known.contains(&tid) && !allowed.contains(&tid) {
                    return None;
                }
            }
            Some(())
        }
    }
}

fn sample(handle: &Handle, scope: &Scope, allowed: &[u32]) -> Option<Sample> {
    let metrics = handle.metrics();
    let alive_tasks = metrics.num_alive_tasks();
    let group = match scope {
        Scope::Process => {
            if alive_tasks != registry::live_tasks() + INTERNAL_TASKS.load(Ordering::Relaxed) {
                return None;
            }
            None
        }
        Scope::Group { group, .. } => Some(*group),
    };
    threads_allow(handle, scope, allowed)?;
    let mut goroutines = Vec::new();
    let mut main_seen = false;
    let mut tasks = 0;
    let all_blocked = registry::for_each(|info| {
        if group.is_some_and(|g| g != info.group) {
            return true;
        }
        tasks += usize::from(info.kind == Kind::Task);
        // A gocsp timer wakes a sleeping goroutine: it is not stuck.
        if registry::parked_alone(info).is_none_or(|at| at.op == Op::Sleep) {
            return false;
        }
        main_seen |= info.kind == Kind::Main;
        goroutines.push((info.id, info.epoch.load(Ordering::Relaxed)));
        true
    });
    if !all_blocked || !main_seen || metrics.num_alive_tasks() != alive_tasks {
        return None;
    }
    // A test's runtime runs only that test's goroutines (and no internal task): any other task
    // on it may wake one of them.
    if group.is_some() && alive_tasks != tasks {
        return None;
    }
    goroutines.sort_unstable();
    Some(Sample {
        alive_tasks,
        goroutines,
    })
}

/// A running detector; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Detector {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Detector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Sleeps for `d` unless stopped; returns `false` if stopped.
fn nap(stop: &AtomicBool, d: Duration) -> bool {
    let deadline = Instant::now() + d;
    loop {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::park_timeout(deadline - now);
    }
}

/// Starts the detector for the main goroutine `main` of a `block_on` running on this thread.
/// Returns `None` where it cannot work (no `/proc`) or `policy` is `Off`.
pub(crate) fn start(
    handle: Handle,
    policy: Deadlock,
    main: Weak<Info>,
    scope: Scope,
) -> Option<Detector> {
    if policy == Deadlock::Off {
        return None;
    }
    let block_on_tid = thread_tid()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("gocsp-deadlock".into())
        .spawn(move || {
            let _known = matches!(scope, Scope::Group { .. }).then(|| known_thread(None));
            watch(handle, policy, main, block_on_tid, &scope, &stop2)
        })
        .ok()?;
    Some(Detector {
        stop,
        thread: Some(thread),
    })
}

fn watch(
    handle: Handle,
    policy: Deadlock,
    main: Weak<Info>,
    block_on_tid: u32,
    scope: &Scope,
    stop: &AtomicBool,
) {
    let Some(me) = thread_tid() else { return };
    let allowed = [block_on_tid, me];
    let mut reported: Option<Sample> = None;
    loop {
        if !nap(stop, INTERVAL) {
            return;
        }
        let Some(first) = sample(&handle, scope, &allowed) else {
            continue;
        };
        if !nap(stop, INTERVAL) {
            return;
        }
        let Some(second) = sample(&handle, scope, &allowed) else {
            continue;
        };
        if first != second || reported.as_ref() == Some(&second) {
            continue;
        }
        let dump = match scope {
            Scope::Process => crate::dump::dump(),
            Scope::Group { group, .. } => crate::dump::dump_group(*group),
        };
        match policy {
            Deadlock::Exit => {
                eprint!("fatal error: {MESSAGE}\n\n{dump}");
                std::process::exit(2);
            }
            Deadlock::Panic => {
                if let Some(info) = main.upgrade() {
                    info.deadlock_panic.store(true, Ordering::Relaxed);
                    Waker::from(info).wake();
                }
                return;
            }
            Deadlock::Log | Deadlock::Off => {
                tracing::error!(target: "gocsp::deadlock", "{MESSAGE}\n\n{dump}");
                reported = Some(second);
            }
        }
    }
}
