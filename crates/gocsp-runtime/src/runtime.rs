//! The gocsp runtime: a tokio multi-thread runtime plus the main goroutine, the deadlock
//! detector, the `SIGQUIT` dump and `GOCSP_TRACE`.

use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::deadlock::{self, InternalTask};
use crate::goroutine::{set_panic_policy, GoFuture, Panic};
use crate::registry::{Info, Kind};

/// The current tokio runtime's handle, or a panic that names `what` and says how to start a
/// runtime: the one check behind every gocsp call that needs a runtime (`go!`, the timers of
/// `time`, context deadlines, `ErrGroup::go`). Not a public API.
///
/// ```should_panic
/// gocsp_runtime::runtime_handle("my_call"); // panics: "gocsp: my_call called outside a Tokio runtime; ..."
/// ```
#[doc(hidden)]
#[track_caller]
pub fn runtime_handle(what: &str) -> tokio::runtime::Handle {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h,
        Err(_) => panic!(
            "gocsp: {what} called outside a Tokio runtime; run your async code with \
             #[gocsp::main], gocsp::run(..), gocsp::Runtime::block_on(..) or inside a \
             multi-thread #[tokio::main] runtime with timers enabled (or enter one with \
             Handle::enter)"
        ),
    }
}

/// What the deadlock detector does when every goroutine is blocked forever (see
/// [`Builder::deadlock`] and the rules in the crate docs, "Deadlock detector").
///
/// ```
/// use gocsp_runtime::{Deadlock, Runtime};
/// let rt = Runtime::builder().deadlock(Deadlock::Off).build().unwrap();
/// assert_eq!(rt.block_on(async { 1 }), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Deadlock {
    /// Go's behaviour: print `fatal error: all goroutines are asleep - deadlock!` and the
    /// goroutine dump to stderr, exit with status 2. The default.
    #[default]
    Exit,
    /// Make the main goroutine panic with that message and the dump: `block_on` / `run`
    /// unwind (useful in tests).
    Panic,
    /// Log the message and the dump with `tracing::error!` (once per deadlocked state) and keep
    /// waiting.
    Log,
    /// No detector.
    Off,
}

/// What `SIGQUIT` (Ctrl-\\) does while a gocsp runtime runs `block_on` (Unix only).
///
/// ```
/// use gocsp_runtime::{Runtime, SigQuit};
/// let rt = Runtime::builder().sigquit(SigQuit::Dump).build().unwrap();
/// rt.block_on(async {});
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SigQuit {
    /// Go's behaviour: print `SIGQUIT: quit` and the goroutine dump to stderr, exit with
    /// status 2. The default.
    #[default]
    Exit,
    /// Print the dump and keep running (a service's "thread dump").
    Dump,
    /// Leave `SIGQUIT` alone (its default action kills the process).
    Off,
}

/// Configures a [`Runtime`]: worker threads, panic and deadlock policies, thread names.
///
/// # Examples
///
/// ```
/// use gocsp_runtime::{Deadlock, Panic, Runtime};
/// let rt = Runtime::builder()
///     .worker_threads(2)
///     .panic(Panic::Log)
///     .deadlock(Deadlock::Panic)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.worker_threads(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: Option<usize>,
    panic: Panic,
    deadlock: Deadlock,
    sigquit: SigQuit,
    thread_name: String,
    trace_from_env: bool,
    keep_alive: Option<std::time::Duration>,
}

