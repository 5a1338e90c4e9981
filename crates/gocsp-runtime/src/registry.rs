//! The registry of live goroutines and the per-goroutine record the runtime keeps.
//!
//! Invariants (kept true by `goroutine.rs`, relied upon by `deadlock.rs`):
//! - a live, registered goroutine's [`Info`] has exactly [`BASE_REFS`] strong references owned
//!   by the runtime: one in its registry shard, one in the wrapper future (`info`), one inside
//!   the wrapper's counting [`Waker`]. Every other strong reference is a clone of that waker held
//!   by whatever the goroutine is waiting on.
//! - nothing here holds a lock while calling user code or waking a task.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::task::{Wake, Waker};

use gocsp_channel::hook::{self, Observer, Op};
use parking_lot::Mutex;
use tokio::time::Instant;

/// Strong references to a live goroutine's [`Info`] owned by the runtime itself (see module docs).
pub(crate) const BASE_REFS: usize = 3;

/// The goroutine is being polled (or, for a blocking goroutine, running its closure).
pub(crate) const RUNNING: u8 = 0;
/// Spawned or woken, not yet polled.
pub(crate) const RUNNABLE: u8 = 1;
/// Its last poll returned `Pending` without a gocsp operation reporting (timer, I/O, ...).
pub(crate) const WAITING: u8 = 2;
/// Its last poll returned `Pending` inside a gocsp operation (see [`Info::blocked`]).
pub(crate) const BLOCKED: u8 = 3;

/// What kind of thing runs the goroutine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A tokio task (`go!`).
    Task,
    /// A closure on the blocking pool (`go_blocking!`).
    Blocking,
    /// The future given to `run` / `Runtime::block_on`, polled by the thread calling it.
    Main,
}

/// The gocsp operation a goroutine was last seen blocked in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockedAt {
    pub(crate) op: Op,
    pub(crate) site: &'static Location<'static>,
    pub(crate) since: Instant,
    /// The poll that blocked ran the inner future with this goroutine's counting waker.
    pub(crate) counted: bool,
}

/// Everything the runtime knows about one goroutine.
pub(crate) struct Info {
    pub(crate) id: u64,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) location: &'static Location<'static>,
    /// The goroutine that spawned this one, 0 if none (spawned from outside any goroutine).
    pub(crate) parent: u64,
    pub(crate) kind: Kind,
    pub(crate) created: Instant,
    /// One of `RUNNING`, `RUNNABLE`, `WAITING`, `BLOCKED`.
    pub(crate) state: AtomicU8,
    /// Incremented at the start of every poll. Written only by the thread polling the goroutine
    /// (polls of one task never overlap), read by the deadlock detector: relaxed is enough, the
    /// detector only compares two samples taken 100 ms apart.
    pub(crate) epoch: AtomicU64,
    /// Meaningful while `state == BLOCKED` (kept afterwards to carry `since` over re-polls).
    pub(crate) blocked: Mutex<Option<BlockedAt>>,
    /// The waker of the task (or `block_on` thread) that polls this goroutine, captured on the
    /// first poll. The counting waker forwards to it.
    pub(crate) task_waker: OnceLock<Waker>,
    /// Set by the deadlock detector under `Deadlock::Panic`: the main goroutine panics on its
    /// next poll.
    pub(crate) deadlock_panic: AtomicBool,
}

