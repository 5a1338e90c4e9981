//! The cancel tree behind [`Context`]: nodes, registration, cancellation, causes, done
//! channels and `after_func`s.
//!
//! ## Shape of the tree
//!
//! Every context is a node: the background root, a cancellable node (`with_cancel`,
//! `with_timeout`, `with_deadline`, `with_cancellation_token`), a value node (`with_value`) or
//! a `without_cancel` node. A node holds its parent strongly (values and deadlines are read
//! through the parent chain). A `without_cancel` node ends the search for a cancellable
//! ancestor, so below it the tree behaves as under the background root (values still read
//! through it).
//!
//! A cancellable node is registered in its nearest cancellable ancestor's child map by a
//! *weak* reference (`Child::Node`), so:
//!
//! - cancelling a node cancels every registered descendant (walked iteratively, so depth costs
//!   no stack), never an ancestor;
//! - a node that is cancelled unregisters at once, and a node whose last handle (every
//!   `Context` clone, `CancelHandle`, `CancelCauseHandle`, and child context) is dropped
//!   unregisters in its `Drop`: short-lived children leave nothing behind in a long-lived
//!   parent.
//!
//! ## Errors and causes
//!
//! A cancellation sets an error (`CancelNode::err`, one byte, read without the lock) and a
//! cause (`CancelState::cause`, an `Arc`, read under the lock), both in the one critical
//! section of the first `finish`: the first cancellation wins, and `cause()` is `Some` exactly
//! once `err()` is. A cancellation passes its error and cause down the tree as is, and a child
//! created under a cancelled parent reads both under the parent's lock; so every descendant
//! reports the cause of the node whose cancellation reached it. A cancellation without a cause
//! (a plain cancel, a token, a deadline without one) records its error as the cause.
//!
//! ## Done channels that outlive their context
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
//! ## `after_func` registrations
//!
//! `after_func` registers in the same child map, *strongly* (`Child::AfterFunc`: the function
//! runs even if every handle to it is dropped), and is checked against the node's error under
//! the node's lock exactly as a child node is: either the cancellation finds it in the map, or
//! it sees the error and starts at once. The function (`AfterFuncState::f`) is taken exactly
//! once, under the registration's own lock: by the cancellation walk, which then starts its
//! goroutine (after the node's `finish`, so the function sees the context done), or by
//! `stop`, which then removes the registration from the node that holds it
//! (`AfterFuncState::host`). So the function starts at most once, `stop` returns `true`
//! exactly when it did not start, and a stopped or started registration leaves nothing in
//! any map.
//!
//! A node dropped uncancelled hands its registrations that are still pending to its nearest
//! cancellable ancestor, as it does its done senders, since that ancestor's cancellation would
//! have reached the node; it starts them if that ancestor is already cancelled, and drops them
//! unrun under the background root, where nothing can cancel them. Adoption rewrites `host`
//! under the registration's lock only while `f` is still there, and `stop` reads `host` in the
//! same critical section in which it takes `f`: after `stop`, the registration never moves,
//! so `stop` finds it where it is (or its host is being dropped, and the `Drop` sees `f`
//! gone and lets it go).
//!
//! ## Lock order
//!
//! A node's state lock is never held while another node's is taken, except in `Drop`, which
//! takes the parent's lock after releasing its own. A registration's lock is taken either
//! alone or inside the lock of the node that adopts it (node, then registration), never the
//! other way round. Wakers, token cancellation and task aborts run after unlocking, and no
//! `after_func` goroutine is started and no user future dropped while any of these locks is
//! held.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::AtomicU64 as StdAtomicU64;
use std::sync::{Arc, OnceLock, Weak};

use gocsp_channel::{Receiver, Sender};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::ERR_NONE;
use super::{CancelCause, Context, ContextError};
use crate::loom::{
    count_point, lock, now, run_at, AtomicU8, Mutex, Ordering, Spawner, TimerHandle,
};

