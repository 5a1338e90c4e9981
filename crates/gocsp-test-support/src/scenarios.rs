//! The harness of the whole-program tests (`tests/deadlock.rs` of `gocsp-runtime` and of the
//! `gocsp` facade): each scenario runs in a child process of the test binary, and its exit
//! status and stderr are checked.
//!
//! Separate processes, and `harness = false`, because the deadlock detector (rightly) never
//! fires while a process has threads it does not know, such as libtest's, and because it ends
//! the process. The harness itself starts no thread in a child: only the parent reads the
//! children's stderr on threads of its own.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Go's report of a deadlock: what the stderr of a process the detector ended starts with.
pub const FATAL: &str = "fatal error: all goroutines are asleep - deadlock!";
/// How long a child may run before it counts as hung (a deadlock that was never reported).
pub const CHILD_LIMIT: Duration = Duration::from_secs(20);

/// What a scenario's process must do.
pub enum Expect {
    /// Exit 0, with nothing about deadlocks in stderr.
    Ok,
    /// Exit 2, stderr starting with Go's message and containing these strings (the dump).
    Deadlock(Vec<String>),
    /// Exit with this status, these strings in stderr.
    Status(i32, Vec<String>),
}

impl Expect {
    /// [`Expect::Deadlock`] with these strings.
    pub fn deadlock(needles: &[&str]) -> Expect {
        Expect::Deadlock(needles.iter().map(|s| s.to_string()).collect())
    }

    /// [`Expect::Status`] with these strings.
    pub fn status(code: i32, needles: &[&str]) -> Expect {
        Expect::Status(code, needles.iter().map(|s| s.to_string()).collect())
    }
}

/// A scenario: its name, the program, what its process must do.
pub type Scenario = (&'static str, fn(), Expect);

/// The test binary's `main`. With `GOCSP_SCENARIO=<name>` set (a child), runs that scenario
/// and exits 0 if it returns. Otherwise re-executes this binary once per scenario, in
/// parallel, with `GOCSP_SCENARIO` and `GOMAXPROCS=gomaxprocs` set, checks every child, and
/// exits 1 if one failed. Arguments that do not start with `-` filter scenarios by name.
pub fn main(all: Vec<Scenario>, gomaxprocs: &str) {
    if let Ok(name) = std::env::var("GOCSP_SCENARIO") {
        let (_, f, _) = all
            .iter()
            .find(|(n, _, _)| *n == name)
            .unwrap_or_else(|| panic!("unknown scenario {name}"));
        f();
        std::process::exit(0);
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let children: Vec<_> = all
        .iter()
        .filter(|(n, _, _)| filter.is_empty() || filter.iter().any(|f| n.contains(f.as_str())))
        .map(|(name, _, expect)| (*name, expect, run_child(&exe, name, gomaxprocs)))
        .collect();
    let n = children.len();
    let mut failures = Vec::new();
    for (name, expect, child) in children {
        let (code, stderr, hung) = finish(child, CHILD_LIMIT);
        match check(expect, code, &stderr, hung) {
            None => println!("scenario {name} ... ok"),
            Some(p) => {
                println!("scenario {name} ... FAILED: {p}\n--- stderr ---\n{stderr}--------------");
                failures.push(name);
            }
        }
    }
    println!(
        "\n{n} scenarios, {} failed, in {:.1?}",
        failures.len(),
        started.elapsed()
    );
    if !failures.is_empty() {
        println!("failed: {failures:?}");
        std::process::exit(1);
    }
}

/// Starts scenario `name` in a child process of `exe`, its stderr piped.
fn run_child(exe: &std::path::Path, name: &str, gomaxprocs: &str) -> Child {
    Command::new(exe)
        .env("GOCSP_SCENARIO", name)
        .env("GOMAXPROCS", gomaxprocs)
        .env_remove("GOCSP_TRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start a child process")
}

/// Waits for `child` for at most `limit`, killing it after that. Returns the exit code (None
/// if it was killed or died by a signal), its stderr, and whether it was killed as hung.
fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String, bool) {
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + limit;
    let mut hung = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            hung = true;
            let _ = child.kill();
            break child.wait().unwrap();
        }
        // Polling a child's exit (there is no wait with a timeout in std), not ordering.
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().unwrap(), hung)
}

/// What is wrong with a child's outcome, if anything.
fn check(expect: &Expect, code: Option<i32>, stderr: &str, hung: bool) -> Option<String> {
    if hung {
        return Some(format!(
            "still running after {CHILD_LIMIT:?} (killed): {}",
            match expect {
                Expect::Deadlock(_) => "the deadlock was never reported",
                _ => "the program never finished",
            }
        ));
    }
    let lacks = |needles: &[String]| {
        needles
            .iter()
            .find(|s| !stderr.contains(s.as_str()))
            .map(|s| format!("stderr lacks {s:?}"))
    };
    match expect {
        Expect::Ok => (code != Some(0) || stderr.contains(FATAL))
            .then(|| format!("expected exit 0 and no deadlock report, got {code:?}")),
        Expect::Deadlock(needles) => {
            if code != Some(2) || !stderr.starts_with(FATAL) {
                Some(format!(
                    "expected exit 2 and stderr starting with {FATAL:?}, got {code:?}"
                ))
            } else {
                lacks(needles)
            }
        }
        Expect::Status(want, needles) => {
            if code != Some(*want) {
                Some(format!("expected exit {want}, got {code:?}"))
            } else {
                lacks(needles)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(needles: &[&str]) -> Vec<String> {
        needles.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ok_needs_exit_0_and_no_report() {
        assert_eq!(check(&Expect::Ok, Some(0), "some log\n", false), None);
        assert!(check(&Expect::Ok, Some(1), "", false).is_some());
        assert!(check(&Expect::Ok, None, "", false).is_some());
        let report = format!("{FATAL}\n");
        assert!(check(&Expect::Ok, Some(0), &report, false).is_some());
    }

    #[test]
    fn deadlock_needs_exit_2_the_report_first_and_every_needle() {
        let stderr = format!("{FATAL}\n\ngoroutine 1 [chan receive]:\nmain\n");
        let expect = Expect::deadlock(&["[chan receive]:\nmain\n"]);
        assert_eq!(check(&expect, Some(2), &stderr, false), None);
        assert!(check(&expect, Some(1), &stderr, false).is_some());
        let late = format!("noise\n{stderr}");
        assert!(check(&expect, Some(2), &late, false).is_some());
        let missing = Expect::Deadlock(owned(&["[select]:"]));
        let why = check(&missing, Some(2), &stderr, false).unwrap();
        assert!(why.contains("lacks"), "{why}");
    }

    #[test]
    fn status_needs_that_code_and_every_needle() {
        let expect = Expect::status(101, &["panicked"]);
        assert_eq!(check(&expect, Some(101), "thread panicked at", false), None);
        assert!(check(&expect, Some(2), "thread panicked at", false).is_some());
        assert!(check(&expect, Some(101), "", false).is_some());
    }

    #[test]
    fn a_hung_child_always_fails() {
        let why = check(&Expect::deadlock(&[]), None, "", true).unwrap();
        assert!(why.contains("never reported"), "{why}");
        let why = check(&Expect::Ok, None, "", true).unwrap();
        assert!(why.contains("never finished"), "{why}");
    }
}
