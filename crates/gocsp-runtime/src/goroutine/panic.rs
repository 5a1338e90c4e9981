//! What happens when a goroutine panics: the process-wide policy ([`Panic`]), the log line, and
//! the caught panic handed to the goroutine's handle.

use std::any::Any;
use std::sync::atomic::{AtomicU8, Ordering};

use super::GoError;
use crate::registry::Info;

/// What happens when a goroutine panics. Set with
/// [`Builder::panic`](crate::Builder::panic); process-wide (the last runtime built wins).
///
/// # Examples
///
/// ```
/// use gocsp_runtime::{Panic, Runtime};
/// let rt = Runtime::builder().panic(Panic::Log).build().unwrap();
/// let err = rt.block_on(async { gocsp_runtime::go(async { panic!("boom") }).await.unwrap_err() });
/// assert!(err.is_panic());
/// ```
///
/// # Go equivalent
///
/// Go always crashes the program on an unrecovered panic ([`Panic::Abort`]). Rust services
/// usually prefer tokio's behaviour ([`Panic::Log`], the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Panic {
    /// Log the panic through `tracing` (with the goroutine's id, name and spawn site) and hand
    /// it to the goroutine's handle as [`GoError::Panicked`]. The default.
    #[default]
    Log,
    /// Go's behaviour: print `panic: <message>` and the panicking goroutine to stderr, then exit
    /// the process with status 2.
    Abort,
}

static PANIC_POLICY: AtomicU8 = AtomicU8::new(0);

pub(crate) fn set_panic_policy(p: Panic) {
    let v = match p {
        Panic::Log => 0,
        Panic::Abort => 1,
    };
    PANIC_POLICY.store(v, Ordering::Relaxed);
}

fn panic_policy() -> Panic {
    match PANIC_POLICY.load(Ordering::Relaxed) {
        1 => Panic::Abort,
        _ => Panic::Log,
    }
}

/// A goroutine that panicked: the error for its handle and the payload (so the main goroutine
/// can resume unwinding with it).
pub(crate) struct Caught {
    pub(crate) error: GoError,
    pub(crate) payload: Box<dyn Any + Send>,
}

/// A panic payload's message, as [`GoError::Panicked`] carries it: the `&str` or `String` the
/// panic was raised with, else `"Box<dyn Any>"`. Not a public API: `ErrGroup` uses it for the
/// panics it catches in its members.
///
/// ```
/// let payload = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
/// assert_eq!(gocsp_runtime::panic_message(&*payload), "boom 7");
/// ```
#[doc(hidden)]
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

fn name_string(info: &Info) -> Option<String> {
    info.name.as_deref().map(str::to_owned)
}

/// Logs a goroutine's panic and applies the panic policy. Returns the caught panic.
pub(super) fn on_panic(info: &Info, payload: Box<dyn Any + Send>) -> Caught {
    let message = panic_message(&*payload);
    tracing::error!(
        target: "gocsp::goroutine",
        id = info.id,
        name = info.name.as_deref().unwrap_or(""),
        location = %info.location,
        "goroutine {} panicked: {message}", info.id
    );
    if panic_policy() == Panic::Abort {
        let mut out = format!("panic: {message}\n\n");
        crate::dump::write_one(&mut out, &crate::dump::snapshot_running(info));
        eprint!("{out}");
        std::process::exit(2);
    }
    Caught {
        error: GoError::Panicked {
            id: info.id,
            name: name_string(info),
            message,
            location: info.location,
        },
        payload,
    }
}
