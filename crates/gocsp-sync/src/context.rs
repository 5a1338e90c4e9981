//! [`Context`]: Go's `context` package — cancellation, deadlines and request-scoped values
//! that flow down a tree of contexts.
//!
//! # Shape of the tree
//!
//! Every context is a node: the background root, a cancellable node (`with_cancel`,
//! `with_timeout`, `with_deadline`, `with_cancellation_token`) or a value node (`with_value`).
//! A node holds its parent strongly (values and deadlines are read through the parent chain).
//! A cancellable node is registered in its nearest cancellable ancestor's child map by a
//! *weak* reference, so:
//!
//! - cancelling a node cancels every registered descendant (walked iteratively, so depth costs
//!   no stack), never an ancestor;
//! - a node that is cancelled unregisters at once, and a node whose last handle (every
//!   `Context` clone, `CancelHandle`, and child context) is dropped unregisters in its `Drop`:
//!   short-lived children leave nothing behind in a long-lived parent.
//!
//! # Done channels that outlive their context
//!
//! `done()` hands out clones of a channel `Receiver` created on first use. A receiver must
//! close exactly when its context is cancelled — not when the context's handles are dropped.
//! When a context is dropped uncancelled while some receiver of its done channel is still
//! alive, its `Sender` is adopted by the nearest cancellable ancestor (closed when that one is
//! cancelled, as the dropped child would have been) or, under the background root, kept by a
//! process-wide list (never closed, like Go's never-cancelled context). Adopted senders whose
//! receivers are all gone are swept out as more are adopted, so memory stays proportional to
//! live receivers.
//!
//! # Lock order
//!
//! A node's state lock is never held while another node's is taken, except in `Drop`, which
//! takes the parent's lock after releasing its own. Wakers, token cancellation and task aborts
//! run after unlocking.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicU64 as StdAtomicU64;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use gocsp_channel::{Receiver, Sender};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::loom::{lock, AtomicU8, Mutex, Ordering};

/// Why a [`Context`] is done: Go's `context.Canceled` and `context.DeadlineExceeded`.
///
/// `Display` prints Go's wording, so logs read as a Go service's do.
///
/// # Spelling
///
/// gocsp spells the word "cancelled" in every identifier (`ContextError::Cancelled`,
/// `GoError::Cancelled`, `is_cancelled`, [`Context::cancelled`]), as tokio and the Rust standard
/// library do (`JoinError::is_cancelled`, `CancellationToken`), so one spelling works across a
/// Rust code base. Only the messages keep Go's "canceled", because they are Go's text.
///
/// ```
/// use gocsp_sync::ContextError;
/// assert_eq!(ContextError::Cancelled.to_string(), "context canceled");
/// assert_eq!(ContextError::DeadlineExceeded.to_string(), "context deadline exceeded");
/// assert!(ContextError::DeadlineExceeded.is_timeout());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// The context was cancelled by a [`CancelHandle`] or by an ancestor's cancellation.
    Cancelled,
    /// The context's deadline passed.
    DeadlineExceeded,
}

impl ContextError {
    /// `true` for [`DeadlineExceeded`](Self::DeadlineExceeded), like Go's `Timeout()` method on
    /// `context.DeadlineExceeded`.
    ///
    /// ```
    /// assert!(!gocsp_sync::ContextError::Cancelled.is_timeout());
    /// ```
    pub fn is_timeout(self) -> bool {
        self == ContextError::DeadlineExceeded
    }

