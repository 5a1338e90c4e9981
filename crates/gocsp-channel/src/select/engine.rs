//! [`SelectFuture`]: the passes over a select's cases (see the module docs of `select`),
//! registration, waking and cancellation.

use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use smallvec::SmallVec;

use super::locks::{AllLocked, OneLocked};
use super::nonblock;
use super::{Case, Fire, Kind, SigSlot, SELECT_DEFAULT};
use crate::blocking;
use crate::chan::Wakes;
use crate::coop;
use crate::hook::{self, Op};
use crate::loom::Arc;
use crate::waiters::{Signal, SignalState};

/// Up to this many cases the engine works in fixed arrays on the stack.
pub(super) const INLINE: usize = 8;

/// Case indices with their channel's address, inline up to `INLINE` (no allocation for the
/// selects people write).
type Indices = SmallVec<[(usize, u32); INLINE]>;

/// Cases found not ready after all during one pass: a bit mask, or a vector past 64 cases.
pub(super) struct Excluded {
    bits: u64,
    big: Vec<bool>,
}

impl Excluded {
    #[inline]
    fn new(n: usize) -> Self {
        Excluded {
            bits: 0,
            big: if n > 64 { vec![false; n] } else { Vec::new() },
        }
    }
    #[inline]
    fn insert(&mut self, i: usize) {
        if self.big.is_empty() {
            self.bits |= 1 << i;
        } else {
            self.big[i] = true;
        }
    }
    #[inline]
    pub(super) fn contains(&self, i: usize) -> bool {
        if self.big.is_empty() {
            self.bits & (1 << i) != 0
        } else {
            self.big[i]
        }
    }
}

/// Sorts a select's lock order: an inline insertion sort for the few cases a select has (the
/// library sort is an out-of-line call that costs more than sorting two to eight entries).
#[inline]
fn sort_small(v: &mut [(usize, u32)]) {
    if v.len() > INLINE {
        v.sort_unstable();
        return;
    }
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

fn random_below(n: usize) -> usize {
    #[cfg(loom)]
    {
        let _ = n;
        0
    }
    #[cfg(not(loom))]
    {
        fastrand::usize(..n)
    }
}

enum PassResult {
    Fired(usize),
    Committed,
    Default,
    Registered,
}

thread_local! {
    static POOL: std::cell::RefCell<Vec<Arc<Signal>>> = const { std::cell::RefCell::new(Vec::new()) };
}

pub(super) fn new_signal() -> Arc<Signal> {
    #[cfg(not(loom))]
    if let Some(s) = POOL.with(|p| p.borrow_mut().pop()) {
        return s;
    }
    Arc::new(Signal::new())
}

/// Stores `waker` in `sig`. The waker's `clone` is user code: if it panics, the signal is marked
/// never to be reused (its waker slot may be half written) and the panic comes back as `Err`.
fn store_waker(sig: &Signal, waker: &Waker) -> std::thread::Result<()> {
    std::panic::catch_unwind(AssertUnwindSafe(|| sig.set_waker(waker))).inspect_err(|_| {
        sig.mark_broken();
    })
}

/// Resumes a panic caught while the caller held channel locks: first releases the locks and
/// runs the wakes the pass gathered. A waiter the pass granted something (a lazy sender a
/// receive case committed to) must not sleep forever: woken, it finds the grant taken back by
/// the dropped select.
#[cold]
fn unwind_after<L>(locked: L, wakes: Wakes, panic: Box<dyn std::any::Any + Send>) -> ! {
    drop(locked);
    wakes.wake_all();
    std::panic::resume_unwind(panic)
}

fn recycle_signal(sig: Arc<Signal>) {
    // Only a signal nobody else holds may be reused: a channel that still has it (an entry not
    // yet removed, a wake in flight) could otherwise complete the wrong select. Nor one whose
    // waker slot a panicking `clone` left half written.
    #[cfg(not(loom))]
    if Arc::strong_count(&sig) == 1 && sig.reusable() {
        sig.reset();
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < 16 {
                p.push(sig);
            }
        });
    }
    #[cfg(loom)]
    drop(sig);
}

/// The future of a select. Resolves to the index of the fired case, or [`SELECT_DEFAULT`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct SelectFuture<'a, D: ?Sized + Case> {
    cases: &'a mut [&'a mut D],
    biased: bool,
    has_default: bool,
    has_fut: bool,
    sig: SigSlot,
    /// Entries may be queued (or the signal won) on our behalf. A pass sets it before it
    /// registers the waker (a `clone`, user code, which may panic) and then queues entries or
    /// leaves a case committed, so that a pass that unwinds is taken back by `drop` too.
    registered: bool,
    done: bool,
    site: &'static Location<'static>,
}

