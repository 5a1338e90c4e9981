//! The logic of gocsp's examples, one module per example.
//!
//! Each program in `examples/*.rs` is a thin `main` around a module here, so the tests in
//! `examples/tests/` run exactly the code a person runs with `cargo run --example <name>`, and
//! no example can rot unnoticed. Every module's `run` writes the example's output through an
//! [`Out`], which prints it (in the example) or captures it (in the tests).
#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};

pub mod bounded_parallelism;
pub mod concurrency_vs_parallelism;
pub mod distributed_transactions;
pub mod fan_in_fan_out;
pub mod hello_goroutine;
pub mod pipeline;
pub mod prime_sieve;
pub mod rate_limit;
pub mod sleep_is_not_sync;
pub mod timeouts;
pub mod tour;
pub mod transactions;
pub mod web;
pub mod worker_pool;

/// Where an example writes its lines: printed as they come and kept for the caller to check.
///
/// Clones share one list, so a clone can be moved into each goroutine.
///
/// ```
/// let out = gocsp_examples::Out::capture();
/// gocsp_examples::outln!(out, "hello {}", 42);
/// assert_eq!(out.lines(), ["hello 42"]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Out {
    lines: Arc<Mutex<Vec<String>>>,
    echo: bool,
}

impl Out {
    /// An `Out` that prints every line to stdout (and keeps it).
    pub fn stdout() -> Out {
        Out {
            lines: Arc::default(),
            echo: true,
        }
    }

    /// An `Out` that only keeps the lines, for tests.
    pub fn capture() -> Out {
        Out::default()
    }

    /// Writes one line.
    pub fn line(&self, line: impl Into<String>) {
        let line = line.into();
        let mut lines = self.lines.lock().unwrap_or_else(|e| e.into_inner());
        if self.echo {
            // Printed under the lock, so the order on screen is the order in `lines`.
            println!("{line}");
        }
        lines.push(line);
    }

    /// Every line written so far, in order.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether some line equals `line`.
    pub fn contains(&self, line: &str) -> bool {
        self.lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|l| l == line)
    }
}

/// `println!` for an [`Out`]: `outln!(out, "x = {x}")`.
#[macro_export]
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {
        $out.line(::std::format!($($arg)*))
    };
}
