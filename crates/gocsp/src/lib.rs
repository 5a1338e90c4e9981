//! gocsp: Go's concurrency model for async Rust (facade). Channels land first; the tour of the
//! crate docs grows with the other crates.

pub use gocsp_channel::{
    chan, unbounded, Iter, Permit, Receiver, Recv, Reserve, Select, Selected, Send, SendError,
    SendSink, Sender, TryRecvError, TrySendError,
};

pub use gocsp_macros::{main, select, select_blocking};
pub use gocsp_runtime::{
    current_id, dump, go, go_blocking, num_goroutine, print_dump, run, spawn, yield_now, Builder,
    Deadlock, Dump, GoError, GoHandle, Goroutine, Panic, Runtime, State,
};
pub use gocsp_sync::{Cond, WaitGroup};

/// Go's `sync` package: gocsp's own primitives and tokio's locks under their own names.
pub mod sync {
    pub use gocsp_sync::*;
}

/// Tracing layers: `GOCSP_TRACE=fmt` and `GOCSP_TRACE=profile`.
pub mod trace {
    pub use gocsp_runtime::trace::*;
}

/// Items used by the code gocsp's macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use gocsp_channel::__private::*;
}
