//! `cargo xtask bench`: the Go comparison (and, with `--criterion`, the criterion benches)
//! in one run, written to `target/bench/report.md` and `target/bench/report.svg`.
//!
//! Steps: build `benches/go` with the local `go` (found or installed, see [`crate::go`]) and
//! the `compare` and `report` binaries of `gocsp-benches`; run Go and then Rust with the same
//! worker count (`GOMAXPROCS` for Go, runtime workers for Rust); hand both result files to
//! `report`, which writes the table and the plot; append the machine and the exact command.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::go;
use crate::util::{self, cargo, take_flag, take_opt, Result};

struct Opts {
    workers: Vec<usize>,
    quick: bool,
    filter: Option<String>,
    imp: Option<String>,
    reps: Option<String>,
    criterion: bool,
    no_go: bool,
}

fn parse(args: &[String]) -> Result<Opts> {
    let mut args = args.to_vec();
    let workers = match take_opt(&mut args, "--workers")? {
        Some(list) => list
            .split(',')
            .map(|w| match w.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!(
                    "--workers takes positive numbers (1 or 1,2), not `{w}`"
                )),
            })
            .collect::<Result<Vec<_>>>()?,
        None => vec![default_workers()],
    };
    let opts = Opts {
        workers,
        quick: take_flag(&mut args, "--quick"),
        filter: take_opt(&mut args, "--filter")?,
        imp: take_opt(&mut args, "--impl")?,
        reps: take_opt(&mut args, "--reps")?,
        criterion: take_flag(&mut args, "--criterion"),
        no_go: take_flag(&mut args, "--no-go"),
    };
    if let Some(extra) = args.first() {
        return Err(format!("unexpected argument `{extra}`"));
    }
    Ok(opts)
}

