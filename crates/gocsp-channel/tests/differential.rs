//! Differential test against async-channel, our reference peer: the same random sequence of
//! non-blocking operations on `gocsp_channel::chan(n)` / `unbounded()` and on
//! `async_channel::bounded(n)` / `unbounded()` must give the same result at every step.
//! (async-channel has no rendezvous channel, so capacity 0 is covered by tests/model.rs.)

#![cfg(not(loom))]

use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    TrySend(u32),
    TryRecv,
    CloseTx,
    CloseRx,
    Len,
    IsClosed,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u32>().prop_map(Op::TrySend),
        4 => Just(Op::TryRecv),
        1 => Just(Op::CloseTx),
        1 => Just(Op::CloseRx),
        1 => Just(Op::Len),
        1 => Just(Op::IsClosed),
    ]
}

/// What either channel answered, in a form both can produce.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Sent,
    Full(u32),
    SendClosed(u32),
    Got(u32),
    Empty,
    RecvClosed,
    Closed(bool),
    Len(usize),
    IsClosed(bool),
}

/// `fn $name(cap, ops)`: runs `ops` on one implementation. The two crates spell every call and
/// error variant the same, so one body serves both; only their answers are compared.
macro_rules! runner {
    ($name:ident, $krate:ident, $bounded:ident) => {
        fn $name(cap: Option<usize>, ops: &[Op]) -> Vec<Answer> {
            use $krate::{TryRecvError, TrySendError};
            let (tx, rx) = match cap {
                Some(n) => $krate::$bounded::<u32>(n),
                None => $krate::unbounded::<u32>(),
            };
            ops.iter()
                .map(|op| match op {
                    Op::TrySend(v) => match tx.try_send(*v) {
                        Ok(()) => Answer::Sent,
                        Err(TrySendError::Full(v)) => Answer::Full(v),
                        Err(TrySendError::Closed(v)) => Answer::SendClosed(v),
                    },
                    Op::TryRecv => match rx.try_recv() {
                        Ok(v) => Answer::Got(v),
                        Err(TryRecvError::Empty) => Answer::Empty,
                        Err(TryRecvError::Closed) => Answer::RecvClosed,
                    },
                    Op::CloseTx => Answer::Closed(tx.close()),
                    Op::CloseRx => Answer::Closed(rx.close()),
                    Op::Len => Answer::Len(rx.len()),
                    Op::IsClosed => Answer::IsClosed(tx.is_closed()),
                })
                .collect()
        }
    };
}

runner!(run_gocsp, gocsp_channel, chan);
runner!(run_async_channel, async_channel, bounded);

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn same_answers_as_async_channel(
        cap in prop_oneof![Just(Some(1usize)), Just(Some(2)), Just(Some(5)), Just(None)],
        ops in proptest::collection::vec(op(), 0..64),
    ) {
        prop_assert_eq!(run_gocsp(cap, &ops), run_async_channel(cap, &ops));
    }
}
