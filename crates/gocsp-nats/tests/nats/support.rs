//! What the tests share: a real server, clients, JetStream set-up, and peer processes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull, consumer::PullConsumer, stream};
use gocsp_nats::server::NatsServer;

/// A fresh `nats-server -js` for one test. Fails the test, saying how to install the server,
/// when the binary is missing: CI installs it, and a skipped test would prove nothing.
pub(crate) fn server() -> NatsServer {
    NatsServer::start().unwrap_or_else(|e| panic!("cannot start nats-server: {e}"))
}

pub(crate) async fn connect(server: &NatsServer) -> async_nats::Client {
    async_nats::connect(server.url())
        .await
        .expect("connect to the test server")
}

/// A JetStream context whose publishes time out after `timeout`.
pub(crate) fn js(client: &async_nats::Client, timeout: Duration) -> jetstream::Context {
    let mut js = jetstream::new(client.clone());
    js.set_timeout(timeout);
    js
}

/// A file-backed stream `name` on `subjects`.
pub(crate) async fn stream(
    js: &jetstream::Context,
    name: &str,
    subjects: &[&str],
) -> stream::Stream {
    js.create_stream(stream::Config {
        name: name.into(),
        subjects: subjects.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .await
    .expect("create stream")
}

/// A durable pull consumer `name` on `stream` with explicit acks and this AckWait.
pub(crate) async fn consumer(
    js: &jetstream::Context,
    stream: &str,
    name: &str,
    ack_wait: Duration,
) -> PullConsumer {
    js.get_stream(stream)
        .await
        .expect("stream exists")
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.into()),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait,
                ..Default::default()
            },
        )
        .await
        .expect("create consumer")
}

/// The consumer's server-side counts: (delivered but unacknowledged, not yet delivered).
pub(crate) async fn pending(consumer: &PullConsumer) -> (usize, u64) {
    let mut c = consumer.clone();
    let info = c.info().await.expect("consumer info");
    (info.num_ack_pending, info.num_pending)
}

/// Polls `f` every 20 ms until it returns true or `limit` passes; returns whether it did.
pub(crate) async fn eventually<F, Fut>(limit: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A child process running one of the roles of `peer.rs`: this test binary, re-executed with
/// `GOCSP_NATS_PEER` set, so the roles need no binary of their own. Its stdout lines arrive
/// on a channel; dropping it kills it.
pub(crate) struct Peer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    pub(crate) fn start(role: &str, url: &str, args: &[&str]) -> Peer {
        let mut child = Command::new(std::env::current_exe().expect("test binary path"))
            .args([
                "peer::peer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env("GOCSP_NATS_PEER", role)
            .env("GOCSP_NATS_URL", url)
            .env("GOCSP_NATS_ARGS", args.join(" "))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start a peer process");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer { child, lines }
    }

    /// The next line within `limit`, or `None` (timeout or the process ended).
    pub(crate) fn line(&self, limit: Duration) -> Option<String> {
        self.lines.recv_timeout(limit).ok()
    }

    /// Waits for the line `want`, failing the test after `limit`.
    pub(crate) fn expect_line(&self, want: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.line(left) {
                Some(line) if line == want => return,
                Some(_) => continue,
                None => break,
            }
        }
        panic!("peer did not print {want:?} within {limit:?}");
    }

    /// `SIGKILL` (what `Child::kill` sends on Unix), then reaps the process.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.kill();
    }
}
