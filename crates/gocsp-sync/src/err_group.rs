//! [`ErrGroup`]: `golang.org/x/sync/errgroup` — goroutines working on subtasks of a common
//! task, the first error cancelling the rest.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, Location};
use std::sync::{Arc, Mutex as StdMutex};

use futures::FutureExt as _;
use gocsp_runtime::{panic_message, GoError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::context::{CancelHandle, Context};
use crate::wait_group::WaitGroup;

/// A group of goroutines working on subtasks of one task: Go's `errgroup.Group`.
///
/// [`go`](Self::go) starts a member — a future returning `Result<(), E>` — as a goroutine.
/// [`wait`](Self::wait) waits for every member and returns the first error. A group made with
/// [`with_context`](Self::with_context) also cancels its derived [`Context`] at the first
/// error (and when `wait` returns), so the other members can stop early.
/// [`set_limit`](Self::set_limit) bounds how many members run at once.
///
/// `ErrGroup` is a cheap handle: clones share one group, so a member can start more members.
///
/// # Panics inside members
///
/// A member that panics (or whose goroutine is cancelled, e.g. by runtime shutdown) counts as
/// failed with its [`GoError`], converted with `E: From<GoError>` — so `wait` returns an error
/// and never hangs, and the group's context is cancelled like for any error. The panic still
/// reaches the goroutine runtime afterwards (it is logged, and `Panic::Abort` still aborts).
/// Error types such as `anyhow::Error` or `Box<dyn Error + Send + Sync>` convert already; give
/// your own error enum a variant, e.g. `Panicked(#[from] GoError)`.
///
/// # Examples
///
/// ```
/// use gocsp_sync::{Context, ErrGroup};
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() {
/// type Error = Box<dyn std::error::Error + Send + Sync>;
///
/// let (g, ctx) = ErrGroup::<Error>::with_context(&Context::background());
/// for id in 0..4 {
///     let ctx = ctx.clone();
///     g.go(async move {
///         if id == 2 {
///             return Err(format!("job {id} failed").into());
///         }
///         ctx.cancelled().await; // the others run until the group is cancelled
///         Ok(())
///     });
/// }
/// let err = g.wait().await.unwrap_err();
/// assert_eq!(err.to_string(), "job 2 failed");
/// assert!(ctx.err().is_some());
/// # }
/// ```
///
/// # Go equivalent
///
/// ```go
/// g, ctx := errgroup.WithContext(parent)
/// for id := 0; id < 4; id++ {
///     g.Go(func() error { return job(ctx, id) })
/// }
/// err := g.Wait()
/// ```
pub struct ErrGroup<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    wg: WaitGroup,
    /// The first error, until a `wait` takes it.
    err: StdMutex<Option<E>>,
    /// Set once the first error was recorded (kept after `wait` takes the error).
    failed: std::sync::atomic::AtomicBool,
    cancel: Option<CancelHandle>,
    /// `None`: no limit.
    limit: StdMutex<Option<Arc<Semaphore>>>,
}

impl<E> Clone for ErrGroup<E> {
    fn clone(&self) -> Self {
        ErrGroup {
            inner: self.inner.clone(),
        }
    }
}

impl<E: Send + 'static> ErrGroup<E> {
    /// An empty group with no context and no limit: Go's zero `errgroup.Group`.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// # type Error = Box<dyn std::error::Error + Send + Sync>;
    /// let g = gocsp_sync::ErrGroup::<Error>::new();
    /// assert!(g.wait().await.is_ok()); // no members: nothing to wait for
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A group and a child of `parent` that is cancelled at the group's first error or when
    /// [`wait`](Self::wait) returns, whichever comes first.
    ///
    /// ```
    /// use gocsp_sync::{Context, ErrGroup};
    /// # #[tokio::main]
    /// # async fn main() {
    /// # type Error = Box<dyn std::error::Error + Send + Sync>;
    /// let (g, ctx) = ErrGroup::<Error>::with_context(&Context::background());
    /// g.go(async { Ok(()) });
    /// g.wait().await.unwrap();
    /// assert!(ctx.err().is_some()); // Go: the context is cancelled once Wait returns
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `g, ctx := errgroup.WithContext(parent)`.
    pub fn with_context(parent: &Context) -> (Self, Context) {
        let (ctx, cancel) = parent.with_cancel();
        (Self::build(Some(cancel)), ctx)
    }

    fn build(cancel: Option<CancelHandle>) -> Self {
        ErrGroup {
            inner: Arc::new(Inner {
                wg: WaitGroup::new(),
                err: StdMutex::new(None),
                failed: std::sync::atomic::AtomicBool::new(false),
                cancel,
                limit: StdMutex::new(None),
            }),
        }
    }

    /// Limits the number of members running at once to `limit` (`None`: no limit, the
    /// default). With `Some(0)` no member can start.
    ///
    /// Members started by [`go`](Self::go) beyond the limit are queued: their goroutine waits
    /// for a slot before running the future. [`go_within_limit`](Self::go_within_limit) waits
    /// for the slot before spawning instead (Go's blocking `Go`), and
    /// [`try_go`](Self::try_go) refuses.
    ///
    /// # Panics
    ///
    /// Like Go, if members are still active: change the limit only before starting members or
    /// after `wait` returned.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use std::sync::Arc;
    /// use gocsp_sync::ErrGroup;
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
    /// # async fn main() {
    /// # type Error = Box<dyn std::error::Error + Send + Sync>;
    /// let g = ErrGroup::<Error>::new();
    /// g.set_limit(2);
    /// let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// for _ in 0..10 {
    ///     let (running, peak) = (running.clone(), peak.clone());
    ///     g.go(async move {
    ///         let now = running.fetch_add(1, SeqCst) + 1;
    ///         peak.fetch_max(now, SeqCst);
    ///         tokio::task::yield_now().await;
    ///         running.fetch_sub(1, SeqCst);
    ///         Ok(())
    ///     });
    /// }
    /// g.wait().await.unwrap();
    /// assert!(peak.load(SeqCst) <= 2);
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `g.SetLimit(n)` (`-1` is `None`).
    #[track_caller]
    pub fn set_limit(&self, limit: impl Into<Option<usize>>) {
        let active = self.inner.wg.count();
        if active != 0 {
            panic!(
                "errgroup: modify limit while {active} goroutines in the group are still active"
            );
        }
        *lock(&self.inner.limit) = limit.into().map(|n| Arc::new(Semaphore::new(n)));
    }

    /// Starts `fut` as a member goroutine. Its error, if it is the group's first, is kept
    /// for [`wait`](Self::wait) and cancels the group's context.
    ///
    /// Never waits: under a [`set_limit`](Self::set_limit) with no free slot, the goroutine
    /// is started and waits for a slot before polling `fut` (Go's `Go` would block the
    /// caller instead; that is [`go_within_limit`](Self::go_within_limit)).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// type Error = Box<dyn std::error::Error + Send + Sync>;
    /// let g = gocsp_sync::ErrGroup::<Error>::new();
    /// g.go(async { Ok(()) });
    /// g.go(async { Err("no such file".into()) });
    /// assert_eq!(g.wait().await.unwrap_err().to_string(), "no such file");
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `g.Go(func() error { ... })`.
    #[track_caller]
    pub fn go<F>(&self, fut: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: From<GoError>,
    {
        let site = Location::caller();
        let semaphore = lock(&self.inner.limit).clone();
        match semaphore {
            None => self.spawn(fut, None, site),
            Some(sem) => match sem.clone().try_acquire_owned() {
                Ok(permit) => self.spawn(fut, Some(permit), site),
                Err(_) => {
                    // Queue: the member counts from now on (so `wait` waits for it), and runs
                    // once a slot is free.
                    self.spawn(
                        async move {
                            let _permit = sem.acquire_owned().await;
                            // A closed semaphore is never closed here (we never close it);
                            // if it were, running unlimited is the safe fallback.
                            fut.await
                        },
                        None,
                        site,
                    )
                }
            },
        }
    }

    /// Waits until the limit allows one more member, then starts `fut` like
    /// [`go`](Self::go): Go's `Go` under `SetLimit`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped while waiting for a slot, `fut` is dropped
    /// unstarted and the group is unchanged.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// # type Error = Box<dyn std::error::Error + Send + Sync>;
    /// let g = gocsp_sync::ErrGroup::<Error>::new();
    /// g.set_limit(1);
    /// for i in 0..3 {
    ///     g.go_within_limit(async move { let _ = i; Ok(()) }).await; // waits for the previous
    /// }
    /// g.wait().await.unwrap();
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `g.Go(f)` on a group with `g.SetLimit(n)`.
    #[track_caller]
    pub fn go_within_limit<F>(&self, fut: F) -> impl Future<Output = ()> + Send + '_
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: From<GoError>,
    {
        let site = Location::caller();
        let semaphore = lock(&self.inner.limit).clone();
        async move {
            let permit = match semaphore {
                None => None,
                Some(sem) => sem.acquire_owned().await.ok(),
            };
            self.spawn(fut, permit, site);
        }
    }

    /// Starts `fut` only if the limit allows one more member now; otherwise hands `fut`
    /// back as `Err`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// # type Error = Box<dyn std::error::Error + Send + Sync>;
    /// let g = gocsp_sync::ErrGroup::<Error>::new();
    /// g.set_limit(1);
    /// let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    /// assert!(g.try_go(async move { let _ = rx.await; Ok(()) }).is_ok());
    /// assert!(g.try_go(async { Ok(()) }).is_err()); // the one slot is taken
    /// tx.send(()).unwrap();
    /// g.wait().await.unwrap();
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `ok := g.TryGo(f)`.
    #[track_caller]
    pub fn try_go<F>(&self, fut: F) -> Result<(), F>
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: From<GoError>,
    {
        let site = Location::caller();
        let semaphore = lock(&self.inner.limit).clone();
        match semaphore {
            None => {
                self.spawn(fut, None, site);
                Ok(())
            }
            Some(sem) => match sem.try_acquire_owned() {
                Ok(permit) => {
                    self.spawn(fut, Some(permit), site);
                    Ok(())
                }
                Err(_) => Err(fut),
            },
        }
    }

    /// Waits for every member, then returns the first error (if any) and cancels the group's
    /// context. Members started while `wait` is waiting are waited for too.
    ///
    /// As in Go only the first error of the group is kept (later ones are dropped), and it is
    /// handed to one `wait` only: a later `wait` returns `Ok(())`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future changes nothing; members keep running and a new
    /// `wait` sees the same error.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() {
    /// # type Error = Box<dyn std::error::Error + Send + Sync>;
    /// let g = gocsp_sync::ErrGroup::<Error>::new();
    /// g.go(async { Ok(()) });
    /// g.wait().await.unwrap();
    /// # }
    /// ```
    ///
    /// # Go equivalent
    ///
    /// `err := g.Wait()`.
    #[track_caller]
    pub fn wait(&self) -> impl Future<Output = Result<(), E>> + Send + '_ {
        let all_done = self.inner.wg.wait();
        async move {
            all_done.await;
            if let Some(c) = &self.inner.cancel {
                c.cancel();
            }
            match lock(&self.inner.err).take() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
    }

    fn spawn<F>(
        &self,
        fut: F,
        permit: Option<OwnedSemaphorePermit>,
        site: &'static Location<'static>,
    ) where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: From<GoError>,
    {
        // Before `wg.add`: outside a runtime, panic with the counter untouched.
        gocsp_runtime::runtime_handle("ErrGroup::go");
        let member = Member {
            inner: self.inner.clone(),
            site,
            finished: false,
        };
        self.inner.wg.add(1);
        let _detached = gocsp_runtime::GoroutineBuilder::new()
            .site(site)
            .spawn(async move {
                let _permit = permit;
                let mut member = member;
                let outcome = AssertUnwindSafe(fut).catch_unwind().await;
                member.finished = true;
                match outcome {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => member.inner.fail(e),
                    Err(payload) => {
                        member.inner.fail(E::from(GoError::Panicked {
                            id: gocsp_runtime::current_id().unwrap_or(0),
                            name: None,
                            message: panic_message(&*payload),
                            location: member.site,
                        }));
                        // Counted and recorded: now let the runtime see the panic (it logs it, or
                        // aborts under `Panic::Abort`). `member` is dropped first by unwinding.
                        std::panic::resume_unwind(payload);
                    }
                }
            });
    }
}

impl<E> Inner<E> {
    fn fail(&self, e: E) {
        {
            let mut slot = lock(&self.err);
            if self.failed.swap(true, std::sync::atomic::Ordering::AcqRel) {
                return; // not the first error: dropped, as in Go
            }
            *slot = Some(e);
        }
        if let Some(c) = &self.cancel {
            c.cancel();
        }
    }
}

/// A running member: `done()` on drop (normal end, unwinding, or cancellation), and a
/// cancellation before finishing is recorded as the member's error.
struct Member<E: From<GoError>> {
    inner: Arc<Inner<E>>,
    site: &'static Location<'static>,
    finished: bool,
}

impl<E: From<GoError>> Drop for Member<E> {
    fn drop(&mut self) {
        if !self.finished {
            // Dropped unfinished: the goroutine was cancelled (e.g. runtime shutdown).
            self.inner.fail(E::from(GoError::Cancelled {
                id: gocsp_runtime::current_id().unwrap_or(0),
                name: None,
                location: self.site,
            }));
        }
        self.inner.wg.done();
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<E: Send + 'static> Default for ErrGroup<E> {
    /// Same as [`ErrGroup::new`].
    ///
    /// ```
    /// let _g: gocsp_sync::ErrGroup<std::io::Error> = Default::default();
    /// ```
    fn default() -> Self {
        Self::new()
    }
}

impl<E> fmt::Debug for ErrGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrGroup")
            .field("active", &self.inner.wg.count())
            .field(
                "failed",
                &self.inner.failed.load(std::sync::atomic::Ordering::Acquire),
            )
            .finish_non_exhaustive()
    }
}
