//! The checkers that need special builds: loom, Miri and ThreadSanitizer. Each uses its own
//! target directory so that its flags do not invalidate the normal build.

use std::process::Command;

use crate::util::{self, cargo, cargo_toolchain, split_passthrough, take_opt, Result};

/// Integration-test files of gocsp-channel that also run under Miri (besides its unit tests).
/// They must keep iteration counts small under `cfg(miri)`. `--test NAME` adds more.
/// Integration tests of gocsp-channel run under Miri by default: the rendezvous core, the
/// Stream/Sink adapters and the allocation-free paths (iteration counts shrink under cfg(miri)),
/// and a panic under a select's lock guards (a hand-made `RawWaker`).
const MIRI_TESTS: &[&str] = &["zero", "stream_sink", "panic_safety"];

/// The flags given to Miri, each with the reason it is there (as crossbeam's `ci/miri.sh`).
const MIRIFLAGS: &[(&str, &str)] = &[
    (
        "-Zmiri-strict-provenance",
        "no integer-to-pointer casts: the channel's waiter lists must keep provenance",
    ),
    (
        "-Zmiri-symbolic-alignment-check",
        "alignment must follow from the types, not from where the allocator happened to put a value",
    ),
];

/// The crates with loom models: their unit tests whose names match the filter (`loom` by
/// default) and, when present, their `tests/loom.rs` integration test (all of it, or only
/// the tests matching a filter given on the command line).
const LOOM_CRATES: &[&str] = &["gocsp-channel", "gocsp-sync"];

/// `cargo xtask loom [FILTER] [-- ARGS]`.
pub(crate) fn loom(args: &[String]) -> Result {
    let (ours, pass) = split_passthrough(args);
    let given = match ours.as_slice() {
        [] => None,
        [f] => Some(f.clone()),
        _ => return Err("loom takes at most one test-name filter".into()),
    };
    for krate in LOOM_CRATES {
        let mut targets = vec![(
            "--lib".to_string(),
            Some(given.clone().unwrap_or_else(|| "loom".into())),
        )];
        if util::root()
            .join("crates")
            .join(krate)
            .join("tests/loom.rs")
            .is_file()
        {
            targets.push(("--test=loom".to_string(), given.clone()));
        }
        for (target, filter) in targets {
            let mut cmd = cargo(["test", "--release", "--package", krate, &target]);
            cmd.arg("--");
            if let Some(f) = filter {
                cmd.arg(f);
            }
            cmd.args(&pass);
            // Only `--cfg loom` swaps the std atomics and cells for loom's; a separate target
            // directory keeps those builds from invalidating the normal ones.
            cmd.env("RUSTFLAGS", "--cfg loom")
                .env(
                    "LOOM_MAX_PREEMPTIONS",
                    std::env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "2".into()),
                )
                .env("CARGO_TARGET_DIR", util::root().join("target/loom"));
            util::run(&mut cmd)?;
        }
    }
    Ok(())
}

/// Is `component` installed for `toolchain`?
fn has_component(toolchain: &str, component: &str) -> bool {
    let out = Command::new("rustup")
        .args(["component", "list", "--installed", "--toolchain", toolchain])
        .output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.starts_with(component)),
        Err(_) => false,
    }
}

