//! Go's `sync`, `context` and `errgroup` for async Rust: [`WaitGroup`], [`Cond`], [`Context`]
//! and [`ErrGroup`], plus re-exports of tokio's locks under their Go-familiar names.
#![forbid(unsafe_code)]

mod blocking;
mod cond;
mod context;
mod loom;
mod wait_group;

pub use cond::Cond;
pub use context::{CancelGuard, CancelHandle, Context, ContextError};
pub use wait_group::{Wait, WaitGroup};

/// tokio's primitives, re-exported under their own names: gocsp does not rewrite what tokio
/// does well. Go's `sync.Mutex` is [`Mutex`], `sync.RWMutex` is [`RwLock`], `sync.Once` is
/// [`OnceCell`], a weighted semaphore (`golang.org/x/sync/semaphore`) is [`Semaphore`].
pub use tokio::sync::{
    AcquireError, Barrier, BarrierWaitResult, MappedMutexGuard, Mutex, MutexGuard, OnceCell,
    OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock,
    RwLockReadGuard, RwLockWriteGuard, Semaphore, SemaphorePermit, SetError, TryAcquireError,
    TryLockError,
};