    fn code(self) -> u8 {
        match self {
            ContextError::Cancelled => ERR_CANCELLED,
            ContextError::DeadlineExceeded => ERR_DEADLINE,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            ERR_CANCELLED => Some(ContextError::Cancelled),
            ERR_DEADLINE => Some(ContextError::DeadlineExceeded),
            _ => None,
        }
    }
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Cancelled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for ContextError {}

const ERR_NONE: u8 = 0;
const ERR_CANCELLED: u8 = 1;
const ERR_DEADLINE: u8 = 2;

/// Carries cancellation, a deadline and request-scoped values across API boundaries and
/// between tasks: Go's `context.Context`.
///
/// A `Context` is a cheap, cloneable handle (`Send + Sync`, one `Arc`). Derive children with
/// [`with_cancel`](Self::with_cancel), [`with_timeout`](Self::with_timeout),
/// [`with_deadline`](Self::with_deadline) and [`with_value`](Self::with_value). Cancelling a
/// context cancels all its descendants, never its ancestors.
///
/// Observe cancellation with [`done`](Self::done) — a channel receiver that is closed on
/// cancellation, so it works as a `select!` case exactly like Go's `<-ctx.Done()` — or
/// [`cancelled`](Self::cancelled)`.await`, and find out why with [`err`](Self::err).
///
/// Differences from Go, all on purpose:
/// - Values are keyed by type: use a newtype per key (`struct RequestId(u64)`), as
///   `http::Extensions` does. There is no `nil` key and no untyped lookup.
/// - Dropping a [`CancelHandle`] does not cancel (Go has no destructors); what Go's
///   `defer cancel()` does is [`CancelHandle::drop_guard`]. Go's vet warns about a lost
///   cancel func because the child leaks in its parent until the parent is cancelled; here a
///   child whose handles are all dropped unregisters itself, so nothing leaks.
/// - Timers (`with_timeout`/`with_deadline`) run on tokio's timer (paused time works).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gocsp_sync::{Context, ContextError};
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// #[derive(Debug, PartialEq)]
/// struct RequestId(u64);
///
/// let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(5));
/// let ctx = ctx.with_value(RequestId(7));
/// let worker = tokio::spawn({
///     let ctx = ctx.clone();
///     async move {
///         assert_eq!(ctx.value::<RequestId>(), Some(&RequestId(7)));
///         ctx.done().recv().await; // blocks until cancelled: returns None
///         ctx.err()
///     }
/// });
/// cancel.cancel();
/// assert_eq!(worker.await.unwrap(), Some(ContextError::Cancelled));
/// # }
/// ```
///
/// # Go equivalent
///
/// ```go
/// ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
/// defer cancel()
/// ctx = context.WithValue(ctx, requestIDKey, RequestID(7))
/// ```
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

/// Cancels the context it was created with (and every descendant): Go's `CancelFunc`.
///
/// Cloneable; [`cancel`](Self::cancel) is idempotent. Dropping the handle does **not** cancel
/// (use [`drop_guard`](Self::drop_guard) for Go's `defer cancel()`).
///
/// ```
/// use gocsp_sync::{Context, ContextError};
/// let (ctx, cancel) = Context::background().with_cancel();
/// assert_eq!(ctx.err(), None);
/// cancel.cancel();
/// cancel.cancel(); // idempotent
/// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
/// ```
#[derive(Clone)]
pub struct CancelHandle {
    node: Arc<Node>,
}

/// Cancels its context when dropped: Go's `defer cancel()`. Created by
/// [`CancelHandle::drop_guard`].
///
/// ```
/// use gocsp_sync::Context;
/// let (ctx, cancel) = Context::background().with_cancel();
/// {
///     let _guard = cancel.drop_guard();
///     assert!(ctx.err().is_none());
/// }
/// assert!(ctx.err().is_some());
/// ```
#[must_use = "the context is cancelled when the guard is dropped; binding it to `_` drops it at once"]
pub struct CancelGuard {
    handle: Option<CancelHandle>,
}

enum Node {
    Background,
    Cancel(CancelNode),
    Value(ValueNode),
}

struct ValueNode {
    parent: Context,
    type_name: &'static str,
    value: Box<dyn Any + Send + Sync>,
}

struct CancelNode {
    /// Keeps the parent chain alive: values and deadlines are read through it.
    parent: Context,
    /// The nearest cancellable ancestor (a `Node::Cancel`), where this node is registered
    /// under `id` unless it was cancelled before registering.
    registered_in: Option<Arc<Node>>,
    id: u64,
    /// The effective deadline: the earlier of its own and its parent's.
    deadline: Option<Instant>,
    /// `true` for `with_deadline`/`with_timeout` nodes (for `Debug`).
    timer: bool,
    /// `ERR_*`: written once, under `state`'s lock; read without it (Acquire).
    err: AtomicU8,
    state: Mutex<CancelState>,
}

#[derive(Default)]
struct CancelState {
    /// Registered cancellable descendants whose nearest cancellable ancestor is this node.
    children: HashMap<u64, Weak<Node>>,
    /// The done channel, created by the first `done()`.
    done: Option<(Sender<()>, Receiver<()>)>,
    /// Done senders of dropped, uncancelled descendants whose receivers may still be alive.
    orphans: Vec<Sender<()>>,
    /// Created by the first `cancellation_token()`; a child of the ancestor's token.
    token: Option<CancellationToken>,
    /// Deadline timer and token watcher tasks, aborted on cancellation or drop.
    tasks: Vec<AbortHandle>,
}

impl CancelState {
    fn remove_child(&mut self, id: u64) {
        self.children.remove(&id);
        // Give memory back after a burst of short-lived children.
        if self.children.capacity() > 64 && self.children.len() * 4 < self.children.capacity() {
            let len = self.children.len();
            self.children.shrink_to(len * 2);
        }
    }
}

#[cfg(loom)]
std::thread_local! {
    // Under loom, `cancel` visits children in id order, newest first if this is set; the
    // models run with both. (loom runs a model's threads on the test's own OS thread.)
    static NEWEST_FIRST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Ids for child maps. Uniqueness is all that matters, so a plain std atomic (not modelled).
static NEXT_ID: StdAtomicU64 = StdAtomicU64::new(0);

impl Context {
    /// The root of every context tree: never cancelled, no deadline, no values.
    ///
    /// Cheap: every call returns a clone of one process-wide root.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let ctx = Context::background();
    /// assert_eq!(ctx.err(), None);
    /// assert_eq!(ctx.deadline(), None);
    /// assert!(ctx.done().try_recv().is_err()); // never closes
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `context.Background()` (and `context.TODO()`).
    pub fn background() -> Context {
        static BACKGROUND: OnceLock<Context> = OnceLock::new();
        BACKGROUND
            .get_or_init(|| Context {
                node: Arc::new(Node::Background),
            })
            .clone()
    }

    /// A child that is cancelled when `cancel.cancel()` is called or when `self` is cancelled,
    /// whichever comes first.
    ///
    /// If `self` is already cancelled, the child starts cancelled with the same error.
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// let (parent, cancel_parent) = Context::background().with_cancel();
    /// let (child, cancel_child) = parent.with_cancel();
    /// cancel_child.cancel();
    /// assert_eq!(parent.err(), None); // never upwards
    /// let (child2, _) = parent.with_cancel();
    /// cancel_parent.cancel();
    /// assert_eq!(child2.err(), Some(ContextError::Cancelled)); // always downwards
    /// # drop(child);
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithCancel(parent)`.
    pub fn with_cancel(&self) -> (Context, CancelHandle) {
        let node = self.new_cancel_node(None);
        (Context { node: node.clone() }, CancelHandle { node })
    }

    /// A child that is cancelled with [`ContextError::DeadlineExceeded`] once `timeout` has
    /// elapsed (on tokio's clock), or earlier like [`with_cancel`](Self::with_cancel).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (the timer needs one), unless the deadline is already passed or
    /// later than an ancestor's deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gocsp_sync::{Context, ContextError};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(50));
    /// ctx.done().recv().await;
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithTimeout(parent, timeout)`.
    #[track_caller]
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelHandle) {
        self.with_deadline(Instant::now() + timeout)
    }

    /// A child that is cancelled with [`ContextError::DeadlineExceeded`] at `deadline`, or
    /// earlier like [`with_cancel`](Self::with_cancel). Its [`deadline`](Self::deadline) is the
    /// earlier of `deadline` and the parent's: a child never outlives its parent's deadline.
    ///
    /// `deadline` is a `tokio::time::Instant` or a `std::time::Instant`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, unless no timer is needed (the deadline is already passed, or
    /// not earlier than an ancestor's).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gocsp_sync::Context;
    /// use tokio::time::Instant;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let soon = Instant::now() + Duration::from_secs(1);
    /// let (parent, _c1) = Context::background().with_deadline(soon);
    /// let (child, _c2) = parent.with_deadline(soon + Duration::from_secs(60));
    /// assert_eq!(child.deadline(), Some(soon)); // capped by the parent
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx, cancel := context.WithDeadline(parent, d)`.
    #[track_caller]
    pub fn with_deadline(&self, deadline: impl Into<Instant>) -> (Context, CancelHandle) {
        let node = self.new_cancel_node(Some(deadline.into()));
        (Context { node: node.clone() }, CancelHandle { node })
    }

    /// A child that carries `value`, found by [`value::<T>()`](Self::value) on it and on its
    /// descendants. Cancellation and deadline are the parent's.
    ///
    /// Values are keyed by type; a nearer value of the same type shadows a farther one.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// #[derive(Debug, PartialEq)]
    /// struct User(&'static str);
    /// let ctx = Context::background().with_value(User("gopher"));
    /// let ctx = ctx.with_value(5u32).with_value(User("ferris"));
    /// assert_eq!(ctx.value::<User>(), Some(&User("ferris")));
    /// assert_eq!(ctx.value::<u32>(), Some(&5));
    /// assert_eq!(ctx.value::<String>(), None);
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `context.WithValue(parent, key, val)`.
    pub fn with_value<T: Any + Send + Sync>(&self, value: T) -> Context {
        Context {
            node: Arc::new(Node::Value(ValueNode {
                parent: self.clone(),
                type_name: std::any::type_name::<T>(),
                value: Box::new(value),
            })),
        }
    }

    /// The nearest value of type `T` on this context or its ancestors.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let ctx = Context::background().with_value("trace-42");
    /// let (child, _cancel) = ctx.with_cancel();
    /// assert_eq!(child.value::<&str>(), Some(&"trace-42"));
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx.Value(key).(T)`.
    pub fn value<T: Any>(&self) -> Option<&T> {
        let mut ctx = self;
        loop {
            match &*ctx.node {
                Node::Background => return None,
                Node::Cancel(c) => ctx = &c.parent,
                Node::Value(v) => match v.value.downcast_ref::<T>() {
                    Some(found) => return Some(found),
                    None => ctx = &v.parent,
                },
            }
        }
    }

    /// A receiver that is closed when this context is cancelled: `recv()` then returns
    /// `None`, and a `select!` `recv` case on it fires. No value is ever sent on it.
    ///
    /// Every call returns a clone of the same channel (created on first use). The background
    /// context's channel never closes.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// # #[tokio::main]
    /// # async fn main() {
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let done = ctx.done();
    /// assert!(!done.is_closed());
    /// cancel.cancel();
    /// assert_eq!(done.recv().await, None);
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx.Done()`.
    pub fn done(&self) -> Receiver<()> {
        match self.cancel_node() {
            None => background_done().clone(),
            Some(node) => node.as_cancel().done(),
        }
    }

    /// Completes once this context is cancelled. The same as `self.done().recv().await`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes.
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// # #[tokio::main]
    /// # async fn main() {
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// tokio::spawn(async move { cancel.cancel() });
    /// ctx.cancelled().await;
    /// assert!(ctx.err().is_some());
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `<-ctx.Done()`.
    #[track_caller]
    pub fn cancelled(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let site = std::panic::Location::caller();
        let done = self.done();
        async move { while done.recv_at(site).await.is_some() {} }
    }

    /// `None` while the context is live; once it is done, why: [`ContextError::Cancelled`]
    /// or [`ContextError::DeadlineExceeded`] (a child reports the error of the ancestor whose
    /// cancellation reached it).
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert_eq!(ctx.err(), None);
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ctx.Err()`.
    pub fn err(&self) -> Option<ContextError> {
        self.cancel_node().and_then(|n| n.as_cancel().err())
    }

    /// The time at which this context will be cancelled with
    /// [`ContextError::DeadlineExceeded`], if any (the earliest among its ancestors').
    ///
    /// ```
    /// use std::time::Duration;
    /// use gocsp_sync::Context;
    /// # #[tokio::main]
    /// # async fn main() {
    /// assert_eq!(Context::background().deadline(), None);
    /// let (ctx, _c) = Context::background().with_timeout(Duration::from_secs(1));
    /// assert!(ctx.deadline().is_some());
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `deadline, ok := ctx.Deadline()`.
    pub fn deadline(&self) -> Option<Instant> {
        self.cancel_node().and_then(|n| n.as_cancel().deadline)
    }

    /// A [`CancellationToken`] that is cancelled when this context is cancelled, for code
    /// written against `tokio_util`. Cancelling the returned token does not cancel the context.
    ///
    /// Tokens of nested contexts form a tree of child tokens, so a token also follows the
    /// cancellation of every ancestor, even after this context's handles are dropped.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let token = ctx.cancellation_token();
    /// assert!(!token.is_cancelled());
    /// cancel.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    pub fn cancellation_token(&self) -> CancellationToken {
        match self.cancel_node() {
            None => CancellationToken::new(),
            Some(node) => node.as_cancel().token().child_token(),
        }
    }

