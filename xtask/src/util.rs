//! Running commands: echo them, check their status, enforce timeouts.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Result type of every task: the error is the message printed to the user.
pub(crate) type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (the parent of `xtask/`).
pub(crate) fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// `cargo` as invoked by the user (`$CARGO` is set by `cargo run`), with the workspace root
/// as working directory.
pub(crate) fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args).current_dir(root());
    cmd
}

/// Like [`cargo`], but for a given toolchain (`cargo +nightly ...`). Goes through `rustup`'s
/// proxy because `$CARGO` points at the concrete stable binary, which ignores `+toolchain`.
pub(crate) fn cargo_toolchain<I, S>(toolchain: &str, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new("cargo");
    cmd.arg(format!("+{toolchain}"))
        .args(args)
        .current_dir(root())
        // `cargo run` exports RUSTUP_TOOLCHAIN=stable to xtask; it would override `+nightly`
        // for the rustc that the nightly cargo spawns.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC");
    cmd
}

/// A shell-like rendering of `cmd` (environment overrides first) for the log.
pub(crate) fn render(cmd: &Command) -> String {
    let mut out = String::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            let mut v = v.to_string_lossy().into_owned();
            // `PATH=/dir:<the inherited PATH>` is shown as `PATH=/dir:$PATH`.
            if let Some(path) = std::env::var_os("PATH") {
                let path = path.to_string_lossy();
                if k == "PATH" && v.len() > path.len() && v.ends_with(&*path) {
                    v = format!("{}$PATH", &v[..v.len() - path.len()]);
                }
            }
            if v.contains(' ') {
                out.push_str(&format!("{}=\"{}\" ", k.to_string_lossy(), v));
            } else {
                out.push_str(&format!("{}={} ", k.to_string_lossy(), v));
            }
        }
    }
    let program = cmd.get_program().to_string_lossy();
    let program = if program.ends_with("/cargo") || program == "cargo" {
        "cargo".into()
    } else {
        program
    };
    out.push_str(&program);
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains(' ') {
            out.push_str(&format!(" '{a}'"));
        } else {
            out.push(' ');
            out.push_str(&a);
        }
    }
    out
}

/// Print `cmd`, run it with inherited stdio and fail unless it exits successfully.
pub(crate) fn run(cmd: &mut Command) -> Result {
    let shown = render(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    check(&shown, status)
}

/// Fail with a message naming `shown` unless `status` is success.
pub(crate) fn check(shown: &str, status: ExitStatus) -> Result {
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Print `cmd`, run it and return its stdout (stderr is inherited); fail on a bad status.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let shown = render(cmd);
    eprintln!("$ {shown}");
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    check(&shown, out.status)?;
    String::from_utf8(out.stdout).map_err(|e| format!("`{shown}` printed non-UTF-8: {e}"))
}

/// What happened to a command run under a deadline.
pub(crate) enum Timed {
    /// It exited by itself.
    Exited(ExitStatus, Duration),
    /// It was still running at the deadline and was killed.
    TimedOut,
}

/// Run `cmd` (inherited stdio) and kill it if it has not exited after `limit`.
pub(crate) fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Result<Timed> {
    let shown = render(cmd);
    eprintln!("$ {shown}   (timeout {}s)", limit.as_secs());
    let start = Instant::now();
    // Own process group, so that on timeout we can stop `cargo run` *and* the program it
    // started (and nothing else) with one signal to the group.
    let mut child: Child = cmd
        .process_group(0)
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(Timed::Exited(status, start.elapsed()));
        }
        if start.elapsed() >= limit {
            let group = format!("-{}", child.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Timed::TimedOut);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Is `program --version`-style probing successful? Used to find optional tools.
pub(crate) fn works(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Parse `--name VALUE` / `--name=VALUE` from `args`, removing it; `None` if absent.
pub(crate) fn take_opt(args: &mut Vec<String>, name: &str) -> Result<Option<String>> {
    let prefix = format!("{name}=");
    if let Some(i) = args.iter().position(|a| a == name) {
        if i + 1 >= args.len() {
            return Err(format!("{name} needs a value"));
        }
        let v = args.remove(i + 1);
        args.remove(i);
        return Ok(Some(v));
    }
    if let Some(i) = args.iter().position(|a| a.starts_with(&prefix)) {
        let v = args.remove(i)[prefix.len()..].to_string();
        return Ok(Some(v));
    }
    Ok(None)
}

/// Remove the flag `name` from `args`; `true` if it was there.
pub(crate) fn take_flag(args: &mut Vec<String>, name: &str) -> bool {
    let before = args.len();
    args.retain(|a| a != name);
    args.len() != before
}

/// Split `args` at the first `--`: (ours, passed through).
pub(crate) fn split_passthrough(args: &[String]) -> (Vec<String>, Vec<String>) {
    match args.iter().position(|a| a == "--") {
        Some(i) => (args[..i].to_vec(), args[i + 1..].to_vec()),
        None => (args.to_vec(), Vec::new()),
    }
}