pub(super) enum Node {
    Background,
    Cancel(CancelNode),
    Value(ValueNode),
    /// `without_cancel`: reads values through its parent, and cuts the cancellation chain (its
    /// descendants register nowhere above it, as under the background root).
    WithoutCancel(Context),
}

pub(super) struct ValueNode {
    pub(super) parent: Context,
    pub(super) type_name: &'static str,
    pub(super) value: Box<dyn Any + Send + Sync>,
}

pub(super) struct CancelNode {
    /// Keeps the parent chain alive: values and deadlines are read through it.
    pub(super) parent: Context,
    /// The nearest cancellable ancestor (a `Node::Cancel`), where this node is registered
    /// under `id` unless it was cancelled before registering.
    pub(super) registered_in: Option<Arc<Node>>,
    pub(super) id: u64,
    /// The effective deadline: the earlier of its own and its parent's.
    pub(super) deadline: Option<Instant>,
    /// `true` for `with_deadline`/`with_timeout` nodes (for `Debug`).
    pub(super) timer: bool,
    /// `ERR_*`: written once, under `state`'s lock, together with `CancelState::cause`; read
    /// without it (Acquire).
    pub(super) err: AtomicU8,
    pub(super) state: Mutex<CancelState>,
}

/// An entry in a cancellable node's child map.
pub(super) enum Child {
    /// A cancellable descendant, held weakly: a child whose handles are all dropped goes away.
    Node(Weak<Node>),
    /// An `after_func` registration, held strongly: its function runs even when its handle was
    /// dropped (Go: discarding `stop` does not stop `f`).
    AfterFunc(Arc<AfterFunc>),
}

/// The function `after_func` registered: a future not yet polled, started as a goroutine.
pub(super) type AfterFn = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An `after_func` registration, shared by its node's child map and its `AfterFuncHandle`s.
pub(super) struct AfterFunc {
    /// Its key in the child map of whichever node holds it.
    pub(super) id: u64,
    /// The line that called `after_func`, reported as the goroutine's spawn site.
    site: &'static Location<'static>,
    /// Starts the goroutine on the runtime current when `after_func` was called (whoever
    /// cancels may be on a thread outside it). `None` under a context that can never be done.
    spawner: Option<Spawner>,
    pub(super) state: Mutex<AfterFuncState>,
}

pub(super) struct AfterFuncState {
    /// The function, until `stop` or the context's cancellation takes it: whoever takes it
    /// decides, once, whether it runs.
    pub(super) f: Option<AfterFn>,
    /// The node whose child map holds this registration: the one `after_func` registered in,
    /// or the ancestor that adopted it when that one was dropped uncancelled. Dangling when no
    /// map holds it.
    pub(super) host: Weak<Node>,
}

#[derive(Default)]
pub(super) struct CancelState {
    /// Set by the first cancellation, in the same critical section as `err`, and kept
    /// afterwards (the cancellation takes the rest of the state): the cause the canceller gave,
    /// the canceller's own cause when an ancestor's cancellation reached this node, or
    /// `err` as a cause.
    pub(super) cause: Option<CancelCause>,
    /// Registered cancellable descendants whose nearest cancellable ancestor is this node, and
    /// the `after_func`s registered in it or adopted from dropped descendants.
    pub(super) children: HashMap<u64, Child>,
    /// The done channel, created by the first `done()`.
    pub(super) done: Option<(Sender<()>, Receiver<()>)>,
    /// Done senders of dropped, uncancelled descendants whose receivers may still be alive.
    pub(super) orphans: Vec<Sender<()>>,
    /// Created by the first `cancellation_token()`; a child of the ancestor's token.
    pub(super) token: Option<CancellationToken>,
    /// Deadline timers and token watcher tasks, taken back on cancellation or drop.
    pub(super) tasks: Vec<TimerHandle>,
}

