//! The macro's own contract: evaluation order, lazy send values, what happens to unused
//! results, and cancellation of a waiting `select!`. The semantics every select keeps
//! (fairness, exactly-once handoff) are tested in `rules` and `stress`, Go's select tests in
//! `tests/golang.rs`; here the cases are chosen so that only the expansion is under test.

use std::future::pending;
use std::sync::Mutex;
use std::time::Duration;

use gocsp::{chan, select, select_blocking, Receiver};

/// Records the order in which the macro evaluates user expressions. A `Mutex`, not a
/// `RefCell`: values and futures in an async `select!` must be `Send`.
#[derive(Default)]
struct Log(Mutex<Vec<&'static str>>);

impl Log {
    fn note<T>(&self, what: &'static str, value: T) -> T {
        self.0.lock().unwrap().push(what);
        value
    }

    fn take(&self) -> Vec<&'static str> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

#[tokio::test]
async fn guards_and_arguments_are_evaluated_once_in_written_order() {
    let log = Log::default();
    let (tx, rx) = chan::<u32>(1);
    let (full_tx, _full_rx) = chan::<u32>(0);
    tx.send(1).await.unwrap();
    let got = select! {
        recv(log.note("rx", &rx)) -> v if log.note("guard rx", true) => v,
        send(log.note("tx", &full_tx), log.note("value", 2)) -> _ if log.note("guard tx", true) => None,
        fut(log.note("fut", pending::<Option<u32>>())) -> v => v,
        recv(log.note("disabled", &rx)) -> v if log.note("guard off", false) => v,
    };
    assert_eq!(got, Some(1));
    // The send value was not built: its case did not fire. The disabled case's channel
    // expression was not evaluated.
    assert_eq!(
        log.take(),
        ["guard rx", "rx", "guard tx", "tx", "fut", "guard off"]
    );
}

#[tokio::test]
async fn the_send_value_is_built_after_the_choice_and_before_the_body() {
    let log = Log::default();
    let (tx, rx) = chan::<u32>(1);
    select! {
        send(log.note("tx", &tx), log.note("value", 5)) -> res => {
            log.note("body", ());
            res.unwrap();
        }
    }
    assert_eq!(log.take(), ["tx", "value", "body"]);
    assert_eq!(rx.recv().await, Some(5));
}

#[tokio::test]
async fn a_cancelled_select_builds_no_value_and_takes_nothing() {
    let log = Log::default();
    let (tx, rx) = chan::<u32>(0); // unbuffered and nobody receives: the send never fires
    let (other_tx, other_rx) = chan::<u32>(1);
    let waiting = async {
        select! {
            send(tx, log.note("value", 1)) -> _ => "send",
            recv(other_rx) -> _ => "recv",
        }
    };
    // Poll the select once (it waits), then drop it.
    tokio::select! {
        biased;
        _ = waiting => unreachable!("nothing is ready"),
        _ = std::future::ready(()) => {}
    }
    assert!(log.take().is_empty());
    // Nothing was taken from the other channel either.
    other_tx.send(2).await.unwrap();
    assert_eq!(other_rx.try_recv().ok(), Some(2));
    drop(rx);
}

#[tokio::test]
async fn an_unbound_value_is_dropped_before_the_body_runs() {
    struct Flag<'a>(&'a Log);
    impl Drop for Flag<'_> {
        fn drop(&mut self) {
            self.0.note("dropped", ());
        }
    }
    let log = Log::default();
    let (tx, rx) = chan::<Flag<'_>>(1);
    tx.send(Flag(&log)).await.unwrap();
    select! {
        recv(rx) => log.note("body", ()),
    }
    select! {
        fut(async { Flag(&log) }) => log.note("fut body", ()),
    }
    assert_eq!(log.take(), ["dropped", "body", "dropped", "fut body"]);
}

#[tokio::test]
async fn without_biased_both_ready_cases_fire() {
    let (a_tx, a_rx) = chan::<()>(1);
    let (b_tx, b_rx) = chan::<()>(1);
    let mut counts = [0_u32; 2];
    for _ in 0..200 {
        let _ = a_tx.try_send(());
        let _ = b_tx.try_send(());
        select! {
            recv(a_rx) => counts[0] += 1,
            recv(b_rx) => counts[1] += 1,
        }
    }
    // Each fires with probability 1/2 per round; both at least once is certain in practice
    // (the chance of failing is 2^-199). Uniformity itself is tested by the engine.
    assert!(counts[0] > 0 && counts[1] > 0, "{counts:?}");
}

#[tokio::test(start_paused = true)]
async fn a_select_with_only_nil_cases_waits_until_cancelled() {
    let nil: Option<&Receiver<u32>> = None;
    let never = async {
        select! {
            recv(nil) -> v => v,
            fut(pending::<Option<u32>>()) -> v if false => v,
        }
    };
    let waited = tokio::time::timeout(Duration::from_secs(60), never).await;
    assert!(waited.is_err());
}

#[test]
fn select_blocking_takes_default_when_nothing_is_ready() {
    let (tx, rx) = chan::<u32>(1);
    let got = select_blocking! {
        recv(rx) -> v => v,
        default => None,
    };
    assert_eq!(got, None);
    tx.send_blocking(3).unwrap();
    let got = select_blocking! {
        recv(rx) -> v => v,
        default => None,
    };
    assert_eq!(got, Some(3));
}