/// Runs a select over `cases`. See the module docs for the algorithm.
#[track_caller]
pub fn select<'a>(
    cases: &'a mut [&'a mut (dyn Case + Send + 'a)],
    biased: bool,
    has_default: bool,
) -> SelectFuture<'a, dyn Case + Send + 'a> {
    SelectFuture::new(cases, biased, has_default, Location::caller())
}

/// Runs a select over `cases` on the current OS thread, parking it until a case fires.
///
/// # Panics
/// If called from async code on a tokio runtime thread.
#[track_caller]
pub fn select_blocking<'a>(
    cases: &'a mut [&'a mut (dyn Case + 'a)],
    biased: bool,
    has_default: bool,
) -> usize {
    let site = Location::caller();
    let fut = SelectFuture::new(cases, biased, has_default, site);
    blocking::block_on(fut, Op::Select, site, "select_blocking!", "select!")
}

impl<'a, D: ?Sized + Case + 'a> SelectFuture<'a, D> {
    fn new(
        cases: &'a mut [&'a mut D],
        biased: bool,
        has_default: bool,
        site: &'static Location<'static>,
    ) -> Self {
        let has_fut = cases.iter().any(|c| c.kind() == Kind::Fut);
        SelectFuture {
            cases,
            biased,
            has_default,
            has_fut,
            sig: SigSlot(None),
            registered: false,
            done: false,
            site,
        }
    }

    /// The synctest bubble of the select's channels, for the runtime's report: theirs if they
    /// share one, [`hook::MIXED_BUBBLES`] if not (0 without channel cases).
    fn bubble(&self) -> u32 {
        let mut bubbles = self.cases.iter().filter_map(|c| c.bubble());
        let first = bubbles.next().unwrap_or(0);
        if bubbles.all(|b| b == first) {
            first
        } else {
            hook::MIXED_BUBBLES
        }
    }

    /// Removes every case's entries except `keep`'s, each under its own lock.
    fn cancel_all_except(&mut self, keep: usize) {
        let mut wakes = Wakes::new();
        for (i, c) in self.cases.iter_mut().enumerate() {
            if i != keep {
                c.cancel(&mut wakes);
            }
        }
        wakes.wake_all();
    }

    fn finish(&mut self, idx: usize) -> Poll<usize> {
        self.done = true;
        self.registered = false;
        if let Some(sig) = self.sig.0.take() {
            recycle_signal(sig);
        }
        Poll::Ready(idx)
    }

    /// One pass: futures first, then all channels at one instant.
    fn pass(&mut self, cx: &mut Context<'_>) -> PassResult {
        let n = self.cases.len();
        if self.has_fut {
            // With future cases, walk every case once — in written order under `biased`, else
            // from a random start (tokio's select! rule) — polling futures and checking each
            // channel under its own lock, so no kind of case is preferred over another.
            //
            // Under `biased`, the walk fires a channel case only if it is the first channel case
            // it looks at: after one was found not ready under its own lock, a later one found
            // ready is not a choice the all-locks pass could have made at one instant (the
            // earlier one may have become ready meanwhile). Later channel cases wait for that
            // pass; futures are still polled.
            let start = if self.biased || n == 0 {
                0
            } else {
                random_below(n)
            };
            let mut chan_missed = false;
            for k in 0..n {
                let i = (start + k) % n;
                let is_chan = matches!(self.cases[i].kind(), Kind::Chan(_));
                if is_chan && chan_missed && self.biased {
                    continue;
                }
                if let Some(r) = self.try_alone(i, cx) {
                    return r;
                }
                chan_missed |= is_chan;
            }
        } else if !self.registered && n <= INLINE {
            // First poll (Go's pass 1): look for a ready case in a random order, holding one
            // channel's lock at a time. The first ready case of a uniformly random order is
            // uniform among the ready ones, and each is ready at the instant it is looked at:
            // a choice the all-locks pass could have made. Cheaper than locking every channel
            // when a case is ready, the common case; if none is, the pass below checks again
            // under every lock before registering or taking `default`.
            //
            // Under `biased` only the first case is looked at: a later case found ready after
            // an earlier one was found not ready is not a choice made at one instant (the
            // earlier one may have become ready in between), so it is left to the pass below.
            let mut perm: [u8; INLINE] = std::array::from_fn(|i| i as u8);
            let tries = if self.biased {
                n.min(1)
            } else {
                // Fisher-Yates.
                for i in (1..n).rev() {
                    perm.swap(i, random_below(i + 1));
                }
                n
            };
            for &i in &perm[..tries] {
                if let Some(r) = self.try_alone(usize::from(i), cx) {
                    return r;
                }
            }
        }

        // A select about to wait (or to take `default`) on a synctest bubble's channel from
        // outside that bubble panics here, before any lock is taken.
        for c in self.cases.iter() {
            c.check_bubble();
        }

        // Lock every distinct channel in address order.
        let mut order = Indices::with_capacity(n);
        for (i, c) in self.cases.iter().enumerate() {
            if let Kind::Chan(addr) = c.kind() {
                order.push((addr, i as u32));
            }
        }
        let order = &mut order[..];
        sort_small(order);
        // Declared before the locks are taken, so that while unwinding from a panic under them
        // the locks are released before the wakers are dropped.
        let mut wakes = Wakes::new();
        let mut locked = AllLocked::lock(&mut *self.cases, order);
        if self.has_default {
            // Next time, `all_idle` may answer without these locks.
            for &(_, i) in order.iter() {
                locked.arm_hint(i as usize);
            }
        }

        let mut excluded = Excluded::new(n);
        let result = 'choose: loop {
            // Ready cases: count them and find the first in written order.
            let mut ready = 0usize;
            let mut first = usize::MAX;
            for &(_, i) in order.iter() {
                let i = i as usize;
                if locked.is_candidate(i, &excluded) {
                    ready += 1;
                    first = first.min(i);
                }
            }
            if ready == 0 {
                break 'choose None;
            }
            let pick = if self.biased || ready == 1 {
                first
            } else {
                // The j-th ready case in written order: uniform among the ready ones.
                let mut j = random_below(ready);
                let mut pick = first;
                for i in first..n {
                    if matches!(locked.kind(i), Kind::Chan(_)) && locked.is_candidate(i, &excluded)
                    {
                        if j == 0 {
                            pick = i;
                            break;
                        }
                        j -= 1;
                    }
                }
                pick
            };
            match locked.fire(pick, &mut self.sig, &mut wakes) {
                Fire::Done => break 'choose Some((pick, false)),
                Fire::Committed => break 'choose Some((pick, true)),
                Fire::NotReady => excluded.insert(pick),
            }
        };

        let out = match result {
            Some((i, committed)) => {
                if self.registered {
                    for j in 0..n {
                        if j != i {
                            locked.unregister(j);
                        }
                    }
                }
                if committed {
                    self.registered = true;
                    // Before unlocking: the sender we committed to wakes this waker.
                    if let Err(panic) = store_waker(self.sig.get(), cx.waker()) {
                        unwind_after(locked, wakes, panic);
                    }
                    PassResult::Committed
                } else {
                    PassResult::Fired(i)
                }
            }
            // A select with a default never registers, so there is nothing to take back.
            None if self.has_default => PassResult::Default,
            None => {
                let sig = self.sig.get().clone();
                self.registered = true;
                // Register the waker before any channel can see the entries ("register,
                // then check again": the checks above ran under the same locks).
                if let Err(panic) = store_waker(&sig, cx.waker()) {
                    unwind_after(locked, wakes, panic);
                }
                // Queue order decides which case a later peer completes when several share a
                // channel: start at a random case unless biased (Go: TestPseudoRandomSend).
                let start = if self.biased || n == 0 {
                    0
                } else {
                    random_below(n)
                };
                for k in 0..n {
                    let j = (start + k) % n;
                    locked.register(j, &sig);
                }
                // Still under every lock: from here on channels may select us.
                sig.store(SignalState::Waiting);
                PassResult::Registered
            }
        };

        drop(locked);
        wakes.wake_all();
        out
    }

    /// Tries case `i` on its own: polls a future case; fires a channel case if it is ready,
    /// under its channel's lock alone. A registered select never meets its own queue entries
    /// here: while it polls, its signal is not `Waiting`, so they are not live.
    fn try_alone(&mut self, i: usize, cx: &mut Context<'_>) -> Option<PassResult> {
        match self.cases[i].kind() {
            Kind::Fut => return self.cases[i].poll_fut(cx).then_some(PassResult::Fired(i)),
            Kind::Nil => return None,
            Kind::Chan(_) => {}
        }
        let mut wakes = Wakes::new();
        let mut locked = OneLocked::lock(&mut *self.cases[i]);
        let fired = if locked.ready() {
            locked.fire(i, &mut self.sig, &mut wakes)
        } else {
            Fire::NotReady
        };
        if fired == Fire::Committed {
            self.registered = true;
            // Before unlocking: the sender we committed to wakes this waker.
            if let Err(panic) = store_waker(self.sig.get(), cx.waker()) {
                unwind_after(locked, wakes, panic);
            }
        }
        drop(locked);
        wakes.wake_all();
        match fired {
            Fire::Done => Some(PassResult::Fired(i)),
            Fire::Committed => {
                self.cancel_all_except(i);
                Some(PassResult::Committed)
            }
            Fire::NotReady => None,
        }
    }
}

