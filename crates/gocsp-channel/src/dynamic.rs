//! [`Select`]: a select over a list of channels known only at run time (Go's `reflect.Select`).

use std::fmt;

use crate::error::SendError;
use crate::select::{
    complete_send, select, select_blocking, Case, RecvCase, SendCase, SELECT_DEFAULT,
};
use crate::{Receiver, Sender};

enum DynCase<'a, T> {
    Recv(RecvCase<'a, T>),
    Send(SendCase<'a, T>, Option<T>),
}

/// A select built at run time over any number of channels of one element type.
///
/// It runs on the same engine as `select!` (exactly one case fires, uniform random choice
/// among ready cases, `default`, nil channels as `None`), and can be waited on again after a
/// case fired. Values of send cases that did not fire stay in the builder
/// ([`take_unsent`](Select::take_unsent)). Each wait allocates one small vector of case
/// references; `select!` allocates nothing.
///
/// # Examples
///
/// Fan-in over a `Vec` of receivers:
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use gocsp_channel::{chan, Select, Selected};
/// let chans: Vec<_> = (0..4).map(|_| chan::<usize>(1)).collect();
/// chans[2].0.send(42).await.unwrap();
/// let mut sel = Select::new();
/// for (_, rx) in &chans {
///     sel.recv(rx);
/// }
/// match sel.wait().await {
///     Selected::Recv { index, value } => assert_eq!((index, value), (2, Some(42))),
///     other => panic!("{other:?}"),
/// }
/// # });
/// ```
///
/// # Go equivalent
///
/// `reflect.Select(cases)`.
pub struct Select<'a, T> {
    cases: Vec<DynCase<'a, T>>,
    default: bool,
    biased: bool,
}

/// Which case of a [`Select`] fired.
#[derive(PartialEq, Eq)]
pub enum Selected<T> {
    /// Receive case `index` fired; `None` means its channel is closed and drained.
    Recv {
        /// The case index, as returned when it was added.
        index: usize,
        /// The received value.
        value: Option<T>,
    },
    /// Send case `index` fired; `Err` hands the value back if the channel was closed.
    Send {
        /// The case index, as returned when it was added.
        index: usize,
        /// The outcome of the send.
        result: Result<(), SendError<T>>,
    },
    /// No case was ready and the select has a default.
    Default,
}

impl<T> fmt::Debug for Selected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selected::Recv { index, value } => f
                .debug_struct("Recv")
                .field("index", index)
                .field("value", &value.as_ref().map(|_| ".."))
                .finish(),
            Selected::Send { index, result } => f
                .debug_struct("Send")
                .field("index", index)
                .field("ok", &result.is_ok())
                .finish(),
            Selected::Default => f.write_str("Default"),
        }
    }
}

impl<T> Default for Select<'_, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, T> Select<'a, T> {
    /// An empty select. Waiting on it with no case and no default waits forever (`select {}`).
    ///
    /// ```
    /// let sel = gocsp_channel::Select::<u8>::new();
    /// assert_eq!(sel.len(), 0);
    /// ```
    pub fn new() -> Self {
        Select {
            cases: Vec::new(),
            default: false,
            biased: false,
        }
    }

    /// Adds a receive case and returns its index. `None` is a nil channel that never fires.
    ///
    /// ```
    /// let (_tx, rx) = gocsp_channel::chan::<u8>(0);
    /// let mut sel = gocsp_channel::Select::new();
    /// assert_eq!(sel.recv(&rx), 0);
    /// assert_eq!(sel.recv(None), 1);
    /// ```
    pub fn recv(&mut self, rx: impl Into<Option<&'a Receiver<T>>>) -> usize {
        self.cases.push(DynCase::Recv(RecvCase::new(rx.into())));
        self.cases.len() - 1
    }

    /// Adds a send case of `value` and returns its index. `None` is a nil channel. Once the
    /// case fired its value is gone and the case acts as a nil channel in later waits.
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(1);
    /// let mut sel = gocsp_channel::Select::new();
    /// let i = sel.send(&tx, "hi");
    /// assert!(matches!(sel.wait_blocking(), gocsp_channel::Selected::Send { index, result: Ok(()) } if index == i));
    /// assert_eq!(rx.try_recv(), Ok("hi"));
    /// ```
    pub fn send(&mut self, tx: impl Into<Option<&'a Sender<T>>>, value: T) -> usize {
        self.cases
            .push(DynCase::Send(SendCase::new(tx.into()), Some(value)));
        self.cases.len() - 1
    }

