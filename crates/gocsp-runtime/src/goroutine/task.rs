//! The wrapper future every goroutine runs in ([`GoFuture`]) and its `tracing` span.
//!
//! Around each poll of the user's future, `GoFuture` enters the goroutine's span, tells the
//! observer hook which goroutine is being polled, polls with the goroutine's counting waker under
//! `catch_unwind`, and records the outcome (running / waiting / blocked on a gocsp operation) in
//! the goroutine's registry record. A `go!` goroutine gets that record, and its counting waker,
//! when its first poll returns `Pending` (see `registry.rs`); until then it is counted as live
//! and carries only its id, name, spawn site and parent.

use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;
use tracing::Span;

use super::panic::{on_panic, Caught};
use crate::registry::{
    self, Alive, BlockedAt, Info, Kind, PollCtx, Registered, Report, CTX, GROUP, LAST_POLL,
    PROGRESS, REPORT, RUNNING,
};

pub(crate) fn span_for(id: u64, name: Option<&str>, location: &'static Location<'static>) -> Span {
    // A root span: a goroutine outlives the code that spawned it (as in Go), and a child span
    // would keep its parent open until the goroutine ends.
    tracing::info_span!(
        target: "gocsp::goroutine",
        parent: None,
        "goroutine",
        id = id,
        name = name.unwrap_or(""),
        location = %location,
    )
}

/// What a goroutine that has not been registered yet is: its registry record is made from
/// this when its first poll returns `Pending`.
struct Unregistered {
    id: u64,
    name: Option<Arc<str>>,
    location: &'static Location<'static>,
    parent: u64,
}

impl Unregistered {
    /// The record this goroutine gets when it first waits (taking its name).
    fn take_info(&mut self) -> Arc<Info> {
        Info::with_id(
            Kind::Task,
            self.id,
            self.name.take(),
            self.location,
            self.parent,
            0,
        )
    }
}

/// A registered goroutine's bookkeeping. Dropping it (tokio drops a task's future as soon as
/// it completes) removes the goroutine from the registry and offers its record for reuse.
struct Registration {
    info: Arc<Info>,
    // A `Waker` made from `info` (the counting waker), created when a poll first returns
    // `Pending`.
    waker: Option<Waker>,
    reg: Option<Registered>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reg.take();
        self.waker.take();
        let group = self.info.group;
        registry::pool::put(&mut self.info);
        if group != 0 {
            // The bubble may now be durably blocked: let it look.
            crate::synctest::on_event(group);
        }
    }
}

/// What the registry knows of a goroutine. Two variants and no more, so that the enum's tag
/// fits in a niche of `Unregistered` and the record stays 40 bytes.
enum Record {
    /// Spawned by `go!` outside a test and not yet `Pending` once: not in the registry (only
    /// in the count of live goroutines). A goroutine that finishes in its first poll never
    /// touches the registry.
    Unregistered(Unregistered),
    Registered(Registration),
}

pin_project! {
    /// A goroutine's future: the user's future plus the bookkeeping described in the module docs.
    pub(crate) struct GoFuture<F> {
        #[pin]
        fut: F,
        record: Record,
        // The goroutine's span, or `None` when no subscriber wants it (entering a disabled
        // span does nothing): eight bytes instead of forty in every goroutine's future.
        span: Option<Box<Span>>,
        // Counts the goroutine in `num_goroutine` until its future is dropped (tokio drops it
        // as soon as it completes, before its `JoinHandle` learns of it).
        alive: Alive,
    }
}

#[inline]
fn boxed_span(
    id: u64,
    name: Option<&str>,
    location: &'static Location<'static>,
) -> Option<Box<Span>> {
    // The most verbose level any subscriber enables, one atomic load: with no subscriber (or
    // none that wants INFO), building the span would only find that out more slowly.
    if tracing::level_filters::LevelFilter::current() < tracing::Level::INFO {
        return None;
    }
    build_span(id, name, location)
}

#[cold]
#[inline(never)]
fn build_span(
    id: u64,
    name: Option<&str>,
    location: &'static Location<'static>,
) -> Option<Box<Span>> {
    let span = span_for(id, name, location);
    (!span.is_disabled()).then(|| Box::new(span))
}

impl<F: Future> GoFuture<F> {
    /// A goroutine registered from the start: the main goroutine, and every goroutine of a test
    /// (whose dump, leak check and bubble read the registry only).
    pub(crate) fn new(fut: F, info: Arc<Info>) -> Self {
        let reg = registry::register(&info);
        let span = boxed_span(info.id, info.name.as_deref(), info.location);
        GoFuture {
            fut,
            record: Record::Registered(Registration {
                info,
                waker: None,
                reg: Some(reg),
            }),
            span,
            alive: Alive::new(),
        }
    }

    /// A goroutine spawned by `go!`: registered when its first poll returns `Pending` when it
    /// runs outside a test, from the start inside one.
    #[inline(always)]
    pub(crate) fn spawned(
        fut: F,
        name: Option<Arc<str>>,
        location: &'static Location<'static>,
    ) -> Self {
        if GROUP.get() != 0 {
            return GoFuture::new(fut, Info::new(Kind::Task, name, location));
        }
        registry::install_observer();
        let parent = registry::current_id().unwrap_or(0);
        let id = registry::next_id();
        GoFuture {
            fut,
            span: boxed_span(id, name.as_deref(), location),
            record: Record::Unregistered(Unregistered {
                id,
                name,
                location,
                parent,
            }),
            alive: Alive::new(),
        }
    }

    /// The goroutine's id.
    pub(crate) fn id(&self) -> u64 {
        match &self.record {
            Record::Unregistered(u) => u.id,
            Record::Registered(r) => r.info.id,
        }
    }

