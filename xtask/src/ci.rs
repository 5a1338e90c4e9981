//! `cargo xtask ci`: `.ci/run` plus rustdoc with `-D warnings` and the quick examples.

use std::path::Path;
use std::time::Duration;

use crate::go;
use crate::util::{self, cargo, take_opt, Result, Timed};

/// A line an example can carry (anywhere in its source) to be left out of `cargo xtask ci`,
/// e.g. a server that runs until stopped: `// xtask: not-in-ci (serves until Ctrl-C)`.
const NOT_IN_CI: &str = "xtask: not-in-ci";

/// Examples left out of CI here, with the reason (for those that cannot carry the marker).
const NOT_QUICK: &[(&str, &str)] = &[(
    "web_server",
    "serves HTTP until /shutdown or Ctrl-C; examples/tests/web_server.rs drives it with real requests",
)];

/// The steps of `cargo xtask ci`, in order (`--from STEP` starts at one of them).
const STEPS: &[&str] = &["test", "clippy", "fmt", "doc", "examples"];

/// Default wall-clock limit per example; an example that needs longer is not "quick".
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(60);

pub(crate) fn run(args: &[String]) -> Result {
    let mut args = args.to_vec();
    let timeout = match take_opt(&mut args, "--example-timeout")? {
        Some(s) => Duration::from_secs(s.parse().map_err(|_| "--example-timeout takes seconds")?),
        None => EXAMPLE_TIMEOUT,
    };
    // Resume after fixing a failure without redoing the steps that passed.
    let from = take_opt(&mut args, "--from")?.unwrap_or_else(|| STEPS[0].to_string());
    let Some(first) = STEPS.iter().position(|s| *s == from) else {
        return Err(format!("--from takes one of {STEPS:?}, not `{from}`"));
    };
    let todo = |step: &str| {
        STEPS
            .iter()
            .position(|s| *s == step)
            .is_some_and(|i| i >= first)
    };
    if let Some(extra) = args.first() {
        return Err(format!("unexpected argument `{extra}`"));
    }

    // Go's differential tests (tests/go/) compare gocsp with `go run`; in CI they must run,
    // not skip, so find or install Go and hand it to the tests through PATH and GOCSP_GO.
    let go_env = match go::find_or_install() {
        Ok(go) => {
            eprintln!("xtask: using Go at {}", go.display());
            Some((go::path_with(&go), go))
        }
        Err(msg) => {
            eprintln!("xtask: warning: {msg}\nxtask: the Go differential tests will skip");
            None
        }
    };
    let with_go = |mut cmd: std::process::Command| {
        if let Some((path, go)) = &go_env {
            cmd.env("PATH", path).env("GOCSP_GO", go);
        }
        cmd
    };

    // Exactly .ci/run, in its order.
    if todo("test") {
        util::run(&mut with_go(cargo(["test", "--workspace"])))?;
    }
    if todo("clippy") {
        util::run(&mut cargo([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    if todo("fmt") {
        util::run(&mut cargo(["fmt", "--check"]))?;
    }
    // Broken intra-doc links and missing docs are errors here, warnings elsewhere. Twice: the
    // public docs, and the private items' docs (the codemaps and invariants a maintainer reads).
    if todo("doc") {
        for flags in ["-D warnings", "-D warnings --document-private-items"] {
            let mut doc = cargo(["doc", "--workspace", "--no-deps"]);
            doc.env("RUSTDOCFLAGS", flags);
            util::run(&mut doc)?;
        }
    }
    examples(timeout, &with_go)
}

/// Build the examples once, then run each quick one with `cargo run --release --example`.
fn examples(
    timeout: Duration,
    with_go: &dyn Fn(std::process::Command) -> std::process::Command,
) -> Result {
    let names = example_names()?;
    if names.is_empty() {
        eprintln!("xtask: no examples found in examples/Cargo.toml");
        return Ok(());
    }
    // Compile first so the timeout measures the example, not the compiler.
    util::run(&mut cargo([
        "build",
        "--release",
        "--package",
        "gocsp-examples",
        "--examples",
    ]))?;
    let mut failed = Vec::new();
    for (name, path) in names {
        let source =
            std::fs::read_to_string(util::root().join("examples").join(&path)).unwrap_or_default();
        if source.contains(NOT_IN_CI) {
            eprintln!("xtask: skipping example `{name}` (marked `{NOT_IN_CI}`)");
            continue;
        }
        if let Some((_, why)) = NOT_QUICK.iter().find(|(n, _)| *n == name) {
            eprintln!("xtask: skipping example `{name}`: {why}");
            continue;
        }
        let mut cmd = with_go(cargo(["run", "--quiet", "--release", "--example", &name]));
        cmd.stdout(std::process::Stdio::null());
        match util::run_with_timeout(&mut cmd, timeout)? {
            Timed::Exited(status, took) if status.success() => {
                eprintln!("xtask: example `{name}` ok in {:.1}s", took.as_secs_f64());
            }
            Timed::Exited(status, _) => failed.push(format!("{name} ({status})")),
            Timed::TimedOut => failed.push(format!(
                "{name} (still running after {}s; make it quicker or mark it `// {NOT_IN_CI}`)",
                timeout.as_secs()
            )),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("examples failed: {}", failed.join(", ")))
    }
}

/// `(name, path)` of every `[[example]]` in `examples/Cargo.toml` (a tiny reader for the one
/// shape that file uses: `name = "..."` and `path = "..."` lines under `[[example]]`).
pub(crate) fn example_names() -> Result<Vec<(String, String)>> {
    let manifest = util::root().join("examples/Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let mut out = Vec::new();
    let mut in_example = false;
    let mut current: (Option<String>, Option<String>) = (None, None);
    let mut flush = |cur: &mut (Option<String>, Option<String>)| {
        if let Some(name) = cur.0.take() {
            let path = cur
                .1
                .take()
                .unwrap_or_else(|| format!("examples/{name}.rs"));
            out.push((name, path));
        }
        cur.1 = None;
    };
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            flush(&mut current);
            in_example = line == "[[example]]";
            continue;
        }
        if !in_example {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            let value = value.trim().trim_matches('"').to_string();
            match key.trim() {
                "name" => current.0 = Some(value),
                "path" => current.1 = Some(value),
                _ => {}
            }
        }
    }
    flush(&mut current);
    // Auto-discovered examples (examples/examples/*.rs) have no [[example]] entry.
    let auto = util::root().join("examples/examples");
    if let Ok(dir) = std::fs::read_dir(&auto) {
        for entry in dir.flatten() {
            let p = entry.path();
            if p.extension().and_then(|e| e.to_str()) == Some("rs") {
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                if !out.iter().any(|(n, _)| *n == name) {
                    let rel = Path::new("examples").join(p.file_name().unwrap());
                    out.push((name, rel.to_string_lossy().into_owned()));
                }
            }
        }
    }
    Ok(out)
}