    /// Adds a default case: waiting returns [`Selected::Default`] if no case is ready.
    ///
    /// ```
    /// let (_tx, rx) = gocsp_channel::chan::<u8>(0);
    /// let mut sel = gocsp_channel::Select::new();
    /// sel.recv(&rx);
    /// sel.default();
    /// assert_eq!(sel.wait_blocking(), gocsp_channel::Selected::Default);
    /// ```
    pub fn default(&mut self) -> &mut Self {
        self.default = true;
        self
    }

    /// Chooses the first ready case in index order instead of at random.
    ///
    /// ```
    /// let (tx, rx) = gocsp_channel::chan(2);
    /// tx.try_send(1).unwrap();
    /// let mut sel = gocsp_channel::Select::new();
    /// sel.biased().send(&tx, 2);
    /// sel.recv(&rx);
    /// assert!(matches!(sel.wait_blocking(), gocsp_channel::Selected::Send { index: 0, .. }));
    /// ```
    pub fn biased(&mut self) -> &mut Self {
        self.biased = true;
        self
    }

    /// Number of cases added.
    ///
    /// ```
    /// assert!(gocsp_channel::Select::<()>::new().is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// `true` if no case was added.
    ///
    /// ```
    /// assert!(gocsp_channel::Select::<()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Takes back the value of send case `index` if it has not been sent.
    ///
    /// ```
    /// let (tx, _rx) = gocsp_channel::chan(0);
    /// let mut sel = gocsp_channel::Select::new();
    /// let i = sel.send(&tx, String::from("unsent"));
    /// sel.default();
    /// assert_eq!(sel.wait_blocking(), gocsp_channel::Selected::Default);
    /// assert_eq!(sel.take_unsent(i).as_deref(), Some("unsent"));
    /// ```
    pub fn take_unsent(&mut self, index: usize) -> Option<T> {
        match self.cases.get_mut(index)? {
            DynCase::Send(_, v) => v.take(),
            DynCase::Recv(_) => None,
        }
    }

    fn output(&mut self, index: usize) -> Selected<T> {
        if index == SELECT_DEFAULT {
            return Selected::Default;
        }
        match &mut self.cases[index] {
            DynCase::Recv(c) => Selected::Recv {
                index,
                value: c.take(),
            },
            DynCase::Send(c, v) => {
                let permit = c.take();
                // The value goes with this firing; the case becomes nil (T need not be Clone).
                let value = v
                    .take()
                    .expect("a send case fires only while it has its value");
                *c = SendCase::new(None);
                Selected::Send {
                    index,
                    result: complete_send(permit, value),
                }
            }
        }
    }

    /// Blocks the current OS thread until a case fires.
    ///
    /// # Panics
    ///
    /// If called from async code on a tokio runtime thread.
    #[track_caller]
    pub fn wait_blocking(&mut self) -> Selected<T> {
        let (biased, default) = (self.biased, self.default);
        let index = {
            let mut refs: Vec<&mut dyn Case> = self
                .cases
                .iter_mut()
                .map(|c| match c {
                    DynCase::Recv(r) => r as &mut dyn Case,
                    DynCase::Send(s, _) => s as &mut dyn Case,
                })
                .collect();
            select_blocking(&mut refs, biased, default)
        };
        self.output(index)
    }
}

impl<'a, T: std::marker::Send> Select<'a, T> {
    /// Waits until a case fires.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe, as `select!`: dropping the future un-registers every case and undoes a
    /// case completed on its behalf; unsent values stay in the builder.
    pub async fn wait(&mut self) -> Selected<T> {
        let (biased, default) = (self.biased, self.default);
        let index = {
            let mut refs: Vec<&mut (dyn Case + std::marker::Send)> = self
                .cases
                .iter_mut()
                .map(|c| match c {
                    DynCase::Recv(r) => r as &mut (dyn Case + std::marker::Send),
                    DynCase::Send(s, _) => s as &mut (dyn Case + std::marker::Send),
                })
                .collect();
            select(&mut refs, biased, default).await
        };
        self.output(index)
    }
}

impl<T> fmt::Debug for Select<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .field("default", &self.default)
            .field("biased", &self.biased)
            .finish()
    }
}
