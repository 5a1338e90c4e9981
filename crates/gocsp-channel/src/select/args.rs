//! The accepted shapes of a case's channel argument: a handle, a reference to one, or an
//! `Option` of either (`None` is Go's nil channel).

use crate::{Receiver, Sender};

/// Accepted forms of a `recv(..)` case's channel argument.
#[diagnostic::on_unimplemented(
    message = "`recv(..)` expects a channel receiver, found `{Self}`",
    label = "not a `Receiver<T>`",
    note = "accepted: `Receiver<T>`, `&Receiver<T>`, `Option<Receiver<T>>`, `Option<&Receiver<T>>` (None is a nil channel)"
)]
pub trait AsRecv<T> {
    /// The receiver, or `None` for a nil channel.
    fn as_recv(&self) -> Option<&Receiver<T>>;
}

impl<T> AsRecv<T> for Receiver<T> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}
impl<T> AsRecv<T> for &Receiver<T> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}
impl<T> AsRecv<T> for &mut Receiver<T> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}
impl<T> AsRecv<T> for Option<Receiver<T>> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        self.as_ref()
    }
}
impl<T> AsRecv<T> for Option<&Receiver<T>> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        *self
    }
}
impl<T> AsRecv<T> for &Option<Receiver<T>> {
    fn as_recv(&self) -> Option<&Receiver<T>> {
        self.as_ref()
    }
}

/// Accepted forms of a `send(..)` case's channel argument.
#[diagnostic::on_unimplemented(
    message = "`send(..)` expects a channel sender, found `{Self}`",
    label = "not a `Sender<T>`",
    note = "accepted: `Sender<T>`, `&Sender<T>`, `Option<Sender<T>>`, `Option<&Sender<T>>` (None is a nil channel)"
)]
pub trait AsSend<T> {
    /// The sender, or `None` for a nil channel.
    fn as_send(&self) -> Option<&Sender<T>>;
}

impl<T> AsSend<T> for Sender<T> {
    fn as_send(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}
impl<T> AsSend<T> for &Sender<T> {
    fn as_send(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}
impl<T> AsSend<T> for &mut Sender<T> {
    fn as_send(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}
impl<T> AsSend<T> for Option<Sender<T>> {
    fn as_send(&self) -> Option<&Sender<T>> {
        self.as_ref()
    }
}
impl<T> AsSend<T> for Option<&Sender<T>> {
    fn as_send(&self) -> Option<&Sender<T>> {
        *self
    }
}
impl<T> AsSend<T> for &Option<Sender<T>> {
    fn as_send(&self) -> Option<&Sender<T>> {
        self.as_ref()
    }
}
