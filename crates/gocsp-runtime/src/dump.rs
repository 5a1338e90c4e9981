//! Goroutine dumps: `num_goroutine()`, `dump()`, and their Go-like text layout.

use std::fmt::{self, Write as _};
use std::panic::Location;
use std::sync::atomic::Ordering;
use std::time::Duration;

use gocsp_channel::hook::Op;

use crate::registry::{self, Info, Kind, BLOCKED, RUNNABLE, RUNNING};

/// The number of goroutines that currently exist (spawned and not yet finished), including
/// the main goroutine under [`run`](crate::run) and blocking goroutines.
///
/// ```
/// # gocsp_runtime::run(async {
/// let before = gocsp_runtime::num_goroutine();
/// let (tx, rx) = tokio::sync::oneshot::channel::<()>();
/// let h = gocsp_runtime::go(async move { let _ = rx.await; });
/// assert_eq!(gocsp_runtime::num_goroutine(), before + 1);
/// tx.send(()).unwrap();
/// h.await.unwrap();
/// assert_eq!(gocsp_runtime::num_goroutine(), before);
/// # });
/// ```
///
/// # Go equivalent
///
/// `runtime.NumGoroutine()`.
pub fn num_goroutine() -> usize {
    registry::live()
}

/// What a goroutine is doing at the moment of a [`dump()`].
///
/// ```
/// # gocsp_runtime::run(async {
/// use gocsp_runtime::{Op, State};
/// let (_tx, rx) = gocsp_channel::chan::<u32>(0);
/// let h = gocsp_runtime::go(async move { rx.recv().await });
/// let state = loop {
///     // Listed from its first wait (see `dump`).
///     match gocsp_runtime::dump().get(h.id()).map(|g| g.state) {
///         Some(s @ State::Blocked { .. }) => break s,
///         _ => gocsp_runtime::yield_now().await,
///     }
/// };
/// assert!(matches!(state, State::Blocked { op: Op::Recv, .. }));
/// assert_eq!(state.go_name(), "chan receive");
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Being polled right now (a blocking goroutine: running its closure).
    Running,
    /// Spawned or woken, waiting for a worker to poll it.
    Runnable,
    /// Waiting for something that is not a gocsp operation (a tokio timer, I/O, a tokio lock...).
    Waiting,
    /// Waiting in a gocsp operation.
    Blocked {
        /// The operation (Go's wait reason: `chan receive`, `select`, ...).
        op: Op,
        /// Where the user wrote it.
        site: &'static Location<'static>,
        /// How long it has been waiting there: wall-clock time at the resolution of the
        /// kernel's tick (1–10 ms), which tokio's paused test clock does not move. A spurious
        /// wake that finds the operation still blocked does not start a new wait; taking a value
        /// and blocking again at the same place does.
        duration: Duration,
    },
}

impl State {
    /// Go's word for this state, as printed between the brackets of a dump.
    ///
    /// ```
    /// use gocsp_runtime::State;
    /// assert_eq!(State::Runnable.go_name(), "runnable");
    /// ```
    pub fn go_name(&self) -> &'static str {
        match self {
            State::Running => "running",
            State::Runnable => "runnable",
            State::Waiting => "waiting",
            State::Blocked { op, .. } => op.go_name(),
        }
    }
}

/// One goroutine in a [`Dump`].
///
/// ```
/// # gocsp_runtime::run(async {
/// let h = gocsp_runtime::go!(name = "idle", std::future::pending::<()>());
/// let g = loop {
///     // Listed once it has waited (see `dump`).
///     match gocsp_runtime::dump().get(h.id()) {
///         Some(g) => break g.clone(),
///         None => gocsp_runtime::yield_now().await,
///     }
/// };
/// assert_eq!(g.name.as_deref(), Some("idle"));
/// assert_eq!(g.location.line(), line!() - 9);
/// assert!(!g.main && !g.blocking);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Goroutine {
    /// Its id.
    pub id: u64,
    /// Its name, if it was given one (the main goroutine is named `main`).
    pub name: Option<String>,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// The goroutine that spawned it, if it was spawned from inside one.
    pub parent: Option<u64>,
    /// What it is doing.
    pub state: State,
    /// `true` for a goroutine started with [`go_blocking`](crate::go_blocking()).
    pub blocking: bool,
    /// `true` for the main goroutine of [`run`](crate::run) / [`Runtime::block_on`](crate::Runtime::block_on).
    pub main: bool,
}

