//! The registry of live goroutines and the per-goroutine record the runtime keeps.
//!
//! A `go!` goroutine enters the registry when its first poll returns `Pending`: one that runs to
//! completion in its first poll never touches it (nor allocates a record, unless that poll
//! panics), which keeps `go!` near the cost of `tokio::spawn`. Until then it exists only in the
//! live count ([`Alive`], what `num_goroutine` sums) and as a tokio task; the main goroutine,
//! blocking goroutines and every goroutine of a `testing` test (whose leak check, bubble and
//! dump read the registry) are registered from their start. The deadlock detector needs nothing more: an unregistered
//! goroutine is a live tokio task the registry does not count, so its condition "every tokio
//! task is a registered goroutine" holds a report back until the goroutine has waited.
//!
//! Invariants (kept true by `goroutine/task.rs`, relied upon by `deadlock.rs`):
//! - once its counting waker exists (from the poll after its first `Pending`), a live,
//!   registered goroutine's [`Info`] has exactly [`BASE_REFS`] strong references owned by the
//!   runtime: one in its registry shard, one in the wrapper future's registration, one inside the
//!   wrapper's counting [`Waker`]. Every other strong reference is a clone of that waker held by
//!   whatever the goroutine is waiting on.
//! - nothing here holds a lock while calling user code or waking a task.

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Wake, Waker};

use gocsp_channel::hook::{self, Observer, Op};
use parking_lot::Mutex;

use crate::clock;

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

/// The gocsp operation a goroutine was last seen blocked in, and where the user wrote it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockedAt {
    pub(crate) op: Op,
    pub(crate) site: &'static Location<'static>,
}

