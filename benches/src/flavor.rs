//! The local channel trait (flume's `benches/basic.rs` trick): gocsp and each Rust peer
//! implement [`Flavor`], so one generic workload runs on all of them.
//!
//! Messages are `u64` everywhere: the workloads measure channels, not payload copies.

use std::future::Future;

/// A channel library as seen by the async workloads.
pub trait Flavor: 'static {
    /// The column name in the report.
    const NAME: &'static str;
    /// Can it make a capacity-0 (rendezvous) channel, Go's `make(chan T)`?
    const RENDEZVOUS: bool;
    /// Can the receiving side be cloned (several consumers on one channel)?
    const MPMC: bool;
    /// Run on gocsp's runtime rather than a plain tokio one.
    const GOCSP_RUNTIME: bool = false;
    /// The sending half.
    type Tx: Tx;
    /// The receiving half.
    type Rx: Rx;
    /// A channel of capacity `cap` (only called with `cap == 0` when [`Flavor::RENDEZVOUS`]).
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    /// Start `fut` as a task on the current runtime; the returned future is its output.
    /// Peers use `tokio::spawn`; gocsp uses its own `go!`.
    fn spawn<T: Send + 'static>(
        fut: impl Future<Output = T> + Send + 'static,
    ) -> impl Future<Output = T> + Send + 'static {
        let handle = tokio::spawn(fut);
        async move { handle.await.expect("bench task panicked") }
    }
}

/// The sending half of a [`Flavor`]'s channel. Dropping every clone closes the channel.
pub trait Tx: Clone + Send + Sync + 'static {
    /// Send `v`, waiting for room; `false` if the channel is closed (every receiver gone).
    fn send(&self, v: u64) -> impl Future<Output = bool> + Send + '_;
}

/// The receiving half of a [`Flavor`]'s channel.
pub trait Rx: Send + Sync + 'static {
    /// The next value, or `None` once every sender is gone and the buffer is empty.
    fn recv(&mut self) -> impl Future<Output = Option<u64>> + Send + '_;
    /// Another receiver on the same channel; only called when [`Flavor::MPMC`].
    fn clone_rx(&self) -> Self;
}

/// A channel library as seen by the OS-thread workloads.
pub trait SyncFlavor: 'static {
    /// The column name in the report.
    const NAME: &'static str;
    /// The sending half.
    type Tx: Clone + Send + 'static;
    /// The receiving half.
    type Rx: Clone + Send + 'static;
    /// Can it make a capacity-0 (rendezvous) channel, Go's `make(chan T)`?
    const RENDEZVOUS: bool = true;
    /// A channel of capacity `cap` (only called with `cap == 0` when [`SyncFlavor::RENDEZVOUS`]).
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx);
    /// Blocking send; panics if closed.
    fn send(tx: &Self::Tx, v: u64);
    /// Blocking receive; `None` once closed and drained.
    fn recv(rx: &Self::Rx) -> Option<u64>;
}

/// tokio's `mpsc`: bounded only (no capacity 0), one consumer.
pub struct TokioMpsc;

impl Flavor for TokioMpsc {
    const NAME: &'static str = "tokio";
    const RENDEZVOUS: bool = false;
    const MPMC: bool = false;
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Rx = tokio::sync::mpsc::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        tokio::sync::mpsc::channel(cap)
    }
}

impl Tx for tokio::sync::mpsc::Sender<u64> {
    async fn send(&self, v: u64) -> bool {
        tokio::sync::mpsc::Sender::send(self, v).await.is_ok()
    }
}

impl Rx for tokio::sync::mpsc::Receiver<u64> {
    async fn recv(&mut self) -> Option<u64> {
        tokio::sync::mpsc::Receiver::recv(self).await
    }
    fn clone_rx(&self) -> Self {
        unreachable!("tokio mpsc has one receiver; MPMC is false")
    }
}

/// async-channel: bounded capacity >= 1, MPMC.
pub struct AsyncChannel;

impl Flavor for AsyncChannel {
    const NAME: &'static str = "async-channel";
    const RENDEZVOUS: bool = false;
    const MPMC: bool = true;
    type Tx = async_channel::Sender<u64>;
    type Rx = async_channel::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        async_channel::bounded(cap)
    }
}

impl Tx for async_channel::Sender<u64> {
    async fn send(&self, v: u64) -> bool {
        async_channel::Sender::send(self, v).await.is_ok()
    }
}