/// A snapshot of every live goroutine, sorted by id. `Display` prints it in the layout of Go's
/// goroutine traceback (what a Go program prints on `SIGQUIT` or a deadlock):
///
/// ```text
/// goroutine 7 [chan receive, 3 minutes]:
/// worker-3
///     src/worker.rs:12:9
/// created by go! in goroutine 1
///     src/main.rs:30:5
/// ```
///
/// (with tabs). The second line is the goroutine's name (`(unnamed)` if none), then the gocsp
/// operation's source location when it is blocked, then where it was spawned. As in Go, the
/// wait time is shown only from one minute on; [`State::Blocked`] has the exact duration.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// let h = gocsp_runtime::go!(name = "sleeper", std::future::pending::<()>());
/// let d = loop {
///     let d = gocsp_runtime::dump();
///     if d.get(h.id()).is_some() {
///         break d; // listed once it has waited (see `dump`)
///     }
///     gocsp_runtime::yield_now().await;
/// };
/// let g = d.get(h.id()).unwrap();
/// assert_eq!(g.name.as_deref(), Some("sleeper"));
/// assert!(d.to_string().contains(&format!("goroutine {} [", h.id())));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    goroutines: Vec<Goroutine>,
    unlisted: usize,
}

impl Dump {
    /// The goroutines, sorted by id.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let d = gocsp_runtime::dump();
    /// assert!(d.goroutines().iter().any(|g| g.main));
    /// # });
    /// ```
    pub fn goroutines(&self) -> &[Goroutine] {
        &self.goroutines
    }

    /// The goroutine with this id, if it was alive when the dump was taken.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// assert!(gocsp_runtime::dump().get(u64::MAX).is_none());
    /// # });
    /// ```
    pub fn get(&self, id: u64) -> Option<&Goroutine> {
        self.goroutines
            .binary_search_by_key(&id, |g| g.id)
            .ok()
            .map(|i| &self.goroutines[i])
    }

    /// The number of goroutines in the dump.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// assert!(gocsp_runtime::dump().len() >= 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.goroutines.len()
    }

    /// `true` if no goroutine was alive.
    ///
    /// ```
    /// // Outside any runtime, in a fresh process, nothing runs.
    /// let d = gocsp_runtime::dump();
    /// assert_eq!(d.is_empty(), d.len() == 0);
    /// ```
    pub fn is_empty(&self) -> bool {
        self.goroutines.is_empty()
    }

    /// How many live goroutines the dump does not list: goroutines started with `go!` that
    /// have not waited yet (runnable, or running their first poll). A goroutine enters the
    /// registry the dump reads when it first waits, so that one which runs to completion
    /// without waiting costs no more than a tokio task; they are counted here and in
    /// [`num_goroutine`], and inside a [`testing`](crate::testing) test every goroutine is
    /// listed from its spawn. Approximate while goroutines start and end during the dump.
    ///
    /// ```
    /// # gocsp_runtime::run(async {
    /// let (tx, rx) = gocsp_channel::chan::<()>(0);
    /// let h = gocsp_runtime::go(async move { rx.recv().await });
    /// // Listed once it waits in `recv`; until then it may only be counted.
    /// while gocsp_runtime::dump().get(h.id()).is_none() {
    ///     gocsp_runtime::yield_now().await;
    /// }
    /// drop(tx);
    /// h.await.unwrap();
    /// assert!(gocsp_runtime::dump().unlisted() <= gocsp_runtime::num_goroutine());
    /// # });
    /// ```
    pub fn unlisted(&self) -> usize {
        self.unlisted
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for (i, g) in self.goroutines.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            write_one(&mut out, g);
        }
        if self.unlisted > 0 {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(
                out,
                "({} more goroutine{} not listed: started, not yet waiting)",
                self.unlisted,
                if self.unlisted == 1 { "" } else { "s" }
            );
        }
        f.write_str(&out)
    }
}

/// Appends one goroutine in the dump layout (ending with a newline).
pub(crate) fn write_one(out: &mut String, g: &Goroutine) {
    let _ = write!(out, "goroutine {} [{}", g.id, g.state.go_name());
    if let State::Blocked { duration, .. } = g.state {
        let minutes = duration.as_secs() / 60;
        if minutes >= 1 {
            let _ = write!(
                out,
                ", {minutes} minute{}",
                if minutes == 1 { "" } else { "s" }
            );
        }
    }
    out.push_str("]:\n");
    out.push_str(g.name.as_deref().unwrap_or("(unnamed)"));
    out.push('\n');
    if let State::Blocked { site, .. } = g.state {
        let _ = writeln!(out, "\t{site}");
    }
    let creator = if g.main {
        "block_on"
    } else if g.blocking {
        "go_blocking!"
    } else {
        "go!"
    };
    let _ = write!(out, "created by {creator}");
    if let Some(p) = g.parent {
        let _ = write!(out, " in goroutine {p}");
    }
    let _ = writeln!(out, "\n\t{}", g.location);
}