/// `$GOMAXPROCS` if set, else every core: what both Go and `gocsp::main` default to.
fn default_workers() -> usize {
    std::env::var("GOMAXPROCS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

pub(crate) fn run(args: &[String]) -> Result {
    let opts = parse(args)?;
    let root = util::root();
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;

    if opts.criterion {
        let mut cmd = cargo([
            "bench",
            "--package",
            "gocsp-benches",
            "--bench",
            "channels",
            "--bench",
            "select",
            "--bench",
            "sync",
            "--bench",
            "runtime",
        ]);
        if opts.quick {
            cmd.args(["--", "--warm-up-time", "1", "--measurement-time", "2"]);
        }
        util::run(&mut cmd)?;
    }

    util::run(&mut cargo([
        "build",
        "--release",
        "--package",
        "gocsp-benches",
        "--bins",
    ]))?;
    let bin_dir = release_dir(&root);

    let go_bin = if opts.no_go {
        None
    } else {
        build_go(&out_dir)?
    };

    let mut sections = Vec::new();
    let last = *opts.workers.last().expect("at least one worker count");
    for &w in &opts.workers {
        let suffix = if opts.workers.len() == 1 {
            String::new()
        } else {
            format!("-w{w}")
        };
        let go_tsv = match &go_bin {
            Some((go, _)) => {
                let mut cmd = Command::new(go);
                cmd.args(["-workers", &w.to_string()])
                    .env("GOMAXPROCS", w.to_string());
                if opts.quick {
                    cmd.arg("-quick");
                }
                if let Some(f) = &opts.filter {
                    cmd.args(["-filter", f]);
                }
                if let Some(r) = &opts.reps {
                    cmd.args(["-reps", r]);
                }
                let path = out_dir.join(format!("go{suffix}.tsv"));
                write(&path, &util::output(&mut cmd)?)?;
                Some(path)
            }
            None => None,
        };

        let mut cmd = Command::new(bin_dir.join("compare"));
        cmd.args(["--workers", &w.to_string()])
            .env("GOMAXPROCS", w.to_string());
        if opts.quick {
            cmd.arg("--quick");
        }
        if let Some(f) = &opts.filter {
            cmd.args(["--filter", f]);
        }
        if let Some(i) = &opts.imp {
            cmd.args(["--impl", i]);
        }
        if let Some(r) = &opts.reps {
            cmd.args(["--reps", r]);
        }
        let rust_tsv = out_dir.join(format!("rust{suffix}.tsv"));
        // A failed check is an error, but the figures of the others are still worth a report.
        let (text, rust_ok) = output_allow_failure(&mut cmd)?;
        write(&rust_tsv, &text)?;

        let go_version = go_bin
            .as_ref()
            .map(|(_, v)| v.as_str())
            .unwrap_or("Go not run");
        let title = format!("{w} worker(s): gocsp vs {go_version} vs Rust peers");
        let report = out_dir.join(format!("report{suffix}"));
        let mut cmd = Command::new(bin_dir.join("report"));
        cmd.arg("--rust").arg(&rust_tsv);
        if let Some(g) = &go_tsv {
            cmd.arg("--go").arg(g);
        }
        cmd.arg("--out").arg(&report).args(["--title", &title]);
        let md = util::output(&mut cmd)?;
        if w == last && !suffix.is_empty() {
            // The plot of the last (largest) worker count is the report's plot.
            let svg = out_dir.join(format!("report{suffix}.svg"));
            std::fs::copy(&svg, out_dir.join("report.svg"))
                .map_err(|e| format!("{}: {e}", svg.display()))?;
        }
        sections.push(md);
        if !rust_ok {
            sections.push("**A Rust workload failed its check; see the log.**\n".into());
        }
    }

    let mut md = sections.join("\n");
    md.push_str(&machine(&opts, go_bin.as_ref().map(|(_, v)| v.as_str())));
    let md_path = out_dir.join("report.md");
    write(&md_path, &md)?;
    println!("{md}");
    eprintln!(
        "xtask bench: wrote {} and {}",
        md_path.display(),
        out_dir.join("report.svg").display()
    );
    if go_bin.is_none() && !opts.no_go {
        eprintln!(
            "xtask bench: the Go column is empty.\n{}",
            go::HOW_TO_INSTALL
        );
    }
    Ok(())
}

/// Where cargo puts release binaries (respecting `CARGO_TARGET_DIR`).
fn release_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"))
        .join("release")
}

/// Build `benches/go` into `target/bench/gobench`; `None` (with a message) without Go.
fn build_go(out_dir: &Path) -> Result<Option<(PathBuf, String)>> {
    let go = match go::find_or_install() {
        Ok(go) => go,
        Err(msg) => {
            eprintln!("xtask bench: {msg}\nxtask bench: running the Rust side only");
            return Ok(None);
        }
    };
    let version = util::output(Command::new(&go).arg("env").arg("GOVERSION"))?
        .trim()
        .to_string();
    let exe = out_dir.join("gobench");
    let mut cmd = Command::new(&go);
    cmd.arg("build")
        .arg("-o")
        .arg(&exe)
        .arg(".")
        .current_dir(util::root().join("benches/go"))
        // No network: the module has no dependencies, and no toolchain download either.
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off");
    util::run(&mut cmd)?;
    Ok(Some((exe, version)))
}

/// Run `cmd`, capturing stdout; a bad exit status is reported, not fatal.
fn output_allow_failure(cmd: &mut Command) -> Result<(String, bool)> {
    let shown = util::render(cmd);
    eprintln!("$ {shown}");
    let out = cmd
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if !out.status.success() {
        eprintln!(
            "xtask bench: `{shown}` failed ({}); reporting what it measured",
            out.status
        );
    }
    Ok((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.success(),
    ))
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The machine, the versions and the exact command, for the report's footer.
fn machine(opts: &Opts, go_version: Option<&str>) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut s = format!(
        "\nMachine: {cpu}, {cores} cores available. {rustc}; {}.\n\
         Command: `cargo xtask {}`. Runtime workers / GOMAXPROCS: {:?}.\n",
        go_version.unwrap_or("Go not run"),
        args.join(" "),
        opts.workers
    );
    if opts.quick {
        s.push_str("`--quick`: operation counts divided by 10; figures are noisier.\n");
    }
    s
}