impl Info {
    pub(crate) fn new(
        kind: Kind,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> Arc<Info> {
        install_observer();
        Arc::new(Info {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            location,
            parent: current_id().unwrap_or(0),
            kind,
            created: Instant::now(),
            state: AtomicU8::new(if kind == Kind::Blocking {
                RUNNING
            } else {
                RUNNABLE
            }),
            epoch: AtomicU64::new(0),
            blocked: Mutex::new(None),
            task_waker: OnceLock::new(),
            deadlock_panic: AtomicBool::new(false),
        })
    }

    /// Records the outcome of a `Pending` poll. `report` is the gocsp operation that reported
    /// during the poll, if any; `progressed` says whether a gocsp operation completed on this
    /// thread during the poll (then a new blocking episode starts even at the same site).
    pub(crate) fn after_pending(
        &self,
        report: Option<(Op, &'static Location<'static>)>,
        counted: bool,
        progressed: bool,
    ) {
        let next = match report {
            Some((op, site)) => {
                let mut b = self.blocked.lock();
                let keep_since = match &*b {
                    Some(prev) => !progressed && prev.op == op && std::ptr::eq(prev.site, site),
                    None => false,
                };
                let since = match (&*b, keep_since) {
                    (Some(prev), true) => prev.since,
                    _ => Instant::now(),
                };
                *b = Some(BlockedAt {
                    op,
                    site,
                    since,
                    counted,
                });
                BLOCKED
            }
            None => WAITING,
        };
        // A wake during the poll stored RUNNABLE: keep it, the task is about to be polled again.
        // Release pairs with the detector's Acquire load so it sees the `blocked` record.
        let _ = self
            .state
            .compare_exchange(RUNNING, next, Ordering::Release, Ordering::Relaxed);
    }

    /// A blocking goroutine's thread reported that it parks in a gocsp operation.
    fn blocking_thread_blocked(&self, op: Op, site: &'static Location<'static>) {
        *self.blocked.lock() = Some(BlockedAt {
            op,
            site,
            since: Instant::now(),
            counted: false,
        });
        self.state.store(BLOCKED, Ordering::Release);
    }
}

/// The counting waker: waking a goroutine marks it runnable, then wakes its task. The number of
/// live clones of this waker (strong count minus [`BASE_REFS`]) tells the deadlock detector how
/// many things could still wake the goroutine.
impl Wake for Info {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.state.store(RUNNABLE, Ordering::Release);
        if let Some(w) = self.task_waker.get() {
            w.wake_by_ref();
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

const SHARDS: usize = 64;

/// Spreads goroutine ids over hash buckets (ids in one shard differ by multiples of 64).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Map = HashMap<u64, Arc<Info>, BuildHasherDefault<IdHasher>>;

/// One lock stripe. Aligned so that two shards' counters never share a cache line.
#[repr(align(64))]
struct Shard {
    map: Mutex<Map>,
    /// Live goroutines in this shard (all kinds); updated under `map`'s lock, read without it.
    live: AtomicUsize,
    /// Live `Kind::Task` goroutines in this shard.
    tasks: AtomicUsize,
}

static REGISTRY: LazyLock<Vec<Shard>> = LazyLock::new(|| {
    (0..SHARDS)
        .map(|_| Shard {
            map: Mutex::new(Map::default()),
            live: AtomicUsize::new(0),
            tasks: AtomicUsize::new(0),
        })
        .collect()
});

fn shard(id: u64) -> &'static Shard {
    &REGISTRY[(id % SHARDS as u64) as usize]
}

/// Adds a goroutine to the registry; it stays there until the returned guard drops.
pub(crate) fn register(info: &Arc<Info>) -> Registered {
    let s = shard(info.id);
    let mut map = s.map.lock();
    map.insert(info.id, Arc::clone(info));
    s.live.fetch_add(1, Ordering::Relaxed);
    if info.kind == Kind::Task {
        s.tasks.fetch_add(1, Ordering::Relaxed);
    }
    Registered {
        id: info.id,
        task: info.kind == Kind::Task,
    }
}

/// Removes its goroutine from the registry when dropped.
#[derive(Debug)]
pub(crate) struct Registered {
    id: u64,
    task: bool,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let s = shard(self.id);
        let removed = s.map.lock().remove(&self.id);
        if removed.is_some() {
            s.live.fetch_sub(1, Ordering::Relaxed);
            if self.task {
                s.tasks.fetch_sub(1, Ordering::Relaxed);
            }
        }
        // `removed` (an `Arc<Info>`) drops here, after the lock is released.
    }
}

/// The number of registered goroutines (all kinds).
pub(crate) fn live() -> usize {
    REGISTRY
        .iter()
        .map(|s| s.live.load(Ordering::Relaxed))
        .sum()
}

/// The number of registered goroutines that are tokio tasks.
pub(crate) fn live_tasks() -> usize {
    REGISTRY
        .iter()
        .map(|s| s.tasks.load(Ordering::Relaxed))
        .sum()
}

/// Calls `f` on every registered goroutine, shard by shard, under that shard's lock (so the
/// caller does not add strong references). Stops early when `f` returns `false`.
pub(crate) fn for_each(mut f: impl FnMut(&Arc<Info>) -> bool) -> bool {
    for s in REGISTRY.iter() {
        let map = s.map.lock();
        for info in map.values() {
            if !f(info) {
                return false;
            }
        }
    }
    true
}

/// What the thread is polling right now, and what gocsp operations reported during the poll.
#[derive(Clone, Copy)]
pub(crate) struct PollCtx {
    pub(crate) id: u64,
    pub(crate) report: Option<(Op, &'static Location<'static>)>,
}

impl PollCtx {
    pub(crate) const NONE: PollCtx = PollCtx {
        id: 0,
        report: None,
    };
}

thread_local! {
    /// Set by the goroutine wrapper around each poll of a goroutine.
    pub(crate) static CTX: std::cell::Cell<PollCtx> = const { std::cell::Cell::new(PollCtx::NONE) };
    /// Incremented by `hook::progressed` on this thread.
    pub(crate) static PROGRESS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// The blocking goroutine whose closure runs on this thread, if any.
    pub(crate) static BLOCKING: std::cell::RefCell<Option<Arc<Info>>> = const { std::cell::RefCell::new(None) };
    /// The gocsp operation the last goroutine poll on this thread ended blocked in; read by the
    /// profile layer when the goroutine's span exits.
    pub(crate) static LAST_POLL: std::cell::Cell<Option<(Op, &'static Location<'static>)>> = const { std::cell::Cell::new(None) };
}

/// The id of the goroutine running on this thread, if any.
pub(crate) fn current_id() -> Option<u64> {
    let id = CTX.with(|c| c.get().id);
    if id != 0 {
        return Some(id);
    }
    BLOCKING.with(|b| b.borrow().as_ref().map(|i| i.id))
}

struct RuntimeObserver;

impl Observer for RuntimeObserver {
    fn blocked(&self, op: Op, site: &'static Location<'static>) {
        let handled = CTX.with(|c| {
            let mut v = c.get();
            if v.id == 0 {
                return false;
            }
            v.report = Some((op, site));
            c.set(v);
            true
        });
        if !handled {
            BLOCKING.with(|b| {
                if let Some(info) = b.borrow().as_ref() {
                    info.blocking_thread_blocked(op, site);
                }
            });
        }
    }

    fn progressed(&self) {
        PROGRESS.with(|p| p.set(p.get().wrapping_add(1)));
        BLOCKING.with(|b| {
            if let Some(info) = b.borrow().as_ref() {
                let _ = info.state.compare_exchange(
                    BLOCKED,
                    RUNNING,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                );
            }
        });
    }
}

static OBSERVER: RuntimeObserver = RuntimeObserver;

/// Installs the runtime's observer in `gocsp_channel::hook` (once per process).
pub(crate) fn install_observer() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // `false` means another observer was installed first: goroutine states then only
        // show running/waiting, and the deadlock detector never fires (nothing reports BLOCKED).
        let _ = hook::set_observer(&OBSERVER);
    });
}
