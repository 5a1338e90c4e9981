//! A real HTTP service (axum on tokio) whose request work runs in goroutines.
//!
//! - `GET /search?q=..[&timeout_ms=..][&slow_ms=..]` fans out to three simulated backends
//!   (`web`, `images`, `video`) with `go!` and gathers their answers with `select!` under a
//!   per-request [`Context`] deadline (default 200 ms): `200` with one line per backend, or
//!   `504` once the deadline expires. The backends watch the same context, so a request that
//!   times out (or whose client goes away) leaves no goroutine behind. `slow_ms` makes the
//!   `video` backend that slow, to see a 504.
//! - `GET /work?n=..` hands a job to a background pool of worker goroutines fed by a channel
//!   and waits for its result (under the same kind of deadline): the sum of the squares of
//!   `1..=n`.
//! - `GET /debug/goroutines`: the goroutine dump (Go's `/debug/pprof/goroutine?debug=2`).
//! - `POST /shutdown`: starts a graceful shutdown, as Ctrl-C does in the example binary.
//!
//! Graceful shutdown: the listener closes, every request already accepted is answered
//! (axum waits for open connections; a [`WaitGroup`] counts the handlers), then the job queue
//! is closed and the worker pool drains it (another `WaitGroup`).
//!
//! The module is a library so that `examples/web_server.rs` and `examples/tests/web_server.rs`
//! run the same server; the test starts it on `127.0.0.1:0`.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use gocsp::{chan, go, select, GoHandle, Receiver, Sender, WaitGroup};
use gocsp::{CancelHandle, Context, ContextError};
use query::Params;

use gocsp::time::Timer;

/// The simulated backends a search fans out to, in response order.
pub const BACKENDS: [&str; 3] = ["web", "images", "video"];

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// A backend answers in 1 to 3 times this (depending on the query).
    pub backend_latency: Duration,
    /// The per-request deadline when the request gives no `timeout_ms`.
    pub default_timeout: Duration,
    /// Goroutines in the job pool.
    pub workers: usize,
    /// Capacity of the job queue channel.
    pub queue: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            backend_latency: Duration::from_millis(5),
            default_timeout: Duration::from_millis(200),
            workers: 4,
            queue: 64,
        }
    }
}

/// Counters kept by the server.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests whose handler started.
    pub accepted: AtomicU64,
    /// Requests whose handler produced a response (any status).
    pub answered: AtomicU64,
    /// Responses that were `504 Gateway Timeout`.
    pub timeouts: AtomicU64,
    /// Jobs the worker pool finished.
    pub jobs_done: AtomicU64,
}

impl Stats {
    fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::SeqCst)
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "accepted {} requests, answered {} ({} timed out), worker pool ran {} jobs",
            Stats::get(&self.accepted),
            Stats::get(&self.answered),
            Stats::get(&self.timeouts),
            Stats::get(&self.jobs_done),
        )
    }
}

/// A job for the worker pool, with the channel its answer goes back on.
struct Job {
    n: u64,
    reply: Sender<u64>,
}

struct AppState {
    cfg: Config,
    jobs: Sender<Job>,
    in_flight: WaitGroup,
    stats: Arc<Stats>,
    shutdown: CancelHandle,
}

/// Counts a handler in [`AppState::in_flight`] and [`Stats`] for as long as it lives, also
/// when hyper drops it because the client went away.
struct Request<'a> {
    state: &'a AppState,
}

impl<'a> Request<'a> {
    fn enter(state: &'a AppState) -> Self {
        state.in_flight.add(1);
        state.stats.accepted.fetch_add(1, Ordering::SeqCst);
        Request { state }
    }

    fn answer(&self, status: StatusCode, body: String) -> (StatusCode, String) {
        self.state.stats.answered.fetch_add(1, Ordering::SeqCst);
        if status == StatusCode::GATEWAY_TIMEOUT {
            self.state.stats.timeouts.fetch_add(1, Ordering::SeqCst);
        }
        (status, body)
    }
}

