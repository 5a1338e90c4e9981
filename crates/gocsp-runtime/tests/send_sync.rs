//! Compile-time checks that public types are `Send`/`Sync`/`Unpin` as documented.

#![allow(dead_code, reason = "the functions only need to type-check")]

use gocsp_runtime::time::{Sleep, Ticker, Timer};
use gocsp_runtime::trace::{Profile, ProfileGuard, ProfileLayer};
use gocsp_runtime::{Builder, DetectDeadlocks, Dump, GoError, GoHandle, Goroutine, Runtime, State};

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}

fn all<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    all::<GoHandle<u32>>();
    unpin::<GoHandle<u32>>();
    all::<GoError>();
    all::<Dump>();
    all::<Goroutine>();
    all::<State>();
    all::<Runtime>();
    all::<Builder>();
    all::<Timer>();
    all::<Ticker>();
    unpin::<Timer>();
    all::<Sleep>();
    all::<ProfileLayer>();
    all::<ProfileGuard>();
    all::<Profile>();
    send::<DetectDeadlocks<std::future::Ready<()>>>();
    sync::<DetectDeadlocks<std::future::Ready<()>>>();
    // A goroutine's handle is Send even when its output is only Send.
    send::<GoHandle<std::cell::Cell<u32>>>();
}

/// What `go!` accepts: a `Send + 'static` future whose output is `Send`.
fn spawnable<F>(f: F) -> GoHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    gocsp_runtime::go(f)
}