impl Rx for async_channel::Receiver<u64> {
    async fn recv(&mut self) -> Option<u64> {
        async_channel::Receiver::recv(self).await.ok()
    }
    fn clone_rx(&self) -> Self {
        self.clone()
    }
}

/// flume: every capacity including 0, MPMC.
pub struct Flume;

impl Flavor for Flume {
    const NAME: &'static str = "flume";
    const RENDEZVOUS: bool = true;
    const MPMC: bool = true;
    type Tx = flume::Sender<u64>;
    type Rx = flume::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        flume::bounded(cap)
    }
}

impl Tx for flume::Sender<u64> {
    async fn send(&self, v: u64) -> bool {
        self.send_async(v).await.is_ok()
    }
}

impl Rx for flume::Receiver<u64> {
    async fn recv(&mut self) -> Option<u64> {
        self.recv_async().await.ok()
    }
    fn clone_rx(&self) -> Self {
        self.clone()
    }
}

/// kanal: every capacity including 0, MPMC.
pub struct Kanal;

impl Flavor for Kanal {
    const NAME: &'static str = "kanal";
    const RENDEZVOUS: bool = true;
    const MPMC: bool = true;
    type Tx = kanal::AsyncSender<u64>;
    type Rx = kanal::AsyncReceiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        kanal::bounded_async(cap)
    }
}

impl Tx for kanal::AsyncSender<u64> {
    async fn send(&self, v: u64) -> bool {
        kanal::AsyncSender::send(self, v).await.is_ok()
    }
}

impl Rx for kanal::AsyncReceiver<u64> {
    async fn recv(&mut self) -> Option<u64> {
        kanal::AsyncReceiver::recv(self).await.ok()
    }
    fn clone_rx(&self) -> Self {
        self.clone()
    }
}

/// crossfire (3.x, `mpmc`): bounded capacity >= 1 (it makes a capacity-0 request a
/// capacity-1 channel, so it is no rendezvous), MPMC, lock-free.
pub struct Crossfire;

impl Flavor for Crossfire {
    const NAME: &'static str = "crossfire";
    const RENDEZVOUS: bool = false;
    const MPMC: bool = true;
    type Tx = crossfire::MAsyncTx<crossfire::mpmc::Array<u64>>;
    type Rx = crossfire::MAsyncRx<crossfire::mpmc::Array<u64>>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        crossfire_setup();
        crossfire::mpmc::bounded_async(cap)
    }
}

impl Tx for crossfire::MAsyncTx<crossfire::mpmc::Array<u64>> {
    async fn send(&self, v: u64) -> bool {
        crossfire::AsyncTx::send(self, v).await.is_ok()
    }
}

impl Rx for crossfire::MAsyncRx<crossfire::mpmc::Array<u64>> {
    async fn recv(&mut self) -> Option<u64> {
        crossfire::AsyncRx::recv(self).await.ok()
    }
    fn clone_rx(&self) -> Self {
        self.clone()
    }
}

/// crossfire's blocking API on OS threads (capacity >= 1, as [`Crossfire`]).
pub struct CrossfireThreads;

impl SyncFlavor for CrossfireThreads {
    const NAME: &'static str = "crossfire (threads)";
    const RENDEZVOUS: bool = false;
    type Tx = crossfire::MTx<crossfire::mpmc::Array<u64>>;
    type Rx = crossfire::MRx<crossfire::mpmc::Array<u64>>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        crossfire_setup();
        crossfire::mpmc::bounded_blocking(cap)
    }
    fn send(tx: &Self::Tx, v: u64) {
        crossfire::Tx::send(tx, v).expect("bench channel closed");
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        crossfire::Rx::recv(rx).ok()
    }
}

/// What crossfire's docs ask of a program before its channels are used: detect the platform
/// (one core: yield rather than spin) and tune its back-off to it, once per process.
fn crossfire_setup() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(crossfire::detect_backoff_cfg);
}

/// crossbeam-channel on OS threads.
pub struct Crossbeam;

impl SyncFlavor for Crossbeam {
    const NAME: &'static str = "crossbeam";
    type Tx = crossbeam_channel::Sender<u64>;
    type Rx = crossbeam_channel::Receiver<u64>;
    fn bounded(cap: usize) -> (Self::Tx, Self::Rx) {
        crossbeam_channel::bounded(cap)
    }
    fn send(tx: &Self::Tx, v: u64) {
        tx.send(v).expect("bench channel closed");
    }
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.recv().ok()
    }
}
