//! tokio's cooperative scheduling budget, so a goroutine looping on an always-ready channel
//! yields to the others on its worker as it would with tokio's own channels (after
//! [`OPS_PER_UNIT`] times as many operations: see there). Outside a tokio
//! runtime (OS threads, other executors) the budget is unconstrained and this costs nothing.

#[cfg(not(loom))]
pub(crate) use tokio::task::coop::poll_proceed;

#[cfg(loom)]
pub(crate) fn poll_proceed(_cx: &mut std::task::Context<'_>) -> std::task::Poll<Unbudgeted> {
    std::task::Poll::Ready(Unbudgeted)
}

/// Under loom there is no runtime and no budget.
#[cfg(loom)]
pub(crate) struct Unbudgeted;

#[cfg(loom)]
impl Unbudgeted {
    pub(crate) fn made_progress(&self) {}
}

/// Completed operations per unit of tokio's budget. Reading the budget is a lookup of tokio's
/// thread-local context on entry and again on exit, a large share of the instructions of a
/// whole buffered send; charging one unit per `OPS_PER_UNIT` completed operations keeps
/// the yield (a task looping on an always-ready channel still yields after
/// `128 * OPS_PER_UNIT` operations rather than 128) at a fraction of the cost.
pub(crate) const OPS_PER_UNIT: u32 = 4;

thread_local! {
    /// Operations completed on this thread (wrapping); every `OPS_PER_UNIT`-th one is charged.
    static OPS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Operations completed on this thread so far (wrapping): a clock in operations, which the
/// channel lock reads to tell how often this thread meets contention.
#[cfg(not(loom))]
#[inline]
pub(crate) fn completed() -> u32 {
    OPS.get()
}

/// Counts `n` completed operations on this thread, as `n` polls of `poll_op` would.
#[cfg(all(test, not(loom)))]
pub(crate) fn count_completed(n: u32) {
    OPS.set(OPS.get().wrapping_add(n));
}

/// One poll of a channel operation with what surrounds every one: tokio's cooperative budget,
/// and the reports to the goroutine runtime — progress when it completes having moved a value
/// (`moved`), the operation and site it waits at when it does not.
#[inline]
pub(crate) fn poll_op<R>(
    cx: &mut std::task::Context<'_>,
    op: crate::hook::Op,
    site: &'static std::panic::Location<'static>,
    bubble: u32,
    moved: fn(&R) -> bool,
    poll: impl FnOnce(&std::task::Waker) -> std::task::Poll<R>,
) -> std::task::Poll<R> {
    use std::task::Poll;
    let n = OPS.get();
    // The charged poll takes a unit first (and yields if there is none); if the operation then
    // waits, dropping `coop` gives the unit back, and the next poll is charged again.
    let coop = if n % OPS_PER_UNIT == 0 {
        Some(std::task::ready!(poll_proceed(cx)))
    } else {
        None
    };
    match poll(cx.waker()) {
        Poll::Ready(r) => {
            OPS.set(n.wrapping_add(1));
            if let Some(coop) = coop {
                coop.made_progress();
            }
            if moved(&r) {
                crate::hook::progressed();
            }
            Poll::Ready(r)
        }
        Poll::Pending => {
            crate::hook::blocked_on(op, site, bubble);
            Poll::Pending
        }
    }
}