impl CancelState {
    /// Removes the entry `id`, returning it so that the caller can drop it after unlocking.
    pub(super) fn remove_child(&mut self, id: u64) -> Option<Child> {
        let removed = self.children.remove(&id);
        // Give memory back after a burst of short-lived children.
        if self.children.capacity() > 64 && self.children.len() * 4 < self.children.capacity() {
            let len = self.children.len();
            self.children.shrink_to(len * 2);
        }
        removed
    }
}

#[cfg(loom)]
std::thread_local! {
    // Under loom, `cancel` visits children in id order, newest first if this is set; the
    // models run with both. (loom runs a model's threads on the test's own OS thread.)
    pub(super) static NEWEST_FIRST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Ids for child maps. Uniqueness is all that matters, so a plain std atomic (not modelled).
pub(super) static NEXT_ID: StdAtomicU64 = StdAtomicU64::new(0);

impl Context {
    /// The nearest cancellable node on the chain (itself or an ancestor), `None` under the
    /// background root or a `without_cancel` node.
    pub(super) fn cancel_node(&self) -> Option<&Arc<Node>> {
        let mut ctx = self;
        loop {
            match &*ctx.node {
                Node::Background | Node::WithoutCancel(_) => return None,
                Node::Cancel(_) => return Some(&ctx.node),
                Node::Value(v) => ctx = &v.parent,
            }
        }
    }

    /// A cancellable child of `self`, registered in the nearest cancellable ancestor. With a
    /// deadline earlier than the parent's, a timer cancels it with `DeadlineExceeded` and
    /// `deadline_cause` as its cause (`None`: `DeadlineExceeded` itself).
    #[track_caller]
    pub(super) fn new_cancel_node(
        &self,
        deadline: Option<Instant>,
        deadline_cause: Option<CancelCause>,
    ) -> Arc<Node> {
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
            // child in its map, or this child sees the parent's error (and cause) here.
            match pc.err() {
                Some(err) => {
                    let cause = st.cause.clone();
                    drop(st);
                    // Not registered: nothing to remove from.
                    cancel(&node, err, cause, false);
                    return node;
                }
                None => {
                    st.children
                        .insert(cn.id, Child::Node(Arc::downgrade(&node)));
                }
            }
        }
        if needs_timer {
            let deadline = effective.expect("a timer has a deadline");
            if deadline <= now() {
                cancel(&node, ContextError::DeadlineExceeded, deadline_cause, true);
            } else {
                let weak = Arc::downgrade(&node);
                // On a synctest bubble's clock inside a bubble, on tokio's elsewhere.
                let timer = run_at(
                    deadline,
                    "Context::with_deadline / with_timeout",
                    move || {
                        if let Some(node) = weak.upgrade() {
                            cancel(&node, ContextError::DeadlineExceeded, deadline_cause, true);
                        }
                    },
                );
                cn.add_task(timer);
            }
        }
        node
    }

    /// Registers `f` to start as a goroutine once this context is done: in the nearest
    /// cancellable node's child map, or at once if that node is already cancelled. Under a
    /// context that can never be done, nothing is registered (and no runtime is needed).
    #[track_caller]
    pub(super) fn register_after_func(&self, f: AfterFn) -> Arc<AfterFunc> {
        let site = Location::caller();
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Some(node) = self.cancel_node() else {
            return Arc::new(AfterFunc {
                id,
                site,
                spawner: None,
                state: Mutex::new(AfterFuncState {
                    f: Some(f),
                    host: Weak::new(),
                }),
            });
        };
        let af = Arc::new(AfterFunc {
            id,
            site,
            spawner: Some(Spawner::current("Context::after_func")),
            state: Mutex::new(AfterFuncState {
                f: Some(f),
                host: Arc::downgrade(node),
            }),
        });
        let cn = node.as_cancel();
        let mut st = lock(&cn.state);
        // As for a child node: either the cancellation finds it in the map, or it sees the
        // error here.
        if cn.err().is_some() {
            drop(st);
            af.fire();
        } else {
            st.children.insert(id, Child::AfterFunc(af.clone()));
        }
        af
    }

    /// Number of cancellable children and `after_func`s registered in this context's nearest
    /// cancellable node.
    #[cfg(test)]
    pub(crate) fn registered_children(&self) -> usize {
        self.cancel_node()
            .map_or(0, |n| lock(&n.as_cancel().state).children.len())
    }
}

