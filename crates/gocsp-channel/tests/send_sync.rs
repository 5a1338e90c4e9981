//! Compile-time checks that every public type and future is `Send`/`Sync`/`Unpin` as
//! documented (in the style of tokio's `async_send_sync.rs`): the handles for `T: Send`, and
//! not `Send` when `T` is not. A regression here fails to compile.

#![allow(dead_code, clippy::extra_unused_type_parameters)]

use std::cell::Cell;
use std::rc::Rc;

use gocsp_channel::__private::{select, Case, FutCase, RecvCase, SendCase};
use gocsp_channel::{
    Iter, Permit, Receiver, Recv, Reserve, Send as SendFut, SendError, SendSink, Sender,
    TryRecvError, TrySendError,
};

fn require_send<T: Send>() {}
fn require_sync<T: Sync>() {}
fn require_unpin<T: Unpin>() {}

/// Compiles only for `T: !Send` (with `T: Send` both impls apply and the call is ambiguous).
trait AmbiguousIfSend<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

/// Compiles only for `T: !Sync`.
trait AmbiguousIfSync<A> {
    fn some_item(&self) {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

/// A macro, not a generic function: the impl must be chosen at the concrete type.
macro_rules! not_send {
    ($v:expr) => {
        AmbiguousIfSend::some_item(&$v)
    };
}
macro_rules! not_sync {
    ($v:expr) => {
        AmbiguousIfSync::some_item(&$v)
    };
}

/// `T: Send` is all a channel needs: `Cell` is `Send` but not `Sync`.
type V = Cell<u32>;

#[test]
fn handles_are_send_sync_unpin() {
    require_send::<Sender<V>>();
    require_sync::<Sender<V>>();
    require_unpin::<Sender<V>>();
    require_send::<Receiver<V>>();
    require_sync::<Receiver<V>>();
    require_unpin::<Receiver<V>>();
    require_send::<Permit<V>>();
    require_sync::<Permit<V>>();
    require_unpin::<Permit<V>>();
    require_send::<SendSink<V>>();
    require_sync::<SendSink<V>>();
    require_unpin::<SendSink<V>>();
    require_send::<Iter<'static, V>>();
    require_sync::<Iter<'static, V>>();
}

#[test]
fn futures_are_send_and_unpin() {
    require_send::<SendFut<'static, V>>();
    require_unpin::<SendFut<'static, V>>();
    require_send::<Recv<'static, V>>();
    require_sync::<Recv<'static, V>>();
    require_unpin::<Recv<'static, V>>();
    require_send::<Reserve<'static, V>>();
    require_sync::<Reserve<'static, V>>();
    require_unpin::<Reserve<'static, V>>();
    // A send future holds its value, so it is `Sync` exactly when the value is.
    require_sync::<SendFut<'static, u32>>();
}

#[test]
fn errors_are_send_sync_unpin() {
    require_send::<SendError<V>>();
    require_unpin::<SendError<V>>();
    require_send::<TrySendError<V>>();
    require_sync::<TrySendError<u32>>();
    require_send::<TryRecvError>();
    require_sync::<TryRecvError>();
    require_sync::<SendError<u32>>();
}

/// The select future, built the way `select!` builds it, is `Send` (so a task holding it may
/// be spawned on a multi-thread runtime) and `Unpin`.
#[test]
fn select_future_is_send_and_unpin() {
    fn check<'a>(cases: &'a mut [&'a mut (dyn Case + Send + 'a)]) {
        let fut = select(cases, false, false);
        fn send_unpin<F: Send + Unpin + std::future::Future<Output = usize>>(_: &F) {}
        send_unpin(&fut);
    }
    let (tx, rx) = gocsp_channel::chan::<V>(0);
    let mut r = RecvCase::new(Some(&rx));
    let mut s = SendCase::new(Some(&tx));
    let ready = std::pin::pin!(async {});
    let mut f = FutCase::new(Some(ready));
    check(&mut [&mut r, &mut s, &mut f]);
    require_send::<RecvCase<'static, V>>();
    require_send::<SendCase<'static, V>>();
}

/// With a value that is not `Send` (`Rc`), nothing may cross threads.
#[test]
fn not_send_when_the_value_is_not() {
    let (tx, rx) = gocsp_channel::chan::<Rc<u8>>(1);
    not_send!(tx);
    not_sync!(tx);
    not_send!(rx);
    not_sync!(rx);
    not_send!(tx.send(Rc::new(1)));
    not_send!(rx.recv());
    not_send!(tx.reserve());
    not_send!(tx.try_reserve().unwrap());
    not_send!(tx.sink());
}

/// A send future of a `Send + !Sync` value is not `Sync`.
#[test]
fn send_future_not_sync_for_unsync_value() {
    let (tx, _rx) = gocsp_channel::chan::<V>(1);
    not_sync!(tx.send(Cell::new(1)));
}
