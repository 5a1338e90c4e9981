//! The wrapper future every goroutine runs in ([`GoFuture`]) and its `tracing` span.
//!
//! Around each poll of the user's future, `GoFuture` enters the goroutine's span, tells the
//! observer hook which goroutine is being polled, polls with the goroutine's counting waker under
//! `catch_unwind`, and records the outcome (running / waiting / blocked on a gocsp operation) in
//! the goroutine's registry record.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;
use tracing::Span;

use super::panic::{on_panic, Caught};
use crate::registry::{
    self, BlockedAt, Info, Kind, PollCtx, Registered, CTX, LAST_POLL, PROGRESS, RUNNING,
};

pub(crate) fn span_for(info: &Info) -> Span {
    // A root span: a goroutine outlives the code that spawned it (as in Go), and a child span
    // would keep its parent open until the goroutine ends.
    tracing::info_span!(
        target: "gocsp::goroutine",
        parent: None,
        "goroutine",
        id = info.id,
        name = info.name.as_deref().unwrap_or(""),
        location = %info.location,
    )
}

pin_project! {
    /// A goroutine's future: the user's future plus the bookkeeping described in the module docs.
    pub(crate) struct GoFuture<F> {
        #[pin]
        fut: F,
        info: Arc<Info>,
        // A `Waker` made from `info` (the counting waker), created when the first poll returns
        // `Pending`: a goroutine that finishes in one poll never pays for it.
        waker: Option<Waker>,
        // What `info.blocked` holds, as this goroutine's poller last wrote it.
        last_block: Option<BlockedAt>,
        // The goroutine's span, or `None` when no subscriber wants it (entering a disabled
        // span does nothing): eight bytes instead of forty in every goroutine's future.
        span: Option<Box<Span>>,
        reg: Option<Registered>,
    }
}

impl<F: Future> GoFuture<F> {
    pub(crate) fn new(fut: F, info: Arc<Info>) -> Self {
        let reg = registry::register(&info);
        let span = span_for(&info);
        let span = (!span.is_disabled()).then(|| Box::new(span));
        GoFuture {
            fut,
            info,
            waker: None,
            last_block: None,
            span,
            reg: Some(reg),
        }
    }

    pub(crate) fn info(&self) -> &Arc<Info> {
        &self.info
    }
}

impl<F: Future> Future for GoFuture<F> {
    type Output = Result<F::Output, Box<Caught>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let info: &Arc<Info> = this.info;
        let _entered = this.span.as_deref().map(Span::enter);
        info.state.store(RUNNING, Ordering::Relaxed);
        info.epoch.store(
            info.epoch.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        // Poll with the counting waker when it exists and forwards to the waker tokio gave us.
        // The first poll, and polls by an unusual executor whose waker changed, use tokio's
        // waker directly ("uncounted": the deadlock detector wakes such a goroutine once to
        // get a counted poll before it trusts its state).
        let counted = match (this.waker.as_ref(), info.task_waker.get()) {
            (Some(_), Some(w)) => w.will_wake(cx.waker()),
            _ => false,
        };
        let prev = CTX.replace(PollCtx {
            id: info.id,
            report: None,
            blocking: false,
        });
        let progress_before = PROGRESS.get();
        let fut = this.fut;
        let waker: Option<&Waker> = this.waker.as_ref().filter(|_| counted);
        let main_deadlock = info.kind == Kind::Main && info.deadlock_panic.load(Ordering::Relaxed);
        let task_cx = &mut *cx;
        let res = std::panic::catch_unwind(AssertUnwindSafe(move || {
            if main_deadlock {
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
                None => fut.poll(task_cx),
            }
        }));
        let ctx = CTX.replace(prev);
        match res {
            Ok(Poll::Pending) => {
                if this.waker.is_none() {
                    let _ = info.task_waker.set(cx.waker().clone());
                    *this.waker = Some(Waker::from(Arc::clone(info)));
                }
                let progressed = PROGRESS.get() != progress_before;
                let report = ctx.report.map(|(op, site)| BlockedAt { op, site });
                info.after_pending(report, this.last_block, counted, progressed);
                LAST_POLL.set(ctx.report);
                if info.group != 0 {
                    crate::synctest::on_event(info.group);
                }
                Poll::Pending
            }
            Ok(Poll::Ready(v)) => {
                LAST_POLL.set(None);
                let group = info.group;
                this.reg.take();
                *this.waker = None;
                registry::pool::put(this.info);
                if group != 0 {
                    crate::synctest::on_event(group);
                }
                Poll::Ready(Ok(v))
            }
            Err(payload) => {
                LAST_POLL.set(None);
                let caught = on_panic(info, payload);
                this.reg.take();
                if info.group != 0 {
                    crate::synctest::on_event(info.group);
                }
                Poll::Ready(Err(Box::new(caught)))
            }
        }
    }
}
