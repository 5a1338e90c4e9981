//! Core NATS bridges: a `Sender` that publishes and a `Receiver` fed by a subscription or a
//! queue group are ordinary gocsp channels — values arrive in order and complete, `select!`
//! mixes them with local channels and timers, the bridges show in the dump under their
//! names, and closing either side stops its bridge.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use gocsp::{chan, select, time::after, Context};
use gocsp_nats::Bridge;

use crate::support::{connect, eventually, server, Peer};

/// The dump's text, where goroutines appear under their names.
fn dump_text() -> String {
    gocsp::dump().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_of_100_000_values_arrives_complete_and_in_order() {
    let server = server();
    let (pub_client, sub_client) = (connect(&server).await, connect(&server).await);
    let rx = gocsp_nats::receiver::<u64>(&sub_client, "numbers")
        .await
        .unwrap();
    let (tx, bridge) = Bridge::new(&pub_client).spawn_sender::<u64>("numbers");
    const N: u64 = 100_000;
    const WINDOW: u64 = 10_000;
    let started = Instant::now();
    // One publisher, one subscriber: NATS keeps the order. The sender stays at most one
    // window ahead of the receiver, so no buffer on the way can overflow (core NATS would
    // drop values for a slow consumer; that is the mode's contract, not what is tested here).
    let (acked_tx, acked) = chan::<u64>(1);
    let producer = gocsp::go!(async move {
        let mut next = 0;
        let mut allowed = WINDOW;
        while next < N {
            while next < allowed.min(N) {
                tx.send(next).await.unwrap();
                next += 1;
            }
            allowed = acked.recv().await.unwrap() + WINDOW;
        }
    });
    for want in 0..N {
        let got = rx.recv().await.expect("the receiver stays open");
        assert_eq!(got, want, "values arrive in the order they were sent");
        if (want + 1) % WINDOW == 0 {
            let _ = acked_tx.try_send(want + 1);
        }
    }
    producer.await.unwrap();
    assert_eq!(
        bridge.await.unwrap().unwrap(),
        N,
        "every value was published"
    );
    eprintln!("core: {N} values in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_group_of_three_processes_receives_each_value_exactly_once() {
    let server = server();
    let url = server.url();
    let peers: Vec<Peer> = (0..3)
        .map(|_| Peer::start("queue", &url, &["jobs", "workers"]))
        .collect();
    for p in &peers {
        p.expect_line("ready", Duration::from_secs(30));
    }
    let client = connect(&server).await;
    const N: u64 = 30_000;
    let (tx, bridge) = Bridge::new(&client).spawn_sender::<u64>("jobs");
    for v in 0..N {
        tx.send(v).await.unwrap();
    }
    drop(tx);
    assert_eq!(bridge.await.unwrap().unwrap(), N);

    let mut seen = HashSet::new();
    let mut per_peer = [0u64; 3];
    let deadline = Instant::now() + Duration::from_secs(60);
    while (seen.len() as u64) < N && Instant::now() < deadline {
        for (i, p) in peers.iter().enumerate() {
            while let Some(line) = p.line(Duration::from_millis(1)) {
                let v: u64 = line
                    .strip_prefix("got ")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("unexpected line {line:?}"));
                assert!(seen.insert(v), "value {v} delivered twice in a queue group");
                per_peer[i] += 1;
            }
        }
    }
    assert_eq!(seen.len() as u64, N, "every value reached one member");
    assert!(
        per_peer.iter().all(|&n| n > 0),
        "the group spreads values over its members: {per_peer:?}"
    );
    eprintln!("queue group: per process {per_peer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_mixes_a_nats_receiver_a_local_channel_and_a_timeout() {
    let server = server();
    let client = connect(&server).await;
    let remote = gocsp_nats::receiver::<String>(&client, "mixed")
        .await
        .unwrap();
    let publisher = gocsp_nats::sender::<String>(&client, "mixed");
    let (local_tx, local) = chan::<String>(0);

    gocsp::go!(async move {
        for i in 0..3 {
            publisher.send(format!("remote {i}")).await.unwrap();
            local_tx.send(format!("local {i}")).await.unwrap();
        }
    });
    let (mut from_remote, mut from_local, mut timeouts) = (Vec::new(), Vec::new(), 0);
    let mut local_open = true;
    while timeouts == 0 {
        // A closed local channel is always ready; as in Go, it becomes a nil channel then.
        let local_case = if local_open { Some(&local) } else { None };
        select! {
            recv(remote) -> v => from_remote.push(v.unwrap()),
            recv(local_case) -> v => match v {
                Some(v) => from_local.push(v),
                None => local_open = false,
            },
            recv(after(Duration::from_millis(500))) => timeouts += 1,
        }
    }
    assert_eq!(from_remote, ["remote 0", "remote 1", "remote 2"]);
    assert_eq!(from_local, ["local 0", "local 1", "local 2"]);
    assert_eq!(timeouts, 1, "the timeout fires once nothing else is ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_context_stops_a_receiving_worker_and_dropping_the_receiver_ends_its_bridge() {
    let server = server();
    let client = connect(&server).await;
    let rx = gocsp_nats::receiver::<u32>(&client, "ctx.values")
        .await
        .unwrap();
    let (tx, send_bridge) = Bridge::new(&client).spawn_sender::<u32>("ctx.values");
    // A goroutine is listed in the dump from its first wait.
    let listed = |name: &'static str| {
        crate::support::eventually(Duration::from_secs(5), move || async move {
            dump_text().contains(name)
        })
    };
    assert!(listed("nats-recv:ctx.values").await, "{}", dump_text());
    assert!(listed("nats-send:ctx.values").await, "{}", dump_text());

    let (ctx, cancel) = Context::background().with_cancel();
    let (seen_tx, seen) = chan::<u32>(2);
    let worker = gocsp::go!(async move {
        let mut got = Vec::new();
        loop {
            select! {
                recv(rx) -> v => {
                    let v = v.unwrap();
                    got.push(v);
                    seen_tx.send(v).await.unwrap();
                }
                recv(ctx.done()) => return got,   // rx dropped here
            }
        }
    });
    tx.send(1).await.unwrap();
    tx.send(2).await.unwrap();
    assert_eq!((seen.recv().await, seen.recv().await), (Some(1), Some(2)));
    cancel.cancel();
    assert_eq!(worker.await.unwrap(), [1, 2]);
    assert!(
        eventually(Duration::from_secs(5), || async {
            !dump_text().contains("nats-recv:ctx.values")
        })
        .await,
        "the receive bridge ends once its receiver is gone"
    );
    drop(tx);
    assert_eq!(
        send_bridge.await.unwrap().unwrap(),
        2,
        "the send bridge drains and ends"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_does_not_decode_is_dead_lettered_and_the_stream_goes_on() {
    let server = server();
    let client = connect(&server).await;
    let mut dead = client.subscribe("dlq.numbers").await.unwrap();
    let rx = Bridge::new(&client)
        .dead_letter("dlq.numbers")
        .receiver::<u64>("numbers.in")
        .await
        .unwrap();
    client
        .publish("numbers.in", "not a number".into())
        .await
        .unwrap();
    client.publish("numbers.in", "42".into()).await.unwrap();
    assert_eq!(
        rx.recv().await,
        Some(42),
        "a bad payload does not stop the bridge"
    );
    let msg = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::StreamExt::next(&mut dead),
    )
    .await
    .expect("dead-lettered")
    .unwrap();
    assert_eq!(&msg.payload[..], b"not a number");
    let headers = msg.headers.expect("headers");
    assert_eq!(
        headers
            .get(gocsp_nats::DEAD_LETTER_SUBJECT)
            .map(|v| v.as_str()),
        Some("numbers.in")
    );
    assert!(headers.get(gocsp_nats::DEAD_LETTER_ERROR).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn once_the_connection_is_gone_the_receiver_closes_and_sends_hand_values_back() {
    let server = server();
    let client = connect(&server).await;
    let rx = gocsp_nats::receiver::<u8>(&client, "gone").await.unwrap();
    let (tx, bridge) = Bridge::new(&client).capacity(0).spawn_sender::<u8>("gone");
    client.drain().await.unwrap();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), rx.recv()).await,
        Ok(None),
        "a receiver whose subscription ended reports closed"
    );
    // The drained client's connection task ends shortly after its subscriptions: until then a
    // publish may still be accepted (and lost: at most once). Once one fails, the bridge closes
    // the channel, and every later send hands its value back.
    let back = tokio::time::timeout(Duration::from_secs(10), async {
        for v in 1.. {
            if let Err(e) = tx.send(v).await {
                return e.into_inner();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        unreachable!()
    })
    .await
    .expect("a send fails once the connection is gone");
    assert!(back > 0);
    assert!(
        bridge.await.unwrap().is_err(),
        "the bridge reports the lost connection"
    );
    assert_eq!(tx.send(0).await.unwrap_err().into_inner(), 0);
}
