//! Drives `examples/src/web.rs` (the `web_server` example's server) with a real HTTP client
//! over loopback: load with every response checked, a deadline that expires, and a graceful
//! shutdown in the middle of load.
//!
//! `num_goroutine()` counts the goroutines of the whole process, so the tests of this file run
//! one at a time (`serial()`), each on its own runtime.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use gocsp_examples::web::{self, backend_answer, sum_of_squares, Config, BACKENDS};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::StatusCode;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn config() -> Config {
    Config {
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        backend_latency: Duration::from_millis(1),
        // Generous: a loaded 2-core CI machine must not turn ordinary requests into 504s.
        default_timeout: Duration::from_secs(10),
        workers: 4,
        queue: 64,
    }
}

fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn get(
    client: &HttpClient,
    addr: SocketAddr,
    path: &str,
) -> Result<(StatusCode, String), String> {
    let uri = format!("http://{addr}{path}").parse().expect("uri");
    let resp = client.get(uri).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((
        status,
        String::from_utf8(body.to_vec()).expect("utf-8 body"),
    ))
}

/// Request `i` of a load run, and the exact response it must get.
fn request(i: u64) -> (String, String) {
    if i % 2 == 0 {
        let q = format!("q{i}");
        let body: String = BACKENDS
            .iter()
            .map(|b| backend_answer(b, &q) + "\n")
            .collect();
        (format!("/search?q={q}"), body)
    } else {
        let n = i % 500;
        (
            format!("/work?n={n}"),
            format!("sum of squares 1..={n} = {}\n", sum_of_squares(n)),
        )
    }
}

/// Waits (at most 10 s) until `num_goroutine()` is back to `baseline`; returns the count seen.
async fn settle(baseline: usize) -> usize {
    let start = Instant::now();
    loop {
        let n = gocsp::num_goroutine();
        if n <= baseline || start.elapsed() > Duration::from_secs(10) {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn two_thousand_requests_at_64_concurrent_all_answered_correctly() {
    let _serial = serial();
    runtime().block_on(async {
        let server = web::start(config()).await.expect("bind");
        let addr = server.addr;
        let client = client();
        let next = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (client, next) = (client.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                let mut ok = 0u64;
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= 2_000 {
                        return ok;
                    }
                    let (path, want) = request(i);
                    let (status, body) = get(&client, addr, &path).await.expect("request failed");
                    assert_eq!(status, StatusCode::OK, "{path}: {body}");
                    assert_eq!(body, want, "{path}");
                    ok += 1;
                }
            }));
        }
        let mut ok = 0;
        for t in tasks {
            ok += t.await.expect("client task");
        }
        assert_eq!(ok, 2_000);
        server.shutdown_handle().cancel();
        let stats = server.wait().await.expect("server");
        assert_eq!(stats.accepted.load(Ordering::SeqCst), 2_000);
        assert_eq!(stats.answered.load(Ordering::SeqCst), 2_000);
        assert_eq!(stats.timeouts.load(Ordering::SeqCst), 0);
        assert_eq!(stats.jobs_done.load(Ordering::SeqCst), 1_000);
    });
}

#[test]
fn an_expired_deadline_is_a_504_and_leaves_no_goroutine_behind() {
    let _serial = serial();
    runtime().block_on(async {
        let server = web::start(config()).await.expect("bind");
        let client = client();
        // Warm up (one connection in the pool), then measure the idle server.
        let (status, _) = get(&client, server.addr, "/search?q=warm")
            .await
            .expect("warm-up");
        assert_eq!(status, StatusCode::OK);
        // The idle server: `http-server` and the job workers (the test's own `block_on` is a
        // plain tokio runtime, not a goroutine). The warm-up's backends may still be returning.
        let baseline = 1 + config().workers;
        assert_eq!(settle(baseline).await, baseline, "{}", gocsp::dump());

        let started = Instant::now();
        let (status, body) = get(
            &client,
            server.addr,
            "/search?q=slow&timeout_ms=50&slow_ms=60000",
        )
        .await
        .expect("request");
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
        assert!(body.starts_with("context deadline exceeded"), "{body}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the 60 s backend was not waited for"
        );
        // The slow backend saw the context end and returned: back to the baseline.
        assert_eq!(settle(baseline).await, baseline, "{}", gocsp::dump());

        // A request whose client gives up before the deadline: the handler is dropped, its
        // `defer cancel()` guard cancels the context, and the backends stop too.
        let abandoned = get(
            &client,
            server.addr,
            "/search?q=gone&timeout_ms=60000&slow_ms=60000",
        );
        assert!(tokio::time::timeout(Duration::from_millis(100), abandoned)
            .await
            .is_err());
        assert_eq!(settle(baseline).await, baseline, "{}", gocsp::dump());

        server.shutdown_handle().cancel();
        let stats = server.wait().await.expect("server");
        assert_eq!(stats.timeouts.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn graceful_shutdown_under_load_loses_no_accepted_request() {
    let _serial = serial();
    runtime().block_on(async {
        let server = web::start(config()).await.expect("bind");
        let addr = server.addr;
        let client = client();
        let next = Arc::new(AtomicU64::new(0));
        let answered = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let (client, next, answered) = (client.clone(), next.clone(), answered.clone());
            tasks.push(tokio::spawn(async move {
                // Until the server stops answering (or 2,000 requests in all).
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= 2_000 {
                        return;
                    }
                    let (path, want) = request(i);
                    match get(&client, addr, &path).await {
                        Ok((status, body)) => {
                            // Every answer, even during the shutdown, is complete and right.
                            assert_eq!(status, StatusCode::OK, "{path}: {body}");
                            assert_eq!(body, want, "{path}");
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(_) => return, // refused or closed: the server is going away
                    }
                }
            }));
        }
        // Shut down in the middle of the load.
        while answered.load(Ordering::SeqCst) < 300 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let shutdown = server.shutdown_handle();
        shutdown.cancel();
        let stats = server.wait().await.expect("server");
        for t in tasks {
            t.await.expect("client task");
        }
        let answered = answered.load(Ordering::SeqCst);
        // The shutdown really happened under load: some requests were refused.
        assert!((300..2_000).contains(&answered), "{answered} answered");
        // No accepted request lost: every handler that started produced an answer, and every
        // answer reached its client.
        assert_eq!(
            stats.accepted.load(Ordering::SeqCst),
            stats.answered.load(Ordering::SeqCst)
        );
        assert_eq!(stats.answered.load(Ordering::SeqCst), answered);
        // The server is really gone.
        assert!(get(&crate::client(), addr, "/search?q=late").await.is_err());
    });
}
