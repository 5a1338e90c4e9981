//! `cargo xtask`: project automation for gocsp (the cargo-xtask pattern).
//!
//! A plain binary with no dependencies: every task is a sequence of `cargo` (or `go`)
//! invocations built with [`std::process::Command`], printed before it runs so that a
//! failure can be reproduced by copy and paste.
//!
//! ```text
//! cargo xtask ci                 # what .ci/run does, plus rustdoc -D warnings and the examples
//! cargo xtask tidy               # SAFETY comments, no todo!/unimplemented!, forbid(unsafe_code),
//!                                # docs and comments name only files and items that exist, rustfmt
//! cargo xtask loom [FILTER]      # loom models of gocsp-channel and gocsp-sync (target/loom)
//! cargo xtask miri [--test T]..  # gocsp-channel unit tests (and named test files) under Miri (target/miri)
//! cargo xtask san                # gocsp-channel tests under ThreadSanitizer (nightly, target/tsan)
//! cargo xtask soak --secs N      # the randomized soak test for N seconds
//! cargo xtask bench [OPTIONS]    # Go vs gocsp vs Rust peers -> target/bench/report.{md,svg}
//! ```
#![forbid(unsafe_code)]

mod bench;
mod ci;
mod doc_refs;
mod go;
mod sanitizers;
mod soak;
mod tidy;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  ci [--from STEP] [--example-timeout SECS]
                        cargo test, clippy -D warnings, fmt --check (as .ci/run), then
                        rustdoc with -D warnings and every quick example with a timeout;
                        STEP is test|clippy|fmt|doc|examples
  tidy                  source checks: `// SAFETY:` above every unsafe block/impl, no todo!/
                        unimplemented!, #![forbid(unsafe_code)] in every crate root but
                        gocsp-channel, no doc or comment naming a file or item that does
                        not exist, cargo fmt --check
  loom [FILTER] [-- ARGS]
                        loom models (RUSTFLAGS=--cfg loom, LOOM_MAX_PREEMPTIONS=2) of
                        gocsp-channel and gocsp-sync; FILTER defaults to `loom`
  miri [--test NAME].. [-- ARGS]
                        gocsp-channel unit tests (plus the named integration tests) under Miri
  san [-- ARGS]         gocsp-channel tests and the facade's select tests under
                        ThreadSanitizer (nightly, -Zbuild-std)
  soak --secs N         the randomized soak test of gocsp-channel for N seconds
  bench [--workers N] [--quick] [--filter S] [--reps R] [--criterion] [--no-go]
                        the Go / gocsp / Rust-peer comparison, written to target/bench/report.md
                        and target/bench/report.svg; --criterion also runs the criterion benches
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((task, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match task.as_str() {
        "ci" => ci::run(rest),
        "tidy" => tidy::run(rest),
        "loom" => sanitizers::loom(rest),
        "miri" => sanitizers::miri(rest),
        "san" => sanitizers::san(rest),
        "soak" => soak::run(rest),
        "bench" => bench::run(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("xtask {task}: error: {msg}");
            ExitCode::FAILURE
        }
    }
}
