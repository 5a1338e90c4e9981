//! tokio's cooperative scheduling budget, so a goroutine looping on an always-ready channel
//! yields to the others on its worker as it would with tokio's own channels. Outside a tokio
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

/// One poll of a channel operation with what surrounds every one: tokio's cooperative budget,
/// and the reports to the goroutine runtime — progress when it completes having moved a value
/// (`moved`), the operation and site it waits at when it does not.
#[inline]
pub(crate) fn poll_op<R>(
    cx: &mut std::task::Context<'_>,
    op: crate::hook::Op,
    site: &'static std::panic::Location<'static>,
    moved: fn(&R) -> bool,
    poll: impl FnOnce(&std::task::Waker) -> std::task::Poll<R>,
) -> std::task::Poll<R> {
    use std::task::Poll;
    let coop = std::task::ready!(poll_proceed(cx));
    match poll(cx.waker()) {
        Poll::Ready(r) => {
            coop.made_progress();
            if moved(&r) {
                crate::hook::progressed();
            }
            Poll::Ready(r)
        }
        Poll::Pending => {
            crate::hook::blocked(op, site);
            Poll::Pending
        }
    }
}