/// The worker count when none is given: `GOMAXPROCS` if it is a positive integer, else the
/// number of CPUs.
fn default_workers() -> usize {
    std::env::var("GOMAXPROCS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

impl Builder {
    fn new() -> Builder {
        Builder {
            workers: None,
            panic: Panic::default(),
            deadlock: Deadlock::default(),
            sigquit: SigQuit::default(),
            thread_name: "gocsp-worker".to_owned(),
            trace_from_env: true,
            keep_alive: None,
        }
    }

    /// The number of worker threads. Default: the `GOMAXPROCS` environment variable if it is a
    /// positive integer, else the number of CPUs.
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::builder().worker_threads(1).build().unwrap();
    /// assert_eq!(rt.worker_threads(), 1);
    /// ```
    ///
    /// # Panics
    ///
    /// If `n` is 0 (as tokio does).
    ///
    /// # Go equivalent
    ///
    /// `runtime.GOMAXPROCS(n)`.
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        assert!(n > 0, "gocsp: worker_threads must be at least 1");
        self.workers = Some(n);
        self
    }

    /// The panic policy for goroutines (process-wide once the runtime is built). Default
    /// [`Panic::Log`].
    ///
    /// ```
    /// use gocsp_runtime::{Panic, Runtime};
    /// let rt = Runtime::builder().panic(Panic::Log).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn panic(&mut self, policy: Panic) -> &mut Builder {
        self.panic = policy;
        self
    }

    /// The deadlock policy. Default [`Deadlock::Exit`].
    ///
    /// ```
    /// use gocsp_runtime::{Deadlock, Runtime};
    /// let rt = Runtime::builder().deadlock(Deadlock::Log).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn deadlock(&mut self, policy: Deadlock) -> &mut Builder {
        self.deadlock = policy;
        self
    }

    /// What `SIGQUIT` does. Default [`SigQuit::Exit`].
    ///
    /// ```
    /// use gocsp_runtime::{Runtime, SigQuit};
    /// let rt = Runtime::builder().sigquit(SigQuit::Off).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn sigquit(&mut self, what: SigQuit) -> &mut Builder {
        self.sigquit = what;
        self
    }

    /// The name of the runtime's threads. Default `gocsp-worker`.
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::builder().thread_name("svc").build().unwrap();
    /// let name = rt.block_on(async {
    ///     gocsp_runtime::go(async { std::thread::current().name().map(str::to_owned) })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert_eq!(name.as_deref(), Some("svc"));
    /// ```
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.thread_name = name.into();
        self
    }

    /// How long an idle blocking-pool thread (`go_blocking!`, `spawn_blocking`, `tokio::fs`)
    /// stays alive; tokio's default is 10 s. The deadlock detector stays quiet while any
    /// blocking-pool thread exists (tokio does not say whether it is busy), so this is also how
    /// long a deadlock after blocking work may go unreported.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gocsp_runtime::Runtime::builder()
    ///     .thread_keep_alive(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// # drop(rt);
    /// ```
    pub fn thread_keep_alive(&mut self, d: std::time::Duration) -> &mut Builder {
        self.keep_alive = Some(d);
        self
    }

    /// Whether `block_on` installs the tracing layers named by `GOCSP_TRACE` (`fmt`,
    /// `profile`, or both separated by a comma) as the global subscriber. Default `true`; it
    /// does nothing if the variable is unset or a global subscriber already exists.
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::builder().trace_from_env(false).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn trace_from_env(&mut self, yes: bool) -> &mut Builder {
        self.trace_from_env = yes;
        self
    }

    /// Builds the runtime (and sets the process-wide panic policy).
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::builder().build().unwrap();
    /// assert!(rt.worker_threads() >= 1);
    /// ```
    ///
    /// # Errors
    ///
    /// When tokio cannot start its threads or its I/O driver.
    pub fn build(&self) -> std::io::Result<Runtime> {
        let workers = self.workers.unwrap_or_else(default_workers);
        let mut tokio_builder = tokio::runtime::Builder::new_multi_thread();
        tokio_builder
            .worker_threads(workers)
            .thread_name(self.thread_name.clone())
            .enable_all();
        if let Some(d) = self.keep_alive {
            tokio_builder.thread_keep_alive(d);
        }
        let rt = tokio_builder.build()?;
        set_panic_policy(self.panic);
        Ok(Runtime {
            rt,
            workers,
            deadlock: self.deadlock,
            sigquit: self.sigquit,
            trace_from_env: self.trace_from_env,
        })
    }

    /// Builds the runtime, runs `fut` as the main goroutine, and shuts the runtime down without
    /// waiting for the remaining goroutines (as a Go program ends when `main` returns).
    ///
    /// ```
    /// let v = gocsp_runtime::Runtime::builder().worker_threads(2).run(async { 7 });
    /// assert_eq!(v, 7);
    /// ```
    ///
    /// # Panics
    ///
    /// If the runtime cannot be built, or `fut` panics (under [`Panic::Log`]).
    #[track_caller]
    pub fn run<F: Future>(&self, fut: F) -> F::Output {
        let location = Location::caller();
        let rt = match self.build() {
            Ok(rt) => rt,
            Err(e) => panic!("gocsp: cannot start the runtime: {e}"),
        };
        let out = rt.block_on_at(fut, location);
        rt.rt.shutdown_background();
        out
    }
}