impl BlockedAt {
    /// The operation and call site as two words, for [`Info::after_pending`]'s "blocked
    /// where it last blocked" test: the site's address (each `#[track_caller]` site has one
    /// `Location`) and a number for the operation (the string's address for `Op::Other`: one
    /// call site passes one literal). `None` for an operation that has no number.
    fn key(&self) -> Option<(usize, usize)> {
        let op = match self.op {
            Op::Send => 1,
            Op::Recv => 2,
            Op::StreamRecv => 3,
            Op::Select => 4,
            Op::Reserve => 5,
            Op::WaitGroup => 6,
            Op::Cond => 7,
            Op::Sleep => 8,
            Op::Other(s) => s.as_ptr() as usize,
            _ => return None,
        };
        Some((self.site as *const Location<'static> as usize, op))
    }
}

/// Everything the runtime knows about one goroutine.
///
/// Laid out for the cache (`repr(C)`): what every poll and every wake touches comes first,
/// right after the `Arc`'s reference counts (48 bytes with them); the blocked record (written
/// when a poll blocks) follows; what only a dump reads comes last. With thousands of goroutines
/// their records do not stay in cache, and a poll then touches one or two lines of it, not
/// three as with the compiler's own field order (which puts the blocked record first and the
/// state last).
#[repr(C)]
pub(crate) struct Info {
    /// One of `RUNNING`, `RUNNABLE`, `WAITING`, `BLOCKED`.
    pub(crate) state: AtomicU8,
    pub(crate) kind: Kind,
    /// Set by the deadlock detector under `Deadlock::Panic`: the main goroutine panics on its
    /// next poll.
    pub(crate) deadlock_panic: AtomicBool,
    /// The poll that last blocked ran the inner future with this goroutine's counting waker.
    /// Meaningful while `state == BLOCKED`, like `blocked` and `since`.
    pub(crate) counted: AtomicBool,
    /// The test this goroutine belongs to (`testing`), 0 outside tests: the group of the
    /// thread that spawned it. Sits in what would be padding before `epoch`.
    pub(crate) group: u32,
    /// Incremented at the start of every poll. Written only by the thread polling the goroutine
    /// (polls of one task never overlap), read by the deadlock detector: relaxed is enough, the
    /// detector only compares two samples taken 100 ms apart.
    pub(crate) epoch: AtomicU64,
    pub(crate) id: u64,
    /// The waker of the task (or `block_on` thread) that polls this goroutine, captured when
    /// its first poll returns `Pending`. The counting waker forwards to it; the deadlock
    /// detector wakes through it a goroutine whose last poll was not counted.
    pub(crate) task_waker: OnceLock<Waker>,
    /// When the current blocking episode began ([`clock::now`]).
    pub(crate) since: AtomicU64,
    /// Meaningful while `state == BLOCKED`. Written only when a goroutine blocks somewhere other
    /// than where it last blocked: a goroutine that keeps blocking at one site (a loop's `recv`)
    /// takes this lock once.
    pub(crate) blocked: Mutex<Option<BlockedAt>>,
    pub(crate) name: Option<Arc<str>>,
    pub(crate) location: &'static Location<'static>,
    /// The goroutine that spawned this one, 0 if none (spawned from outside any goroutine).
    pub(crate) parent: u64,
    /// What `blocked` holds, as [`BlockedAt::key`] (0, 0 for nothing): written and read only
    /// by the goroutine's poller, so that blocking again where it last blocked skips the lock.
    /// Kept here rather than in the wrapper future, where it would make every goroutine's
    /// task larger.
    last_site: AtomicUsize,
    last_op: AtomicUsize,
}

impl Info {
    pub(crate) fn new(
        kind: Kind,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> Arc<Info> {
        install_observer();
        let parent = current_id().unwrap_or(0);
        Info::with_id(kind, next_id(), name, location, parent, GROUP.get())
    }

    /// A record for a goroutine whose id, parent and group were taken when it was spawned
    /// (see `GoFuture::spawned`), in a finished goroutine's record when one is free (see
    /// [`pool`]).
    pub(crate) fn with_id(
        kind: Kind,
        id: u64,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
        parent: u64,
        group: u32,
    ) -> Arc<Info> {
        let info = Info {
            id,
            name,
            location,
            parent,
            kind,
            state: AtomicU8::new(match kind {
                Kind::Blocking => RUNNING,
                _ => RUNNABLE,
            }),
            epoch: AtomicU64::new(0),
            counted: AtomicBool::new(false),
            group,
            since: AtomicU64::new(0),
            blocked: Mutex::new(None),
            task_waker: OnceLock::new(),
            deadlock_panic: AtomicBool::new(false),
            last_site: AtomicUsize::new(0),
            last_op: AtomicUsize::new(0),
        };
        match pool::get() {
            Some(mut reused) => match Arc::get_mut(&mut reused) {
                Some(slot) => {
                    *slot = info;
                    reused
                }
                // Still referenced (see `pool::put`): leave it to its other owner.
                None => Arc::new(info),
            },
            None => Arc::new(info),
        }
    }

    /// Records the outcome of a `Pending` poll. `report` is the gocsp operation that reported
    /// during the poll, if any; `progressed` says whether a gocsp operation completed on this
    /// thread during the poll (then a new blocking episode starts even at the same site).
    /// Blocking again where the goroutine last blocked writes only `since` and `counted`,
    /// without the lock. Called only by the goroutine's poller.
    pub(crate) fn after_pending(&self, report: Option<BlockedAt>, counted: bool, progressed: bool) {
        let next = match report {
            Some(at) => {
                let key = at.key();
                let same = key.is_some_and(|(site, op)| {
                    self.last_site.load(Ordering::Relaxed) == site
                        && self.last_op.load(Ordering::Relaxed) == op
                });
                if !same {
                    *self.blocked.lock() = Some(at);
                    let (site, op) = key.unwrap_or((0, 0));
                    self.last_site.store(site, Ordering::Relaxed);
                    self.last_op.store(op, Ordering::Relaxed);
                }
                if !same || progressed {
                    self.since.store(clock::now(), Ordering::Relaxed);
                }
                self.counted.store(counted, Ordering::Relaxed);
                BLOCKED
            }
            None => WAITING,
        };
        // A wake during the poll stored RUNNABLE: keep it, the task is about to be polled again.
        // Release pairs with the detector's Acquire load so it sees `blocked`, `since` and
        // `counted`.
        let _ = self
            .state
            .compare_exchange(RUNNING, next, Ordering::Release, Ordering::Relaxed);
    }

    /// A blocking goroutine's thread reported that it parks in a gocsp operation.
    fn blocking_thread_blocked(&self, op: Op, site: &'static Location<'static>) {
        *self.blocked.lock() = Some(BlockedAt { op, site });
        self.since.store(clock::now(), Ordering::Relaxed);
        self.counted.store(false, Ordering::Relaxed);
        self.state.store(BLOCKED, Ordering::Release);
    }

    /// What the goroutine is blocked in, for how long, and whether that poll was counted.
    /// Meaningful once an `Acquire` load of `state` has seen `BLOCKED` (it pairs with the
    /// `Release` that published the record).
    pub(crate) fn blocked_record(&self) -> Option<(BlockedAt, std::time::Duration, bool)> {
        let at = (*self.blocked.lock())?;
        let since = self.since.load(Ordering::Relaxed);
        Some((
            at,
            clock::since(since),
            self.counted.load(Ordering::Relaxed),
        ))
    }
}

/// The gocsp operation `info`'s goroutine is parked in, if only that operation can wake it: a
/// task goroutine whose last poll blocked in a gocsp operation with its counting waker, and no
/// clone of that waker besides the one the operation keeps. The rule both the deadlock detector
/// and a synctest bubble judge goroutines by (each then filters the operations it trusts).
///
/// A goroutine whose last poll used tokio's waker directly (a first poll) is woken once, a
/// spurious wake every future tolerates, so that it blocks again with its counting waker; its
/// epoch changes, so whoever is sampling sees it moved.
pub(crate) fn parked_alone(info: &Arc<Info>) -> Option<BlockedAt> {
    if info.kind == Kind::Blocking || info.state.load(Ordering::Acquire) != BLOCKED {
        return None;
    }
    let (at, _, counted) = info.blocked_record()?;
    if !counted {
        if let Some(w) = info.task_waker.get() {
            w.wake_by_ref();
        }
        return None;
    }
    // The registry, the wrapper and its waker own BASE_REFS; one more is the gocsp operation's
    // waker. More means someone else may wake this goroutine.
    (Arc::strong_count(info) <= BASE_REFS + 1).then_some(at)
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

/// Ids a thread takes from [`NEXT_ID`] at a time (Go's `_GoidCacheBatch`), so that threads
/// spawning at once do not all write one cache line per spawn.
const ID_BATCH: u64 = 16;

/// A fresh goroutine id: unique in the process, increasing among the goroutines one thread
/// spawns (not across threads, as in Go).
pub(crate) fn next_id() -> u64 {
    thread_local! {
        /// The next id this thread hands out, and the end of its batch.
        static IDS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }
    IDS.try_with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_ID.fetch_add(ID_BATCH, Ordering::Relaxed);
            end = next + ID_BATCH;
        }
        ids.set((next + 1, end));
        next
    })
    // A thread-local destructor spawning a goroutine: take one id alone.
    .unwrap_or_else(|_| NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// Registry shards (lock stripes). Threads take them round robin; at most 256, since
/// `Registered` stores the shard in a byte.
const SHARDS: usize = 64;
const _: () = assert!(SHARDS <= 256, "`Registered` stores the shard in a byte");

/// A shard's goroutines: a slab, so that adding and removing one is a push/pop on a free list.
struct Slab {
    entries: Vec<Option<Arc<Info>>>,
    free: Vec<usize>,
    /// Registered `Kind::Task` goroutines in this shard.
    tasks: usize,
}

/// One lock stripe, and one stripe of the count of live goroutines. Aligned so that two
/// shards never share a cache line.
#[repr(align(64))]
struct Shard {
    slab: Mutex<Slab>,
    /// Goroutines started ([`Alive::new`]) on threads whose home is this shard.
    started: AtomicU64,
    /// Goroutines ended ([`Alive`]'s drop) on threads whose home is this shard. A goroutine
    /// may start and end on different threads: only the sums over all shards mean anything.
    ended: AtomicU64,
}

static REGISTRY: [Shard; SHARDS] = [const {
    Shard {
        slab: Mutex::new(Slab {
            entries: Vec::new(),
            free: Vec::new(),
            tasks: 0,
        }),
        started: AtomicU64::new(0),
        ended: AtomicU64::new(0),
    }
}; SHARDS];

/// Records of finished goroutines kept for reuse, as Go keeps dead `g`s on free lists
/// (`gfput`/`gfget`): spawning a goroutine then costs no allocation of its own beyond tokio's
/// task. Each thread keeps up to [`pool::LOCAL_MAX`] records; beyond that it moves a batch to a
/// shared list (one lock per batch), from which a thread whose own list is empty takes a batch.
/// The shared list is bounded too, so a burst of goroutines does not pin its memory forever.
pub(crate) mod pool {
    use std::cell::RefCell;
    use std::sync::Arc;

    use parking_lot::Mutex;

    use super::Info;

    /// Records a thread keeps before it shares a batch.
    pub(crate) const LOCAL_MAX: usize = 64;
    /// Records moved between a thread's list and the shared one at a time.
    const BATCH: usize = 32;
    /// Records the shared list keeps at most; more are freed.
    const SHARED_MAX: usize = 4096;

    thread_local! {
        static LOCAL: RefCell<Vec<Arc<Info>>> = const { RefCell::new(Vec::new()) };
    }
    static SHARED: Mutex<Vec<Arc<Info>>> = Mutex::new(Vec::new());

    /// Offers a finished goroutine's record for reuse. Taken only if `info` is its last
    /// reference (nothing can still wake or inspect it); then what it refers to (its name, its
    /// task's waker) is released now, not when it is reused.
    pub(crate) fn put(info: &mut Arc<Info>) {
        // `get_mut` fails while any other `Arc` or `Weak` to the record exists.
        let Some(rec) = Arc::get_mut(info) else {
            return;
        };
        rec.name = None;
        rec.task_waker.take();
        // The caller's reference drops soon after this (on this thread, before any other
        // goroutine is spawned here); `get` checks that it did.
        let rec = Arc::clone(info);
        let _ = LOCAL.try_with(|l| {
            let mut l = l.borrow_mut();
            l.push(rec);
            if l.len() > LOCAL_MAX {
                let at = l.len() - BATCH;
                let mut shared = SHARED.lock();
                if shared.len() < SHARED_MAX {
                    shared.extend(l.drain(at..));
                } else {
                    drop(shared);
                    l.truncate(at);
                }
            }
        });
    }

    /// A record from this thread's own list, if it has one.
    #[cfg(test)]
    pub(crate) fn get_local() -> Option<Arc<Info>> {
        LOCAL.with(|l| l.borrow_mut().pop())
    }

    /// A record to reuse, if one is free.
    pub(crate) fn get() -> Option<Arc<Info>> {
        LOCAL
            .try_with(|l| {
                let mut l = l.borrow_mut();
                if l.is_empty() {
                    let mut shared = SHARED.lock();
                    let at = shared.len().saturating_sub(BATCH);
                    l.extend(shared.drain(at..));
                }
                l.pop()
            })
            .ok()
            .flatten()
    }
}

/// The shard this thread registers goroutines in: threads take shards round robin.
fn home_shard() -> usize {
    static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        /// This thread's shard plus one; 0 until the thread first asks.
        static HOME: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    HOME.try_with(|h| match h.get() {
        0 => {
            let home = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
            h.set(home + 1);
            home
        }
        n => n - 1,
    })
    .unwrap_or(0)
}

/// Adds a goroutine to the registry; it stays there until the returned guard drops.
pub(crate) fn register(info: &Arc<Info>) -> Registered {
    // Each thread registers in its own shard (while there are no more threads than shards):
    // the shard stays in that thread's cache, and a goroutine that finishes on the thread
    // that spawned it unregisters without touching another core's line.
    let shard = home_shard();
    let s = &REGISTRY[shard];
    let task = info.kind == Kind::Task;
    let slot = {
        let mut slab = s.slab.lock();
        let entry = Some(Arc::clone(info));
        let slot = match slab.free.pop() {
            Some(i) => {
                slab.entries[i] = entry;
                i
            }
            None => {
                slab.entries.push(entry);
                slab.entries.len() - 1
            }
        };
        slab.tasks += usize::from(task);
        slot
    };
    Registered {
        // A shard holds one `Arc<Info>` (well over 100 bytes) per slot: 2^32 slots would not
        // fit in memory.
        slot: u32::try_from(slot).expect("more than 2^32 goroutines in one registry shard"),
        shard: shard as u8,
        task,
    }
}

/// Removes its goroutine from the registry when dropped. Eight bytes (it sits in every
/// goroutine's future, which tokio moves a few times per spawn).
#[derive(Debug)]
pub(crate) struct Registered {
    slot: u32,
    shard: u8,
    task: bool,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let s = &REGISTRY[usize::from(self.shard)];
        let slot = self.slot as usize;
        let removed = {
            let mut slab = s.slab.lock();
            let removed = slab.entries[slot].take();
            slab.free.push(slot);
            slab.tasks -= usize::from(self.task);
            removed
        };
        // The `Arc<Info>` drops here, after the lock is released.
        drop(removed);
    }
}

/// Counts a goroutine as live from its spawn until this guard drops, registered or not.
/// Zero-sized: the count lives in the shards (the thread's home shard, on both ends).
#[derive(Debug)]
pub(crate) struct Alive(());

impl Alive {
    pub(crate) fn new() -> Alive {
        // Release: whoever counts this goroutine's end (Acquire, in `live`) also sees this.
        REGISTRY[home_shard()]
            .started
            .fetch_add(1, Ordering::Release);
        Alive(())
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        REGISTRY[home_shard()].ended.fetch_add(1, Ordering::Release);
    }
}

/// The number of live goroutines (all kinds), registered or not.
///
/// Every `ended` is read before any `started`: a goroutine whose end is counted had its start
/// happen before that end, and the Acquire load of the end makes the start visible to the
/// loads that follow. So a goroutine alive throughout the call is always counted (one that
/// starts or ends during it may or may not be), and the result never goes below that.
pub(crate) fn live() -> usize {
    let ended: u64 = REGISTRY
        .iter()
        .map(|s| s.ended.load(Ordering::Acquire))
        .sum();
    let started: u64 = REGISTRY
        .iter()
        .map(|s| s.started.load(Ordering::Acquire))
        .sum();
    usize::try_from(started.saturating_sub(ended)).unwrap_or(usize::MAX)
}

/// The number of registered goroutines that are tokio tasks.
pub(crate) fn live_tasks() -> usize {
    REGISTRY.iter().map(|s| s.slab.lock().tasks).sum()
}

/// Calls `f` on every registered goroutine, shard by shard, under that shard's lock (so the
/// caller does not add strong references). Stops early when `f` returns `false`.
pub(crate) fn for_each(mut f: impl FnMut(&Arc<Info>) -> bool) -> bool {
    for s in REGISTRY.iter() {
        let slab = s.slab.lock();
        for info in slab.entries.iter().flatten() {
            if !f(info) {
                return false;
            }
        }
    }
    true
}

/// What the thread is running right now.
#[derive(Clone, Copy)]
pub(crate) struct PollCtx {
    /// The goroutine running on this thread, 0 if none.
    pub(crate) id: u64,
    /// The goroutine is a blocking one (its `Info` is in [`BLOCKING`]).
    pub(crate) blocking: bool,
}

impl PollCtx {
    pub(crate) const NONE: PollCtx = PollCtx {
        id: 0,
        blocking: false,
    };
}

/// A gocsp operation that reported blocking, and where the user wrote it.
pub(crate) type Report = Option<(Op, &'static Location<'static>)>;

thread_local! {
    /// Set by the goroutine wrapper around each poll of a goroutine.
    pub(crate) static CTX: std::cell::Cell<PollCtx> = const { std::cell::Cell::new(PollCtx::NONE) };
    /// The gocsp operation that reported blocking during the goroutine poll running on this
    /// thread (set by the observer, taken by the wrapper when the poll returns).
    pub(crate) static REPORT: std::cell::Cell<Report> = const { std::cell::Cell::new(None) };
    /// Incremented by `hook::progressed` on this thread.
    pub(crate) static PROGRESS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// The blocking goroutine whose closure runs on this thread, if any.
    pub(crate) static BLOCKING: std::cell::RefCell<Option<Arc<Info>>> = const { std::cell::RefCell::new(None) };
    /// The gocsp operation the last goroutine poll on this thread ended blocked in; read by the
    /// profile layer when the goroutine's span exits.
    pub(crate) static LAST_POLL: std::cell::Cell<Report> = const { std::cell::Cell::new(None) };
}

thread_local! {
    /// The test (`testing`) whose runtime this thread serves, 0 if none. Set on a test
    /// runtime's worker and blocking threads when they start, and on the thread running the
    /// test's body while it runs; every goroutine spawned on the thread joins that group.
    pub(crate) static GROUP: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// The id of the goroutine running on this thread, if any.
pub(crate) fn current_id() -> Option<u64> {
    let id = CTX.get().id;
    (id != 0).then_some(id)
}

struct RuntimeObserver;

/// Records that the goroutine polled on this thread (described by `ctx`) waits in `op` at
/// `site`; nothing outside a goroutine.
#[inline(always)]
fn record_block(ctx: PollCtx, op: Op, site: &'static Location<'static>) {
    if ctx.id == 0 {
        return;
    }
    if !ctx.blocking {
        REPORT.set(Some((op, site)));
    } else {
        BLOCKING.with(|b| {
            if let Some(info) = b.borrow().as_ref() {
                info.blocking_thread_blocked(op, site);
            }
        });
    }
}

impl Observer for RuntimeObserver {
    fn blocked(&self, op: Op, site: &'static Location<'static>) {
        record_block(CTX.get(), op, site);
    }

    fn blocked_on(&self, op: Op, site: &'static Location<'static>, bubble: u32) {
        // Only a test runtime's thread can run a bubble's goroutines: the others skip the
        // bubble lookup.
        let op = if GROUP.get() == 0 {
            op
        } else {
            crate::synctest::durable_or_not(op, bubble)
        };
        record_block(CTX.get(), op, site);
    }

    fn bubble(&self) -> u32 {
        crate::synctest::current_group()
    }

    fn progressed(&self) {
        PROGRESS.set(PROGRESS.get().wrapping_add(1));
        if !CTX.get().blocking {
            return;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(info: &Arc<Info>) -> usize {
        Arc::as_ptr(info) as usize
    }

    #[test]
    fn a_finished_record_is_reused_and_starts_fresh() {
        // A thread of its own: its pool starts empty.
        std::thread::spawn(|| {
            let mut old = Info::new(Kind::Task, Some(Arc::from("old")), Location::caller());
            old.state.store(BLOCKED, Ordering::Relaxed);
            old.epoch.store(7, Ordering::Relaxed);
            *old.blocked.lock() = Some(BlockedAt {
                op: Op::Recv,
                site: Location::caller(),
            });
            old.since.store(99, Ordering::Relaxed);
            old.counted.store(true, Ordering::Relaxed);
            old.deadlock_panic.store(true, Ordering::Relaxed);
            old.last_site.store(1, Ordering::Relaxed);
            old.last_op.store(2, Ordering::Relaxed);
            let _ = old.task_waker.set(Waker::noop().clone());
            let (old_id, old_addr) = (old.id, addr(&old));
            pool::put(&mut old);
            drop(old);

            let new = Info::new(Kind::Task, None, Location::caller());
            assert_eq!(addr(&new), old_addr, "the record was not reused");
            assert!(new.id > old_id);
            assert!(new.name.is_none());
            assert_eq!(new.state.load(Ordering::Relaxed), RUNNABLE);
            assert_eq!(new.epoch.load(Ordering::Relaxed), 0);
            assert!(new.blocked.lock().is_none());
            assert_eq!(new.since.load(Ordering::Relaxed), 0);
            assert!(!new.counted.load(Ordering::Relaxed));
            assert!(!new.deadlock_panic.load(Ordering::Relaxed));
            assert_eq!(new.last_site.load(Ordering::Relaxed), 0);
            assert_eq!(new.last_op.load(Ordering::Relaxed), 0);
            assert!(new.task_waker.get().is_none());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_record_something_still_holds_is_not_reused() {
        std::thread::spawn(|| {
            let mut a = Info::new(Kind::Task, None, Location::caller());
            let waker = Waker::from(Arc::clone(&a));
            let a_addr = addr(&a);
            pool::put(&mut a);
            drop(a);
            let b = Info::new(Kind::Task, None, Location::caller());
            assert_ne!(addr(&b), a_addr, "a record with a live waker was reused");
            drop(waker);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_pool_is_bounded_per_thread() {
        std::thread::spawn(|| {
            let mut all: Vec<Arc<Info>> = (0..3 * pool::LOCAL_MAX)
                .map(|_| Info::new(Kind::Task, None, Location::caller()))
                .collect();
            for a in &mut all {
                pool::put(a);
            }
            drop(all);
            let kept = std::iter::from_fn(pool::get_local).count();
            assert!(kept <= pool::LOCAL_MAX, "{kept} records kept on one thread");
        })
        .join()
        .unwrap();
    }
}