    /// The registry record of a goroutine made with [`GoFuture::new`].
    pub(crate) fn info(&self) -> &Arc<Info> {
        match &self.record {
            Record::Registered(r) => &r.info,
            Record::Unregistered(_) => unreachable!("`GoFuture::new` registers its goroutine"),
        }
    }
}

impl<F: Future> Future for GoFuture<F> {
    type Output = Result<F::Output, Box<Caught>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.as_deref().map(Span::enter);
        let out = match this.record {
            Record::Unregistered(u) => {
                let (res, report) = poll_as(this.fut, u.id, None, None, cx);
                match res {
                    Ok(Poll::Pending) => {
                        let registration = register_pending(u, report, cx);
                        *this.record = Record::Registered(registration);
                        LAST_POLL.set(report);
                        return Poll::Pending;
                    }
                    Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
                    Err(payload) => Poll::Ready(Err(Box::new(on_panic(&u.take_info(), payload)))),
                }
            }
            Record::Registered(r) => {
                let info: &Arc<Info> = &r.info;
                info.state.store(RUNNING, Ordering::Relaxed);
                info.epoch.store(
                    info.epoch.load(Ordering::Relaxed).wrapping_add(1),
                    Ordering::Relaxed,
                );
                // Poll with the counting waker when it exists and forwards to the waker tokio
                // gave us. The first poll of a goroutine registered from its start (main,
                // blocking, a test's), and polls by an unusual executor whose waker changed,
                // use tokio's waker directly ("uncounted": the deadlock detector
                // wakes such a goroutine once to get a counted poll before it trusts its
                // state).
                let counted = match (r.waker.as_ref(), info.task_waker.get()) {
                    (Some(_), Some(w)) => w.will_wake(cx.waker()),
                    _ => false,
                };
                let progress_before = PROGRESS.get();
                let waker = r.waker.as_ref().filter(|_| counted);
                let main = (info.kind == Kind::Main).then_some(&**info);
                let (res, report) = poll_as(this.fut, info.id, waker, main, cx);
                match res {
                    Ok(Poll::Pending) => {
                        if r.waker.is_none() {
                            let _ = info.task_waker.set(cx.waker().clone());
                            r.waker = Some(Waker::from(Arc::clone(info)));
                        }
                        let progressed = PROGRESS.get() != progress_before;
                        let at = report.map(|(op, site)| BlockedAt { op, site });
                        info.after_pending(at, counted, progressed);
                        LAST_POLL.set(report);
                        if info.group != 0 {
                            crate::synctest::on_event(info.group);
                        }
                        return Poll::Pending;
                    }
                    // The registration ends, and a bubble is told, when the future is dropped
                    // (see `Registration`).
                    Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
                    Err(payload) => Poll::Ready(Err(Box::new(on_panic(info, payload)))),
                }
            }
        };
        LAST_POLL.set(None);
        out
    }
}

/// Polls `fut` as goroutine `id` (what [`CTX`] says while it runs), with `waker` instead of
/// `cx`'s when given, catching a panic. `main` is the main goroutine's record: under
/// `Deadlock::Panic` the detector asks it to panic with the report. Returns the poll's result
/// and the gocsp operation that reported blocking during it.
// Inlined into both callers, so that the first poll's call (no waker, no main goroutine)
// compiles without those branches.
#[inline(always)]
fn poll_as<F: Future>(
    fut: Pin<&mut F>,
    id: u64,
    waker: Option<&Waker>,
    main: Option<&Info>,
    cx: &mut Context<'_>,
) -> (std::thread::Result<Poll<F::Output>>, Report) {
    let prev = CTX.replace(PollCtx {
        id,
        blocking: false,
    });
    let prev_report = REPORT.take();
    let res = std::panic::catch_unwind(AssertUnwindSafe(move || {
        if let Some(info) = main.filter(|i| i.deadlock_panic.load(Ordering::Relaxed)) {
            match crate::synctest::deadlock_report(info.group) {
                Some(report) => panic!("{report}"),
                None => panic!(
                    "all goroutines are asleep - deadlock!\n\n{}",
                    crate::dump::dump_group(info.group)
                ),
            }
        }
        match waker {
            Some(w) => fut.poll(&mut Context::from_waker(w)),
            None => fut.poll(cx),
        }
    }));
    CTX.set(prev);
    (res, REPORT.replace(prev_report))
}

/// Registers a goroutine whose first poll just returned `Pending`, blocked in `report` if a
/// gocsp operation reported.
fn register_pending(u: &mut Unregistered, report: Report, cx: &Context<'_>) -> Registration {
    let info = u.take_info();
    info.state.store(RUNNING, Ordering::Relaxed);
    let _ = info.task_waker.set(cx.waker().clone());
    let at = report.map(|(op, site)| BlockedAt { op, site });
    info.after_pending(at, false, false);
    // Registered after its state is written: a dump or the detector never sees it half made.
    let reg = registry::register(&info);
    Registration {
        waker: Some(Waker::from(Arc::clone(&info))),
        info,
        reg: Some(reg),
    }
}

#[cfg(test)]
mod tests {
    use std::future::Ready;

    /// A goroutine's bookkeeping adds at most 48 bytes to its task: tokio rounds a task to a
    /// multiple of 128 bytes, so every 8 bytes more or less moves some futures across a step.
    #[test]
    fn the_wrapper_adds_at_most_48_bytes() {
        let plain = std::mem::size_of::<Ready<[u64; 4]>>();
        let wrapped = std::mem::size_of::<super::GoFuture<Ready<[u64; 4]>>>();
        assert!(wrapped - plain <= 48, "{wrapped} - {plain}");
    }
}
