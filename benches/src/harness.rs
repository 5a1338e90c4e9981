//! The pieces of the `compare` binary that implementation modules plug into: the runtime
//! context and the registry of (workload, implementation) entries.

use std::future::Future;

use crate::flavor::Flavor;
use crate::workloads::Check;

/// What one run returns: a secondary figure to print under its own name (the memory per
/// parked task), or the failed check.
pub type Outcome = Result<Option<(&'static str, f64)>, String>;

/// Runs a workload once with `n` operations.
pub type RunFn = Box<dyn Fn(&Ctx, u64) -> Outcome>;

/// A runnable (workload, implementation) pair.
pub struct Entry {
    /// The workload's name, shared with the Go side.
    pub name: &'static str,
    /// The implementation's column in the report.
    pub imp: &'static str,
    /// Run it once with `n` operations.
    pub run: RunFn,
}

/// The runtimes the async implementations run on, built once.
pub struct Ctx {
    /// A multi-thread tokio runtime with `workers` worker threads, for the peers.
    pub rt: tokio::runtime::Runtime,
    /// gocsp's runtime (tokio underneath, plus the goroutine registry and the deadlock
    /// detector) with `workers` worker threads, for gocsp: what `#[gocsp::main]` users get.
    pub gocsp: gocsp::Runtime,
    /// Go's `GOMAXPROCS`: runtime workers, and the parallelism of the `RunParallel` ports.
    pub workers: usize,
}

impl Ctx {
    /// A context with a `workers`-thread runtime.
    pub fn new(workers: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .expect("cannot build the tokio runtime");
        let gocsp = gocsp::Runtime::builder()
            .worker_threads(workers)
            .build()
            .expect("cannot build gocsp's runtime");
        Ctx { rt, gocsp, workers }
    }

    /// [`Ctx::block`] on the runtime flavor `F` belongs to.
    pub fn block_for<F, T, Fut>(&self, fut: Fut) -> Result<T, String>
    where
        F: Flavor,
        T: Send + 'static,
        Fut: Future<Output = Result<T, String>> + Send + 'static,
    {
        if F::GOCSP_RUNTIME {
            self.block_gocsp(fut)
        } else {
            self.block(fut)
        }
    }

    /// Run `fut` as a goroutine on gocsp's runtime and wait for its result.
    pub fn block_gocsp<T, Fut>(&self, fut: Fut) -> Result<T, String>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T, String>> + Send + 'static,
    {
        self.gocsp
            .block_on(async move { gocsp::go(fut).await })
            .map_err(|e| format!("driver goroutine failed: {e}"))?
    }

    /// Run `fut` as a task on the runtime (not on the `block_on` thread, so the driver runs
    /// on a worker as Go's main goroutine runs on a P) and wait for its result.
    pub fn block<T, Fut>(&self, fut: Fut) -> Result<T, String>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T, String>> + Send + 'static,
    {
        self.rt
            .block_on(async move { tokio::spawn(fut).await })
            .map_err(|e| format!("driver task failed: {e}"))?
    }
}

/// Collects [`Entry`]s.
pub struct Reg<'a>(pub &'a mut Vec<Entry>);

impl Reg<'_> {
    /// Add a workload implementation whose run only checks.
    pub fn add(
        &mut self,
        name: &'static str,
        imp: &'static str,
        run: impl Fn(&Ctx, u64) -> Check + 'static,
    ) {
        self.0.push(Entry {
            name,
            imp,
            run: Box::new(move |c, n| run(c, n).map(|()| None)),
        });
    }

    /// Add a workload implementation that also reports a secondary figure.
    pub fn add_outcome(
        &mut self,
        name: &'static str,
        imp: &'static str,
        run: impl Fn(&Ctx, u64) -> Outcome + 'static,
    ) {
        self.0.push(Entry {
            name,
            imp,
            run: Box::new(run),
        });
    }
}
