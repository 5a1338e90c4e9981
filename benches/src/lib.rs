//! gocsp's benchmark support: the [`flavor`] trait that puts gocsp and its Rust peers behind
//! one interface, the [`workloads`] of the Go comparison, the [`harness`] of the `compare` binary.
//!
//! Binaries: `compare` (the Rust side of `cargo xtask bench`) and `report` (turns the Go and
//! Rust result files into `target/bench/report.md` and `report.svg`).
#![forbid(unsafe_code)]

pub mod async_select;
pub mod flavor;
pub mod gocsp_side;
pub mod harness;
pub mod threads;
pub mod workloads;

/// The resident set size of this process in bytes (from `/proc/self/status`), or 0 where
/// that file does not exist.
pub fn rss_bytes() -> i64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<i64>().ok())
        .map_or(0, |kb| kb * 1024)
}