/// A gocsp runtime: a tokio multi-thread runtime that runs a main goroutine with a deadlock
/// detector, a `SIGQUIT` dump and `GOCSP_TRACE` support.
///
/// # Examples
///
/// ```
/// let rt = gocsp_runtime::Runtime::new().unwrap();
/// let v = rt.block_on(async {
///     let h = gocsp_runtime::go!(async { 20 + 1 });
///     h.await.unwrap() * 2
/// });
/// assert_eq!(v, 42);
/// ```
///
/// # Go equivalent
///
/// The Go runtime that runs `func main()`.
#[derive(Debug)]
pub struct Runtime {
    rt: tokio::runtime::Runtime,
    workers: usize,
    deadlock: Deadlock,
    sigquit: SigQuit,
    trace_from_env: bool,
}

impl Runtime {
    /// A [`Builder`] with the defaults.
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::builder().worker_threads(1).build().unwrap();
    /// # drop(rt);
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A runtime with the defaults (`GOMAXPROCS` or all cores, `Panic::Log`, `Deadlock::Exit`).
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::new().unwrap();
    /// # drop(rt);
    /// ```
    ///
    /// # Errors
    ///
    /// When tokio cannot start its threads or its I/O driver.
    pub fn new() -> std::io::Result<Runtime> {
        Builder::new().build()
    }

    /// The number of worker threads.
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::builder().worker_threads(3).build().unwrap();
    /// assert_eq!(rt.worker_threads(), 3);
    /// ```
    pub fn worker_threads(&self) -> usize {
        self.workers
    }

    /// The underlying tokio runtime's handle (to spawn plain tasks, enter the runtime...).
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::new().unwrap();
    /// let _guard = rt.handle().enter();
    /// let h = gocsp_runtime::go(async { 1 });
    /// # drop(h);
    /// ```
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.rt.handle()
    }

    /// Runs `fut` on this thread as the main goroutine (named `main`) until it completes,
    /// with the deadlock detector watching and `SIGQUIT` handled as configured. Goroutines it
    /// spawns run on the worker threads and keep running after it returns.
    ///
    /// ```
    /// let rt = gocsp_runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { "hi" }), "hi");
    /// ```
    ///
    /// # Panics
    ///
    /// If `fut` panics (under [`Panic::Log`]; [`Panic::Abort`] exits the process), or under
    /// [`Deadlock::Panic`] when a deadlock is detected; if called from inside an async context.
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.block_on_at(fut, Location::caller())
    }

    fn block_on_at<F: Future>(&self, fut: F, location: &'static Location<'static>) -> F::Output {
        let _enter = self.rt.enter();
        let profile = if self.trace_from_env {
            crate::trace::install_from_env()
        } else {
            None
        };
        let info = Info::new(Kind::Main, Some(Arc::from("main")), location);
        let main = GoFuture::new(fut, info);
        let _detector = deadlock::start(
            self.rt.handle().clone(),
            self.deadlock,
            Arc::downgrade(main.info()),
            deadlock::Scope::Process,
        );
        let sigquit = self.listen_sigquit();
        let out = self.rt.block_on(main);
        if let Some(task) = sigquit {
            task.abort();
        }
        drop(profile);
        match out {
            Ok(v) => v,
            Err(caught) => std::panic::resume_unwind(caught.payload),
        }
    }

    #[cfg(unix)]
    fn listen_sigquit(&self) -> Option<tokio::task::JoinHandle<()>> {
        use tokio::signal::unix::{signal, SignalKind};
        if self.sigquit == SigQuit::Off {
            return None;
        }
        let exit = self.sigquit == SigQuit::Exit;
        let mut quit = signal(SignalKind::quit()).ok()?;
        let internal = InternalTask::new();
        Some(self.rt.spawn(async move {
            let _internal = internal;
            while quit.recv().await.is_some() {
                eprint!("SIGQUIT: quit\n\n{}", crate::dump::dump());
                if exit {
                    std::process::exit(2);
                }
            }
        }))
    }

    #[cfg(not(unix))]
    fn listen_sigquit(&self) -> Option<tokio::task::JoinHandle<()>> {
        None
    }
}