impl<'a, D: ?Sized + Case + 'a> Future for SelectFuture<'a, D> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        assert!(!this.done, "select future polled after completion");
        let coop = std::task::ready!(coop::poll_proceed(cx));

        // Non-blocking select: if every case is certainly idle at one instant, take `default`
        // without locking anything (Go's lock-free `selectnbrecv` fast path, extended to
        // several cases by a double collect of the channels' hint words).
        if !this.registered && this.has_default && !this.has_fut && nonblock::all_idle(this.cases) {
            coop.made_progress();
            return this.finish(SELECT_DEFAULT);
        }

        if this.registered {
            // A borrow of the signal field, not a clone: this runs on every wake-up.
            let sig: &Signal = this.sig.get();
            if let Err(panic) = store_waker(sig, cx.waker()) {
                std::panic::resume_unwind(panic);
            }
            loop {
                if let Some(i) = sig.selected() {
                    match this.cases[i].complete(sig, i) {
                        Poll::Ready(true) => {
                            this.cancel_all_except(i);
                            coop.made_progress();
                            hook::progressed();
                            return this.finish(i);
                        }
                        Poll::Pending => {
                            hook::blocked_on(Op::Select, this.site, this.bubble());
                            return Poll::Pending;
                        }
                        Poll::Ready(false) => continue,
                    }
                }
                if !this.has_fut && !sig.is_poked() {
                    hook::blocked_on(Op::Select, this.site, this.bubble());
                    return Poll::Pending;
                }
                match sig.try_begin_poll() {
                    Ok(()) => break,
                    Err(_) => continue,
                }
            }
            sig.take_poke();
        } else if let Some(sig) = &this.sig.0 {
            sig.store(SignalState::Polling);
            sig.take_poke();
        }

        match this.pass(cx) {
            PassResult::Fired(i) => {
                if this.registered {
                    this.cancel_all_except(i);
                }
                coop.made_progress();
                hook::progressed();
                this.finish(i)
            }
            PassResult::Default => {
                coop.made_progress();
                this.finish(SELECT_DEFAULT)
            }
            PassResult::Committed | PassResult::Registered => {
                this.registered = true;
                hook::blocked_on(Op::Select, this.site, this.bubble());
                Poll::Pending
            }
        }
    }
}