    /// A child of `self` that is also cancelled (with [`ContextError::Cancelled`]) when
    /// `token` is cancelled: bring a `tokio_util` cancellation into a context tree.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime if `token` is not cancelled yet (a task watches it).
    ///
    /// # Examples
    ///
    /// ```
    /// use gocsp_sync::{Context, ContextError};
    /// use tokio_util::sync::CancellationToken;
    /// # #[tokio::main]
    /// # async fn main() {
    /// let token = CancellationToken::new();
    /// let (ctx, _cancel) = Context::background().with_cancellation_token(token.clone());
    /// token.cancel();
    /// ctx.done().recv().await;
    /// assert_eq!(ctx.err(), Some(ContextError::Cancelled));
    /// # }
    /// ```
    #[track_caller]
    pub fn with_cancellation_token(&self, token: CancellationToken) -> (Context, CancelHandle) {
        let node = self.new_cancel_node(None);
        if token.is_cancelled() {
            cancel(&node, ContextError::Cancelled, true);
        } else if node.as_cancel().err().is_none() {
            let weak = Arc::downgrade(&node);
            let task = gocsp_runtime::runtime_handle("Context::with_cancellation_token").spawn(
                async move {
                    token.cancelled().await;
                    if let Some(node) = weak.upgrade() {
                        cancel(&node, ContextError::Cancelled, true);
                    }
                },
            );
            node.as_cancel().add_task(task.abort_handle());
        }
        (Context { node: node.clone() }, CancelHandle { node })
    }