pub(super) fn background_done() -> &'static Receiver<()> {
    // The sender lives for the whole process: the background context is never cancelled.
    static DONE: OnceLock<(Sender<()>, Receiver<()>)> = OnceLock::new();
    // Of no synctest bubble, even if first asked for inside one: every thread may use it.
    &DONE.get_or_init(|| gocsp_channel::chan_of_no_bubble(0)).1
}

/// Keeps senders of done channels whose receivers may still be alive, for contexts that were
/// dropped uncancelled under the background root (they can never be cancelled now).
pub(super) fn background_orphans() -> &'static Mutex<Vec<Sender<()>>> {
    static ORPHANS: OnceLock<Mutex<Vec<Sender<()>>>> = OnceLock::new();
    ORPHANS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Adds `tx` to `orphans`, first dropping senders whose receivers are all gone (a closed
/// channel needs no sender) once the list has doubled since the last sweep.
pub(super) fn adopt(orphans: &mut Vec<Sender<()>>, tx: Sender<()>) {
    if orphans.len() >= 16 && orphans.len().is_power_of_two() {
        orphans.retain(|s| !s.is_closed());
    }
    orphans.push(tx);
}

impl Node {
    pub(super) fn as_cancel(&self) -> &CancelNode {
        match self {
            Node::Cancel(c) => c,
            _ => unreachable!("only cancellable nodes are registered or cancelled"),
        }
    }
}

impl CancelNode {
    pub(super) fn err(&self) -> Option<ContextError> {
        // Acquire pairs with the Release store in `finish`: whoever sees the error also sees
        // the done channel closed.
        ContextError::from_code(self.err.load(Ordering::Acquire))
    }

    /// `None` until cancelled; then the cause set with the error.
    pub(super) fn cause(&self) -> Option<CancelCause> {
        lock(&self.state).cause.clone()
    }

    pub(super) fn done(&self) -> Receiver<()> {
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

    pub(super) fn token(&self) -> CancellationToken {
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

    pub(super) fn add_task(&self, task: TimerHandle) {
        let mut st = lock(&self.state);
        if self.err().is_some() {
            drop(st);
            task.abort();
        } else {
            st.tasks.push(task);
        }
    }

    /// Marks this node cancelled with `err` and `cause` and releases everything waiting on it.
    /// Returns the registered children to cancel next (and `after_func`s to start), or `None`
    /// if it was already cancelled.
    pub(super) fn finish(&self, err: ContextError, cause: &CancelCause) -> Option<Vec<Child>> {
        let taken = {
            let mut st = lock(&self.state);
            if self.err.load(Ordering::Acquire) != ERR_NONE {
                return None;
            }
            let taken = std::mem::take(&mut *st);
            st.cause = Some(cause.clone());
            // Release: see `err()`.
            self.err.store(err.code(), Ordering::Release);
            taken
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
            by_id.into_iter().map(|(_, c)| c).collect()
        };
        Some(children)
    }

    pub(super) fn unregister(&self) {
        if let Some(parent) = &self.registered_in {
            lock(&parent.as_cancel().state).remove_child(self.id);
        }
    }
}

/// Cancels `node` and every registered descendant with `err` and `cause` (`None`: `err` is the
/// cause). Descendants already cancelled keep their own error and cause: the first
/// cancellation wins. `remove_from_parent` is false only when the parent is the one cancelling
/// (it has already emptied its map).
pub(super) fn cancel(
    node: &Arc<Node>,
    err: ContextError,
    cause: Option<CancelCause>,
    remove_from_parent: bool,
) {
    let cn = node.as_cancel();
    let cause = cause.unwrap_or_else(|| err.as_cause());
    let Some(mut stack) = cn.finish(err, &cause) else {
        return;
    };
    if remove_from_parent {
        cn.unregister();
    }
    // Depth-first, iteratively: a chain of any depth costs no stack.
    while let Some(child) = stack.pop() {
        match child {
            // A child whose handles are all gone cannot be upgraded; its `Drop` is
            // unregistering it (or already has), and nothing can observe it any more except
            // adopted done senders and `after_func`s, which its `Drop` closes and starts if it
            // sees this node cancelled.
            Child::Node(weak) => {
                count_point();
                if let Some(child) = weak.upgrade() {
                    if let Some(grandchildren) = child.as_cancel().finish(err, &cause) {
                        stack.extend(grandchildren);
                    }
                }
            }
            // After its node's `finish`: the function sees the context done.
            Child::AfterFunc(af) => af.fire(),
        }
    }
}

impl AfterFunc {
    /// Starts the function's goroutine, unless `stop` took the function first. Called with no
    /// lock held: the spawn runs outside the tree's locks.
    pub(super) fn fire(&self) {
        let f = lock(&self.state).f.take();
        if let Some(f) = f {
            let spawner = self
                .spawner
                .as_ref()
                .expect("a registered after_func has a spawner");
            spawner.go("context.AfterFunc", self.site, f);
        }
    }

    /// Go's `stop()`: takes the function back if it has not started, and then unregisters
    /// from the node that holds it. `true` if this call stopped it.
    pub(super) fn stop(&self) -> bool {
        // The function and the host are read in one critical section: once `f` is `None`, no
        // `Drop` adopts this registration any more (`adopt_after_func`), so `host` is where it
        // is, if anywhere.
        let (f, host) = {
            let mut st = lock(&self.state);
            (st.f.take(), st.host.clone())
        };
        let Some(f) = f else {
            return false;
        };
        // A host that cannot be upgraded is being dropped: its `Drop` sees `f` gone and lets
        // this registration go.
        count_point();
        if let Some(node) = host.upgrade() {
            let _removed = lock(&node.as_cancel().state).remove_child(self.id);
        }
        // The user's future is dropped with no lock held.
        drop(f);
        true
    }
}

/// Moves `af` from a node being dropped uncancelled to the map of `parent` (whose lock the
/// caller holds), unless it was stopped: the parent's cancellation would have reached the
/// dropped node, so it must start `af` instead.
fn adopt_after_func(parent: &Arc<Node>, children: &mut HashMap<u64, Child>, af: Arc<AfterFunc>) {
    let mut st = lock(&af.state);
    if st.f.is_some() {
        st.host = Arc::downgrade(parent);
        drop(st);
        children.insert(af.id, Child::AfterFunc(af));
    }
}

impl Drop for CancelNode {
    fn drop(&mut self) {
        // Last handle gone, uncancelled or not: nothing can reach this node any more.
        let taken = std::mem::take(&mut *lock(&self.state));
        for task in &taken.tasks {
            task.abort();
        }
        // Entries for child nodes are stale (a live child holds this node); `after_func`s
        // registered here still wait for a cancellation that may come from an ancestor.
        let after_funcs: Vec<Arc<AfterFunc>> = taken
            .children
            .into_values()
            .filter_map(|c| match c {
                Child::AfterFunc(af) => Some(af),
                Child::Node(_) => None,
            })
            .collect();
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
                    for af in &after_funcs {
                        af.fire();
                    }
                } else {
                    for tx in live {
                        adopt(&mut st.orphans, tx);
                    }
                    for af in after_funcs {
                        adopt_after_func(parent, &mut st.children, af);
                    }
                }
            }
            None => {
                if !live.is_empty() {
                    let mut orphans = lock(background_orphans());
                    for tx in live {
                        adopt(&mut orphans, tx);
                    }
                }
                // Nothing can cancel this node now: its `after_func`s never run (their
                // handles' `stop` still returns `true`). Dropped here, with no lock held.
                drop(after_funcs);
            }
        }
    }
}
