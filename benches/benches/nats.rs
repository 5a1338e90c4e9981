//! gocsp-nats against raw async-nats on the same `nats-server` (started by the bench on a free
//! loopback port; `nats-server` must be in `PATH`). One element is one value sent and
//! received; every batch is checked complete.
//!
//! - `NatsCore`: 10,000 JSON values published and received over core NATS. `gocsp` is
//!   `nats::sender` → `nats::receiver` (bridge goroutines and local channels on both ends);
//!   `async-nats` is `client.publish` → `subscriber.next()` with the same encoding.
//! - `NatsJetStream`: 2,000 JSON values published by 16 concurrent senders, each awaiting its
//!   stream acknowledgement, and taken and acknowledged one by one from a durable pull consumer.
//!   `gocsp` is `jetstream::sender` → `jetstream::receiver` (acknowledged on take); `async-nats`
//!   is `js.publish(..).await?.await` → `consumer.messages()` with `msg.ack()`.
//!
//! ```text
//! cargo bench -p gocsp-benches --bench nats
//! ```
//!
//! Single runs move by ±20–50 % on a shared machine: compare two commits by interleaved pairs,
//! as `docs/performance.md` ("NATS bridges") does.
#![forbid(unsafe_code)]
#![allow(
    missing_docs,
    reason = "criterion_group! generates undocumented public items"
)]

mod common;

use std::time::{Duration, Instant};

use async_nats::jetstream::{self as js, consumer::pull, stream};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures_util::StreamExt;
use gocsp::nats::{self, server::NatsServer};
use gocsp::{Receiver, Sender};

/// A value of the size a service sends: an order, about 60 bytes of JSON.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Order {
    id: u64,
    account: u32,
    cents: i64,
    express: bool,
}

fn order(id: u64) -> Order {
    Order {
        id,
        account: (id % 1_000) as u32,
        cents: (id * 37 % 100_000) as i64,
        express: id % 3 == 0,
    }
}

const CORE_BATCH: u64 = 10_000;
const JS_BATCH: u64 = 2_000;
const JS_SENDERS: u64 = 16;

/// The per-value time of `iters` batches of `batch` values, each run by `f`.
fn per_batch<F: FnMut()>(iters: u64, mut f: F) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed()
}