/// Runs `fut` as the main goroutine of a new default runtime (see [`Runtime::builder`]) and
/// returns its output; what `#[gocsp::main]` expands to. Worker threads: `GOMAXPROCS` or all
/// cores. The deadlock detector is on; `GOCSP_TRACE=fmt|profile` installs the tracing layers.
/// When `fut` returns, remaining goroutines are abandoned, as in Go.
///
/// # Examples
///
/// ```
/// let answer = gocsp_runtime::run(async {
///     let h = gocsp_runtime::go!(async { 42 });
///     h.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
///
/// If the runtime cannot start, or `fut` panics.
///
/// # Go equivalent
///
/// The Go runtime calling `func main()`.
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    let location = Location::caller();
    let rt = match Builder::new().build() {
        Ok(rt) => rt,
        Err(e) => panic!("gocsp: cannot start the runtime: {e}"),
    };
    let out = rt.block_on_at(fut, location);
    rt.rt.shutdown_background();
    out
}

pin_project_lite::pin_project! {
    /// Future of [`detect_deadlocks`].
    ///
    /// ```
    /// use gocsp_runtime::{detect_deadlocks, Deadlock, DetectDeadlocks};
    /// let rt = tokio::runtime::Runtime::new().unwrap();
    /// let main: DetectDeadlocks<_> = detect_deadlocks(Deadlock::Log, async { 3 });
    /// assert_eq!(rt.block_on(main), 3);
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct DetectDeadlocks<F: Future> {
        #[pin]
        main: GoFuture<F>,
        policy: Deadlock,
        detector: Option<deadlock::Detector>,
        started: bool,
    }
}

impl<F: Future> std::fmt::Debug for DetectDeadlocks<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetectDeadlocks")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<F: Future> Future for DetectDeadlocks<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        if !*this.started {
            *this.started = true;
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                *this.detector = deadlock::start(
                    handle,
                    *this.policy,
                    Arc::downgrade(this.main.info()),
                    deadlock::Scope::Process,
                );
            }
        }
        match this.main.poll(cx) {
            std::task::Poll::Pending => std::task::Poll::Pending,
            std::task::Poll::Ready(out) => {
                this.detector.take();
                match out {
                    Ok(v) => std::task::Poll::Ready(v),
                    Err(caught) => std::panic::resume_unwind(caught.payload),
                }
            }
        }
    }
}

/// Runs `fut` as the main goroutine (named `main`) with the deadlock detector watching, on a
/// tokio runtime you built yourself (`#[tokio::main]`): gocsp's own [`run`] / [`Runtime`] do
/// this already. Await it from the future your runtime's `block_on` runs (the body of
/// `#[tokio::main]`); the detector then follows the rules in the crate docs, with that runtime's
/// worker threads. Awaited from inside a spawned task, it never fires (the task is not a
/// goroutine).
///
/// # Examples
///
/// ```
/// use gocsp_runtime::{detect_deadlocks, Deadlock};
/// let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
/// let v = rt.block_on(detect_deadlocks(Deadlock::Exit, async {
///     gocsp_runtime::go!(async { 1 }).await.unwrap()
/// }));
/// assert_eq!(v, 1);
/// ```
///
/// # Panics
///
/// If `fut` panics (the panic is resumed), or under [`Deadlock::Panic`] on a deadlock.
///
/// # Cancel safety
///
/// Dropping it drops `fut` and stops the detector.
#[track_caller]
pub fn detect_deadlocks<F: Future>(policy: Deadlock, fut: F) -> DetectDeadlocks<F> {
    let info = Info::new(Kind::Main, Some(Arc::from("main")), Location::caller());
    DetectDeadlocks {
        main: GoFuture::new(fut, info),
        policy,
        detector: None,
        started: false,
    }
}