    /// The nearest cancellable node on the chain (itself or an ancestor), `None` under the
    /// background root.
    fn cancel_node(&self) -> Option<&Arc<Node>> {
        let mut ctx = self;
        loop {
            match &*ctx.node {
                Node::Background => return None,
                Node::Cancel(_) => return Some(&ctx.node),
                Node::Value(v) => ctx = &v.parent,
            }
        }
    }

    #[track_caller]
    fn new_cancel_node(&self, deadline: Option<Instant>) -> Arc<Node> {
        let registered_in = self.cancel_node().cloned();
        let parent_deadline = registered_in.as_ref().and_then(|p| p.as_cancel().deadline);
        // Go: a deadline later than the parent's is the parent's; no timer of its own.
        let (effective, needs_timer) = match (deadline, parent_deadline) {
            (Some(d), Some(p)) if p <= d => (Some(p), false),
            (Some(d), _) => (Some(d), true),
            (None, p) => (p, false),
        };
        let node = Arc::new(Node::Cancel(CancelNode {
            parent: self.clone(),
            registered_in,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            deadline: effective,
            timer: needs_timer,
            err: AtomicU8::new(ERR_NONE),
            state: Mutex::new(CancelState::default()),
        }));
        let cn = node.as_cancel();
        if let Some(parent) = &cn.registered_in {
            let pc = parent.as_cancel();
            let mut st = lock(&pc.state);
            // Checked under the parent's lock: either the parent's cancellation sees this
            // child in its map, or this child sees the parent's error here.
            match pc.err() {
                Some(err) => {
                    drop(st);
                    // Not registered: nothing to remove from.
                    cancel(&node, err, false);
                    return node;
                }
                None => {
                    st.children.insert(cn.id, Arc::downgrade(&node));
                }
            }
        }
        if needs_timer {
            let deadline = effective.expect("a timer has a deadline");
            if deadline <= Instant::now() {
                cancel(&node, ContextError::DeadlineExceeded, true);
            } else {
                let weak = Arc::downgrade(&node);
                let task = gocsp_runtime::runtime_handle("Context::with_deadline / with_timeout")
                    .spawn(async move {
                        tokio::time::sleep_until(deadline).await;
                        if let Some(node) = weak.upgrade() {
                            cancel(&node, ContextError::DeadlineExceeded, true);
                        }
                    });
                cn.add_task(task.abort_handle());
            }
        }
        node
    }

