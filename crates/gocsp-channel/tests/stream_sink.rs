//! `Receiver` as a `futures::Stream` (and `FusedStream`), `Sender::sink()` as a `futures::Sink`,
//! including futures dropped part-way.

use std::pin::Pin;

use futures::future::{select, Either};
use futures::stream::{self, FusedStream};
use futures::{FutureExt, Sink, SinkExt, StreamExt};
use gocsp_channel::{chan, unbounded, SendError, TrySendError};

#[tokio::test]
async fn collect_gets_everything_in_order() {
    let (tx, rx) = unbounded::<u32>();
    for i in 0..100 {
        tx.send(i).await.unwrap();
    }
    drop(tx);
    let all: Vec<u32> = rx.collect().await;
    assert_eq!(all, (0..100).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_from_an_unbuffered_channel() {
    let (tx, rx) = chan::<u32>(0);
    let producer = tokio::spawn(async move {
        for i in 0..1_000 {
            tx.send(i).await.unwrap();
        }
    });
    let all: Vec<u32> = rx.collect().await;
    producer.await.unwrap();
    assert_eq!(all, (0..1_000).collect::<Vec<_>>());
}

/// A `next()` future dropped after it registered leaves the registration with the receiver:
/// the value handed to it meanwhile comes out of the next `next()`.
#[tokio::test]
async fn next_dropped_midway_loses_nothing() {
    let (tx, mut rx) = chan::<u32>(0);
    {
        let mut next = rx.next();
        assert!((&mut next).now_or_never().is_none(), "parked");
    }
    // The stream's registration is still there: a rendezvous send completes.
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(rx.next().await, Some(1));
}

/// The receiver (with a value already handed to its stream registration) is dropped: the value
/// goes to another receiver of the channel.
#[tokio::test]
async fn receiver_dropped_with_a_delivered_value_passes_it_on() {
    let (tx, mut rx) = chan::<u32>(0);
    let rx2 = rx.clone();
    assert!(rx.next().now_or_never().is_none(), "parked");
    tx.send(7).await.unwrap();
    drop(rx);
    assert_eq!(rx2.recv().await, Some(7));
}

/// `next()` raced against a yield many times over: every value comes out once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_raced_against_yield_loses_nothing() {
    let (tx, mut rx) = chan::<u32>(0);
    let producer = tokio::spawn(async move {
        for i in 0..500 {
            tx.send(i).await.unwrap();
        }
    });
    let mut want = 0;
    loop {
        match select(rx.next(), Box::pin(tokio::task::yield_now())).await {
            Either::Left((Some(v), _)) => {
                assert_eq!(v, want);
                want += 1;
            }
            Either::Left((None, _)) => break,
            Either::Right(((), next)) => drop(next),
        }
    }
    producer.await.unwrap();
    assert_eq!(want, 500);
}

#[tokio::test]
async fn fused_stream_terminates_after_close_and_drain() {
    let (tx, mut rx) = chan::<u32>(2);
    assert!(!rx.is_terminated());
    tx.send(1).await.unwrap();
    tx.close();
    assert!(!rx.is_terminated(), "a buffered value is still to come");
    assert_eq!(rx.next().await, Some(1));
    assert!(rx.is_terminated());
    assert_eq!(rx.next().await, None);
    assert_eq!(rx.next().await, None, "stays terminated");
}

/// A permit reserved before the close is a send that has begun: the stream is not terminated
/// until that permit has delivered (or been dropped), whatever the buffer says meanwhile.
#[tokio::test]
async fn fused_stream_waits_for_an_outstanding_permit() {
    let (tx, mut rx) = chan::<u32>(1);
    let permit = tx.reserve().await.unwrap();
    tx.close();
    assert!(rx.is_closed() && rx.is_empty());
    assert!(
        !rx.is_terminated(),
        "a granted permit will still deliver a value"
    );
    permit.send(7);
    assert!(!rx.is_terminated());
    assert_eq!(rx.next().await, Some(7));
    assert!(rx.is_terminated());

    let (tx, rx) = chan::<u32>(1);
    let permit = tx.reserve().await.unwrap();
    tx.close();
    assert!(!rx.is_terminated());
    drop(permit);
    assert!(
        rx.is_terminated(),
        "the dropped permit was the last thing to come"
    );
}

/// In `tokio::select!` against a timer that keeps firing first: values are never lost.
#[tokio::test(start_paused = true)]
async fn next_in_tokio_select_loses_nothing() {
    let (tx, mut rx) = chan::<u32>(0);
    let producer = tokio::spawn(async move {
        for i in 0..50 {
            tx.send(i).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
    });
    let mut seen = Vec::new();
    let mut ticks = 0;
    loop {
        tokio::select! {
            v = rx.next() => match v {
                Some(v) => seen.push(v),
                None => break,
            },
            () = tokio::time::sleep(std::time::Duration::from_millis(1)) => ticks += 1,
        }
    }
    producer.await.unwrap();
    assert!(ticks > 0, "the other branch won sometimes");
    assert_eq!(seen, (0..50).collect::<Vec<_>>());
}

#[tokio::test]
async fn sink_send_and_send_all() {
    let (tx, rx) = chan::<u32>(4);
    let mut sink = tx.sink();
    sink.send(0).await.unwrap();
    let consumer = tokio::spawn(async move { rx.collect::<Vec<u32>>().await });
    sink.send_all(&mut stream::iter(1..100).map(Ok))
        .await
        .unwrap();
    sink.close().await.unwrap();
    drop(sink);
    drop(tx);
    assert_eq!(consumer.await.unwrap(), (0..100).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_on_an_unbuffered_channel() {
    let (tx, rx) = chan::<u32>(0);
    let consumer = tokio::spawn(async move { rx.collect::<Vec<u32>>().await });
    let mut sink = tx.sink();
    drop(tx);
    sink.send_all(&mut stream::iter(0..300).map(Ok))
        .await
        .unwrap();
    drop(sink);
    assert_eq!(consumer.await.unwrap(), (0..300).collect::<Vec<_>>());
}

#[tokio::test]
async fn sink_fails_once_closed() {
    let (tx, rx) = chan::<u32>(1);
    let mut sink = tx.sink();
    rx.close();
    assert_eq!(sink.send(1).await, Err(SendError(())));
    // After `close` on the sink itself, it refuses too, and the channel is untouched.
    let (tx, rx) = chan::<u32>(1);
    let mut sink = tx.sink();
    sink.close().await.unwrap();
    assert_eq!(sink.send(1).await, Err(SendError(())));
    assert!(!tx.is_closed());
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

/// A sink that got ready holds a slot; dropping it (or closing it) gives the slot back.
#[tokio::test]
async fn ready_sink_holds_a_slot_until_dropped() {
    let (tx, rx) = chan::<u32>(1);
    let mut sink = tx.sink();
    futures::future::poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx))
        .await
        .unwrap();
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    drop(sink);
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));

    let mut sink = tx.sink();
    futures::future::poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx))
        .await
        .unwrap();
    assert!(tx.try_send(2).is_err());
    sink.close().await.unwrap();
    tx.try_send(2).unwrap();
}

/// A sink waiting for room, dropped, leaves no registration behind.
#[tokio::test]
async fn waiting_sink_dropped_leaves_nothing_behind() {
    let (tx, rx) = chan::<u32>(1);
    tx.try_send(0).unwrap();
    let mut sink = tx.sink();
    let mut send = sink.send(1);
    assert!((&mut send).now_or_never().is_none(), "full: waits");
    drop(send);
    drop(sink);
    assert_eq!(rx.try_recv(), Ok(0));
    // The freed slot went to nobody.
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
    assert!(rx.is_empty());
}
