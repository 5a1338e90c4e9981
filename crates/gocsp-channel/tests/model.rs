//! Model-based test: random sequences of non-blocking operations, closes, handle clones and
//! drops, permits, parked receive and send futures, checked step by step against a `VecDeque`
//! model, for `chan(0)`, `chan(1)`, `chan(3)` and `unbounded()`.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures::FutureExt;
use gocsp_channel::{
    chan, unbounded, Permit, Receiver, SendError, Sender, TryRecvError, TrySendError,
};
use proptest::prelude::*;

/// A value that counts its drops.
#[derive(Debug)]
struct Counted(u32, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone, Debug)]
enum Op {
    TrySend(usize),
    TryRecv(usize),
    TryReserve(usize),
    PermitSend(usize),
    PermitDrop(usize),
    /// Start a receive on a clone of receiver `i` and poll it once; it stays parked if it must wait.
    StartRecv(usize),
    PollRecv(usize),
    DropRecv(usize),
    /// Start a send on a clone of sender `i` and poll it once; it stays parked if it must wait.
    StartSend(usize),
    PollSend(usize),
    DropSend(usize),
    CloseTx(usize),
    CloseRx(usize),
    CloneTx(usize),
    CloneRx(usize),
    DropTx(usize),
    DropRx(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..8usize;
    prop_oneof![
        4 => i.clone().prop_map(Op::TrySend),
        4 => i.clone().prop_map(Op::TryRecv),
        2 => i.clone().prop_map(Op::TryReserve),
        2 => i.clone().prop_map(Op::PermitSend),
        1 => i.clone().prop_map(Op::PermitDrop),
        3 => i.clone().prop_map(Op::StartRecv),
        2 => i.clone().prop_map(Op::PollRecv),
        1 => i.clone().prop_map(Op::DropRecv),
        3 => i.clone().prop_map(Op::StartSend),
        2 => i.clone().prop_map(Op::PollSend),
        1 => i.clone().prop_map(Op::DropSend),
        1 => i.clone().prop_map(Op::CloseTx),
        1 => i.clone().prop_map(Op::CloseRx),
        1 => i.clone().prop_map(Op::CloneTx),
        1 => i.clone().prop_map(Op::CloneRx),
        1 => i.clone().prop_map(Op::DropTx),
        1 => i.prop_map(Op::DropRx),
    ]
}

type RecvFut = Pin<Box<dyn Future<Output = Option<Counted>>>>;
type SendFut = Pin<Box<dyn Future<Output = Result<(), SendError<Counted>>>>>;

/// What a parked send future holds, in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SState {
    /// In `sendq` with its value.
    Waiting(u32),
    /// Its value was taken.
    Sent,
    /// The channel closed: the value comes back.
    Rejected(u32),
}