    /// Number of cancellable children registered in this context's nearest cancellable node.
    #[cfg(test)]
    pub(crate) fn registered_children(&self) -> usize {
        self.cancel_node()
            .map_or(0, |n| lock(&n.as_cancel().state).children.len())
    }
}

fn background_done() -> &'static Receiver<()> {
    // The sender lives for the whole process: the background context is never cancelled.
    static DONE: OnceLock<(Sender<()>, Receiver<()>)> = OnceLock::new();
    &DONE.get_or_init(|| gocsp_channel::chan(0)).1
}

/// Keeps senders of done channels whose receivers may still be alive, for contexts that were
/// dropped uncancelled under the background root (they can never be cancelled now).
fn background_orphans() -> &'static Mutex<Vec<Sender<()>>> {
    static ORPHANS: OnceLock<Mutex<Vec<Sender<()>>>> = OnceLock::new();
    ORPHANS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Adds `tx` to `orphans`, first dropping senders whose receivers are all gone (a closed
/// channel needs no sender) once the list has doubled since the last sweep.
fn adopt(orphans: &mut Vec<Sender<()>>, tx: Sender<()>) {
    if orphans.len() >= 16 && orphans.len().is_power_of_two() {
        orphans.retain(|s| !s.is_closed());
    }
    orphans.push(tx);
}

impl Node {
    fn as_cancel(&self) -> &CancelNode {
        match self {
            Node::Cancel(c) => c,
            _ => unreachable!("only cancellable nodes are registered or cancelled"),
        }
    }
}

impl CancelNode {
    fn err(&self) -> Option<ContextError> {
        // Acquire pairs with the Release store in `finish`: whoever sees the error also sees
        // the done channel closed.
        ContextError::from_code(self.err.load(Ordering::Acquire))
    }

    fn done(&self) -> Receiver<()> {
        let mut st = lock(&self.state);
        if let Some((_, rx)) = &st.done {
            return rx.clone();
        }
        let (tx, rx) = gocsp_channel::chan(0);
        if self.err().is_some() {
            // Cancelled before anyone asked: hand out a closed channel.
            tx.close();
        } else {
            st.done = Some((tx, rx.clone()));
        }
        rx
    }

    fn token(&self) -> CancellationToken {
        if let Some(t) = &lock(&self.state).token {
            return t.clone();
        }
        // Taken before our own lock (the parent's lock is never nested inside ours).
        let parent_token = self.registered_in.as_ref().map(|p| p.as_cancel().token());
        let mut st = lock(&self.state);
        if let Some(t) = &st.token {
            return t.clone();
        }
        let token = parent_token.map_or_else(CancellationToken::new, |p| p.child_token());
        if self.err().is_some() {
            token.cancel();
        } else {
            st.token = Some(token.clone());
        }
        token
    }

    fn add_task(&self, task: AbortHandle) {
        let mut st = lock(&self.state);
        if self.err().is_some() {
            drop(st);
            task.abort();
        } else {
            st.tasks.push(task);
        }
    }

    /// Marks this node cancelled with `err` and releases everything waiting on it. Returns
    /// the registered children to cancel next, or `None` if it was already cancelled.
    fn finish(&self, err: ContextError) -> Option<Vec<Weak<Node>>> {
        let taken = {
            let mut st = lock(&self.state);
            if self.err.load(Ordering::Acquire) != ERR_NONE {
                return None;
            }
            // Release: see `err()`.
            self.err.store(err.code(), Ordering::Release);
            std::mem::take(&mut *st)
        };
        if let Some((tx, _rx)) = &taken.done {
            tx.close();
        }
        for tx in &taken.orphans {
            tx.close();
        }
        if let Some(t) = &taken.token {
            t.cancel();
        }
        for task in &taken.tasks {
            task.abort();
        }
        #[cfg(not(loom))]
        let children = taken.children.into_values().collect();
        // The map's order depends on its random seed and on ids from a process-wide counter,
        // both different in each of loom's iterations; loom needs every iteration to make the
        // same choices given the same schedule, or it never finishes exploring.
        #[cfg(loom)]
        let children = {
            let mut by_id: Vec<_> = taken.children.into_iter().collect();
            by_id.sort_unstable_by_key(|(id, _)| *id);
            if NEWEST_FIRST.get() {
                by_id.reverse();
            }
            by_id.into_iter().map(|(_, w)| w).collect()
        };
        Some(children)
    }

    fn unregister(&self) {
        if let Some(parent) = &self.registered_in {
            lock(&parent.as_cancel().state).remove_child(self.id);
        }
    }
}

/// Cancels `node` and every registered descendant with `err`. `remove_from_parent` is false
/// only when the parent is the one cancelling (it has already emptied its map).
fn cancel(node: &Arc<Node>, err: ContextError, remove_from_parent: bool) {
    let cn = node.as_cancel();
    let Some(mut stack) = cn.finish(err) else {
        return;
    };
    if remove_from_parent {
        cn.unregister();
    }
    // Depth-first, iteratively: a chain of any depth costs no stack.
    while let Some(weak) = stack.pop() {
        // A child whose handles are all gone cannot be upgraded; its `Drop` is unregistering
        // it (or already has), and nothing can observe it any more except adopted done
        // senders, which its `Drop` closes if it sees this node cancelled.
        if let Some(child) = weak.upgrade() {
            if let Some(grandchildren) = child.as_cancel().finish(err) {
                stack.extend(grandchildren);
            }
        }
    }
}

impl Drop for CancelNode {
    fn drop(&mut self) {
        // Last handle gone, uncancelled or not: nothing can reach this node any more.
        let taken = std::mem::take(&mut *lock(&self.state));
        for task in &taken.tasks {
            task.abort();
        }
        // Senders whose receivers may still be alive: this node's own done channel (if not
        // closed by a cancellation) and what it adopted from dropped descendants.
        let mut live: Vec<Sender<()>> = taken.orphans;
        if let Some((tx, rx)) = taken.done {
            drop(rx);
            live.push(tx);
        }
        live.retain(|tx| !tx.is_closed());
        match &self.registered_in {
            Some(parent) => {
                let pc = parent.as_cancel();
                let mut st = lock(&pc.state);
                st.remove_child(self.id);
                if pc.err().is_some() {
                    // The parent was cancelled but could no longer reach this node.
                    drop(st);
                    for tx in &live {
                        tx.close();
                    }
                } else {
                    for tx in live {
                        adopt(&mut st.orphans, tx);
                    }
                }
            }
            None if !live.is_empty() => {
                let mut orphans = lock(background_orphans());
                for tx in live {
                    adopt(&mut orphans, tx);
                }
            }
            None => {}
        }
    }
}

impl CancelHandle {
    /// Cancels the context with [`ContextError::Cancelled`] and every descendant, and stops its
    /// timer. Does nothing if it is already done.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let (grandchild, _) = ctx.with_value(1u8).with_cancel();
    /// cancel.cancel();
    /// assert!(grandchild.err().is_some());
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `cancel()`.
    pub fn cancel(&self) {
        cancel(&self.node, ContextError::Cancelled, true);
    }

    /// Turns the handle into a guard that cancels when dropped: Go's `defer cancel()`.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// drop(cancel.drop_guard());
    /// assert!(ctx.err().is_some());
    /// ```
    pub fn drop_guard(self) -> CancelGuard {
        CancelGuard { handle: Some(self) }
    }
}

impl CancelGuard {
    /// Gives the handle back without cancelling.
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let cancel = cancel.drop_guard().disarm();
    /// assert!(ctx.err().is_none());
    /// # drop(cancel);
    /// ```
    pub fn disarm(mut self) -> CancelHandle {
        self.handle
            .take()
            .expect("a guard holds its handle until dropped")
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.cancel();
        }
    }
}