impl<'a, D: ?Sized + Case + 'a> Drop for SelectFuture<'a, D> {
    fn drop(&mut self) {
        if self.done || !self.registered {
            return;
        }
        let Some(sig) = self.sig.0.take() else { return };
        let mut wakes = Wakes::new();
        loop {
            match sig.try_cancel() {
                Ok(()) => break,
                // Undone under that case's channel lock, unless the channel gave the win back
                // meanwhile (the signal is `Waiting` again): then cancel again.
                Err(SignalState::Won(i)) => {
                    if self.cases[i].undo_win(&sig, i, &mut wakes) {
                        break;
                    }
                }
                // `Polling` (a pass that panicked) or `Cancelled`: only the owner sets these.
                Err(s) => {
                    debug_assert!(s != SignalState::Waiting);
                    break;
                }
            }
        }
        for c in self.cases.iter_mut() {
            c.cancel(&mut wakes);
        }
        wakes.wake_all();
        if std::thread::panicking() {
            // Perhaps a pass unwound from inside the signal's waker slot (a `clone` that
            // panicked while registering): this signal is never reused.
            drop(sig);
        } else {
            recycle_signal(sig);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{sort_small, INLINE};

    #[test]
    fn the_lock_order_is_sorted_for_every_size() {
        for n in 0..=INLINE + 3 {
            for seed in 0..50u64 {
                let mut rng = fastrand::Rng::with_seed(seed);
                // Few distinct addresses, so equal channels (one locked once) occur often.
                let mut v: Vec<(usize, u32)> =
                    (0..n).map(|i| (rng.usize(0..4) * 64, i as u32)).collect();
                let mut want = v.clone();
                want.sort_unstable();
                sort_small(&mut v);
                assert_eq!(v, want, "n = {n}, seed {seed}");
            }
        }
    }
}
