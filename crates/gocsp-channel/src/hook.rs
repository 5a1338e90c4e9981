//! The observer hook: how a goroutine runtime learns what gocsp operations are waiting on.
//!
//! `gocsp-channel` knows nothing about goroutines. Every gocsp future that returns
//! `Poll::Pending` (and every blocking call that parks its thread) reports the operation and the
//! source location the user wrote through [`blocked`]. `gocsp-runtime` installs an [`Observer`]
//! once with [`set_observer`] and turns these reports into goroutine states for `gocsp::dump()`
//! and the deadlock detector. Without an observer each report costs one atomic load.

use std::panic::Location;
use std::sync::OnceLock;

/// The kind of gocsp operation a task is waiting on.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `Sender::send` / `send_blocking`.
    Send,
    /// `Receiver::recv` / `recv_blocking`.
    Recv,
    /// The `Stream` impl of `Receiver` (`rx.next().await`). A trait method cannot know its
    /// caller's line, so the site reported with it is where that receiver was created (the
    /// `chan()` call or the `clone()`).
    StreamRecv,
    /// A `select!` or `Select` with no ready case.
    Select,
    /// `Sender::reserve`.
    Reserve,
    /// `WaitGroup::wait`.
    WaitGroup,
    /// `Cond::wait`.
    Cond,
    /// A gocsp timer (`sleep`).
    Sleep,
    /// Any other named operation.
    Other(&'static str),
}

impl Op {
    /// Go's wording for the wait reason, as printed in a goroutine dump.
    ///
    /// ```
    /// use gocsp_channel::hook::Op;
    /// assert_eq!(Op::Recv.go_name(), "chan receive");
    /// ```
    pub fn go_name(self) -> &'static str {
        match self {
            Op::Send => "chan send",
            Op::Recv => "chan receive",
            Op::StreamRecv => "stream receive",
            Op::Select => "select",
            Op::Reserve => "chan send (reserve)",
            Op::WaitGroup => "sync.WaitGroup.Wait",
            Op::Cond => "sync.Cond.Wait",
            Op::Sleep => "sleep",
            Op::Other(s) => s,
        }
    }
}

/// Receives reports from gocsp operations. Installed once per process by the goroutine runtime.
pub trait Observer: Send + Sync + 'static {
    /// The current task is about to return `Pending` (or the current thread to park) in
    /// operation `op`, written by the user at `site`.
    fn blocked(&self, op: Op, site: &'static Location<'static>);
    /// A gocsp operation completed. Used as a cheap progress counter.
    fn progressed(&self) {}

    /// As [`blocked`](Observer::blocked), for a wait on channels of synctest bubble `bubble`
    /// (0: of no bubble; [`MIXED_BUBBLES`]: a select over channels of several). A goroutine of
    /// a bubble waiting on channels of another bubble, or of none, is not durably blocked. The
    /// default forgets the bubble.
    fn blocked_on(&self, op: Op, site: &'static Location<'static>, bubble: u32) {
        let _ = bubble;
        self.blocked(op, site);
    }

    /// The synctest bubble the calling thread runs goroutines of, 0 if none. A channel records
    /// it when created, and operating on it from outside that bubble panics.
    fn bubble(&self) -> u32 {
        0
    }
}

static OBSERVER: OnceLock<&'static dyn Observer> = OnceLock::new();

/// Installs the process-wide observer. Returns `false` if one was already installed.
///
/// ```
/// use gocsp_channel::hook::{self, Observer, Op};
/// struct Quiet;
/// impl Observer for Quiet {
///     fn blocked(&self, _op: Op, _site: &'static std::panic::Location<'static>) {}
/// }
/// static Q: Quiet = Quiet;
/// let first = hook::set_observer(&Q);
/// assert!(!hook::set_observer(&Q) || first);
/// ```
pub fn set_observer(observer: &'static dyn Observer) -> bool {
    OBSERVER.set(observer).is_ok()
}

/// Reports that the current task or thread is about to wait in `op` at `site`.
///
/// ```
/// use gocsp_channel::hook::{self, Op};
/// hook::blocked(Op::Other("custom wait"), std::panic::Location::caller());
/// ```
#[inline]
pub fn blocked(op: Op, site: &'static Location<'static>) {
    if let Some(o) = OBSERVER.get() {
        o.blocked(op, site);
    }
}

/// The bubble a select over channels of different bubbles waits on (see
/// [`Observer::blocked_on`]).
pub const MIXED_BUBBLES: u32 = u32::MAX;

/// Reports that the current task or thread is about to wait in `op` at `site`, on channels of
/// synctest bubble `bubble` (see [`Observer::blocked_on`]).
///
/// ```
/// use gocsp_channel::hook::{self, Op};
/// hook::blocked_on(Op::Recv, std::panic::Location::caller(), 0);
/// ```
#[inline]
pub fn blocked_on(op: Op, site: &'static Location<'static>, bubble: u32) {
    if let Some(o) = OBSERVER.get() {
        o.blocked_on(op, site, bubble);
    }
}

/// The calling thread's synctest bubble (see [`Observer::bubble`]), 0 without an observer.
///
/// ```
/// assert_eq!(gocsp_channel::hook::bubble(), 0);
/// ```
#[inline]
pub fn bubble() -> u32 {
    OBSERVER.get().map_or(0, |o| o.bubble())
}

/// Reports that a gocsp operation completed.
///
/// ```
/// gocsp_channel::hook::progressed();
/// ```
#[inline]
pub fn progressed() {
    if let Some(o) = OBSERVER.get() {
        o.progressed();
    }
}