/// What a parked receive future holds, in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RState {
    /// Registered and waiting; in `recvq` unless a close detached it.
    Waiting,
    /// Claimed by the permit with this id (unbuffered only).
    Claimed(u64),
    /// A value was handed to it.
    Got(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grant {
    Slot,
    Claim(u64),
}

/// `cap`: `Some(n)` for `chan(n)`, `None` for unbounded.
#[derive(Default)]
struct Model {
    cap: Option<usize>,
    buf: VecDeque<u32>,
    reserved: usize,
    closed: bool,
    /// Waiting receivers in FIFO order, by receive id.
    recvq: VecDeque<u64>,
    recvs: HashMap<u64, RState>,
    grants: HashMap<u64, Grant>,
    /// Parked senders in FIFO order, by send id.
    sendq: VecDeque<u64>,
    sends: HashMap<u64, SState>,
    /// Live receiver handles, counting the clone each parked receive holds.
    receivers: usize,
    senders: usize,
    dropped: usize,
}

impl Model {
    /// Closed and nothing more to come: the buffer is empty and no slot permit reserved
    /// before the close is outstanding (a permit is a send that has begun).
    fn drained(&self) -> bool {
        self.closed && self.buf.is_empty() && self.reserved == 0
    }
    /// After a slot permit resolved: once drained, waiting receivers are detached (their next
    /// poll sees the close), as at the close itself.
    fn detach_if_drained(&mut self) {
        if self.drained() {
            self.recvq.clear();
        }
    }
    fn has_room(&self) -> bool {
        match self.cap {
            Some(0) => false,
            Some(n) => self.buf.len() + self.reserved < n,
            None => true,
        }
    }
    fn hand_to_receiver(&mut self, v: u32) -> Result<(), u32> {
        match self.recvq.pop_front() {
            Some(r) => {
                self.recvs.insert(r, RState::Got(v));
                Ok(())
            }
            None => Err(v),
        }
    }
    fn close(&mut self) -> bool {
        let was = self.closed;
        self.closed = true;
        // Waiting receivers are detached: their next poll looks at the channel again. While
        // slot permits reserved before the close are outstanding they keep waiting for them.
        if self.reserved == 0 {
            self.recvq.clear();
        }
        // Parked senders get their values back.
        for sid in std::mem::take(&mut self.sendq) {
            let SState::Waiting(v) = self.sends[&sid] else {
                unreachable!("only waiting senders are queued")
            };
            self.sends.insert(sid, SState::Rejected(v));
        }
        !was
    }
    fn receiver_gone(&mut self) {
        self.receivers -= 1;
        if self.receivers == 0 {
            self.close();
            self.dropped += self.buf.len();
            self.buf.clear();
        }
    }
    fn sender_gone(&mut self) {
        self.senders -= 1;
        if self.senders == 0 {
            self.close();
        }
    }
    /// A slot became free: parked senders fill it in FIFO order.
    fn refill(&mut self) {
        while self.has_room() {
            let Some(sid) = self.sendq.pop_front() else {
                break;
            };
            let SState::Waiting(v) = self.sends[&sid] else {
                unreachable!("only waiting senders are queued")
            };
            self.sends.insert(sid, SState::Sent);
            if let Err(v) = self.hand_to_receiver(v) {
                self.buf.push_back(v);
            }
        }
    }
    /// A receive that does not wait: the buffer front (then refill), else a parked sender's value.
    fn try_take(&mut self) -> Option<u32> {
        if let Some(v) = self.buf.pop_front() {
            self.refill();
            return Some(v);
        }
        let sid = self.sendq.pop_front()?;
        let SState::Waiting(v) = self.sends[&sid] else {
            unreachable!("only waiting senders are queued")
        };
        self.sends.insert(sid, SState::Sent);
        Some(v)
    }
    /// A receive that looks at the channel without waiting: a value, else `None` if closed.
    fn take_now(&mut self) -> Option<Option<u32>> {
        if let Some(v) = self.try_take() {
            return Some(Some(v));
        }
        self.drained().then_some(None)
    }
    fn rescue(&mut self, v: u32) {
        if let Err(v) = self.hand_to_receiver(v) {
            self.buf.push_front(v);
        }
    }
}

struct Real {
    txs: Vec<Sender<Counted>>,
    rxs: Vec<Receiver<Counted>>,
    permits: Vec<(u64, Permit<Counted>)>,
    recvs: Vec<(u64, RecvFut)>,
    sends: Vec<(u64, SendFut)>,
}

fn pick(i: usize, len: usize) -> Option<usize> {
    (len > 0).then(|| i % len)
}

fn run(cap: Option<usize>, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = match cap {
        Some(n) => chan::<Counted>(n),
        None => unbounded(),
    };
    let mut real = Real {
        txs: vec![tx],
        rxs: vec![rx],
        permits: Vec::new(),
        recvs: Vec::new(),
        sends: Vec::new(),
    };
    let mut m = Model {
        cap,
        senders: 1,
        receivers: 1,
        ..Model::default()
    };
    let mut next_val = 0u32;
    let mut next_id = 0u64;
    let mut id = || {
        next_id += 1;
        next_id
    };
    // Drops a received value, checking it is the one the model expected.
    let got = |m: &mut Model, real: Option<Counted>, want: Option<u32>| {
        prop_assert_eq!(real.as_ref().map(|c| c.0), want);
        if real.is_some() {
            m.dropped += 1;
        }
        Ok(())
    };

    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::TrySend(i) => {
                let Some(i) = pick(i, real.txs.len()) else {
                    continue;
                };
                let v = next_val;
                next_val += 1;
                let res = real.txs[i].try_send(Counted(v, drops.clone()));
                let want = if m.closed {
                    Err(TrySendError::Closed(v))
                } else {
                    match m.hand_to_receiver(v) {
                        Ok(()) => Ok(()),
                        Err(v) if m.has_room() => {
                            m.buf.push_back(v);
                            Ok(())
                        }
                        Err(v) => Err(TrySendError::Full(v)),
                    }
                };
                let res = res.map_err(|e| match e {
                    TrySendError::Full(c) => TrySendError::Full(c.0),
                    TrySendError::Closed(c) => TrySendError::Closed(c.0),
                });
                if res.is_err() {
                    m.dropped += 1;
                }
                prop_assert_eq!(res, want, "step {}: {:?}", step, op);
            }
            Op::TryRecv(i) => {
                let Some(i) = pick(i, real.rxs.len()) else {
                    continue;
                };
                let res = real.rxs[i].try_recv();
                match m.try_take() {
                    Some(v) => {
                        let res = res.map_err(|e| format!("step {step}: {e:?}"));
                        prop_assert!(res.is_ok(), "{:?}", res);
                        got(&mut m, res.ok(), Some(v))?;
                    }
                    None => {
                        let want = if m.drained() {
                            TryRecvError::Closed
                        } else {
                            TryRecvError::Empty
                        };
                        prop_assert_eq!(res.map(|c| c.0), Err(want), "step {}", step);
                    }
                }
            }
            Op::TryReserve(i) => {
                let Some(i) = pick(i, real.txs.len()) else {
                    continue;
                };
                let res = real.txs[i].try_reserve();
                let want = if m.closed {
                    Err(TrySendError::Closed(()))
                } else if m.cap == Some(0) {
                    match m.recvq.pop_front() {
                        Some(r) => Ok(Grant::Claim(r)),
                        None => Err(TrySendError::Full(())),
                    }
                } else if m.has_room() {
                    m.reserved += 1;
                    Ok(Grant::Slot)
                } else {
                    Err(TrySendError::Full(()))
                };
                match (res, want) {
                    (Ok(p), Ok(g)) => {
                        let pid = id();
                        if let Grant::Claim(r) = g {
                            m.recvs.insert(r, RState::Claimed(pid));
                        }
                        m.grants.insert(pid, g);
                        real.permits.push((pid, p));
                    }
                    (res, want) => prop_assert_eq!(
                        res.map(|_| ()),
                        want.map(|_| ()),
                        "step {}: {:?}",
                        step,
                        op
                    ),
                }
            }
            Op::PermitSend(i) => {
                let Some(i) = pick(i, real.permits.len()) else {
                    continue;
                };
                let (pid, p) = real.permits.swap_remove(i);
                let v = next_val;
                next_val += 1;
                p.send(Counted(v, drops.clone()));
                match m.grants.remove(&pid).unwrap() {
                    // Nobody can ever receive it: the permit drops the value at once.
                    grant if m.receivers == 0 => {
                        if grant == Grant::Slot {
                            m.reserved -= 1;
                        }
                        m.dropped += 1;
                    }
                    Grant::Slot => {
                        m.reserved -= 1;
                        match m.hand_to_receiver(v) {
                            // Straight to a receiver: the slot is free again.
                            Ok(()) => {
                                m.refill();
                                m.detach_if_drained();
                            }
                            Err(v) => m.buf.push_back(v),
                        }
                    }
                    Grant::Claim(r) => {
                        if m.recvs.get(&r) == Some(&RState::Claimed(pid)) {
                            m.recvs.insert(r, RState::Got(v));
                        } else {
                            m.rescue(v);
                        }
                    }
                }
            }
            Op::PermitDrop(i) => {
                let Some(i) = pick(i, real.permits.len()) else {
                    continue;
                };
                let (pid, p) = real.permits.swap_remove(i);
                drop(p);
                match m.grants.remove(&pid).unwrap() {
                    Grant::Slot => {
                        m.reserved -= 1;
                        m.refill();
                        m.detach_if_drained();
                    }
                    Grant::Claim(r) => {
                        if m.recvs.get(&r) == Some(&RState::Claimed(pid)) {
                            if m.closed {
                                // Detached like every waiting receiver at the close: its next
                                // poll drains the buffer, then sees the close.
                                m.recvs.insert(r, RState::Waiting);
                            } else if let Some(v) = m.try_take() {
                                m.recvs.insert(r, RState::Got(v));
                            } else {
                                // Back to the head of the queue.
                                m.recvs.insert(r, RState::Waiting);
                                m.recvq.push_front(r);
                            }
                        }
                    }
                }
            }
            Op::StartRecv(i) => {
                let Some(i) = pick(i, real.rxs.len()) else {
                    continue;
                };
                let rx = real.rxs[i].clone();
                m.receivers += 1;
                let mut fut: RecvFut = Box::pin(async move { rx.recv().await });
                let res = (&mut fut).now_or_never();
                match m.take_now() {
                    Some(want) => {
                        let res = res.ok_or_else(|| format!("step {step}: recv pending"));
                        prop_assert!(res.is_ok(), "{:?}", res);
                        got(&mut m, res.ok().flatten(), want)?;
                        // The future completed and dropped its receiver clone.
                        m.receiver_gone();
                    }
                    None => {
                        prop_assert!(res.is_none(), "step {}: recv ready", step);
                        let rid = id();
                        m.recvq.push_back(rid);
                        m.recvs.insert(rid, RState::Waiting);
                        real.recvs.push((rid, fut));
                    }
                }
            }
            Op::PollRecv(i) => {
                let Some(i) = pick(i, real.recvs.len()) else {
                    continue;
                };
                let res = (&mut real.recvs[i].1).now_or_never();
                let rid = real.recvs[i].0;
                let want = match m.recvs[&rid] {
                    RState::Got(v) => Some(Some(v)),
                    RState::Claimed(_) => None,
                    RState::Waiting if m.recvq.contains(&rid) => None,
                    RState::Waiting => m.take_now(),
                };
                match want {
                    None => prop_assert!(res.is_none(), "step {}: recv ready", step),
                    Some(want) => {
                        let res = res.ok_or_else(|| format!("step {step}: recv {rid} pending"));
                        prop_assert!(res.is_ok(), "{:?}", res);
                        got(&mut m, res.ok().flatten(), want)?;
                        m.recvs.remove(&rid);
                        drop(real.recvs.swap_remove(i));
                        m.receiver_gone();
                    }
                }
            }
            Op::DropRecv(i) => {
                let Some(i) = pick(i, real.recvs.len()) else {
                    continue;
                };
                let (rid, fut) = real.recvs.swap_remove(i);
                drop(fut);
                m.recvq.retain(|&r| r != rid);
                if let Some(RState::Got(v)) = m.recvs.remove(&rid) {
                    m.rescue(v);
                }
                m.receiver_gone();
            }
            Op::StartSend(i) => {
                let Some(i) = pick(i, real.txs.len()) else {
                    continue;
                };
                let tx = real.txs[i].clone();
                m.senders += 1;
                let v = next_val;
                next_val += 1;
                let c = Counted(v, drops.clone());
                let mut fut: SendFut = Box::pin(async move { tx.send(c).await });
                let res = (&mut fut).now_or_never();
                let want = if m.closed {
                    Some(Err(v))
                } else {
                    match m.hand_to_receiver(v) {
                        Ok(()) => Some(Ok(())),
                        Err(v) if m.has_room() => {
                            m.buf.push_back(v);
                            Some(Ok(()))
                        }
                        Err(_) => None,
                    }
                };
                match want {
                    Some(want) => {
                        let res = res.ok_or_else(|| format!("step {step}: send pending"));
                        prop_assert!(res.is_ok(), "{:?}", res);
                        let res = res.unwrap().map_err(|e| e.0 .0);
                        if res.is_err() {
                            m.dropped += 1;
                        }
                        prop_assert_eq!(res, want, "step {}", step);
                        drop(fut);
                        m.sender_gone();
                    }
                    None => {
                        prop_assert!(res.is_none(), "step {}: send ready", step);
                        let sid = id();
                        m.sendq.push_back(sid);
                        m.sends.insert(sid, SState::Waiting(v));
                        real.sends.push((sid, fut));
                    }
                }
            }
            Op::PollSend(i) => {
                let Some(i) = pick(i, real.sends.len()) else {
                    continue;
                };
                let sid = real.sends[i].0;
                let res = (&mut real.sends[i].1).now_or_never();
                let want = match m.sends[&sid] {
                    SState::Waiting(_) => None,
                    SState::Sent => Some(Ok(())),
                    SState::Rejected(v) => Some(Err(v)),
                };
                match want {
                    None => prop_assert!(res.is_none(), "step {}: send ready", step),
                    Some(want) => {
                        let res = res.ok_or_else(|| format!("step {step}: send {sid} pending"));
                        prop_assert!(res.is_ok(), "{:?}", res);
                        let res = res.unwrap().map_err(|e| e.0 .0);
                        if res.is_err() {
                            m.dropped += 1;
                        }
                        prop_assert_eq!(res, want, "step {}", step);
                        m.sends.remove(&sid);
                        drop(real.sends.swap_remove(i));
                        m.sender_gone();
                    }
                }
            }
            Op::DropSend(i) => {
                let Some(i) = pick(i, real.sends.len()) else {
                    continue;
                };
                let (sid, fut) = real.sends.swap_remove(i);
                drop(fut);
                m.sendq.retain(|&s| s != sid);
                // A send that had not completed is undone: its value drops with the future.
                if let Some(SState::Waiting(_) | SState::Rejected(_)) = m.sends.remove(&sid) {
                    m.dropped += 1;
                }
                m.sender_gone();
            }
            Op::CloseTx(i) => {
                let Some(i) = pick(i, real.txs.len()) else {
                    continue;
                };
                prop_assert_eq!(real.txs[i].close(), m.close(), "step {}", step);
            }
            Op::CloseRx(i) => {
                let Some(i) = pick(i, real.rxs.len()) else {
                    continue;
                };
                prop_assert_eq!(real.rxs[i].close(), m.close(), "step {}", step);
            }
            Op::CloneTx(i) => {
                let Some(i) = pick(i, real.txs.len()) else {
                    continue;
                };
                let t = real.txs[i].clone();
                real.txs.push(t);
                m.senders += 1;
            }
            Op::CloneRx(i) => {
                let Some(i) = pick(i, real.rxs.len()) else {
                    continue;
                };
                let r = real.rxs[i].clone();
                real.rxs.push(r);
                m.receivers += 1;
            }
            Op::DropTx(i) => {
                let Some(i) = pick(i, real.txs.len()) else {
                    continue;
                };
                drop(real.txs.swap_remove(i));
                m.sender_gone();
            }
            Op::DropRx(i) => {
                let Some(i) = pick(i, real.rxs.len()) else {
                    continue;
                };
                drop(real.rxs.swap_remove(i));
                m.receiver_gone();
            }
        }
        // Observables after every step.
        let len = m.buf.len();
        for t in &real.txs {
            prop_assert_eq!(t.len(), len, "step {}: len", step);
            prop_assert_eq!(t.is_empty(), len == 0);
            prop_assert_eq!(t.is_closed(), m.closed, "step {}: is_closed", step);
            prop_assert_eq!(t.capacity(), cap);
        }
        for r in &real.rxs {
            prop_assert_eq!(r.len(), len, "step {}: len", step);
            prop_assert_eq!(r.is_closed(), m.closed, "step {}: is_closed", step);
        }
        prop_assert_eq!(
            drops.load(Ordering::SeqCst),
            m.dropped,
            "step {}: values dropped",
            step
        );
    }
    // Everything goes: every value ever created is dropped exactly once.
    drop(real);
    prop_assert_eq!(drops.load(Ordering::SeqCst), next_val as usize);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        // `PROPTEST_CASES=N` for a longer hunt.
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn unbuffered_matches_model(ops in prop::collection::vec(op(), 1..64)) {
        run(Some(0), ops)?;
    }

    #[test]
    fn capacity_one_matches_model(ops in prop::collection::vec(op(), 1..64)) {
        run(Some(1), ops)?;
    }

    #[test]
    fn capacity_three_matches_model(ops in prop::collection::vec(op(), 1..64)) {
        run(Some(3), ops)?;
    }

    #[test]
    fn unbounded_matches_model(ops in prop::collection::vec(op(), 1..64)) {
        run(None, ops)?;
    }
}

/// Regression (found by the model, fixed in 9db4a28): a receiver parked on `chan(0)` and claimed
/// by a permit was put back in the receive queue, unwoken, when the permit was dropped after a
/// `close`: it waited forever on a closed channel.
#[test]
fn claimed_receiver_released_after_close_sees_close() {
    let (tx, rx) = chan::<i32>(0);
    let mut recv = Box::pin(rx.recv());
    assert!((&mut recv).now_or_never().is_none(), "parked");
    let permit = tx.try_reserve().expect("claims the parked receiver");
    assert!(tx.close());
    drop(permit);
    assert_eq!((&mut recv).now_or_never(), Some(None), "must see the close");
}
