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