impl Default for Context {
    /// [`Context::background`].
    ///
    /// ```
    /// assert!(gocsp_sync::Context::default().err().is_none());
    /// ```
    fn default() -> Self {
        Context::background()
    }
}

impl From<&Context> for CancellationToken {
    /// Same as [`Context::cancellation_token`].
    ///
    /// ```
    /// use gocsp_sync::Context;
    /// use tokio_util::sync::CancellationToken;
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let token = CancellationToken::from(&ctx);
    /// cancel.cancel();
    /// assert!(token.is_cancelled());
    /// ```
    fn from(ctx: &Context) -> Self {
        ctx.cancellation_token()
    }
}

impl fmt::Debug for Context {
    /// Go's `String()` layout: `context.Background.WithCancel.WithValue(type u32)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut ctx = self;
        loop {
            match &*ctx.node {
                Node::Background => break,
                Node::Cancel(c) => {
                    parts.push(match (c.timer, c.deadline) {
                        (true, Some(d)) => {
                            let left = d.saturating_duration_since(Instant::now());
                            format!("WithDeadline({left:?} left)")
                        }
                        _ => "WithCancel".to_string(),
                    });
                    ctx = &c.parent;
                }
                Node::Value(v) => {
                    parts.push(format!("WithValue(type {})", v.type_name));
                    ctx = &v.parent;
                }
            }
        }
        f.write_str("context.Background")?;
        for p in parts.iter().rev() {
            write!(f, ".{p}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle")
            .field("cancelled", &self.node.as_cancel().err().is_some())
            .finish()
    }
}