fn nats(c: &mut Criterion) {
    let server = NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // Core NATS: separate publishing and subscribing connections, as two processes would have.
    let (bridge_tx, bridge_rx, raw_pub, mut raw_sub): (Sender<Order>, Receiver<Order>, _, _) = rt
        .block_on(async {
            let (a, b) = (
                async_nats::connect(server.url()).await.unwrap(),
                async_nats::connect(server.url()).await.unwrap(),
            );
            let rx = nats::receiver::<Order>(&b, "bench.bridge").await.unwrap();
            let tx = nats::sender::<Order>(&a, "bench.bridge");
            let sub = b.subscribe("bench.raw").await.unwrap();
            b.flush().await.unwrap();
            (tx, rx, a, sub)
        });

    let mut group = c.benchmark_group("NatsCore");
    group.throughput(Throughput::Elements(CORE_BATCH));
    group.sample_size(10);
    group.bench_function("async-nats", |b| {
        b.iter_custom(|iters| {
            per_batch(iters, || {
                rt.block_on(async {
                    let publisher = {
                        let raw_pub = raw_pub.clone();
                        tokio::spawn(async move {
                            for id in 0..CORE_BATCH {
                                let payload = serde_json::to_vec(&order(id)).unwrap();
                                raw_pub.publish("bench.raw", payload.into()).await.unwrap();
                            }
                        })
                    };
                    for id in 0..CORE_BATCH {
                        let msg = raw_sub.next().await.unwrap();
                        let o: Order = serde_json::from_slice(&msg.payload).unwrap();
                        assert_eq!(o.id, id);
                    }
                    publisher.await.unwrap();
                })
            })
        })
    });
    group.bench_function("gocsp", |b| {
        b.iter_custom(|iters| {
            per_batch(iters, || {
                rt.block_on(async {
                    let publisher = {
                        let tx = bridge_tx.clone();
                        gocsp::go!(async move {
                            for id in 0..CORE_BATCH {
                                tx.send(order(id)).await.unwrap();
                            }
                        })
                    };
                    for id in 0..CORE_BATCH {
                        assert_eq!(bridge_rx.recv().await.unwrap().id, id);
                    }
                    publisher.await.unwrap();
                })
            })
        })
    });
    group.finish();

    // JetStream: one stream per side, a durable consumer each.
    let (js_ctx, raw_consumer, bridge_rx, bridge_tx) = rt.block_on(async {
        let client = async_nats::connect(server.url()).await.unwrap();
        let ctx = js::new(client);
        for (name, subject) in [("RAW", "raw.>"), ("BRIDGE", "bridge.>")] {
            ctx.create_stream(stream::Config {
                name: name.into(),
                subjects: vec![subject.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        }
        let consumer = |stream: &'static str| {
            let ctx = ctx.clone();
            async move {
                ctx.get_stream(stream)
                    .await
                    .unwrap()
                    .create_consumer(pull::Config {
                        durable_name: Some("bench".into()),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
            }
        };
        let raw = consumer("RAW").await;
        let bridge = consumer("BRIDGE").await;
        let rx = nats::jetstream::receiver::<Order>(&bridge).await.unwrap();
        let tx = nats::jetstream::sender::<Order>(&ctx, "bridge.orders");
        (ctx, raw, rx, tx)
    });
    let mut raw_messages = rt.block_on(async {
        raw_consumer
            .stream()
            .max_messages_per_batch(128)
            .messages()
            .await
            .unwrap()
    });

    let mut group = c.benchmark_group("NatsJetStream");
    group.throughput(Throughput::Elements(JS_BATCH));
    group.sample_size(10);
    group.bench_function("async-nats", |b| {
        b.iter_custom(|iters| {
            per_batch(iters, || {
                rt.block_on(async {
                    let senders: Vec<_> = (0..JS_SENDERS)
                        .map(|s| {
                            let ctx = js_ctx.clone();
                            tokio::spawn(async move {
                                for id in (s..JS_BATCH).step_by(JS_SENDERS as usize) {
                                    let payload = serde_json::to_vec(&order(id)).unwrap();
                                    ctx.publish("raw.orders", payload.into())
                                        .await
                                        .unwrap()
                                        .await
                                        .unwrap();
                                }
                            })
                        })
                        .collect();
                    let mut seen = 0u64;
                    while seen < JS_BATCH {
                        let msg = raw_messages.next().await.unwrap().unwrap();
                        let o: Order = serde_json::from_slice(&msg.payload).unwrap();
                        assert!(o.id < JS_BATCH);
                        msg.ack().await.unwrap();
                        seen += 1;
                    }
                    for s in senders {
                        s.await.unwrap();
                    }
                })
            })
        })
    });
    group.bench_function("gocsp", |b| {
        b.iter_custom(|iters| {
            per_batch(iters, || {
                rt.block_on(async {
                    let senders: Vec<_> = (0..JS_SENDERS)
                        .map(|s| {
                            let tx = bridge_tx.clone();
                            gocsp::go!(async move {
                                for id in (s..JS_BATCH).step_by(JS_SENDERS as usize) {
                                    tx.send(order(id)).await.unwrap();
                                }
                            })
                        })
                        .collect();
                    for _ in 0..JS_BATCH {
                        assert!(bridge_rx.recv().await.unwrap().id < JS_BATCH);
                    }
                    for s in senders {
                        s.await.unwrap();
                    }
                })
            })
        })
    });
    group.finish();
    drop(server);
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = nats
}
criterion_main!(benches);