impl Drop for Request<'_> {
    fn drop(&mut self) {
        self.state.in_flight.done();
    }
}

/// A tiny query-string parser (axum's `Query` needs serde; three numeric and one text
/// parameter do not).
mod query {
    use std::collections::HashMap;

    /// The query parameters, undecoded.
    pub(super) struct Params(pub(super) HashMap<String, String>);

    impl Params {
        pub(super) fn text(&self, key: &str) -> Option<&str> {
            self.0.get(key).map(String::as_str)
        }

        pub(super) fn millis(&self, key: &str) -> Result<Option<std::time::Duration>, String> {
            self.0
                .get(key)
                .map(|v| {
                    v.parse()
                        .map(std::time::Duration::from_millis)
                        .map_err(|_| format!("{key} must be a number of milliseconds"))
                })
                .transpose()
        }

        pub(super) fn number(&self, key: &str) -> Result<Option<u64>, String> {
            self.0
                .get(key)
                .map(|v| v.parse().map_err(|_| format!("{key} must be a number")))
                .transpose()
        }
    }
}

fn params(q: RawQuery) -> Params {
    let raw = q.0.unwrap_or_default();
    Params(
        raw.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// What `backend` answers for the query `q`.
pub fn backend_answer(backend: &str, q: &str) -> String {
    format!(
        "{backend}: {} results for {q:?}",
        q.len() * 10 + backend.len()
    )
}

/// One simulated backend: answers after its latency unless the request's context ends first.
async fn backend(
    ctx: Context,
    i: usize,
    q: String,
    latency: Duration,
    results: Sender<(usize, String)>,
) {
    // Go: `select { case <-time.After(latency): ...; case <-ctx.Done(): }`, with a `Timer` so
    // that a cancelled request frees its timer at once.
    let work = Timer::new(latency);
    select! {
        recv(work.c) => {
            // The channel has a slot per backend: this send never waits.
            let _ = results.send((i, backend_answer(BACKENDS[i], &q))).await;
        }
        recv(ctx.done()) => {} // deadline or client gone: stop working
    }
}

fn latency(cfg: &Config, backend: usize, q: &str, slow: Option<Duration>) -> Duration {
    match slow {
        Some(d) if BACKENDS[backend] == "video" => d,
        _ => {
            let spread = q.bytes().map(u32::from).sum::<u32>() + backend as u32;
            cfg.backend_latency * (1 + spread % 3)
        }
    }
}

async fn search(State(state): State<Arc<AppState>>, raw: RawQuery) -> (StatusCode, String) {
    let req = Request::enter(&state);
    let p = params(raw);
    let (timeout, slow) = match (p.millis("timeout_ms"), p.millis("slow_ms")) {
        (Ok(t), Ok(s)) => (t.unwrap_or(state.cfg.default_timeout), s),
        (Err(e), _) | (_, Err(e)) => return req.answer(StatusCode::BAD_REQUEST, e),
    };
    let Some(q) = p.text("q").map(str::to_owned) else {
        return req.answer(StatusCode::BAD_REQUEST, "missing q".to_owned());
    };

    // Go: `ctx, cancel := context.WithTimeout(r.Context(), timeout); defer cancel()`.
    let (ctx, cancel) = Context::background().with_timeout(timeout);
    let _cancel = cancel.drop_guard();
    let (tx, results) = chan::<(usize, String)>(BACKENDS.len());
    for (i, name) in BACKENDS.iter().enumerate() {
        let d = latency(&state.cfg, i, &q, slow);
        go!(
            name = format!("backend-{name}"),
            backend(ctx.clone(), i, q.clone(), d, tx.clone())
        );
    }
    drop(tx);

    let mut answers: Vec<Option<String>> = vec![None; BACKENDS.len()];
    for got in 0..BACKENDS.len() {
        // `None` from `results` also means the deadline: the channel closes when the last
        // backend has stopped, and backends only stop early once `ctx` is done.
        let answer = select! {
            recv(results) -> r => r,
            recv(ctx.done()) => None,
        };
        match answer {
            Some((i, a)) => answers[i] = Some(a),
            None => {
                let body = format!(
                    "{}: {got} of {} backends answered within {timeout:?}\n",
                    ctx.err().unwrap_or(ContextError::DeadlineExceeded),
                    BACKENDS.len()
                );
                return req.answer(StatusCode::GATEWAY_TIMEOUT, body);
            }
        }
    }
    let mut body = String::new();
    for a in answers.into_iter().flatten() {
        body.push_str(&a);
        body.push('\n');
    }
    req.answer(StatusCode::OK, body)
}

/// The sum of the squares of `1..=n`, what a job computes.
pub fn sum_of_squares(n: u64) -> u64 {
    (1..=n).map(|i| i * i).sum()
}

async fn work(State(state): State<Arc<AppState>>, raw: RawQuery) -> (StatusCode, String) {
    let req = Request::enter(&state);
    let p = params(raw);
    let n = match p.number("n") {
        Ok(Some(n)) if n <= 1_000_000 => n,
        Ok(_) => {
            return req.answer(
                StatusCode::BAD_REQUEST,
                "n must be given, at most 1000000".into(),
            )
        }
        Err(e) => return req.answer(StatusCode::BAD_REQUEST, e),
    };
    let (ctx, cancel) = Context::background().with_timeout(state.cfg.default_timeout);
    let _cancel = cancel.drop_guard();
    let (reply, answer) = chan::<u64>(1);
    select! {
        send(state.jobs, Job { n, reply }) -> res => if res.is_err() {
            return req.answer(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into());
        },
        recv(ctx.done()) => {
            return req.answer(StatusCode::GATEWAY_TIMEOUT, "job queue full\n".into());
        }
    }
    select! {
        recv(answer) -> sum => match sum {
            Some(sum) => req.answer(StatusCode::OK, format!("sum of squares 1..={n} = {sum}\n")),
            None => req.answer(StatusCode::INTERNAL_SERVER_ERROR, "worker lost the job\n".into()),
        },
        recv(ctx.done()) => req.answer(StatusCode::GATEWAY_TIMEOUT, "job took too long\n".into()),
    }
}

async fn goroutines(State(state): State<Arc<AppState>>) -> (StatusCode, String) {
    let req = Request::enter(&state);
    req.answer(StatusCode::OK, gocsp::dump().to_string())
}

async fn shutdown_endpoint(State(state): State<Arc<AppState>>) -> (StatusCode, String) {
    let req = Request::enter(&state);
    state.shutdown.cancel();
    req.answer(StatusCode::ACCEPTED, "shutting down\n".into())
}

/// A job-pool worker: Go's `for job := range jobs`.
async fn job_worker(jobs: Receiver<Job>, stats: Arc<Stats>) {
    while let Some(job) = jobs.recv().await {
        let sum = sum_of_squares(job.n);
        // The requester may have timed out and gone: then nobody reads the answer.
        let _ = job.reply.try_send(sum);
        stats.jobs_done.fetch_add(1, Ordering::SeqCst);
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    stats: Arc<Stats>,
    shutdown: CancelHandle,
    task: GoHandle<io::Result<()>>,
}

impl Server {
    /// The server's counters, live.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// A handle whose `cancel()` starts a graceful shutdown (Ctrl-C, a test, `POST /shutdown`).
    pub fn shutdown_handle(&self) -> CancelHandle {
        self.shutdown.clone()
    }

    /// Waits until the server has shut down: no longer listening, every accepted request
    /// answered, every queued job done.
    ///
    /// # Errors
    ///
    /// When accepting connections failed.
    pub async fn wait(self) -> io::Result<Arc<Stats>> {
        match self.task.await {
            Ok(res) => res.map(|()| self.stats),
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

/// Binds `cfg.addr` and starts serving in a goroutine named `http-server`.
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn start(cfg: Config) -> io::Result<Server> {
    let listener = tokio::net::TcpListener::bind(cfg.addr).await?;
    let addr = listener.local_addr()?;
    let (ctx, shutdown) = Context::background().with_cancel();
    let stats = Arc::new(Stats::default());

    let (jobs, queue) = chan::<Job>(cfg.queue);
    let workers = WaitGroup::new();
    for _ in 0..cfg.workers {
        workers.add(1);
        let (queue, stats, workers) = (queue.clone(), stats.clone(), workers.clone());
        go!(name = "job-worker", async move {
            job_worker(queue, stats).await;
            workers.done();
        });
    }
    drop(queue);

    let in_flight = WaitGroup::new();
    let state = Arc::new(AppState {
        cfg,
        jobs: jobs.clone(),
        in_flight: in_flight.clone(),
        stats: stats.clone(),
        shutdown: shutdown.clone(),
    });
    let app = Router::new()
        .route("/search", get(search))
        .route("/work", get(work))
        .route("/debug/goroutines", get(goroutines))
        .route("/shutdown", post(shutdown_endpoint))
        .with_state(state);

    let task = go!(name = "http-server", async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { ctx.cancelled().await })
            .await;
        // axum has closed the listener and waited for every connection: each accepted request
        // has been answered. The WaitGroup makes that explicit (and covers handlers of
        // connections that broke).
        in_flight.wait().await;
        // Nothing can submit jobs any more: close the queue; the workers drain it and return.
        jobs.close();
        workers.wait().await;
        served
    });
    Ok(Server {
        addr,
        stats,
        shutdown,
        task,
    })
}

#[cfg(test)]
mod tests {
    //! The search handler in a synctest bubble: its per-request deadline and backend latencies
    //! run on the virtual clock, so the 504 path is tested at its exact instant in microseconds
    //! of real time, with no HTTP in between.

    use super::*;
    use gocsp::time::now;

    fn state() -> Arc<AppState> {
        let (jobs, _queue) = chan(1);
        Arc::new(AppState {
            cfg: Config::default(),
            jobs,
            in_flight: WaitGroup::new(),
            stats: Arc::default(),
            shutdown: Context::background().with_cancel().1,
        })
    }

    fn query(q: &str) -> RawQuery {
        RawQuery(Some(q.to_owned()))
    }

    #[gocsp::test(synctest)]
    async fn a_backend_slower_than_the_deadline_gets_a_504_at_the_deadline() {
        let real = std::time::Instant::now();
        let start = now();
        let state = state();
        let q = "q=gophers&timeout_ms=2000&slow_ms=3600000"; // video answers in an hour
        let (status, body) = search(State(Arc::clone(&state)), query(q)).await;
        assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
        assert_eq!(
            body,
            "context deadline exceeded: 2 of 3 backends answered within 2s\n"
        );
        assert_eq!(
            now() - start,
            Duration::from_secs(2),
            "exactly at the deadline"
        );
        assert!(
            real.elapsed() < Duration::from_secs(2),
            "{:?}",
            real.elapsed()
        );
        assert_eq!(state.stats.timeouts.load(Ordering::SeqCst), 1);
        // The video backend saw the deadline too: the bubble ends with no goroutine left.
    }

    #[gocsp::test(synctest)]
    async fn backends_within_the_deadline_answer_200() {
        let start = now();
        let (status, body) = search(State(state()), query("q=gophers")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body.lines().count(), 3, "{body}");
        let took = now() - start;
        let most = Config::default().backend_latency * 3;
        assert!(
            took <= most,
            "{took:?}: the slowest backend takes at most {most:?}"
        );
    }
}
