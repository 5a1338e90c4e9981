//! The roles the multi-process tests run in child processes (see `support::Peer`). Run as a
//! plain test without `GOCSP_NATS_PEER`, `peer` does nothing.
//!
//! Each role prints one line per event and flushes it at once: what a process wrote before it
//! was killed is in the pipe, so the parent knows exactly what it processed.

use std::io::Write;
use std::time::Duration;

#[test]
fn peer() {
    let Ok(role) = std::env::var("GOCSP_NATS_PEER") else {
        return;
    };
    let url = std::env::var("GOCSP_NATS_URL").expect("GOCSP_NATS_URL");
    let args: Vec<String> = std::env::var("GOCSP_NATS_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    gocsp::run(async move {
        let client = async_nats::connect(url).await.expect("connect");
        match role.as_str() {
            "queue" => queue(client, &args).await,
            "js-receiver" => js_receiver(client, &args).await,
            "js-deliveries" => js_deliveries(client, &args).await,
            other => panic!("unknown peer role {other}"),
        }
    });
}

fn say(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    out.write_fmt(line).expect("stdout");
    out.write_all(b"\n").expect("stdout");
    out.flush().expect("stdout");
}

/// `queue <subject> <group>`: a core queue-group member; prints `ready`, then `got <v>` for
/// every value.
async fn queue(client: async_nats::Client, args: &[String]) {
    let rx = gocsp_nats::queue_receiver::<u64>(&client, &args[0], &args[1])
        .await
        .expect("queue_receiver");
    say(format_args!("ready"));
    while let Some(v) = rx.recv().await {
        say(format_args!("got {v}"));
    }
}

/// The durable consumer `args[1]` of stream `args[0]`.
async fn pull_consumer(
    client: async_nats::Client,
    args: &[String],
) -> async_nats::jetstream::consumer::PullConsumer {
    async_nats::jetstream::new(client)
        .get_stream(&args[0])
        .await
        .expect("stream")
        .get_consumer(&args[1])
        .await
        .expect("consumer")
}

/// `js-receiver <stream> <consumer>`: takes values from the durable consumer with
/// `jetstream::receiver` (acknowledged when taken); prints `took <v>` for each.
async fn js_receiver(client: async_nats::Client, args: &[String]) {
    let consumer = pull_consumer(client, args).await;
    let rx = gocsp_nats::jetstream::receiver::<u64>(&consumer)
        .await
        .expect("receiver");
    say(format_args!("ready"));
    while let Some(v) = rx.recv().await {
        say(format_args!("took {v}"));
        // A little work per value, so a kill lands mid-stream.
        gocsp::time::sleep(Duration::from_micros(100)).await;
    }
}

/// `js-deliveries <stream> <consumer>`: as `js-receiver`, with `jetstream::deliveries`:
/// prints `took <v> <delivered>`, then acknowledges.
async fn js_deliveries(client: async_nats::Client, args: &[String]) {
    let consumer = pull_consumer(client, args).await;
    let rx = gocsp_nats::jetstream::deliveries::<u64>(&consumer)
        .await
        .expect("deliveries");
    say(format_args!("ready"));
    while let Some(d) = rx.recv().await {
        say(format_args!("took {} {}", *d, d.delivered()));
        gocsp::time::sleep(Duration::from_micros(100)).await;
        d.ack().await.expect("ack");
    }
}
