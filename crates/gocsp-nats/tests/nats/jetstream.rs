//! JetStream bridges without faults: a send completes only once stored (or hands the value
//! back), a receiver acknowledges only what a local receiver took, a receiver dropped
//! mid-stream (a cancelled context) leaves every untaken value for the next one, and no value
//! is duplicated when nothing fails.

use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{pull, AckPolicy};
use gocsp::{select, Context, SendError};
use gocsp_nats::jetstream::{self, Bridge};

use crate::support::{connect, consumer, js, pending, server, stream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_of_100_000_values_each_taken_exactly_once() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(10));
    stream(&js, "RT", &["rt.>"]).await;
    let consumer = consumer(&js, "RT", "rt-worker", Duration::from_secs(30)).await;
    let rx = Bridge::new()
        .batch(256)
        .receiver::<u64>(&consumer)
        .await
        .unwrap();
    let tx = jetstream::sender::<u64>(&js, "rt.values");
    const N: u64 = 100_000;
    const SENDERS: u64 = 32;
    let started = Instant::now();
    // Each send waits for its acknowledgement; 32 goroutines keep 32 publishes in flight.
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let tx = tx.clone();
            gocsp::go!(async move {
                let mut v = s;
                while v < N {
                    let ack = tx.send(v).await.expect("stored");
                    assert!(!ack.duplicate);
                    v += SENDERS;
                }
            })
        })
        .collect();
    let mut seen = vec![false; N as usize];
    for _ in 0..N {
        let v = rx.recv().await.expect("the receiver stays open");
        assert!(
            !std::mem::replace(&mut seen[v as usize], true),
            "{v} taken twice"
        );
    }
    for s in senders {
        s.await.unwrap();
    }
    eprintln!("jetstream: {N} values in {:?}", started.elapsed());
    assert!(seen.iter().all(|&s| s));
    // Every value was acknowledged once taken: nothing pending, nothing left to deliver.
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            pending(&consumer).await == (0, 0)
        })
        .await,
        "pending after the round trip: {:?}",
        pending(&consumer).await
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err(),
        "no value is delivered twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_that_no_stream_stores_hands_the_value_back() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(2));
    let tx = jetstream::sender::<String>(&js, "nowhere");
    let started = Instant::now();
    let err = tx.send("lost?".to_string()).await.unwrap_err();
    assert_eq!(err, SendError("lost?".to_string()));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_is_the_select_case_and_close_hands_values_back() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(5));
    stream(&js, "SEL", &["sel.>"]).await;
    let tx = Bridge::new().max_in_flight(1).sender::<u32>(&js, "sel.v");
    let (ctx, cancel) = Context::background().with_cancel();

    // A free slot: the send case is chosen, and the publish completes after the select.
    let ack = select! {
        fut(tx.reserve()) -> permit => permit.unwrap().send(1).await.unwrap(),
        recv(ctx.done()) => unreachable!("not cancelled"),
    };
    assert_eq!((ack.stream.as_str(), ack.sequence), ("SEL", 1));

    // The only slot is held: the send case waits, the cancelled context wins, and the dropped
    // reservation takes no slot with it.
    let held = tx.reserve().await.unwrap();
    cancel.cancel();
    let chosen = select! {
        fut(tx.reserve()) -> _p => "send",
        recv(ctx.done()) => "cancelled",
    };
    assert_eq!(chosen, "cancelled");
    drop(held);
    assert_eq!(tx.send(2).await.unwrap().sequence, 2, "the slot came back");

    assert!(tx.close());
    assert!(!tx.clone().close());
    assert_eq!(tx.send(3).await.unwrap_err().into_inner(), 3);
    assert!(tx.reserve().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_dropped_on_cancel_leaves_every_untaken_value_for_the_next() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(5));
    stream(&js, "CANCEL", &["cancel.>"]).await;
    // AckWait is long: what comes back quickly comes back through the bridge's `-NAK`.
    let consumer = consumer(&js, "CANCEL", "c", Duration::from_secs(60)).await;
    let tx = jetstream::sender::<u32>(&js, "cancel.v");
    const N: u32 = 1_000;
    for v in 0..N {
        tx.send(v).await.unwrap();
    }

    let rx = Bridge::new()
        .batch(64)
        .receiver::<u32>(&consumer)
        .await
        .unwrap();
    let (ctx, cancel) = Context::background().with_cancel();
    let worker = gocsp::go!(async move {
        let mut taken = Vec::new();
        loop {
            select! {
                recv(rx) -> v => {
                    taken.push(v.unwrap());
                    if taken.len() == 300 {
                        cancel.cancel();
                    }
                }
                recv(ctx.done()) => return taken,   // the receiver is dropped here
            }
        }
    });
    // After the cancel both cases are ready and select! picks one at random, so the worker
    // may take a few more before it sees the context done.
    let first = worker.await.unwrap();
    assert!(first.len() >= 300, "{}", first.len());

    let started = Instant::now();
    let rx = jetstream::receiver::<u32>(&consumer).await.unwrap();
    let mut rest = Vec::new();
    while rest.len() < N as usize - first.len() {
        let v = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("the untaken values come back")
            .unwrap();
        rest.push(v);
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "redelivered by -NAK, well before AckWait"
    );
    let mut all: Vec<u32> = first.iter().chain(&rest).copied().collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), N as usize, "none lost, none duplicated");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err(),
        "nothing more: no duplicates without a fault"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_dropped_without_ack_is_redelivered_after_ack_wait() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(5));
    stream(&js, "DLV", &["dlv.>"]).await;
    let consumer = consumer(&js, "DLV", "d", Duration::from_secs(1)).await;
    jetstream::sender::<String>(&js, "dlv.job")
        .send("job".into())
        .await
        .unwrap();
    let rx = jetstream::deliveries::<String>(&consumer).await.unwrap();
    let first = rx.recv().await.unwrap();
    assert_eq!((first.value().as_str(), first.delivered()), ("job", 1));
    let seq = first.stream_sequence();
    drop(first); // not acknowledged: not processed
    let again = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("redelivered after AckWait")
        .unwrap();
    assert_eq!(*again, "job");
    assert_eq!(again.delivered(), 2);
    assert_eq!(again.stream_sequence(), seq);
    again.ack_confirmed().await.unwrap();
    assert_eq!(pending(&consumer).await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_waiting_for_a_receiver_longer_than_ack_wait_is_not_redelivered() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(5));
    stream(&js, "SLOW", &["slow.>"]).await;
    let consumer = consumer(&js, "SLOW", "s", Duration::from_secs(1)).await;
    let tx = jetstream::sender::<u32>(&js, "slow.v");
    for v in 0..3 {
        tx.send(v).await.unwrap();
    }
    let rx = jetstream::deliveries::<u32>(&consumer).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        // Three AckWaits pass while the bridge holds the next values for this slow receiver.
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let d = rx.recv().await.unwrap();
        got.push((*d, d.delivered()));
        d.ack().await.unwrap();
    }
    assert_eq!(
        got,
        [(0, 1), (1, 1), (2, 1)],
        "held values are kept alive, not redelivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_does_not_decode_is_dead_lettered_then_terminated() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(5));
    stream(&js, "BAD", &["bad.>"]).await;
    stream(&js, "DLQ", &["dlq.>"]).await;
    let consumer = consumer(&js, "BAD", "b", Duration::from_secs(30)).await;
    js.publish("bad.v", "{not json".into())
        .await
        .unwrap()
        .await
        .unwrap();
    js.publish("bad.v", "7".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let rx = Bridge::new()
        .dead_letter(&js, "dlq.bad")
        .receiver::<u32>(&consumer)
        .await
        .unwrap();
    assert_eq!(
        rx.recv().await,
        Some(7),
        "the bad payload does not stop the bridge"
    );
    let dlq = js.get_stream("DLQ").await.unwrap();
    let msg = dlq.get_raw_message(1).await.expect("dead-lettered");
    assert_eq!(&msg.payload[..], b"{not json");
    assert_eq!(
        msg.headers
            .get(gocsp_nats::DEAD_LETTER_SUBJECT)
            .map(|v| v.as_str()),
        Some("bad.v")
    );
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            pending(&consumer).await == (0, 0)
        })
        .await,
        "the bad message is terminated, the good one acknowledged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_without_explicit_acks_is_refused() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(5));
    let stream = stream(&js, "NOACK", &["noack.>"]).await;
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("n".into()),
            ack_policy: AckPolicy::None,
            ..Default::default()
        })
        .await
        .unwrap();
    let err = jetstream::receiver::<u32>(&consumer).await.unwrap_err();
    assert!(err.to_string().contains("AckPolicy::Explicit"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_receive_bridge_is_a_named_goroutine_in_the_dump() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(5));
    stream(&js, "NAMED", &["named.>"]).await;
    let consumer = consumer(&js, "NAMED", "n", Duration::from_secs(30)).await;
    let rx = Bridge::new().receiver::<u32>(&consumer).await.unwrap();
    // A goroutine is listed in the dump from its first wait.
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            gocsp::dump().to_string().contains("nats-recv:NAMED")
        })
        .await,
        "{}",
        gocsp::dump()
    );
    drop(rx);
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            !gocsp::dump().to_string().contains("nats-recv:NAMED")
        })
        .await,
        "the bridge ends once its receiver is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_offered_to_a_slow_receiver_stay_alive_and_are_each_acknowledged_once_taken() {
    let server = server();
    let client = connect(&server).await;
    let js = js(&client, Duration::from_secs(5));
    stream(&js, "OFFER", &["offer.>"]).await;
    // An AckWait with room for a stall of a loaded machine between two progress acks.
    let consumer = consumer(&js, "OFFER", "o", Duration::from_secs(2)).await;
    let tx = jetstream::sender::<u32>(&js, "offer.v");
    const N: u32 = 40;
    for v in 0..N {
        tx.send(v).await.unwrap();
    }
    // Several pulls' worth: the bridge offers up to 16 values at once on the unbuffered channel.
    let rx = Bridge::new()
        .batch(16)
        .receiver::<u32>(&consumer)
        .await
        .unwrap();
    // Three AckWaits pass while the bridge holds its offered values for nobody.
    tokio::time::sleep(Duration::from_millis(6_200)).await;
    let mut got = Vec::new();
    for _ in 0..N {
        got.push(
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("every value arrives")
                .unwrap(),
        );
    }
    assert_eq!(
        got,
        (0..N).collect::<Vec<_>>(),
        "in stream order, none twice"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(2_500), rx.recv())
            .await
            .is_err(),
        "nothing redelivered: held values were kept alive, taken ones acknowledged"
    );
    assert!(
        crate::support::eventually(Duration::from_secs(5), || async {
            pending(&consumer).await == (0, 0)
        })
        .await,
        "every taken value is acknowledged: {:?}",
        pending(&consumer).await
    );
}
