//! The lock-free answers of a select with `default` (Go's `selectnbrecv`/`selectnbsend` fast
//! path): readiness hints read without the channel locks.

use std::future::Future;
use std::task::Poll;

use super::engine::INLINE;
use super::{Case, Kind};
use crate::coop;

/// Whether `case` certainly cannot fire now: a nil case, or a channel case whose channel's
/// readiness hint says so (one lock-free read: a single channel needs no double collect). A
/// future case is never certainly idle; it must be polled.
///
/// The macros use it for a `select!` of one channel case and `default` — Go compiles those to
/// `selectnbrecv`/`selectnbsend`, which skip `selectgo` — and run the engine only when the
/// case may fire. Monomorphized, so the common "nothing there" answer costs a load and a test.
#[inline]
pub fn certainly_idle<C: Case + ?Sized>(case: &C) -> bool {
    case.kind() != Kind::Fut && case.idle_hint().is_some()
}

/// [`certainly_idle`] for `select!`, charged to tokio's cooperative budget: a loop of
/// `select! { recv(rx) => .., default => .. }` that never finds a value still yields to the
/// other tasks on its worker, rather than starving the one that would send. One unit is charged
/// per `IDLE_PER_UNIT` idle answers (a thread-local count): reading the budget costs more than
/// the answer itself, and a loop still yields after about a thousand idle answers.
pub fn poll_idle<C: Case + ?Sized>(case: &mut C) -> impl Future<Output = bool> + '_ {
    std::future::poll_fn(move |cx| {
        if !certainly_idle(&*case) {
            // Not charged here: the engine's own poll charges the select.
            return Poll::Ready(false);
        }
        let n = IDLE_ANSWERS.get().wrapping_add(1);
        IDLE_ANSWERS.set(n);
        if n % IDLE_PER_UNIT == 0 {
            // Out of budget: yield (the waker is already scheduled); the next poll answers.
            std::task::ready!(coop::poll_proceed(cx)).made_progress();
        }
        Poll::Ready(true)
    })
}

/// Idle answers of [`poll_idle`] per unit of tokio's cooperative budget.
const IDLE_PER_UNIT: u32 = 8;

thread_local! {
    /// Idle answers [`poll_idle`] gave on this thread (wrapping).
    static IDLE_ANSWERS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// `true` if no case can fire at one instant: every case's hint says idle, twice, with no
/// change in between. A hint's version changes whenever its bits do, so if both collects
/// agree, every channel stayed idle from its first read to its second, and all these
/// intervals contain the end of the first collect: a consistent snapshot, as Go's select
/// gets by locking every channel (TestNonblockSelectRace). Up to `INLINE` cases only.
pub(super) fn all_idle<D: ?Sized + Case>(cases: &[&mut D]) -> bool {
    let n = cases.len();
    if n > INLINE {
        return false;
    }
    let mut first = [0u64; INLINE];
    for (slot, c) in first.iter_mut().zip(cases.iter()) {
        match c.idle_hint() {
            Some(h) => *slot = h,
            None => return false,
        }
    }
    cases
        .iter()
        .zip(first.iter())
        .all(|(c, &h)| c.idle_hint() == Some(h))
}
