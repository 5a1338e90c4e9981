//! A real HTTP service whose request work runs in goroutines: the Go web-service pattern of
//! a handler fanning out to backends under a `context.WithTimeout`, a worker pool fed by a
//! channel, and a graceful shutdown that drains in-flight work with a `sync.WaitGroup`.
//!
//! Run it: `cargo run --example web_server` (`PORT=8081` to move it off 8080;
//! `GOCSP_TRACE=profile` to print the per-goroutine table when it exits). Then:
//!
//! ```text
//! curl 'localhost:8080/search?q=gopher'                          # 200, three backend lines
//! curl -i 'localhost:8080/search?q=gopher&timeout_ms=50&slow_ms=1000'  # 504 after 50 ms
//! curl 'localhost:8080/work?n=100'                               # sum of squares 1..=100 = 338350
//! curl 'localhost:8080/debug/goroutines'                         # the goroutine dump
//! curl -X POST localhost:8080/shutdown                           # or press Ctrl-C
//! ```
//!
//! On shutdown it prints how many requests it accepted and answered (the same number: none
//! is lost) and how many jobs the pool ran. The server is `examples/src/web.rs`, also driven
//! by `examples/tests/web_server.rs` with 2,000 real HTTP requests.
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use gocsp_examples::web;

#[gocsp::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let cfg = web::Config {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        ..web::Config::default()
    };
    let server = web::start(cfg).await?;
    println!("listening on http://{}", server.addr);
    println!(
        "try: curl 'http://{}/search?q=gopher'   (Ctrl-C or POST /shutdown to stop)",
        server.addr
    );

    let shutdown = server.shutdown_handle();
    gocsp::go!(name = "ctrl-c", async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            println!("\nCtrl-C: shutting down gracefully (finishing accepted requests)");
            shutdown.cancel();
        }
    });

    let stats = server.wait().await?;
    println!("stopped: {stats}");
    Ok(())
}