impl fmt::Debug for CancelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelGuard").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    //! Tests that look at the child map (private state). The rest is in `tests/context.rs`.
    //!
    //! Parts adapted from Go's `src/context/context_test.go`:
    //! Copyright 2014 The Go Authors. All rights reserved. Use of this source code is governed
    //! by a BSD-style license that can be found in Go's LICENSE file.

    use super::*;

    /// Go: `TestParentFinishesChild` — linkage, then the parent's cancel clears its map and
    /// finishes every child, through a value node, and a child made afterwards starts done.
    #[tokio::test(start_paused = true)]
    async fn test_parent_finishes_child() {
        let (parent, cancel) = Context::background().with_cancel();
        let (cancel_child, _stop1) = parent.with_cancel();
        let value_child = parent.with_value("value");
        let (timer_child, _stop2) = value_child.with_timeout(Duration::from_secs(10_000 * 3600));
        for c in [&parent, &cancel_child, &value_child, &timer_child] {
            assert!(c.done().try_recv().is_err());
        }
        // The cancellable children register with `parent`, skipping the value node.
        assert_eq!(parent.registered_children(), 2);
        cancel.cancel();
        assert_eq!(
            parent.registered_children(),
            0,
            "cancel didn't clear children"
        );
        for c in [&parent, &cancel_child, &value_child, &timer_child] {
            assert!(c.done().is_closed());
            assert_eq!(c.err(), Some(ContextError::Cancelled));
        }
        let precanceled = parent.with_value("value");
        assert!(precanceled.done().is_closed());
        assert_eq!(precanceled.err(), Some(ContextError::Cancelled));
    }

    /// Go: `TestChildFinishesFirst` — a child's cancel removes it from its parent's map and
    /// leaves the parent live; under the background root nothing is registered at all.
    #[test]
    fn test_child_finishes_first() {
        let (cancelable, _stop) = Context::background().with_cancel();
        for parent in [Context::background(), cancelable] {
            let (child, cancel) = parent.with_cancel();
            assert_eq!(
                parent.registered_children(),
                usize::from(parent.cancel_node().is_some())
            );
            cancel.cancel();
            assert_eq!(parent.registered_children(), 0);
            assert_eq!(child.err(), Some(ContextError::Cancelled));
            assert_eq!(parent.err(), None);
            assert!(!parent.done().is_closed());
        }
    }

    /// Go: `TestCancelRemoves` — both plain and timer children unregister on cancel.
    #[tokio::test(start_paused = true)]
    async fn test_cancel_removes() {
        let (ctx, _c) = Context::background().with_cancel();
        assert_eq!(ctx.registered_children(), 0);
        let (_child, cancel) = ctx.with_cancel();
        assert_eq!(ctx.registered_children(), 1);
        cancel.cancel();
        assert_eq!(ctx.registered_children(), 0);

        let (_child, cancel) = ctx.with_timeout(Duration::from_secs(3600));
        assert_eq!(ctx.registered_children(), 1);
        cancel.cancel();
        assert_eq!(ctx.registered_children(), 0);
    }

    /// A timer child that fires unregisters itself.
    #[tokio::test(start_paused = true)]
    async fn timed_out_child_unregisters() {
        let (ctx, _c) = Context::background().with_cancel();
        let (child, _cancel) = ctx.with_timeout(Duration::from_millis(10));
        assert_eq!(ctx.registered_children(), 1);
        child.cancelled().await;
        assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(ctx.registered_children(), 0);
    }

    /// 1,000,000 short-lived children of one parent — half cancelled, half simply dropped —
    /// leave its child map empty (and its memory given back).
    #[test]
    fn million_short_lived_children_leave_nothing() {
        let (parent, _cancel) = Context::background().with_cancel();
        for i in 0..1_000_000u32 {
            let (child, cancel) = parent.with_cancel();
            if i % 2 == 0 {
                cancel.cancel();
                assert_eq!(child.err(), Some(ContextError::Cancelled));
            }
        }
        assert_eq!(parent.registered_children(), 0);
        let node = parent.cancel_node().unwrap().as_cancel();
        let st = lock(&node.state);
        assert!(st.children.capacity() <= 64, "{}", st.children.capacity());
        assert!(st.orphans.is_empty());
    }

    /// A dropped, uncancelled child whose done receiver is still held: the receiver stays
    /// open (the child is not cancelled), and closes when the parent is cancelled — as in Go.
    #[test]
    fn done_receiver_outliving_its_context_follows_the_parent() {
        let (parent, cancel) = Context::background().with_cancel();
        let done = {
            let (child, _child_cancel) = parent.with_cancel();
            child.done()
        };
        assert_eq!(
            parent.registered_children(),
            0,
            "dropped child unregistered"
        );
        assert!(!done.is_closed(), "dropping a context does not cancel it");
        cancel.cancel();
        assert!(
            done.is_closed(),
            "the parent's cancel reaches the orphaned receiver"
        );
    }

    /// Orphaned senders whose receivers are gone are swept, so the parent does not grow.
    #[test]
    fn orphans_are_swept() {
        let (parent, _cancel) = Context::background().with_cancel();
        let mut kept = Vec::new();
        for i in 0..10_000 {
            let (child, _c) = parent.with_cancel();
            let done = child.done();
            if i % 1000 == 0 {
                kept.push(done);
            }
        }
        let node = parent.cancel_node().unwrap().as_cancel();
        let orphans = lock(&node.state).orphans.len();
        assert!(
            orphans < 100,
            "{orphans} orphans kept for 10 live receivers"
        );
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    /// A parent's cancel races a child's own cancel on another thread: both end cancelled,
    /// the child reports one of the two errors, and the parent's map is empty.
    #[test]
    fn parent_cancel_races_child_cancel() {
        loom::model(|| {
            let (parent, cancel_parent) = Context::background().with_cancel();
            let (child, cancel_child) = parent.with_cancel();
            let t = thread::spawn(move || cancel_child.cancel());
            cancel_parent.cancel();
            t.join().unwrap();
            assert_eq!(parent.err(), Some(ContextError::Cancelled));
            assert_eq!(child.err(), Some(ContextError::Cancelled));
            assert_eq!(parent.registered_children(), 0);
        });
    }

    /// A child is created on one thread while its parent is cancelled on another: the child
    /// either registers in time and is cancelled by the parent, or sees the parent's error
    /// when registering. Never a live child of a cancelled parent.
    #[test]
    fn child_creation_races_parent_cancel() {
        loom::model(|| {
            let (parent, cancel_parent) = Context::background().with_cancel();
            let p2 = parent.clone();
            let t = thread::spawn(move || {
                let (child, _c) = p2.with_cancel();
                child
            });
            cancel_parent.cancel();
            let child = t.join().unwrap();
            assert_eq!(child.err(), Some(ContextError::Cancelled));
            assert_eq!(parent.registered_children(), 0);
        });
    }

    /// A child's last handle is dropped on one thread while its parent is cancelled on
    /// another: whether the parent's cancel reaches it or its `Drop` runs first, the parent's
    /// map ends empty, and a surviving sibling is cancelled.
    #[test]
    fn drop_races_cancel_propagation() {
        for newest_first in [false, true] {
            NEWEST_FIRST.set(newest_first);
            drop_races_cancel_propagation_model();
        }
    }

    fn drop_races_cancel_propagation_model() {
        loom::model(|| {
            let (parent, cancel_parent) = Context::background().with_cancel();
            let (doomed, doomed_cancel) = parent.with_cancel();
            let (sibling, _s) = parent.with_cancel();
            let t = thread::spawn(move || {
                drop(doomed);
                drop(doomed_cancel);
            });
            cancel_parent.cancel();
            t.join().unwrap();
            assert_eq!(sibling.err(), Some(ContextError::Cancelled));
            assert_eq!(parent.registered_children(), 0);
        });
    }
}
