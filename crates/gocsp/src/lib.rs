//! gocsp: Go's concurrency model for async Rust (facade). Channels land first; the tour of the
//! crate docs grows with the other crates.

pub use gocsp_channel::{
    chan, unbounded, Iter, Permit, Receiver, Recv, Reserve, Send, SendError, SendSink, Sender,
    TryRecvError, TrySendError,
};

pub use gocsp_macros::{select, select_blocking};

/// Items used by the code gocsp's macros generate. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use gocsp_channel::__private::*;
}
