//! `cargo xtask soak --secs N`: the randomized soak test, for as long as asked.

use crate::util::{self, cargo, take_opt, Result};

/// The soak test: `crates/gocsp/tests/soak.rs` (it needs goroutines, Context, ErrGroup), reading its duration from
/// `GOCSP_SOAK_SECS` (the test suite runs it for a few seconds by default).
const SOAK_TEST: &str = "crates/gocsp/tests/soak.rs";

pub(crate) fn run(args: &[String]) -> Result {
    let mut args = args.to_vec();
    let secs: u64 = match take_opt(&mut args, "--secs")? {
        Some(s) => s
            .parse()
            .map_err(|_| format!("--secs takes a whole number of seconds, not `{s}`"))?,
        None => return Err("usage: cargo xtask soak --secs N".into()),
    };
    if let Some(extra) = args.first() {
        return Err(format!("unexpected argument `{extra}`"));
    }
    if !util::root().join(SOAK_TEST).is_file() {
        return Err(format!(
            "there is no soak test yet: {SOAK_TEST} does not exist (it must read \
             GOCSP_SOAK_SECS and run for that long)"
        ));
    }
    let mut cmd = cargo([
        "test",
        "--release",
        "--package",
        "gocsp",
        "--test",
        "soak",
        "--",
        "--nocapture",
    ]);
    cmd.env("GOCSP_SOAK_SECS", secs.to_string());
    util::run(&mut cmd)
}