fn snapshot(info: &Info) -> Goroutine {
    let state = match info.state.load(Ordering::Acquire) {
        RUNNING => State::Running,
        RUNNABLE => State::Runnable,
        BLOCKED => match info.blocked_record() {
            Some((at, duration, _)) => State::Blocked {
                op: at.op,
                site: at.site,
                duration,
            },
            None => State::Waiting,
        },
        _ => State::Waiting,
    };
    Goroutine {
        id: info.id,
        name: info.name.as_deref().map(str::to_owned),
        location: info.location,
        parent: (info.parent != 0).then_some(info.parent),
        state,
        blocking: info.kind == Kind::Blocking,
        main: info.kind == Kind::Main,
    }
}

/// The goroutine `info` as a dump entry in state `running` (for panic reports).
pub(crate) fn snapshot_running(info: &Info) -> Goroutine {
    Goroutine {
        state: State::Running,
        ..snapshot(info)
    }
}

/// Takes a snapshot of the live goroutines: ids, names, spawn sites and states. Cheap enough
/// to call from a debug endpoint (it locks the registry's shards one at a time).
///
/// It lists the main goroutine, every `go_blocking!` goroutine, and every `go!` goroutine that
/// has waited at least once; a `go!` goroutine that has not waited yet (runnable, or in its
/// first poll) is only counted, in [`Dump::unlisted`] (inside a [`testing`](crate::testing)
/// test, every goroutine is listed from its spawn). A Go dump lists those too; gocsp
/// registers a goroutine when it first waits so that one which never waits costs no more
/// than a tokio task.
///
/// # Examples
///
/// ```
/// # gocsp_runtime::run(async {
/// let h = gocsp_runtime::go!(name = "idle", std::future::pending::<()>());
/// while gocsp_runtime::dump().get(h.id()).is_none() {
///     gocsp_runtime::yield_now().await; // until it has waited once
/// }
/// println!("{}", gocsp_runtime::dump());
/// # });
/// ```
///
/// # Go equivalent
///
/// `pprof.Lookup("goroutine").WriteTo(w, 2)` / `runtime.Stack(buf, true)`.
pub fn dump() -> Dump {
    dump_group(0)
}

/// The goroutines of test `group` (see `testing`), or every goroutine for group 0.
pub(crate) fn dump_group(group: u32) -> Dump {
    let live = num_goroutine();
    let mut goroutines = Vec::with_capacity(live);
    let mut registered = 0;
    registry::for_each(|info| {
        registered += 1;
        if group == 0 || info.group == group {
            goroutines.push(snapshot(info));
        }
        true
    });
    goroutines.sort_by_key(|g| g.id);
    // A test's goroutines are all registered (see `Dump::unlisted`).
    let unlisted = if group == 0 {
        live.saturating_sub(registered)
    } else {
        0
    };
    Dump {
        goroutines,
        unlisted,
    }
}

/// Prints [`dump()`] to stderr, as a Go program does on `SIGQUIT`.
///
/// ```
/// gocsp_runtime::print_dump();
/// ```
pub fn print_dump() {
    eprint!("{}", dump());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn blocked_for(secs: u64) -> String {
        let g = Goroutine {
            id: 9,
            name: Some("w".into()),
            location: Location::caller(),
            parent: Some(1),
            state: State::Blocked {
                op: Op::Recv,
                site: Location::caller(),
                duration: Duration::from_secs(secs),
            },
            blocking: false,
            main: false,
        };
        let mut out = String::new();
        write_one(&mut out, &g);
        out.lines().next().unwrap().to_owned()
    }

    #[test]
    fn whole_minutes_show_as_go_prints_them() {
        assert_eq!(blocked_for(59), "goroutine 9 [chan receive]:");
        assert_eq!(blocked_for(60), "goroutine 9 [chan receive, 1 minute]:");
        assert_eq!(blocked_for(150), "goroutine 9 [chan receive, 2 minutes]:");
    }
}
