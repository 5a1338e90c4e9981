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

/// Many times the bridges' turn (the values one wakeup moves), and not a multiple of it.
const BURST: u32 = 1_000;

/// A value whose JSON encoding fails half-way when `fails`: the bridge must drop the partial
/// payload, not glue it to the next value's.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Pair {
    a: u32,
    b: u32,
}

#[derive(serde::Deserialize)]
struct Picky {
    a: u32,
    fails: bool,
}

impl serde::Serialize for Picky {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeStruct};
        let mut st = s.serialize_struct("Pair", 2)?;
        st.serialize_field("a", &self.a)?;
        if self.fails {
            return Err(S::Error::custom("refuses to encode"));
        }
        st.serialize_field("b", &(self.a * 2))?;
        st.end()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_larger_than_a_turn_arrives_complete_and_in_order_past_a_value_that_does_not_encode(
) {
    let server = server();
    let (pub_client, sub_client) = (connect(&server).await, connect(&server).await);
    let rx = gocsp_nats::receiver::<Pair>(&sub_client, "burst")
        .await
        .unwrap();
    let (tx, bridge) = Bridge::new(&pub_client).spawn_sender::<Picky>("burst");
    // Sent before the bridge runs: its first turns are full ones.
    for a in 0..BURST {
        tx.send(Picky { a, fails: a == 300 }).await.unwrap();
    }
    drop(tx);
    assert_eq!(
        bridge.await.unwrap().unwrap(),
        u64::from(BURST) - 1,
        "every value but the one that does not encode was published"
    );
    for a in (0..BURST).filter(|&a| a != 300) {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("every published value arrives");
        assert_eq!(got, Some(Pair { a, b: a * 2 }), "in order, and whole");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_behind_by_several_turns_gets_them_in_order_with_a_bad_payload_dead_lettered() {
    let server = server();
    let client = connect(&server).await;
    let mut dead = client.subscribe("dlq.behind").await.unwrap();
    // Unbuffered: the bridge waits for each take, so the subscription piles up every message
    // published meanwhile, and the bridge later finds many turns' worth at once.
    let rx = Bridge::new(&client)
        .capacity(0)
        .dead_letter("dlq.behind")
        .receiver::<u32>("behind")
        .await
        .unwrap();
    for v in 0..BURST {
        let payload = if v == 500 {
            "not a number".to_string()
        } else {
            v.to_string()
        };
        client.publish("behind", payload.into()).await.unwrap();
    }
    client.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    for want in (0..BURST).filter(|&v| v != 500) {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("every value arrives");
        assert_eq!(got, Some(want));
    }
    let msg = tokio::time::timeout(
        Duration::from_secs(5),
        futures_util::StreamExt::next(&mut dead),
    )
    .await
    .expect("dead-lettered")
    .unwrap();
    assert_eq!(&msg.payload[..], b"not a number");
}

/// The close lands while values wait in the local channel (the burst outruns the bridge's
/// turns; which turn it interrupts is up to the scheduler): every value accepted before it is
/// published, in order, and a send after it hands its value back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_sender_with_values_still_queued_publishes_every_value_it_accepted() {
    let server = server();
    let (pub_client, sub_client) = (connect(&server).await, connect(&server).await);
    let rx = gocsp_nats::receiver::<u32>(&sub_client, "closing")
        .await
        .unwrap();
    let (tx, bridge) = Bridge::new(&pub_client).spawn_sender::<u32>("closing");
    let sender = gocsp::go!(async move {
        let mut accepted = 0;
        for v in 0..BURST {
            if v == BURST / 2 {
                tokio::task::yield_now().await; // let the bridge start a turn
            }
            if tx.send(v).await.is_err() {
                break;
            }
            accepted += 1;
        }
        tx.close();
        // A send after the close hands its value back.
        assert_eq!(tx.send(BURST).await.unwrap_err().into_inner(), BURST);
        accepted
    });
    let accepted = sender.await.unwrap();
    assert_eq!(accepted, BURST);
    assert_eq!(
        bridge.await.unwrap().unwrap(),
        u64::from(accepted),
        "a close publishes what was accepted before it"
    );
    for want in 0..accepted {
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("every accepted value arrives");
        assert_eq!(got, Some(want));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_receiver_in_the_middle_of_a_burst_ends_its_bridge() {
    let server = server();
    let client = connect(&server).await;
    let rx = Bridge::new(&client)
        .capacity(0)
        .receiver::<u32>("cut")
        .await
        .unwrap();
    for v in 0..BURST {
        client.publish("cut", v.to_string().into()).await.unwrap();
    }
    client.flush().await.unwrap();
    for want in 0..10 {
        assert_eq!(rx.recv().await, Some(want));
    }
    rx.close();
    // At most once: what the bridge held is dropped with the channel, and it unsubscribes.
    assert!(
        eventually(Duration::from_secs(5), || async {
            !dump_text().contains("nats-recv:cut")
        })
        .await,
        "the receive bridge ends mid-burst once its receiver is closed: {}",
        dump_text()
    );
}

/// A codec that only implements `encode`: the send bridge goes through the default
/// `encode_into`.
#[derive(Clone, Copy)]
struct Decimal;

impl gocsp_nats::Codec<u32> for Decimal {
    type Error = std::num::ParseIntError;
    fn encode(&self, v: &u32) -> Result<bytes::Bytes, Self::Error> {
        Ok(v.to_string().into())
    }
    fn decode(&self, p: &[u8]) -> Result<u32, Self::Error> {
        String::from_utf8_lossy(p).parse()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codec_with_only_encode_publishes_through_the_default_encode_into() {
    let server = server();
    let client = connect(&server).await;
    let bridge = Bridge::new(&client).codec(Decimal);
    let rx = bridge.receiver::<u32>("decimal").await.unwrap();
    let (tx, sending) = bridge.spawn_sender::<u32>("decimal");
    for v in 0..BURST {
        tx.send(v).await.unwrap();
    }
    drop(tx);
    assert_eq!(sending.await.unwrap().unwrap(), u64::from(BURST));
    for want in 0..BURST {
        assert_eq!(rx.recv().await, Some(want));
    }
}