/// Make sure nightly has `components`, installing them with rustup when missing.
fn ensure_nightly(components: &[&str]) -> Result {
    let missing: Vec<&str> = components
        .iter()
        .copied()
        .filter(|c| !has_component("nightly", c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut cmd = Command::new("rustup");
    cmd.args(["component", "add", "--toolchain", "nightly"])
        .args(&missing);
    util::run(&mut cmd).map_err(|e| {
        format!("{e}\nthis task needs the nightly toolchain with {missing:?}: `rustup toolchain install nightly --component {}`", missing.join(" --component "))
    })
}

/// `cargo xtask miri [--test NAME].. [-- ARGS]`.
pub(crate) fn miri(args: &[String]) -> Result {
    let (mut ours, pass) = split_passthrough(args);
    let mut tests: Vec<String> = MIRI_TESTS.iter().map(|s| s.to_string()).collect();
    while let Some(t) = take_opt(&mut ours, "--test")? {
        tests.push(t);
    }
    if let Some(extra) = ours.first() {
        return Err(format!("unexpected argument `{extra}`"));
    }
    ensure_nightly(&["miri", "rust-src"])?;
    let flags: Vec<&str> = MIRIFLAGS.iter().map(|(f, _)| *f).collect();
    let mut miriflags = flags.join(" ");
    if let Ok(extra) = std::env::var("MIRIFLAGS") {
        miriflags.push(' ');
        miriflags.push_str(&extra);
    }
    for (flag, why) in MIRIFLAGS {
        eprintln!("xtask: MIRIFLAGS {flag}: {why}");
    }
    let mut cmd = cargo_toolchain(
        "nightly",
        ["miri", "test", "--package", "gocsp-channel", "--lib"],
    );
    for t in &tests {
        cmd.args(["--test", t]);
    }
    if !pass.is_empty() {
        cmd.arg("--").args(&pass);
    }
    cmd.env("MIRIFLAGS", miriflags)
        .env("CARGO_TARGET_DIR", util::root().join("target/miri"));
    util::run(&mut cmd)
}

/// The host triple ThreadSanitizer is supported on here (it needs `--target` with build-std).
const TSAN_TARGET: &str = "x86_64-unknown-linux-gnu";

/// `cargo xtask san [-- ARGS]`: gocsp-channel's tests and the facade's select tests under
/// ThreadSanitizer.
pub(crate) fn san(args: &[String]) -> Result {
    let (ours, pass) = split_passthrough(args);
    if let Some(extra) = ours.first() {
        return Err(format!("unexpected argument `{extra}`"));
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(format!(
            "ThreadSanitizer is wired up for {TSAN_TARGET} only; this host is not one"
        ));
    }
    ensure_nightly(&["rust-src"])?;
    // Probe: does this nightly accept the sanitizer at all?
    let probe = Command::new("rustc")
        .args(["+nightly", "-Zsanitizer=thread", "--print", "cfg"])
        .args(["--target", TSAN_TARGET])
        .env_remove("RUSTUP_TOOLCHAIN")
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            return Err(format!(
                "this nightly does not support -Zsanitizer=thread on {TSAN_TARGET}:\n{}",
                String::from_utf8_lossy(&o.stderr)
            ))
        }
        Err(e) => return Err(format!("could not run `rustc +nightly`: {e}")),
    }
    // The channel crate's unit and integration tests, then the facade's select tests (the
    // engine is exercised there through the macro).
    let mut runs: Vec<Vec<String>> = vec![vec![
        "--package".into(),
        "gocsp-channel".into(),
        // Doctests are left out: rustdoc would need the same flags and a second std build.
        "--lib".into(),
        "--tests".into(),
    ]];
    let facade_tests = util::root().join("crates/gocsp/tests");
    let mut select_tests: Vec<String> = std::fs::read_dir(&facade_tests)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let stem = name.strip_suffix(".rs")?;
                    stem.starts_with("select").then(|| stem.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    select_tests.sort();
    if !select_tests.is_empty() {
        let mut run = vec!["--package".to_string(), "gocsp".to_string()];
        for t in select_tests {
            run.push(format!("--test={t}"));
        }
        runs.push(run);
    }
    for run in runs {
        let mut cmd = cargo_toolchain("nightly", ["test", "-Zbuild-std", "--target", TSAN_TARGET]);
        cmd.args(&run);
        if !pass.is_empty() {
            cmd.arg("--").args(&pass);
        }
        // Every crate, std included (build-std), must be instrumented, or TSan reports races
        // inside uninstrumented code that it cannot see synchronising.
        cmd.env("RUSTFLAGS", "-Zsanitizer=thread")
            // halt_on_error: the first race fails the run instead of scrolling past.
            // second_deadlock_stack: more useful reports for lock-order inversions.
            .env(
                "TSAN_OPTIONS",
                std::env::var("TSAN_OPTIONS")
                    .unwrap_or_else(|_| "halt_on_error=1 second_deadlock_stack=1".into()),
            )
            .env("CARGO_TARGET_DIR", util::root().join("target/tsan"));
        util::run(&mut cmd)?;
    }
    Ok(())
}
